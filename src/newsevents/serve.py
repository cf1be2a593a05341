"""``newsevents serve``: the model as a Label Studio ML backend.

Speaks the small protocol of HumanSignal's label-studio-ml-backend (``GET /health``, ``POST
/setup``, ``/predict``, ``/webhook``) without its SDK. Label Studio 1.23 sends "Start training" as a
``START_TRAINING`` webhook (its older ``/train`` call is not served). Predictions come from
``labelstudio.answers.model_answers``, the path ``ls push --predictions`` uses, so a task gets the
same answer either way. Label Studio's "Start training" and its annotation webhooks start a
``training_jobs`` job; when it succeeds the backend reloads the model folder.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from newsevents.inference import Backend
from newsevents.labelstudio import tasks as lt
from newsevents.labelstudio.answers import model_answers
from newsevents.training_jobs import TrainingJobs

logger = logging.getLogger(__name__)

#: Label Studio events that start retraining: its "Start training" button and annotation changes.
TRAIN_EVENTS = frozenset({"START_TRAINING", "ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_DELETED"})


class BadRequest(ValueError):
    """A request the backend cannot answer; the message is the one-line reason sent back (HTTP 400)."""


class ServedModel:
    """The model being served, swapped whole when a training job brings a new one."""

    def __init__(self, load: Callable[[], Backend]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self.backend = load()

    def reload(self) -> None:
        backend = self._load()  # load first: a model that fails to load leaves the old one serving
        with self._lock:
            old, self.backend = self.backend.version, backend
        logger.info("reloaded the model: %s -> %s", old, backend.version)

    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        with self._lock:
            backend = self.backend
        return [
            {**lt.prediction(answer, backend.version),
             "meta": {"scores": answer.scores, "uncertainty": round(answer.margin, 4)}}
            for answer in model_answers(backend, texts)
        ]


def task_texts(body: Any) -> list[str]:
    """The sentence of each task in a ``/predict`` body, or BadRequest saying which task is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
        raise BadRequest("expected a JSON object with a 'tasks' list")
    texts = []
    for n, task in enumerate(body["tasks"]):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            name = task.get("id", f"#{n}") if isinstance(task, dict) else f"#{n}"
            raise BadRequest(f"task {name}: no 'data.text' sentence to classify")
        texts.append(text)
    return texts


def project_title(body: Any) -> str:
    """The project a webhook is about, or BadRequest."""
    project = body.get("project") if isinstance(body, dict) else None
    title = project.get("title") if isinstance(project, dict) else None
    if not isinstance(title, str) or not title:
        raise BadRequest("expected the webhook's 'project' object with its 'title'")
    return title


def create_app(model: ServedModel, jobs: TrainingJobs | None) -> FastAPI:
    """The FastAPI app; every bad request is a 4xx with ``{"detail": one line}``."""
    app = FastAPI(title="newsevents ML backend", docs_url=None, redoc_url=None)

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, err: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "invalid request: " + "; ".join(e.get("msg", "") for e in err.errors())},
                            status_code=422)

    @app.exception_handler(Exception)
    async def failed(_: Request, err: Exception) -> JSONResponse:
        logger.exception("request failed")
        return JSONResponse({"detail": f"{type(err).__name__}: {err}".splitlines()[0]}, status_code=500)

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BadRequest(f"body is not JSON ({err})") from None

    def job_status() -> dict[str, Any] | None:
        return jobs.status.as_dict() if jobs is not None else None

    @app.get("/")
    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "UP", "model_class": "newsevents", "model_version": model.backend.version,
                "training": job_status()}

    @app.get("/jobs")
    def job() -> dict[str, Any]:
        if jobs is None:
            raise BadRequest("training is off (serve was started with --no-training)")
        return jobs.status.as_dict()

    @app.post("/setup")
    async def setup(request: Request) -> dict[str, Any]:
        await body_of(request)
        return {"model_version": model.backend.version}

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        texts = task_texts(await body_of(request))
        return {"results": model.predict(texts)}

    def start_training(event: str, title: str) -> dict[str, Any]:
        if jobs is None:
            return {"status": "training is off", "event": event}
        return {"status": jobs.trigger(event, title), "event": event, "job": jobs.status.as_dict()}

    @app.post("/webhook", status_code=201)
    async def webhook(request: Request) -> dict[str, Any]:
        body = await body_of(request)
        event = body.get("action") if isinstance(body, dict) else None
        if not isinstance(event, str):
            raise BadRequest("expected a webhook with an 'action'")
        if event not in TRAIN_EVENTS:
            return {"status": "ignored", "event": event}
        return start_training(event, project_title(body))

    return app


def main(model_dir: Path, backend: str, host: str, port: int, train_command: str | None, log_path: Path,
         cwd: Path) -> None:
    """Load the model, then serve it until interrupted; ``train_command`` None switches training off."""
    import sys

    import uvicorn

    from newsevents.classifier import EventClassifier
    from newsevents.training_jobs import TrainingJobs, pull_then

    model = ServedModel(lambda: EventClassifier.load(model_dir, backend).backend)  # the same rule as predict
    jobs = None if train_command is None else TrainingJobs(
        pull_then(train_command, sys.executable), log_path, on_success=model.reload, cwd=cwd)
    logger.info("serving model %s from %s at http://%s:%d (training: %s)", model.backend.version, model_dir, host,
                port, train_command or "off")
    uvicorn.run(create_app(model, jobs), host=host, port=port, log_level="warning")
