"""What the ``ls`` commands orchestrate: building tasks, scoring and selecting them, sending them.

Pure pieces live in ``labelstudio.tasks`` (task data) and ``thresholds`` (uncertainty); the
server calls in ``labelstudio.client``. This module wires them in the order a round of
annotation needs.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsevents import corpus
from newsevents.jsonl import read_jsonl
from newsevents.labelstudio import client as ls
from newsevents.labelstudio import tasks as lt
from newsevents.labelstudio.config import FIRST_PASS
from newsevents.labelstudio.export import contradictory, read_export

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Project:
    """A Label Studio project as the project sets it up: title, labeling interface, instructions."""

    title: str
    config: Path
    guidelines: Path

    def ensure(self, client: Any) -> int:
        return ls.ensure_project(client, self.title, self.config.read_text(encoding="utf-8"),
                                 lt.instructions_html(self.guidelines))


#: Sources whose sentence rows arrive with a first annotator's labels, pushed as predictions to review.
FIRST_PASS_SOURCES = ("newswire",)
#: Sources annotated blind: rows arrive without labels and tasks carry no pre-annotation.
BLIND_SOURCES = ("heldout",)
#: Unlabelled real text for the annotation loop: the model scores it, selects and pre-annotates.
POOL_SOURCES = ("pool",)


def build_tasks(inputs: Sequence[Path], source: str, context: int) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """Task data for every sentence, and the first-pass predictions of sources that arrive labelled.

    ``seed``: articles, split into sentences, each with ``context`` neighbours either side.
    ``newswire``: JSONL sentence rows whose labels become first-pass predictions to review.
    ``heldout``: JSONL sentence rows, no labels: annotated blind, never pre-annotated.
    ``pool``: unlabelled JSONL sentence rows in article order, neighbours as context.
    """
    if source in POOL_SOURCES:
        return lt.pool_tasks([row for path in inputs for row in lt.read_rows(path, frozenset({"id", "text", "page", "doc"}))],
                             context, source), {}
    if source == "seed":
        return [t for article in corpus.iter_articles(inputs)
                for t in lt.sentence_tasks(article, corpus.segment(article), context)], {}
    if source in BLIND_SOURCES:
        return [lt.row_task(row, source) for path in inputs for row in lt.read_sentence_rows(path, labelled=False)], {}
    rows = [row for path in inputs for row in lt.read_sentence_rows(path)]
    labelled = lt.labelled_tasks(rows, source, as_prediction=FIRST_PASS)
    return [t["data"] for t in labelled], {t["data"]["sentence_id"]: t["predictions"][0] for t in labelled}


def pre_annotate(tasks: list[dict[str, Any]], model_dir: Path, select: str, limit: int | None,
                 seed: int, random_share: float = 0.0) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """Score the tasks with the model, keep the selected ones (most uncertain first, or a seeded
    random sample), and give each the model's answer as a prediction. Returns (kept tasks,
    predictions by sentence id); each prediction carries the model version."""
    from newsevents.classifier import EventClassifier
    from newsevents.labelstudio.answers import model_answers

    backend = EventClassifier.load(model_dir).backend  # the ONNX export when it is of this model, as predict
    answers = model_answers(backend, [t["text"] for t in tasks])
    keep = lt.select_tasks(tasks, [a.margin for a in answers], select, limit, seed, random_share)
    predictions = {}
    for rank, i in enumerate(keep, 1):
        tasks[i]["uncertainty"] = round(answers[i].margin, 4)
        if select != "all":
            tasks[i]["selection_rank"] = rank
        predictions[tasks[i]["sentence_id"]] = lt.prediction(answers[i], backend.version)
    logger.info("scored %d sentences with model %s; importing %d (%s)", len(answers), backend.version, len(keep), select)
    return [tasks[i] for i in keep], predictions


def mark_blind(tasks: Sequence[dict[str, Any]], share: float, seed: int) -> set[str]:
    """Flag a seeded ``share`` of the tasks ``blind``: they get no pre-annotation, and two
    annotators answer them independently, which measures agreement on text the model chose."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"blind share must be in [0, 1], got {share}")
    ids = sorted(t["sentence_id"] for t in tasks)
    blind = set(random.Random(seed).sample(ids, round(len(ids) * share)))
    for t in tasks:
        if t["sentence_id"] in blind:
            t["blind"] = True
    return blind


def push_round(project: Project, inputs: Sequence[Path], source: str, context: int, *, predictions: bool,
               model_dir: Path, select: str, limit: int | None, seed: int, random_share: float = 0.0,
               blind_share: float = 0.0) -> None:
    """``ls push``: tasks for the inputs, optionally scored and selected by the model, imported
    without duplicates; with ``predictions``, tasks already there get this model's answer too.

    When the model selects, sentences the project already has are left out first, so each
    round brings ``limit`` new ones. ``blind_share`` of a round gets no pre-annotation
    (``mark_blind``).
    """
    if source in BLIND_SOURCES and (predictions or select != "all"):
        raise ValueError(f"source {source!r} is annotated blind: no model may score or select its tasks")
    tasks, first_pass = build_tasks(inputs, source, context)
    client = ls.connect()  # fail fast, before scoring
    project_id = project.ensure(client)
    model_predictions: dict[str, dict] = {}
    if predictions or select != "all":
        if select != "all":
            have = ls.existing_sentence_ids(client, project_id)
            tasks = [t for t in tasks if t["sentence_id"] not in have]
        tasks, model_predictions = pre_annotate(tasks, model_dir, select, limit, seed, random_share)
    for sid in mark_blind(tasks, blind_share, seed):
        model_predictions.pop(sid, None)
    to_import = []
    for t in tasks:
        preds = [p[t["sentence_id"]] for p in (first_pass, model_predictions) if t["sentence_id"] in p]
        to_import.append({"data": t, "predictions": preds} if preds else t)
    added, present = ls.push(client, project_id, to_import)
    logger.info("project %r: imported %d new tasks, %d already there", project.title, added, present)
    if predictions and present:
        n = ls.add_predictions(client, project_id, model_predictions)
        logger.info("added the model's predictions to %d existing tasks", n)
    if model_predictions:
        version = next(iter(model_predictions.values()))["model_version"]
        ls.set_model_version(client, project_id, version)
        ls.ensure_view(client, project_id, ls.UNCERTAIN_VIEW, "uncertainty", shown=("selection_rank",))
        logger.info("project %r now shows the predictions of model %s", project.title, version)
    flagged = ls.mark_contradictions(client, project_id)
    if flagged:
        logger.warning("project %r: %d task(s) chose 'No event' with an event type: fix them in the %r tab",
                       project.title, flagged, ls.CONTRADICTION_VIEW)


def push_labelled(project: Project, rows_file: Path, source: str) -> None:
    """Import sentence rows that already carry labels (authored) as annotated tasks."""
    rows = lt.read_sentence_rows(rows_file)
    client = ls.connect()
    added, present = ls.push(client, project.ensure(client), lt.labelled_tasks(rows, source))
    logger.info("project %r: imported %d labelled tasks, %d already there", project.title, added, present)


def submit_answers(title: str, answers_file: Path, source: str, ground_truth: bool = False) -> None:
    """An annotator's answers (a file of ``{id, labels, rule}``) as their annotations in the project.

    The connected user (LABEL_STUDIO_API_KEY) is the annotator; ``scripts/labelstudio.sh
    annotator NAME`` gives each annotator a token. With ``ground_truth`` the answers are
    adjudications: they settle the tasks and stay out of annotator agreement.
    """
    rows = lt.read_answers(answers_file)
    results = {f"{source}:{r['id']}": lt.answer_result(r["labels"], str(r.get("rule") or "")) for r in rows}
    client = ls.connect()
    project_id = ls.require_project(client, title)
    missing = set(results) - ls.existing_sentence_ids(client, project_id)
    if missing:
        raise ValueError(f"{answers_file}: {len(missing)} answers for sentences project {title!r} lacks, "
                         f"e.g. {sorted(missing)[0]!r}: push the sentences first")
    submitted, present = ls.annotate(client, project_id, results, ground_truth)
    logger.info("project %r: submitted %d answers as %s, %d already answered", title, submitted,
                client.users.whoami().email, present)


def pull(title: str, output: Path) -> int:
    """Export the project's tasks to ``output`` (the committed gold labels)."""
    client = ls.connect()
    n = ls.pull(client, ls.require_project(client, title), output)
    logger.info("wrote %d tasks of project %r to %s", n, title, output)
    bad = contradictory_tasks(read_export(output))
    if bad:
        logger.warning("%d task(s) chose 'No event' together with an event type; `newsevents prepare` leaves "
                       "them out until fixed (`ls push` lists them in the %r tab): %s",
                       len(bad), ls.CONTRADICTION_VIEW, ", ".join(f"task {i} ({sid})" for i, sid in bad))
    return n


def contradictory_tasks(tasks: Sequence[dict[str, Any]]) -> list[tuple[Any, str]]:
    """(task id, sentence id) of each exported task with a live contradictory annotation."""
    return [(t.get("id"), (t.get("data") or {}).get("sentence_id", "")) for t in tasks
            if any(contradictory(a) for a in t.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled"))]


def push_review(issues_file: Path, projects: dict[str, str]) -> None:
    """Mark the review stage's doubtful gold labels in the project of each source (``source → title``)."""
    issues = read_jsonl(issues_file)
    client = ls.connect()
    for source, title in projects.items():
        found = ls.find_project(client, title)
        if found is not None:
            n = ls.mark_for_review(client, found.id, [i for i in issues if i["source"] == source])
            logger.info("project %r: %d tasks in the %r tab", title, n, ls.REVIEW_VIEW)


def connect_backend(title: str, url: str) -> None:
    """``ls connect``: register ``newsevents serve`` at ``url`` as the project's ML backend and let
    Label Studio pre-label each task it opens with the backend's prediction."""
    client = ls.connect()
    project_id = ls.require_project(client, title)
    version = ls.connect_backend(client, project_id, url)
    logger.info("project %r: ML backend %s (model %s) connected; tasks are pre-labelled as they open",
                title, url, version)
