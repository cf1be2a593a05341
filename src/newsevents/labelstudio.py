"""Everything that talks to Label Studio: tasks from sentences, push/pull, and export parsing.

The export parser is the gate between annotators and training: it validates every task and
either returns an Example, records why the task was excluded, or raises ExportError naming the
file, the task and the problem.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.schema import EVENT_TYPES, NO_EVENT, SOURCES, Article, Example, Sentence, check_labels

logger = logging.getLogger(__name__)

#: Name of the <Choices> block in labels/config.xml; results from other controls are ignored.
CONTROL = "events"
#: Name of the <TextArea> where an annotator says why a pre-annotation was changed.
REASON = "reason"
#: model_version of the labels a source arrived with (newswire's first-pass labels): imported as
#: predictions for review, never as annotations.
FIRST_PASS = "first-pass"
DEFAULT_URL = "http://127.0.0.1:8080"
_HOW_TO_CONNECT = 'start it with `make labelstudio`, then run eval "$(scripts/labelstudio.sh env)"'


class LabelStudioError(RuntimeError):
    """A connection or server problem, phrased as one line that says what to do."""


class ExportError(ValueError):
    """An export that cannot be trusted; the message names the file, the task and the problem."""


# --------------------------------------------------------------------------- tasks


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


def labelled_tasks(
    rows: Sequence[dict[str, Any]], source: str, as_prediction: str | None = None
) -> list[dict[str, Any]]:
    """One task per sentence row that already carries labels (authored, newswire).

    A row needs ``id``, ``text`` and ``labels``; ``note``, ``trap`` and ``page`` (the address the
    sentence was read from, which groups its folds; ``seeds/newswire.jsonl`` calls it ``source``)
    are kept in the task data for reviewers. The labels become the task's annotation, or with
    ``as_prediction`` a pre-annotation of that model version, which a reviewer must accept or
    correct before the sentence counts as gold.
    """
    tasks = []
    for row in rows:
        page = row.get("page") or row.get("source")
        data = {
            "sentence_id": f"{source}:{row['id']}",
            "text": row["text"],
            "context_before": "",
            "context_after": "",
            "group": page or source,
            "source": source,
            **({"page": page} if page else {}),
            **{k: row[k] for k in ("note", "trap") if row.get(k) is not None},
        }
        result = choices_result(row["labels"])
        if as_prediction:
            tasks.append({"data": data, "predictions": [{"model_version": as_prediction, "result": result}]})
        else:
            tasks.append({"data": data, "annotations": [{"result": result}]})
    return tasks


def read_labelled_rows(path: Path) -> list[dict[str, Any]]:
    """Sentence rows of a JSONL file, each checked for ``id``, ``text`` and ``labels``."""
    from newsevents.corpus import read_text_file

    rows = []
    for lineno, line in enumerate(read_text_file(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{lineno}: not JSON: {err.msg}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{lineno}: expected a JSON object")
        missing = {"id", "text", "labels"} - set(row)
        if missing:
            raise ValueError(f"{path}:{lineno}: missing {sorted(missing)}")
        try:
            check_labels(row["labels"])
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: {err}") from None
        rows.append(row)
    return rows


def choices_result(labels: Iterable[str]) -> list[dict[str, Any]]:
    """An annotation/prediction result choosing ``labels`` (or the explicit no-event choice)."""
    chosen = [t for t in EVENT_TYPES if t in set(labels)] or [NO_EVENT]
    return [
        {"from_name": CONTROL, "to_name": "text", "type": "choices", "value": {"choices": chosen}}
    ]


def prediction(labels: Iterable[str], margin: float, model_version: str) -> dict[str, Any]:
    """A Label Studio prediction (pre-annotation): the chosen types and a task score.

    The score is the uncertainty margin (see ``predict.uncertainty``), so sorting a project by
    prediction score puts the model's closest calls first.
    """
    return {"model_version": model_version, "score": round(float(margin), 4), "result": choices_result(labels)}


def select_tasks(
    tasks: Sequence[dict[str, Any]], margins: Sequence[float], how: str, limit: int | None, seed: int
) -> list[int]:
    """Indices of the tasks to import: ``uncertain`` = smallest margin first, ``random`` = a
    seeded sample (the baseline to compare uncertainty sampling with), ``all`` = input order."""
    import random

    order = list(range(len(tasks)))
    if how == "uncertain":
        order.sort(key=lambda i: (margins[i], i))
    elif how == "random":
        random.Random(seed).shuffle(order)
    elif how != "all":
        raise ValueError(f"unknown selection {how!r}; expected all, uncertain or random")
    return order[:limit] if limit is not None else order


# --------------------------------------------------------------------------- server


def connect(url: str | None = None, api_key: str | None = None) -> Any:
    """A checked client for the server in LABEL_STUDIO_URL with the token in LABEL_STUDIO_API_KEY."""
    import httpx
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    url = url or os.environ.get("LABEL_STUDIO_URL") or DEFAULT_URL
    api_key = api_key or os.environ.get("LABEL_STUDIO_API_KEY")
    if not api_key:
        raise LabelStudioError(f"LABEL_STUDIO_API_KEY is not set: {_HOW_TO_CONNECT}")
    client = LabelStudio(base_url=url, api_key=api_key, timeout=120)
    try:
        client.users.whoami()
    except ApiError as err:
        if err.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {url} rejected LABEL_STUDIO_API_KEY: set it to the token of "
                f"this server ({_HOW_TO_CONNECT})"
            ) from None
        raise LabelStudioError(f"Label Studio at {url} answered HTTP {err.status_code}") from None
    except httpx.HTTPError as err:
        raise LabelStudioError(
            f"cannot reach Label Studio at {url} ({type(err).__name__}): {_HOW_TO_CONNECT}, "
            f"or set LABEL_STUDIO_URL"
        ) from None
    return client


def ensure_project(client: Any, title: str, label_config: str, instructions: str = "") -> int:
    """The id of the project called ``title``, created (or its config updated) as needed."""
    for project in client.projects.list(title=title):
        if project.title == title:
            changes = {}
            if project.label_config.strip() != label_config.strip():
                changes["label_config"] = label_config
            if instructions and (project.expert_instruction or "") != instructions:
                changes.update(expert_instruction=instructions, show_instruction=True)
            if changes:
                client.projects.update(id=project.id, **changes)
                logger.info("updated %s of project %r", " and ".join(sorted(changes)), title)
            return project.id
    project = client.projects.create(
        title=title, label_config=label_config, expert_instruction=instructions,
        show_instruction=bool(instructions),
    )
    logger.info("created project %r (id %d)", title, project.id)
    return project.id


def existing_sentence_ids(client: Any, project_id: int) -> set[str]:
    ids = set()
    for task in client.tasks.list(project=project_id, page_size=500, fields="all"):
        sid = (task.data or {}).get("sentence_id")
        if sid:
            ids.add(sid)
    return ids


def push(client: Any, project_id: int, tasks: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Import the tasks whose ``sentence_id`` the project lacks; returns (imported, already there).

    A task may be plain data or ``{"data": ..., "annotations": [...]}``.
    """
    have = existing_sentence_ids(client, project_id)
    new = [t for t in tasks if (t.get("data", t))["sentence_id"] not in have]
    seen: set[str] = set()
    for t in new:
        sid = t.get("data", t)["sentence_id"]
        if sid in seen:
            raise ValueError(f"two tasks share sentence_id {sid!r}")
        seen.add(sid)
    if new:
        client.projects.import_tasks(id=project_id, request=list(new))
    return len(new), len(tasks) - len(new)


def add_predictions(client: Any, project_id: int, predictions: dict[str, dict[str, Any]]) -> int:
    """Attach predictions (by sentence id) to tasks that have none of that model version yet."""
    added = 0
    for task in client.tasks.list(project=project_id, page_size=500, fields="all"):
        pred = predictions.get((task.data or {}).get("sentence_id"))
        if pred is None:
            continue
        versions = {(p["model_version"] if isinstance(p, dict) else p.model_version) for p in task.predictions or []}
        if pred["model_version"] not in versions:
            client.predictions.create(task=task.id, project=project_id, **pred)
            added += 1
    return added


REVIEW_VIEW = "Label review"


def mark_for_review(client: Any, project_id: int, issues: Sequence[dict[str, Any]]) -> int:
    """Put ``review_rank`` and ``review_reason`` into the data of the flagged tasks and make a
    "Label review" tab listing just those, most suspicious first. Returns tasks marked."""
    by_id = {i["id"]: i for i in issues}
    marked = 0
    for task in client.tasks.list(project=project_id, page_size=500, fields="all"):
        data = dict(task.data or {})
        issue = by_id.get(data.get("sentence_id"))
        stale = issue is None and "review_rank" in data
        if issue is not None:
            data.update(review_rank=issue["rank"], review_reason=issue["reason"])
            marked += 1
        elif stale:  # a later review no longer doubts this label
            data.pop("review_rank")
            data.pop("review_reason", None)
        if issue is not None or stale:
            client.tasks.update(id=str(task.id), data=data)
    if not any(v.data and v.data.get("title") == REVIEW_VIEW for v in client.views.list(project=project_id)):
        client.views.create(project=project_id, data={
            "title": REVIEW_VIEW,
            "filters": {"conjunction": "and", "items": [
                {"filter": "filter:tasks:data.review_rank", "operator": "greater", "type": "Number", "value": 0}]},
            "ordering": ["tasks:data.review_rank"],
        })
    return marked


def export(client: Any, project_id: int) -> list[dict[str, Any]]:
    """Every task of the project (annotated or not) through Label Studio's JSON export."""
    chunks = client.projects.exports.download_sync(
        id=project_id, export_type="JSON", download_all_tasks=True
    )
    return json.loads(b"".join(chunks))


#: Export fields that change while nothing else does ("created_ago": "3 minutes").
VOLATILE = frozenset({"created_ago"})


def stable_export(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks and their annotations in id order, without clock-relative fields, so re-exporting
    unchanged work gives no git diff."""

    def steady(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: steady(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [steady(v) for v in value]
        return value

    out = []
    for task in sorted(tasks, key=lambda t: t["id"]):
        task = steady(task)
        for key in ("annotations", "predictions"):  # predictions may be objects or just their ids
            if isinstance(task.get(key), list):
                task[key] = sorted(task[key], key=lambda a: a.get("id", 0) if isinstance(a, dict) else a)
        out.append(task)
    return out


def pull(client: Any, project_id: int, path: Path) -> int:
    """Write the project's export to ``path`` atomically; returns the number of tasks."""
    tasks = stable_export(export(client, project_id))
    atomic.write_json(path, tasks)
    return len(tasks)


# --------------------------------------------------------------------------- export parsing


@dataclass
class ParsedExport:
    examples: list[Example] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)  # {file, task, reason}
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # {file, task, answers, resolved}
    # Tasks answered by several annotators: {sentence_id, answers: {annotator: [labels]}}
    multi: list[dict[str, Any]] = field(default_factory=list)
    # Gold tasks that arrived with first-pass labels: {sentence_id, source, first_pass, labels, reason}
    reviewed: list[dict[str, Any]] = field(default_factory=list)


def read_export(path: Path) -> list[dict[str, Any]]:
    """The task list of an export file, or ExportError for empty, non-UTF-8 or non-JSON files."""
    data = path.read_bytes()
    if not data.strip():
        raise ExportError(f"{path}: file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ExportError(f"{path}: not UTF-8 (invalid byte at offset {err.start})") from None
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: not JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    if not isinstance(tasks, list):
        raise ExportError(f"{path}: expected a JSON list of tasks, got {type(tasks).__name__}")
    return tasks


def _answer(path: Path, task_id: Any, annotation: dict[str, Any]) -> tuple[str, ...] | None:
    """The event types one annotation chose; None when it made no choice at all."""
    chosen: list[str] = []
    for item in annotation.get("result") or []:
        if item.get("type") == "choices" and item.get("from_name") == CONTROL:
            chosen += item.get("value", {}).get("choices", [])
    if not chosen:
        return None
    unknown = sorted(set(chosen) - set(EVENT_TYPES) - {NO_EVENT})
    if unknown:
        raise ExportError(
            f"{path}: task {task_id}: unknown label(s) {unknown}; "
            f"expected some of {list(EVENT_TYPES)} or {NO_EVENT!r}"
        )
    if NO_EVENT in chosen and len(set(chosen)) > 1:
        raise ExportError(f"{path}: task {task_id}: {NO_EVENT!r} chosen together with event types {chosen}")
    return tuple(t for t in EVENT_TYPES if t in chosen)


def _reason(annotation: dict[str, Any]) -> str:
    """What the annotator wrote in the reason box ("" when nothing)."""
    texts = [
        t for item in annotation.get("result") or []
        if item.get("from_name") == REASON
        for t in item.get("value", {}).get("text", [])
    ]
    return " ".join(t.strip() for t in texts if t.strip())


def _first_pass(path: Path, task: dict[str, Any]) -> tuple[str, ...] | None:
    """The labels the task arrived with (its first-pass prediction), or None when it had none.

    Label Studio's JSON export lists a task's predictions by id only, and gives the whole
    prediction an annotation was made from under that annotation's ``prediction``.
    """
    candidates = [*(task.get("predictions") or []), *((a.get("prediction") or {}) for a in task.get("annotations") or [])]
    for pred in candidates:
        if isinstance(pred, dict) and pred.get("model_version") == FIRST_PASS:
            return _answer(path, task.get("id"), pred) or ()
    return None


def resolve(answers: Sequence[tuple[str, ...]]) -> tuple[str, ...] | None:
    """Per-type majority over annotators' answers; None when any type is tied."""
    votes = Counter(t for a in answers for t in set(a))
    labels = []
    for t in EVENT_TYPES:
        if 2 * votes[t] == len(answers) and votes[t]:
            return None
        if 2 * votes[t] > len(answers):
            labels.append(t)
    return tuple(labels)


def parse_export(path: Path) -> ParsedExport:
    """Validate one export file and turn its tasks into Examples.

    Errors (the whole file is untrusted): empty or non-UTF-8 file, not JSON, a task without text,
    an unknown label or source, "none" chosen with event types, a sentence id seen twice.
    Exclusions (the task is counted in the data card with its reason): no annotation, only
    cancelled or empty annotations, annotators tied on a type.
    """
    parsed = ParsedExport()
    seen: set[str] = set()
    for n, task in enumerate(read_export(path)):
        if not isinstance(task, dict):
            raise ExportError(f"{path}: entry {n} is not a task object")
        task_id = task.get("id", f"#{n}")
        data = task.get("data") or {}
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ExportError(f"{path}: task {task_id}: missing text")
        source = data.get("source", "seed")
        if source not in SOURCES:
            raise ExportError(f"{path}: task {task_id}: unknown source {source!r}; expected one of {list(SOURCES)}")
        sid = str(data.get("sentence_id") or f"{path.stem}:task-{task_id}")
        if sid in seen:
            raise ExportError(f"{path}: task {task_id}: sentence_id {sid!r} appears twice")
        seen.add(sid)

        def exclude(reason: str) -> None:
            parsed.excluded.append({"file": str(path), "task": task_id, "sentence_id": sid, "reason": reason})
            # Unannotated tasks are the normal state of a growing project; the rest need a look.
            level = logging.DEBUG if reason == "not annotated" else logging.WARNING
            logger.log(level, "%s: task %s excluded: %s", path, task_id, reason)

        annotations = task.get("annotations") or []
        live = [a for a in annotations if not a.get("was_cancelled")]
        answered = [(x.get("completed_by"), _answer(path, task_id, x)) for x in live]
        answers = [a for _, a in answered if a is not None]
        by_annotator = {str(who): list(a) for who, a in answered if a is not None and who is not None}
        if len(by_annotator) >= 2:
            parsed.multi.append({"sentence_id": sid, "answers": by_annotator})
        if not annotations:
            exclude("not annotated")
            continue
        if not live:
            exclude("cancelled (skipped by the annotator)")
            continue
        if not answers:
            exclude("empty annotation (no choice made)")
            continue
        labels = resolve(answers)
        if len(set(answers)) > 1:
            parsed.disagreements.append(
                {"file": str(path), "task": task_id, "sentence_id": sid,
                 "answers": [list(a) for a in answers], "resolved": None if labels is None else list(labels)}
            )
        if labels is None:
            exclude(f"annotators tied: {[list(a) for a in answers]}")
            continue
        first_pass = _first_pass(path, task)
        if first_pass is not None:
            parsed.reviewed.append({
                "sentence_id": sid, "source": source, "first_pass": list(first_pass), "labels": list(labels),
                "reason": " | ".join(r for r in (_reason(a) for a in live) if r),
            })
        group = str(data.get("group") or data.get("article_id") or sid.split(":")[0])
        context = " ".join(x for x in (data.get("context_before"), text, data.get("context_after")) if x)
        parsed.examples.append(Example(sid, text, labels, source, group, context))
    return parsed
