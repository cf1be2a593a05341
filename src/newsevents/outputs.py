"""The files ``newsevents predict`` writes: rows as JSONL or CSV, the article summary, and resuming.

One row per sentence; a CSV row flattens ``events`` with "|" and has one score column per type.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.schema import EVENT_TYPES

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
