"""The Label Studio server: connecting, projects, importing tasks and predictions, exporting.

The only module that calls ``label-studio-sdk``; every server problem becomes one
``LabelStudioError`` line that says what to do.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.labelstudio.export import stable_export

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8080"
_HOW_TO_CONNECT = 'start it with `make labelstudio`, then run eval "$(scripts/labelstudio.sh env)"'
#: The tab that lists the tasks ``newsevents review --push`` marked, most suspicious first.
REVIEW_VIEW = "Label review"
#: The tab that lists the model-scored tasks, least certain first, with the model's columns shown.
UNCERTAIN_VIEW = "Most uncertain first"
#: The tab that lists tasks whose annotation chose "No event" together with an event type.
CONTRADICTION_VIEW = "Contradictory choice"
#: Data columns that only locate a sentence in its article: hidden in the tabs we make, so the
#: model's columns (score, version, uncertainty, rank) fit on screen next to the text.
_LOCATING_COLUMNS = ("context_before", "context_after", "start", "end", "group", "article_id", "page")


class LabelStudioError(RuntimeError):
    """A connection or server problem, phrased as one line that says what to do."""


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
    project = find_project(client, title)
    if project is not None:
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
    ensure_view(client, project_id, REVIEW_VIEW, "review_rank")
    return marked


def ensure_view(client: Any, project_id: int, title: str, field: str, shown: Sequence[str] = ()) -> None:
    """A data-manager tab ``title`` (made once): tasks whose numeric data ``field`` is set, in
    ascending order of it, with ``field`` and the ``shown`` data fields typed as numbers."""
    if any(v.data and v.data.get("title") == title for v in client.views.list(project=project_id)):
        return
    hidden = [f"tasks:data.{c}" for c in _LOCATING_COLUMNS]
    client.views.create(project=project_id, data={
        "title": title,
        "filters": {"conjunction": "and", "items": [
            {"filter": f"filter:tasks:data.{field}", "operator": "greater_or_equal", "type": "Number", "value": 0}]},
        "ordering": [f"tasks:data.{field}"],
        "hiddenColumns": {"explore": hidden, "labeling": hidden},
        "columnsDisplayType": {f"tasks:data.{f}": "Number" for f in (field, *shown)},
    })


def set_model_version(client: Any, project_id: int, version: str) -> None:
    """Make ``version`` the predictions Label Studio shows: the labeling stream pre-ticks only the
    predictions whose version is the project's ``model_version``."""
    client.projects.update(id=project_id, model_version=version)


def mark_contradictions(client: Any, project_id: int) -> int:
    """Flag (``contradiction`` = 1 in the task data) the tasks with an annotation that chose "No
    event" together with an event type, unflag fixed ones, and make the tab that lists them.
    Returns the number flagged."""
    from newsevents.labelstudio.export import contradictory

    flagged = 0
    for task in client.tasks.list(project=project_id, page_size=500, fields="all"):
        data = dict(task.data or {})
        annotations = [a if isinstance(a, dict) else a.dict() for a in task.annotations or []]
        bad = any(contradictory(a) for a in annotations if not a.get("was_cancelled"))
        flagged += bad
        if bad != ("contradiction" in data):
            if bad:
                data["contradiction"] = 1
            else:
                data.pop("contradiction")
            client.tasks.update(id=str(task.id), data=data)
    if flagged:
        ensure_view(client, project_id, CONTRADICTION_VIEW, "contradiction")
    return flagged


def annotate(client: Any, project_id: int, results: dict[str, list[dict[str, Any]]], ground_truth: bool = False) -> tuple[int, int]:
    """Submit one result per task (by sentence id) as the connected user's annotation.

    Tasks this user already annotated are left alone, so submitting twice adds nothing.
    Returns (submitted, already answered by this user).
    """
    me = client.users.whoami().id
    submitted = present = 0
    for task in client.tasks.list(project=project_id, page_size=500, fields="all"):
        result = results.get((task.data or {}).get("sentence_id"))
        if result is None:
            continue
        mine = [a for a in task.annotations or [] if (a["completed_by"] if isinstance(a, dict) else a.completed_by) == me]
        if mine:
            present += 1
            continue
        client.annotations.create(id=task.id, project=project_id, result=result, ground_truth=ground_truth)
        submitted += 1
    return submitted, present


def export(client: Any, project_id: int) -> list[dict[str, Any]]:
    """Every task of the project (annotated or not) through Label Studio's JSON export."""
    chunks = client.projects.exports.download_sync(
        id=project_id, export_type="JSON", download_all_tasks=True
    )
    return json.loads(b"".join(chunks))


def pull(client: Any, project_id: int, path: Path) -> int:
    """Write the project's export to ``path`` atomically; returns the number of tasks."""
    tasks = stable_export(export(client, project_id))
    atomic.write_json(path, tasks)
    return len(tasks)


def connect_backend(client: Any, project_id: int, url: str) -> str:
    """Register the ML backend at ``url`` with the project (once), switch on pre-labelling with its
    predictions, and return the model version the backend reported."""
    from label_studio_sdk.core.api_error import ApiError

    backend = next((b for b in client.ml.list(project=project_id) if b.url.rstrip("/") == url.rstrip("/")), None)
    try:
        if backend is None:
            backend = client.ml.create(project=project_id, url=url, title="newsevents", is_interactive=False)
        else:  # asks the backend for its version again
            backend = client.ml.update(id=backend.id, url=url, project=project_id)
    except ApiError as err:
        raise LabelStudioError(f"Label Studio could not use the ML backend at {url} (HTTP {err.status_code}: "
                               f"{str(err.body)[:200]}): is `newsevents serve` running there?") from None
    # Label Studio names a live model by its ML backend's title in the project's model_version.
    client.projects.update(id=project_id, show_collab_predictions=True, evaluate_predictions_automatically=True,
                           model_version=backend.title)
    return client.ml.get(id=backend.id).model_version or ""


def find_project(client: Any, title: str) -> Any | None:
    """The project called exactly ``title`` (the server's title filter also matches parts), or None."""
    return next((p for p in client.projects.list(title=title) if p.title == title), None)


def require_project(client: Any, title: str) -> int:
    """The id of the project called ``title``, or LabelStudioError."""
    found = find_project(client, title)
    if found is None:
        raise LabelStudioError(f"no project called {title!r} on this server")
    return found.id
