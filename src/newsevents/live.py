"""DVCLive logging of a training run (the default recipe's and SetFit's Trainers), kept reproducible.

The train stage commits these logs to git, so an unchanged rerun must write the same bytes.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

#: Trainer log keys that change between identical runs: wall-clock speeds and FLO counts.
_WALL_CLOCK = re.compile(r"runtime|per_second|flos")
#: Argument values DVCLive can write as params (SetFit's arguments also carry its loss class and
#: enums, which transformers' own ``to_dict`` turns into their values).
_PLAIN = (str, int, float, bool, type(None), list, tuple, dict)
#: Decimals kept in the committed DVCLive logs: float noise between machines stays below them.
LOG_DECIMALS = 4


def live_callback(live_dir: Path) -> Any:
    """A DVCLive callback for the Trainer that leaves out what differs between identical runs
    (the temporary output folder, speeds, FLOs) and rounds the rest, so rerunning an unchanged
    pipeline gives no git diff in the committed logs."""
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    class ReproducibleLive(DVCLiveCallback):
        def setup(self, args: Any, state: Any, model: Any) -> None:
            self._initialized = True
            if state.is_world_process_zero:
                scratch = str(args.output_dir)
                plain = {k: v.value if isinstance(v, Enum) else v for k, v in args.to_dict().items()}
                self.live.log_params({k: v for k, v in plain.items()
                                      if isinstance(v, _PLAIN) and not str(v).startswith(scratch)})

        def on_log(self, args: Any, state: Any, control: Any, model: Any = None, logs: Any = None, **kw: Any) -> None:
            logs = {k: round(v, LOG_DECIMALS) if isinstance(v, float) else v
                    for k, v in (logs or {}).items() if not _WALL_CLOCK.search(k)}
            super().on_log(args, state, control, model=model, logs=logs, **kw)

    return ReproducibleLive(live=Live(str(live_dir), dvcyaml=None, save_dvc_exp=False))
