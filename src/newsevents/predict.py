"""``newsevents predict``: documents in, one row per sentence out, safely.

Output to a file is written to ``FILE.partial`` (one document at a time) and renamed to FILE
only when the run completes, so an interrupted run never leaves a file that looks finished;
``--resume`` continues from the partial file (or from a finished FILE) and skips the documents
already there. Problems with single documents are reported and counted, and the run goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from newsevents import atomic
from newsevents.classifier import (EventClassifier, predict_articles, predict_segmented, run_settings, sentences_of,
                                   summarize)
from newsevents.corpus import iter_articles
from newsevents.outputs import done_documents, format_rows, write_summary

logger = logging.getLogger(__name__)
__all__ = ["predict_articles", "predict_segmented", "run", "run_settings", "sentences_of", "summarize",
           "summary_line"]

def _progress(total_hint: int | None, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total_hint, unit="doc", disable=quiet or not sys.stderr.isatty(), file=sys.stderr,
                dynamic_ncols=True)


def check_settings(batch_size: int, threshold_scale: float, threads: int | None) -> None:
    """Numbers that would make every score meaningless are refused before anything is loaded."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if not math.isfinite(threshold_scale) or threshold_scale <= 0:
        raise ValueError(f"threshold scale must be a finite number above 0, got {threshold_scale}")


def check_paths(inputs: Sequence[str], output: Path | None, summary: Path | None) -> None:
    """Refuse, before any work, every output that would overwrite an input or another output, or
    that cannot be written."""
    missing = [i for i in inputs if i != "-" and not Path(i).exists()]
    if missing:
        raise ValueError(f"{missing[0]}: no such file or folder")
    files = {Path(i).resolve() for i in inputs if i != "-" and Path(i).is_file()}
    folders = [Path(i).resolve() for i in inputs if i != "-" and Path(i).is_dir()]
    for flag, path in (("--output", output), ("--summary", summary)):
        if path is None:
            continue
        where = path.resolve()
        if path.is_dir():
            raise ValueError(f"{path}: is a folder; {flag} takes a file name")
        if where in files or (where.suffix.lower() == ".txt" and any(f in where.parents for f in folders)):
            raise ValueError(f"{path}: {flag} is one of the inputs; write it somewhere else")
        try:  # fail before loading the model, not after an hour of scoring
            path.parent.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=path.parent).close()
        except OSError as err:
            raise ValueError(f"{path}: cannot write here ({err.strerror})") from None
    if output is not None and summary is not None and output.resolve() == summary.resolve():
        raise ValueError(f"{summary}: --summary is the same file as --output")


@contextlib.contextmanager
def output_lock(output: Path | None) -> Iterator[None]:
    """Hold ``FILE.lock`` for the whole run: a second writer to the same output is refused
    rather than both losing rows."""
    if output is None:
        yield
        return
    lock = output.with_name(output.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{output}: another newsevents predict is writing it ({lock} is locked); "
                             f"wait for it or choose another --output") from None
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def run(
    inputs: Sequence[str], model_dir: Path, output: Path | None, fmt: str = "jsonl", unit: str = "article",
    batch_size: int = 32, threshold_scale: float = 1.0, backend: str = "auto", summary: Path | None = None,
    resume: bool = False, quiet: bool = False, threads: int | None = None, stdout: IO[str] = sys.stdout,
) -> dict[str, Any]:
    """Score every document of ``inputs``; returns the counts printed in the final summary.

    Raises ValueError (or ModelError) for what makes the whole run meaningless: no inputs, no
    usable model, an output that cannot be written or would overwrite an input, a second writer,
    a partial file made with other settings, or inputs of which nothing could be read.
    """
    if not inputs:
        raise ValueError("no inputs: give .txt files, folders, JSONL files or - for stdin")
    check_settings(batch_size, threshold_scale, threads)
    check_paths(inputs, output, summary)
    with output_lock(output):
        return _run(inputs, model_dir, output, fmt, unit, batch_size, threshold_scale, backend, summary, resume,
                    quiet, threads, stdout)


def _run(inputs: Sequence[str], model_dir: Path, output: Path | None, fmt: str, unit: str, batch_size: int,
         threshold_scale: float, backend: str, summary: Path | None, resume: bool, quiet: bool,
         threads: int | None, stdout: IO[str]) -> dict[str, Any]:
    partial = output.with_name(output.name + ".partial") if output else None
    model = EventClassifier.load(model_dir, backend, batch_size=batch_size, threads=threads).backend
    previous, skip, earlier = "", [], []
    if output is not None and partial is not None and resume:
        source = partial if partial.exists() else output if output.exists() else None
        if source is not None:
            try:
                skip, previous, earlier = done_documents(source.read_text(encoding="utf-8"), fmt,
                                                         partial=source == partial,
                                                         settings=run_settings(model, threshold_scale))
            except (ValueError, UnicodeDecodeError) as err:
                raise ValueError(f"{source}: cannot resume: {err}; rerun without --resume "
                                 f"(or with the same model, --backend, --threshold-scale and --format)") from None
    if partial is not None:
        # The resumed part is swapped in atomically, then new documents are appended one by one.
        atomic.write_text(partial, previous or (format_rows([], fmt, header=True) if fmt == "csv" else ""))
        sink: IO[str] = partial.open("a", encoding="utf-8")
    else:
        sink = stdout
        if fmt == "csv":
            sink.write(format_rows([], fmt, header=True))

    problems: Counter[str] = Counter()

    def report(message: str) -> None:
        problems[problem_kind(message)] += 1
        print(f"newsevents: skipped {message}", file=sys.stderr)

    skipping = set(skip)
    articles = (a for a in iter_articles(inputs, report) if a.id not in skipping)
    counts = {"documents": 0, "sentences": 0, "resumed": len(skip)}
    summaries: list[dict[str, Any]] = []
    if summary and earlier:
        summaries = [summarize(d, [r for r in earlier if r["doc_id"] == d]) for d in skip]
    started = time.perf_counter()
    try:
        bar = _progress(None, quiet)
        for article, rows in predict_articles(model, articles, unit, threshold_scale, on_problem=report):
            sink.write(format_rows(rows, fmt))
            sink.flush()
            counts["documents"] += 1
            counts["sentences"] += len(rows)
            if summary:
                summaries.append(summarize(article.id, rows))
            bar.update(1)
            bar.set_postfix(sent_per_s=f"{counts['sentences'] / max(time.perf_counter() - started, 1e-9):.0f}")
        bar.close()
    finally:
        if partial:
            sink.close()
    counts["skipped"] = sum(problems.values())
    counts["problems"] = dict(problems)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    if counts["documents"] == 0 and counts["resumed"] == 0 and counts["skipped"]:
        if partial:
            partial.unlink(missing_ok=True)
        raise ValueError(f"nothing could be read: {summary_line(counts).removeprefix('newsevents: ')}")
    if partial:
        os.replace(partial, output)
    if summary:
        write_summary(summary, summaries)
    return counts


def problem_kind(message: str) -> str:
    """What the summary counts a problem as: its message without the place and the detail."""
    return message.split(": ", 1)[-1].split(" (")[0]


def summary_line(counts: dict[str, Any], resumed: str = "resumed") -> str:
    """The one line ``newsevents predict`` (and ``predict-dataset``, whose ``resumed`` counts
    input files) ends with on stderr."""
    problems = ", ".join(f"{n} {why}" for why, n in counts["problems"].items())
    rate = counts["sentences"] / counts["seconds"] if counts["seconds"] else 0.0
    return (f"newsevents: {counts['documents']} documents, {counts['sentences']} sentences in {counts['seconds']}s"
            f" ({rate:.0f} sentences/s)"
            + (f"; {counts['resumed']} {resumed}" if counts["resumed"] else "")
            + (f"; skipped {counts['skipped']} ({problems})" if counts["skipped"] else ""))
