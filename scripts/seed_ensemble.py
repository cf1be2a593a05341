"""Score a seed ensemble from finished DVC experiments, without training anything.

    .venv/bin/python scripts/seed_ensemble.py EXP [EXP ...]

Each EXP is the name of a `dvc exp run` of the train stage on the same data and folds (folds do
not depend on the seed). A sentence's ensemble score per type is the mean of its out-of-fold
scores over the experiments, so it is still out-of-fold; thresholds are tuned on the other folds
as in the evaluate stage. The held-out source is scored with thresholds tuned on every averaged
out-of-fold score, as the train stage does; it is printed for the record, never for choosing.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from newsevents.evaluate import read_hard_negatives
from newsevents.jsonl import read_records
from newsevents.metrics import heldout_report, system_report
from newsevents.paths import CV_PREDICTIONS, HELDOUT_FAMILIES, HELDOUT_PREDICTIONS
from newsevents.schema import EVENT_TYPES, ScoredRecord, label_matrix, score_matrix
from newsevents.thresholds import tune_thresholds, with_nested_thresholds, with_thresholds

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=ROOT).stdout


def experiment_ref(name: str) -> str:
    refs = [r for r in git("for-each-ref", "--format=%(refname)", "refs/exps").split() if r.endswith("/" + name)]
    if len(refs) != 1:
        sys.exit(f"seed_ensemble: {len(refs)} experiments named {name!r} (see `dvc exp show`)")
    return refs[0]


def cached_records(ref: str, path: Path) -> dict[str, ScoredRecord]:
    """The train stage's records of one experiment, read from the DVC cache by their dvc.lock hash."""
    lock = yaml.safe_load(git("show", f"{ref}:dvc.lock"))
    md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == path.as_posix())
    cache = ROOT / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    return {r.id: r for r in read_records(cache, ScoredRecord.from_json)}


def mean_scores(runs: list[dict[str, ScoredRecord]]) -> list[ScoredRecord]:
    if any(run.keys() != runs[0].keys() for run in runs):
        sys.exit("seed_ensemble: the experiments scored different sentences (other data or folds)")
    return [replace(r, scores={t: float(np.mean([run[i].scores[t] for run in runs])) for t in EVENT_TYPES})
            for i, r in runs[0].items()]


def main(names: list[str]) -> None:
    refs = [experiment_ref(n) for n in names]
    cv = with_nested_thresholds(mean_scores([cached_records(r, CV_PREDICTIONS) for r in refs]))
    thresholds = tune_thresholds(label_matrix(r.labels for r in cv), score_matrix(r.scores for r in cv))
    held = [with_thresholds(r, thresholds) for r in mean_scores([cached_records(r, HELDOUT_PREDICTIONS) for r in refs])]
    pooled = system_report(cv, with_curves=False)
    heldout = heldout_report(held, read_hard_negatives(ROOT / HELDOUT_FAMILIES))
    print(f"ensemble of {', '.join(names)}")
    print(f"  pooled macro-F1 {pooled['macro']['f1']:.3f}; "
          + ", ".join(f"{s} {m['macro']['f1']:.3f}" for s, m in pooled["per_source"].items()))
    print(f"  held-out (not for choosing) macro-F1 {heldout['macro']['f1']:.3f}, hard negatives firing "
          f"{heldout['hard_negatives']['false_event_rate']:.1%}; precision "
          + ", ".join(f"{t} {heldout['per_type'][t]['precision']:.2f}" for t in EVENT_TYPES))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
