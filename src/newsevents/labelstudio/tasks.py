"""What the project sends to Label Studio: task data, choices, pre-annotations, instructions.

Pure functions, no server: ``client.py`` sends what they build.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from newsevents.jsonl import iter_jsonl
from newsevents.labelstudio.answers import ModelAnswer
from newsevents.labelstudio.config import CONTROL, REASON
from newsevents.schema import EVENT_TYPES, NO_EVENT, Article, Sentence, check_labels


def sentence_tasks(
    article: Article, sentences: Sequence[Sentence], context: int = 1, source: str = "seed"
) -> list[dict[str, Any]]:
    """Label Studio task data for each sentence, with ``context`` neighbours either side."""
    tasks = []
    for i, s in enumerate(sentences):
        before = sentences[max(0, i - context) : i]
        after = sentences[i + 1 : i + 1 + context]
        tasks.append(
            {
                "sentence_id": s.id,
                "text": s.text,
                "context_before": " ".join(b.text for b in before),
                "context_after": " ".join(a.text for a in after),
                "article_id": article.id,
                "group": article.id,
                "start": s.start,
                "end": s.end,
                "source": source,
            }
        )
    return tasks


def row_task(row: dict[str, Any], source: str) -> dict[str, Any]:
    """Task data for one sentence row (``id``, ``text``, optional ``page``, ``note``, ``trap``, and a
    counterfactual pair's ``family`` and ``pair``).

    ``page`` is the address the sentence was read from, which groups its folds
    (``seeds/newswire.jsonl`` calls it ``source``).
    """
    page = row.get("page") or row.get("source")
    return {
        "sentence_id": f"{source}:{row['id']}",
        "text": row["text"],
        "context_before": "",
        "context_after": "",
        "group": page or source,
        "source": source,
        **({"page": page} if page else {}),
        **{k: row[k] for k in ("note", "trap", "family", "pair") if row.get(k) is not None},
    }


def pool_tasks(rows: Sequence[dict[str, Any]], context: int, source: str = "pool") -> list[dict[str, Any]]:
    """Task data for unlabelled pool rows (``id``, ``text``, ``page``, ``doc``, optional ``story``,
    ``outlet``, ``date``), with ``context`` neighbours of the same article either side.

    The fold group is the row's ``story`` when several articles report one story (BASIL's
    triplets), else its article (``doc``): a dataset file such as BBC's ``train.csv`` holds
    many unrelated articles, so its page cannot be the group.
    """
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_doc.setdefault(row["doc"], []).append(row)
    tasks = []
    for doc, doc_rows in by_doc.items():
        for i, row in enumerate(doc_rows):
            tasks.append({
                "sentence_id": f"{source}:{row['id']}",
                "text": row["text"],
                "context_before": " ".join(r["text"] for r in doc_rows[max(0, i - context):i]),
                "context_after": " ".join(r["text"] for r in doc_rows[i + 1:i + 1 + context]),
                "article_id": doc,
                "group": row.get("story") or f"doc:{doc}",
                "source": source,
                "page": row["page"],
                **{k: row[k] for k in ("outlet", "date") if row.get(k) is not None},
            })
    return tasks


def labelled_tasks(
    rows: Sequence[dict[str, Any]], source: str, as_prediction: str | None = None
) -> list[dict[str, Any]]:
    """One task per sentence row that already carries labels (authored, newswire).

    The labels become the task's annotation, or with ``as_prediction`` a pre-annotation of that
    model version, which a reviewer must accept or correct before the sentence counts as gold.
    """
    tasks = []
    for row in rows:
        data, result = row_task(row, source), choices_result(row["labels"])
        if as_prediction:
            tasks.append({"data": data, "predictions": [{"model_version": as_prediction, "result": result}]})
        else:
            tasks.append({"data": data, "annotations": [{"result": result}]})
    return tasks


def read_rows(path: Path, required: frozenset[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL file with the ``required`` keys, a non-empty ``text`` and valid ``labels``
    where those are required; the first bad row raises ``file:line: problem``."""
    rows = []
    for lineno, row in iter_jsonl(path):
        missing = required - set(row)
        if missing:
            raise ValueError(f"{path}:{lineno}: missing {sorted(missing)}")
        if "text" in required and (not isinstance(row["text"], str) or not row["text"].strip()):
            raise ValueError(f"{path}:{lineno}: empty text")
        if "labels" in required:
            try:
                check_labels(row["labels"])
            except (TypeError, ValueError) as err:
                raise ValueError(f"{path}:{lineno}: {err}") from None
        rows.append(row)
    return rows


def read_sentence_rows(path: Path, labelled: bool = True) -> list[dict[str, Any]]:
    """Sentence rows: ``id`` and ``text``, and valid ``labels`` when they arrive labelled."""
    return read_rows(path, frozenset({"id", "text", "labels"} if labelled else {"id", "text"}))


def choices_result(labels: Iterable[str]) -> list[dict[str, Any]]:
    """An annotation/prediction result choosing ``labels`` (or the explicit no-event choice)."""
    chosen = [t for t in EVENT_TYPES if t in set(labels)] or [NO_EVENT]
    return [
        {"from_name": CONTROL, "to_name": "text", "type": "choices", "value": {"choices": chosen}}
    ]


def answer_result(labels: Iterable[str], reason: str = "") -> list[dict[str, Any]]:
    """An annotator's answer: the chosen types, and in the reason box the rule that decided them."""
    reason_box = [{"from_name": REASON, "to_name": "text", "type": "textarea", "value": {"text": [reason]}}]
    return choices_result(labels) + (reason_box if reason.strip() else [])


def read_answers(path: Path) -> list[dict[str, Any]]:
    """An annotator's answers file: ``{"id", "labels", optional "rule", "note"}`` per line, checked."""
    return read_rows(path, frozenset({"id", "labels"}))


def prediction(answer: ModelAnswer, model_version: str) -> dict[str, Any]:
    """A Label Studio prediction (pre-annotation): the chosen types and the model's confidence.

    The score is ``answer_confidence`` in [0, 1], which Label Studio shows as a percentage;
    sorting by it ascending puts the model's least sure answers first. The uncertainty margin
    stays in the task data (``uncertainty``).
    """
    return {"model_version": model_version, "score": round(answer.confidence, 4),
            "result": choices_result(answer.labels)}


def select_tasks(
    tasks: Sequence[dict[str, Any]], margins: Sequence[float], how: str, limit: int | None, seed: int,
    random_share: float = 0.0,
) -> list[int]:
    """Indices of the tasks to import: ``uncertain`` = smallest margin first, ``random`` = a
    seeded sample (the baseline to compare uncertainty sampling with), ``all`` = input order.

    With ``uncertain``, ``random_share`` of the ``limit`` is a seeded random sample of the
    rest: uncertainty alone picks only what sits near a threshold, and a random share keeps
    the labelled data an unbiased picture of the text the model will meet.
    """
    if not 0.0 <= random_share <= 1.0:
        raise ValueError(f"random share must be in [0, 1], got {random_share}")
    order = list(range(len(tasks)))
    if how == "uncertain":
        order.sort(key=lambda i: (margins[i], i))
        if random_share and limit is not None:
            n_random = round(limit * random_share)
            head = order[: limit - n_random]
            rest = order[limit - n_random:]
            random.Random(seed).shuffle(rest)
            return head + sorted(rest[:n_random], key=lambda i: (margins[i], i))
    elif how == "random":
        random.Random(seed).shuffle(order)
    elif how != "all":
        raise ValueError(f"unknown selection {how!r}; expected all, uncertain or random")
    return order[:limit] if limit is not None else order


#: Label Studio passes instructions through bleach with its own allow-list, which drops ``<ol start>``
#: (so rules numbered across sections would restart at 1) but keeps ``<li value>`` and ``<style>``.
#: The CSS lets the wide table and long code spans wrap inside the ~620 px Instructions box.
INSTRUCTIONS_CSS = (
    "<style>.ne-guidelines table { border-collapse: collapse; width: 100%; table-layout: fixed; } "
    ".ne-guidelines td, .ne-guidelines th { border: 1px solid #ccc; padding: 4px; vertical-align: top; "
    "overflow-wrap: anywhere; } .ne-guidelines code { white-space: normal; overflow-wrap: anywhere; } "
    ".ne-guidelines th:first-child { width: 20%; } .ne-guidelines p, .ne-guidelines li { margin: 0 0 6px; } "
    ".ne-guidelines h2, .ne-guidelines h3 { margin: 14px 0 6px; } .ne-guidelines ol { padding-left: 24px; } "
    ".ne-guidelines { overflow-wrap: anywhere; }</style>"
)


def render_guidelines(markdown: str) -> str:
    """Markdown (CommonMark and tables, raw HTML escaped) as HTML that Label Studio stores unchanged.

    The server keeps what its sanitizer allows; an ordered list's ``start`` is moved to its first
    item's ``value``, which it keeps, so that ``ensure_project`` sees no change on the next push.
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    for i, token in enumerate(tokens):
        if token.type == "ordered_list_open" and token.attrGet("start") is not None:
            start = token.attrGet("start")
            token.attrs.pop("start")
            item = next(t for t in tokens[i + 1:] if t.type == "list_item_open")
            item.attrSet("value", str(start))
    return md.renderer.render(tokens, md.options, {})


def instructions_html(guidelines: Path) -> str:
    """The guidelines as Label Studio's annotator instructions: rendered HTML that wraps to the box."""
    if not guidelines.exists():
        return ""
    body = render_guidelines(guidelines.read_text(encoding="utf-8"))
    return f'{INSTRUCTIONS_CSS}<div class="ne-guidelines">{body}</div>'
