"""Retraining started from Label Studio: one background job at a time, logged, with a status.

A job runs its steps (``ls pull`` of the project, then the pipeline, ``dvc repro`` by default) as
subprocesses writing to one log file. A file lock keeps two backends on one project folder from
running the pipeline at once. A trigger that arrives while a job runs is remembered and runs once
after it, so no annotation is left out. ``on_success`` (reload the model) runs only when every
step succeeded; a failed job leaves what is serving alone and its log says why.
"""

from __future__ import annotations

import fcntl
import logging
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

@dataclass
class JobStatus:
    """What ``/health`` and ``/jobs`` report about retraining."""

    state: str = "idle"  # idle | running | succeeded | failed
    trigger: str = ""  # the Label Studio event that started the last job
    project: str = ""
    started: float | None = None  # Unix seconds
    finished: float | None = None
    reason: str = ""  # why the last job failed, one line
    log: str = ""
    pending: bool = False  # a trigger arrived during the job: it runs once more after it
    jobs_run: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingJobs:
    """Runs ``steps(project)`` (argument lists) in a background thread, one job at a time."""

    steps: Callable[[str], Sequence[Sequence[str]]]
    log_path: Path
    on_success: Callable[[], None]
    cwd: Path = Path(".")
    status: JobStatus = field(default_factory=JobStatus)

    def __post_init__(self) -> None:
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self.status.log = str(self.log_path)

    def trigger(self, event: str, project: str) -> str:
        """Start a job for ``project``, or remember the trigger if one runs; returns what happened."""
        with self._guard:
            if self.status.state == "running":
                self.status.pending = True
                return "queued"
            self._begin(event, project)
        return "started"

    def _begin(self, event: str, project: str) -> None:
        self.status = JobStatus(state="running", trigger=event, project=project, started=time.time(),
                                log=str(self.log_path), jobs_run=self.status.jobs_run)
        self._thread = threading.Thread(target=self._run, args=(project,), daemon=True, name="training-job")
        self._thread.start()

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until no job runs (tests and shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            thread = self._thread
            if thread is None or not thread.is_alive():
                with self._guard:
                    if self._thread is thread:
                        return self.status
                continue
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if deadline is not None and time.monotonic() >= deadline:
                return self.status

    def _run(self, project: str) -> None:
        reason = self._run_steps(project)
        if not reason:
            try:
                self.on_success()
            except Exception as err:  # a new model that does not load: keep serving the old one
                reason = f"the new model did not load ({type(err).__name__}: {err}); still serving the old one"
        with self._guard:
            self.status.finished = time.time()
            self.status.state = "failed" if reason else "succeeded"
            self.status.reason = reason
            self.status.jobs_run += 1
            self._append_log(f"job {'failed: ' + reason if reason else 'succeeded'}\n")
            logger.log(logging.WARNING if reason else logging.INFO, "training job for %r %s", project,
                       "failed: " + reason if reason else "succeeded")
            if self.status.pending:
                self._begin("queued", project)

    def _run_steps(self, project: str) -> str:
        """Run every step under the file lock; '' when all succeeded, else why not."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path.with_suffix(".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return f"another training job holds {self.log_path.with_suffix('.lock')}"
            for step in self.steps(project):
                self._append_log(f"$ {shlex.join(step)}\n")
                with open(self.log_path, "a", encoding="utf-8") as log:
                    try:
                        done = subprocess.run(list(step), cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL)
                    except OSError as err:
                        return f"{shlex.join(step)}: {err}"
                if done.returncode:
                    return f"{shlex.join(step)} exited with {done.returncode} (see {self.log_path})"
        return ""

    def _append_log(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {line}")


def pull_then(command: str, python: str) -> Callable[[str], list[list[str]]]:
    """The steps of a job: ``newsevents ls pull --project P`` with ``python``, then ``command``."""
    pipeline = shlex.split(command)

    def steps(project: str) -> list[list[str]]:
        return [[python, "-m", "newsevents.cli", "ls", "pull", "--project", project], pipeline]

    return steps
