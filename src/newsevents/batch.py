"""``newsevents predict``: documents in, one row per sentence out, safely.

Output to a file is written to ``FILE.partial`` (one document at a time) and renamed to FILE
only when the run completes, so an interrupted run never leaves a file that looks finished;
``--resume`` continues from the partial file (or from a finished FILE) and skips the documents
already there. Problems with single documents are reported and counted, and the run goes on.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from newsevents import atomic
from newsevents.corpus import iter_articles
from newsevents.predict import load_backend, predict_articles, summarize
from newsevents.schema import EVENT_TYPES

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv")
CSV_FIELDS = ["doc_id", "sentence_id", "start", "end", "text", "events", *(f"score_{t}" for t in EVENT_TYPES), "model"]


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, header: bool = False) -> str:
    """Rows as JSONL, or as CSV (events joined by "|", one score column per type)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    if header:
        writer.writeheader()
    for r in rows:
        flat = {k: r[k] for k in ("doc_id", "sentence_id", "start", "end", "text", "model")}
        flat["events"] = "|".join(r["events"])
        flat.update({f"score_{t}": r["scores"][t] for t in EVENT_TYPES})
        writer.writerow(flat)
    return buf.getvalue()


def done_documents(text: str, fmt: str, partial: bool) -> tuple[list[str], str]:
    """Documents complete in an earlier output, and that output cut to those documents.

    The last document of a partial file may have been cut short by the interruption, so it is
    dropped and scored again; so is everything from the first line that does not parse.
    """
    lines = text.splitlines(keepends=True)
    kept: list[tuple[str, str]] = []  # (doc_id, line)
    header = ""
    if fmt == "csv" and lines:
        header, lines = lines[0], lines[1:]
    for line in lines:
        if not line.endswith("\n"):
            break
        try:
            doc = json.loads(line)["doc_id"] if fmt == "jsonl" else next(csv.reader([line]))[0]
        except (json.JSONDecodeError, KeyError, TypeError, StopIteration):
            break
        kept.append((str(doc), line))
    docs = list(dict.fromkeys(d for d, _ in kept))
    if partial and docs:
        docs.pop()
        kept = [(d, line) for d, line in kept if d in set(docs)]
    return docs, header + "".join(line for _, line in kept)


def parse_rows(text: str, fmt: str) -> list[dict[str, Any]]:
    """Rows of an earlier output back as dicts (for the summary of resumed documents)."""
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        rows.append({"doc_id": r["doc_id"], "sentence_id": r["sentence_id"], "text": r["text"],
                     "events": [e for e in r["events"].split("|") if e],
                     "scores": {t: float(r[f"score_{t}"]) for t in EVENT_TYPES}})
    return rows


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


def write_summary(path: Path, summaries: Iterable[dict[str, Any]]) -> None:
    """One row per article: events found, counts per type, and the top sentence per type."""
    summaries = list(summaries)
    if path.suffix == ".jsonl":
        atomic.write_jsonl(path, summaries)
        return
    buf = io.StringIO()
    fields = ["doc_id", "sentences", "events", *(f"n_{t}" for t in EVENT_TYPES),
              *(f"top_{t}" for t in EVENT_TYPES), *(f"top_{t}_score" for t in EVENT_TYPES)]
    writer = csv.DictWriter(buf, fields, lineterminator="\n")
    writer.writeheader()
    for s in summaries:
        row = {"doc_id": s["doc_id"], "sentences": s["sentences"], "events": "|".join(s["events"])}
        for t in EVENT_TYPES:
            row[f"n_{t}"] = s["counts"][t]
            row[f"top_{t}"] = s["top"].get(t, {}).get("text", "")
            row[f"top_{t}_score"] = s["top"].get(t, {}).get("score", "")
        writer.writerow(row)
    atomic.write_text(path, buf.getvalue())
