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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from newsevents import atomic
from newsevents.corpus import iter_articles, segment
from newsevents.inference import Backend, load_backend
from newsevents.outputs import done_documents, format_rows, write_summary
from newsevents.schema import EVENT_TYPES, Article, Sentence
from newsevents.thresholds import apply_thresholds, scaled

logger = logging.getLogger(__name__)


def sentences_of(article: Article, unit: str = "article") -> list[Sentence]:
    """The sentences to score: the segmenter's, or (``unit="sentence"``) the whole text as one."""
    if unit == "sentence":
        text = article.text.strip()
        start = article.text.index(text)
        return [Sentence(article.id, 0, start, start + len(text), text)]
    return segment(article)


def predict_articles(
    backend: Backend, articles: Iterable[Article], unit: str = "article", threshold_scale: float = 1.0,
    chunk_sentences: int = 512, on_problem: Callable[[str], None] | None = None,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per article (see ``predict_segmented``), segmenting each article as it comes."""
    return predict_segmented(backend, ((a, sentences_of(a, unit)) for a in articles), threshold_scale,
                             chunk_sentences, on_problem)


def predict_segmented(
    backend: Backend, documents: Iterable[tuple[Article, list[Sentence]]], threshold_scale: float = 1.0,
    chunk_sentences: int = 512, on_problem: Callable[[str], None] | None = None,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per already segmented article: sentence location, text, events above threshold, every
    type's score, and the settings that made them (model version, backend, thresholds).

    Sentences of several articles are scored together in chunks of about ``chunk_sentences``
    (enough to fill length-sorted batches), so memory stays flat however long the input. If a
    chunk fails, its articles are scored one by one, so one bad document never costs the others
    (with ``on_problem`` it is reported and left out; without, the error is raised). Segmenting
    is left to the caller so that it can run elsewhere (``newsevents predict-dataset`` segments
    in CPU tasks and scores in model-holding actors).
    """
    settings = run_settings(backend, threshold_scale)
    thresholds = settings["thresholds"]
    pending: list[tuple[Article, list[Sentence]]] = []
    size = 0

    def rows_of(part: list[tuple[Article, list[Sentence]]]) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        texts = [s.text for _, sents in part for s in sents]
        scores = backend.scores(texts) if texts else np.zeros((0, len(EVENT_TYPES)))
        labels = apply_thresholds(scores, thresholds)
        i = 0
        for article, sents in part:
            rows = []
            for s in sents:
                rows.append({
                    "doc_id": article.id, "sentence_id": s.id, "start": s.start, "end": s.end, "text": s.text,
                    "events": list(labels[i]),
                    "scores": {t: round(float(v), 4) for t, v in zip(EVENT_TYPES, scores[i])},
                    **settings,
                })
                i += 1
            yield article, rows

    def flush() -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        try:
            done = list(rows_of(pending))
        except Exception:  # noqa: BLE001 (any failure of one text must not stop the run)
            if len(pending) == 1 and on_problem is None:
                raise
            done = []
            for one in pending:
                try:
                    done += rows_of([one])
                except Exception as err:  # noqa: BLE001
                    if on_problem is None:
                        raise
                    on_problem(f"{one[0].id}: cannot score ({type(err).__name__}: {str(err)[:120]})")
        yield from done

    for article, sents in documents:
        pending.append((article, sents))
        size += len(sents)
        if size >= chunk_sentences:
            yield from flush()
            pending, size = [], 0
    if pending:
        yield from flush()


def run_settings(backend: Backend, threshold_scale: float) -> dict[str, Any]:
    """What makes a row what it is, besides its text: written into every row."""
    thresholds = scaled(backend.thresholds, threshold_scale)
    return {"model": f"event-classifier {backend.version}", "backend": backend.name,
            "thresholds": {t: round(float(thresholds[t]), 6) for t in EVENT_TYPES}}


def summarize(doc_id: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One article: the event types found, how many sentences report each, and the best one."""
    counts = {t: sum(t in r["events"] for r in rows) for t in EVENT_TYPES}
    top = {}
    for t in EVENT_TYPES:
        hits = [r for r in rows if t in r["events"]]
        if hits:
            best = max(hits, key=lambda r: r["scores"][t])
            top[t] = {"sentence_id": best["sentence_id"], "score": best["scores"][t], "text": best["text"]}
    return {"doc_id": doc_id, "sentences": len(rows), "events": [t for t in EVENT_TYPES if counts[t]],
            "counts": counts, "top": top}


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
    batch_size: int = 32, threshold_scale: float = 1.0, backend: str = "torch", summary: Path | None = None,
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
    model = load_backend(model_dir, backend, batch_size, threads)
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
