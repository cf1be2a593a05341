"""``newsevents predict``: documents in, one row per sentence out, safely.

Output to a file is written to ``FILE.partial`` (one document at a time) and renamed to FILE
only when the run completes, so an interrupted run never leaves a file that looks finished;
``--resume`` continues from the partial file (or from a finished FILE) and skips the documents
already there. Problems with single documents are reported and counted, and the run goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from newsevents import atomic
from newsevents.corpus import iter_articles, segment
from newsevents.inference import Backend, load_backend
from newsevents.outputs import done_documents, format_rows, parse_rows, write_summary
from newsevents.schema import EVENT_TYPES, Article, Sentence
from newsevents.thresholds import apply_thresholds, scaled

logger = logging.getLogger(__name__)

def predict_articles(
    backend: Backend, articles: Iterable[Article], unit: str = "article", threshold_scale: float = 1.0,
    chunk_sentences: int = 512,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per article: sentence location, text, events above threshold, every type's score.

    Sentences of several articles are scored together in chunks of about ``chunk_sentences``
    (enough to fill length-sorted batches), so memory stays flat however long the input.
    """
    thresholds = scaled(backend.thresholds, threshold_scale)
    model_name = f"event-classifier {backend.version}"
    pending: list[tuple[Article, list[Sentence]]] = []
    size = 0

    def flush() -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        texts = [s.text for _, sents in pending for s in sents]
        scores = backend.scores(texts) if texts else np.zeros((0, len(EVENT_TYPES)))
        labels = apply_thresholds(scores, thresholds)
        i = 0
        for article, sents in pending:
            rows = []
            for s in sents:
                rows.append({
                    "doc_id": article.id, "sentence_id": s.id, "start": s.start, "end": s.end, "text": s.text,
                    "events": list(labels[i]),
                    "scores": {t: round(float(v), 4) for t, v in zip(EVENT_TYPES, scores[i])},
                    "model": model_name,
                })
                i += 1
            yield article, rows

    for article in articles:
        if unit == "sentence":
            text = article.text.strip()
            start = article.text.index(text)
            sents = [Sentence(article.id, 0, start, start + len(text), text)]
        else:
            sents = segment(article)
        pending.append((article, sents))
        size += len(sents)
        if size >= chunk_sentences:
            yield from flush()
            pending, size = [], 0
    if pending:
        yield from flush()


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


def run(
    inputs: Sequence[str], model_dir: Path, output: Path | None, fmt: str = "jsonl", unit: str = "article",
    batch_size: int = 32, threshold_scale: float = 1.0, backend: str = "torch", summary: Path | None = None,
    resume: bool = False, quiet: bool = False, threads: int | None = None, stdout: IO[str] = sys.stdout,
) -> dict[str, Any]:
    """Score every document of ``inputs``; returns the counts printed in the final summary.

    Raises ValueError (or ModelError) for what makes the whole run meaningless: no inputs, no
    usable model, an output that cannot be written.
    """
    if not inputs:
        raise ValueError("no inputs: give .txt files, folders, JSONL files or - for stdin")
    missing = [i for i in inputs if i != "-" and not Path(i).exists()]
    if missing:
        raise ValueError(f"{missing[0]}: no such file or folder")
    partial = output.with_name(output.name + ".partial") if output else None
    previous, skip = "", []
    if output is not None and partial is not None:
        try:  # fail before loading the model, not after an hour of scoring
            output.parent.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=output.parent).close()
        except OSError as err:
            raise ValueError(f"{output}: cannot write here ({err.strerror})") from None
        if resume:
            source = partial if partial.exists() else output if output.exists() else None
            previous = source.read_text(encoding="utf-8") if source else ""
            skip, previous = done_documents(previous, fmt, partial=source == partial)
    model = load_backend(model_dir, backend, batch_size, threads)
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
        problems[message.split(": ", 1)[-1].split(" (")[0]] += 1
        print(f"newsevents: skipped {message}", file=sys.stderr)

    skipping = set(skip)
    articles = (a for a in iter_articles(inputs, report) if a.id not in skipping)
    counts = {"documents": 0, "sentences": 0, "resumed": len(skip)}
    summaries: list[dict[str, Any]] = []
    if summary and previous:
        earlier = parse_rows(previous, fmt)
        summaries = [summarize(d, [r for r in earlier if r["doc_id"] == d]) for d in skip]
    started = time.perf_counter()
    try:
        bar = _progress(None, quiet)
        for article, rows in predict_articles(model, articles, unit, threshold_scale):
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
    if partial:
        os.replace(partial, output)
    if summary:
        write_summary(summary, summaries)
    counts["skipped"] = sum(problems.values())
    counts["problems"] = dict(problems)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    return counts


def summary_line(counts: dict[str, Any]) -> str:
    """The one line ``newsevents predict`` ends with on stderr."""
    problems = ", ".join(f"{n} {why}" for why, n in counts["problems"].items())
    return (f"newsevents: {counts['documents']} documents, {counts['sentences']} sentences in {counts['seconds']}s"
            + (f"; {counts['resumed']} resumed" if counts["resumed"] else "")
            + (f"; skipped {counts['skipped']} ({problems})" if counts["skipped"] else ""))
