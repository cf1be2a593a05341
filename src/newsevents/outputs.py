"""The files ``newsevents predict`` writes: rows as JSONL or CSV, the article summary, and resuming.

One row per sentence; a CSV row flattens ``events`` with "|" and has one score column per type.
Every row names the settings that made it (model version, backend, thresholds), so rows from
different runs can never pass for one run, and ``--resume`` can refuse a file made otherwise.
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
#: The version of the row and summary layouts (docs/predict-row.schema.json, docs/summary-row.schema.json):
#: the major part changes when a field is renamed or removed, the minor part when one is added.
SCHEMA_VERSION = "1.0"
CSV_FIELDS = ["doc_id", "sentence_id", "start", "end", "text", "events", *(f"score_{t}" for t in EVENT_TYPES),
              "model", "backend", "thresholds", "schema_version"]
#: The row fields that say which run made a row: ``--resume`` continues only a file with the same.
SETTINGS = ("schema_version", "model", "backend", "thresholds")
#: A cell beginning with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_mark(cell: str) -> bool:
    """A cell that, without its leading quotes, would start a formula: ``csv_safe`` marks it."""
    return cell.lstrip("'").startswith(FORMULA_START)


def csv_safe(cell: str) -> str:
    """Prefix a ``'`` to a cell a spreadsheet would run as a formula (OWASP's advice), and to
    one that only quotes already stand before, so that ``csv_unsafe`` undoes it exactly."""
    return "'" + cell if _needs_mark(cell) else cell


def csv_unsafe(cell: str) -> str:
    """The cell as it was before ``csv_safe``."""
    return cell[1:] if cell.startswith("'") and _needs_mark(cell[1:]) else cell


def thresholds_cell(thresholds: dict[str, float]) -> str:
    return "|".join(f"{t}={thresholds[t]}" for t in EVENT_TYPES)


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, header: bool = False) -> str:
    """Rows as JSONL, or as CSV (events joined by "|", one score column per type, text cells
    neutralised against formula injection)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    if header:
        writer.writeheader()
    for r in rows:
        flat = {k: csv_safe(str(r[k])) for k in ("doc_id", "sentence_id", "text")}
        flat.update({k: r[k] for k in ("start", "end", "model", "backend", "schema_version")})
        flat["events"] = "|".join(r["events"])
        flat["thresholds"] = thresholds_cell(r["thresholds"])
        flat.update({f"score_{t}": r["scores"][t] for t in EVENT_TYPES})
        writer.writerow(flat)
    return buf.getvalue()


def _records(text: str, fmt: str) -> tuple[list[dict[str, Any]], list[str], str]:
    """The complete rows at the start of an earlier output (as dicts, and as the text that wrote
    them), and the CSV header; parsing stops at the first row that is cut short or malformed."""
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    if fmt == "jsonl":
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if not isinstance(row, dict) or "doc_id" not in row:
                break
            rows.append(row)
            texts.append(line)
        return rows, texts, ""
    # CSV: quoted cells may hold line breaks, so records are read by the csv module, not by line,
    # and written back by the same writer, which gives the same text.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [], ""
    if header != CSV_FIELDS:
        raise ValueError(f"its CSV columns are not this version's ({','.join(header)[:80]})")
    records = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error:
        pass
    if records and not text.endswith("\n"):
        records.pop()  # the last record was cut mid-way
    for record in records:
        if len(record) != len(CSV_FIELDS):
            break
        cells = dict(zip(CSV_FIELDS, record))
        rows.append(parse_csv_row(cells))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(record)
        texts.append(out.getvalue())
    return rows, texts, format_rows([], fmt, header=True)


def parse_csv_row(cells: dict[str, str]) -> dict[str, Any]:
    return {"doc_id": csv_unsafe(cells["doc_id"]), "sentence_id": csv_unsafe(cells["sentence_id"]),
            "text": csv_unsafe(cells["text"]), "events": [e for e in cells["events"].split("|") if e],
            "scores": {t: float(cells[f"score_{t}"]) for t in EVENT_TYPES}, "model": cells["model"],
            "backend": cells["backend"], "schema_version": cells["schema_version"],
            "thresholds": {k: float(v) for k, v in (p.split("=") for p in cells["thresholds"].split("|"))}}


def sniff_format(text: str) -> str | None:
    """``jsonl`` or ``csv`` by the first character of an earlier output (None when empty)."""
    head = text.lstrip()[:1]
    return None if not head else "jsonl" if head == "{" else "csv"


def done_documents(text: str, fmt: str, partial: bool,
                   settings: dict[str, Any] | None = None) -> tuple[list[str], str, list[dict[str, Any]]]:
    """Documents complete in an earlier output, that output cut to those documents, and its rows.

    The last document of a partial file may have been cut short by the interruption, so it is
    dropped and scored again; so is everything from the first row that does not parse. With
    ``settings`` (model, backend, thresholds), a file whose rows were made with others, or in
    another format, raises ValueError: one file must never mix runs.
    """
    found = sniff_format(text)
    if found is not None and found != fmt:
        raise ValueError(f"it holds {found.upper()} rows, and this run writes {fmt.upper()}")
    rows, texts, header = _records(text, fmt)
    if settings is not None:
        for row in rows:
            differ = [k for k in SETTINGS if row.get(k) != settings[k]]
            if differ:
                raise ValueError(f"its rows were made with another {', '.join(differ)} "
                                 f"({', '.join(f'{k}={row.get(k)!r}' for k in differ)})")
    docs = list(dict.fromkeys(str(r["doc_id"]) for r in rows))
    if partial and docs:
        docs.pop()
    keep = set(docs)
    kept = [(r, t) for r, t in zip(rows, texts) if str(r["doc_id"]) in keep]
    return docs, header + "".join(t for _, t in kept), [r for r, _ in kept]


def write_summary(path: Path, summaries: Iterable[dict[str, Any]]) -> None:
    """One row per article: events found, counts per type, and the top sentence per type."""
    summaries = list(summaries)
    if path.suffix == ".jsonl":
        atomic.write_jsonl(path, summaries)
        return
    buf = io.StringIO()
    fields = ["schema_version", "doc_id", "sentences", "events", *(f"n_{t}" for t in EVENT_TYPES),
              *(f"top_{t}" for t in EVENT_TYPES), *(f"top_{t}_score" for t in EVENT_TYPES)]
    writer = csv.DictWriter(buf, fields, lineterminator="\n")
    writer.writeheader()
    for s in summaries:
        row = {"schema_version": s["schema_version"], "doc_id": csv_safe(s["doc_id"]), "sentences": s["sentences"], "events": "|".join(s["events"])}
        for t in EVENT_TYPES:
            row[f"n_{t}"] = s["counts"][t]
            row[f"top_{t}"] = csv_safe(s["top"].get(t, {}).get("text", ""))
            row[f"top_{t}_score"] = s["top"].get(t, {}).get("score", "")
        writer.writerow(row)
    atomic.write_text(path, buf.getvalue())
