"""Reading Label Studio JSON exports: the gate between annotators and training.

Every task is validated: it becomes an Example, or is excluded with a reason the data card
counts, or the whole file is rejected with an ExportError naming the file, the task and the
problem. No SDK here: an export is a file.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsevents.labelstudio.config import CONTROL, FIRST_PASS, REASON
from newsevents.schema import EVENT_TYPES, NO_EVENT, SOURCES, Example

logger = logging.getLogger(__name__)


class ExportError(ValueError):
    """An export that cannot be trusted; the message names the file, the task and the problem."""


class ContradictoryChoice(ExportError):
    """An annotation chose "No event" together with event types: a slip of one task, which is
    excluded (and listed for fixing) rather than a reason to distrust the file."""


#: The exclusion reason of a task with a contradictory choice, as the data card counts it.
CONTRADICTORY = "contradictory choice"


def contradictory(annotation: dict[str, Any]) -> bool:
    """Whether an annotation chose "No event" together with an event type."""
    chosen = {c for item in annotation.get("result") or [] if isinstance(item, dict)
              and item.get("from_name") == CONTROL and isinstance(item.get("value"), dict)
              for c in item["value"].get("choices") or []}
    return NO_EVENT in chosen and len(chosen) > 1


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


@dataclass
class ParsedExport:
    examples: list[Example] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)  # {file, task, reason}
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # {file, task, answers, resolved}
    # Tasks answered by several annotators: {sentence_id, answers: {annotator: [labels]}}
    multi: list[dict[str, Any]] = field(default_factory=list)
    # Gold tasks that arrived with first-pass labels: {sentence_id, source, first_pass, labels, reason}
    reviewed: list[dict[str, Any]] = field(default_factory=list)
    # Answers given from a model's pre-annotation: {sentence_id, model_version, predicted, labels}
    model_answers: list[dict[str, Any]] = field(default_factory=list)


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


#: The controls of ``labels/config.xml`` whose results an export may hold.
KNOWN_CONTROLS = frozenset({CONTROL, REASON})


def _results(path: Path, task_id: Any, annotation: Any) -> list[dict[str, Any]]:
    """An annotation's result items, checked: an export made with another labeling config (an
    unknown control) or a malformed item is an error, never an empty answer that silently drops
    the task."""
    if not isinstance(annotation, dict):
        raise ExportError(f"{path}: task {task_id}: an annotation is not an object ({type(annotation).__name__})")
    results = annotation.get("result") or []
    if not isinstance(results, list):
        raise ExportError(f"{path}: task {task_id}: annotation result is not a list")
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise ExportError(f"{path}: task {task_id}: a result item has no 'value' object ({item!r:.80})")
        if item.get("from_name") not in KNOWN_CONTROLS:
            raise ExportError(
                f"{path}: task {task_id}: unknown control {item.get('from_name')!r}; this export was made with "
                f"another labeling config (expected {sorted(KNOWN_CONTROLS)}, labels/config.xml)")
        if item.get("from_name") == CONTROL and not (
                isinstance(item["value"].get("choices"), list) and all(isinstance(c, str) for c in item["value"]["choices"])):
            raise ExportError(f"{path}: task {task_id}: 'choices' is not a list of names ({item['value']!r:.80})")
    return results


def _answer(path: Path, task_id: Any, annotation: dict[str, Any]) -> tuple[str, ...] | None:
    """The event types one annotation chose; None when it made no choice at all."""
    chosen: list[str] = []
    for item in _results(path, task_id, annotation):
        if item.get("type") == "choices" and item.get("from_name") == CONTROL:
            chosen += item["value"]["choices"]
    if not chosen:
        return None
    unknown = sorted(set(chosen) - set(EVENT_TYPES) - {NO_EVENT})
    if unknown:
        raise ExportError(
            f"{path}: task {task_id}: unknown label(s) {unknown}; "
            f"expected some of {list(EVENT_TYPES)} or {NO_EVENT!r}"
        )
    if NO_EVENT in chosen and len(set(chosen)) > 1:
        raise ContradictoryChoice(f"{path}: task {task_id}: {NO_EVENT!r} chosen together with event types {chosen}")
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


def _from_model(path: Path, task_id: Any, annotation: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """(model version, its answer) of the model prediction this annotation was made from, or None
    (made from scratch, or from first-pass labels, which ``reviewed`` counts)."""
    pred = annotation.get("prediction")
    if not isinstance(pred, dict) or not pred.get("model_version") or pred["model_version"] == FIRST_PASS:
        return None
    return str(pred["model_version"]), _answer(path, task_id, pred) or ()


def model_changes(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per model version and type, how annotators treated the model's answer: ``accepted`` (the
    model ticked it, so did they), ``removed`` (the model ticked it, they did not), ``added`` (they
    ticked what the model did not); and how many answers were left exactly as the model gave them."""
    out: dict[str, Any] = {}
    for a in answers:
        version = out.setdefault(a["model_version"], {
            "answers": 0, "unchanged": 0, "per_type": {t: {"accepted": 0, "added": 0, "removed": 0} for t in EVENT_TYPES}})
        predicted, labels = set(a["predicted"]), set(a["labels"])
        version["answers"] += 1
        version["unchanged"] += predicted == labels
        for t in EVENT_TYPES:
            kind = "accepted" if t in predicted and t in labels else "removed" if t in predicted else \
                "added" if t in labels else None
            if kind:
                version["per_type"][t][kind] += 1
    return dict(sorted(out.items()))


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
    an unknown label or source, a sentence id seen twice.
    Exclusions (the task is counted in the data card with its reason): no annotation, only
    cancelled or empty annotations, annotators tied on a type, and a "contradictory choice"
    ("none" chosen with event types), which ``ls push`` lists in a tab for fixing.

    An annotation marked ground truth (Label Studio's star) is an adjudication: it settles the
    task whatever the other answers say, and it is left out of annotator agreement, which is
    about the independent answers only.
    """
    parsed = ParsedExport()
    seen: set[str] = set()
    for n, task in enumerate(read_export(path)):
        if not isinstance(task, dict):
            raise ExportError(f"{path}: entry {n} is not a task object")
        task_id = task.get("id", f"#{n}")
        data = task.get("data") or {}
        if not isinstance(data, dict):
            raise ExportError(f"{path}: task {task_id}: 'data' is not an object")
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
        if not isinstance(annotations, list):
            raise ExportError(f"{path}: task {task_id}: 'annotations' is not a list")
        for a in annotations:
            _results(path, task_id, a)
        live = [a for a in annotations if not a.get("was_cancelled")]
        try:
            for a in live:
                _answer(path, task_id, a)
        except ContradictoryChoice as err:
            exclude(f"{CONTRADICTORY}: {str(err).split(': ', 2)[-1]}")
            continue
        verdicts = [a for a in (_answer(path, task_id, x) for x in live if x.get("ground_truth")) if a is not None]
        live_answers = [x for x in live if not x.get("ground_truth")]
        answered = [(x.get("completed_by"), _answer(path, task_id, x)) for x in live_answers]
        for x, (_, answer) in zip(live_answers, answered):
            made_from = _from_model(path, task_id, x)
            if made_from is not None and answer is not None:
                parsed.model_answers.append({"sentence_id": sid, "model_version": made_from[0],
                                             "predicted": list(made_from[1]), "labels": list(answer)})
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
        if not answers and not verdicts:
            exclude("empty annotation (no choice made)")
            continue
        labels = resolve(verdicts) if verdicts else resolve(answers)
        if len(set(answers)) > 1:
            parsed.disagreements.append(
                {"file": str(path), "task": task_id, "sentence_id": sid,
                 "answers": [list(a) for a in answers], "resolved": None if labels is None else list(labels),
                 **({"adjudicated": " | ".join(_reason(x) for x in live if x.get("ground_truth"))} if verdicts else {})}
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
