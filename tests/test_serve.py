"""newsevents serve: the ML backend protocol, bad requests, and training jobs (the app in-process)."""

import json
import shutil
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsevents.backends import load_backend
from newsevents.labelstudio.answers import model_answers
from newsevents.labelstudio.tasks import prediction
from newsevents.serve import ServedModel, create_app
from newsevents.training_jobs import TrainingJobs

from conftest import FIXTURES

TEXTS = ["The president arrived in Nairobi for a state visit.", "Shares rose after the quarterly results."]


@pytest.fixture
def model_dir(tiny_model_dir, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def app_for(model_dir: Path, tmp_path: Path, steps) -> tuple[TestClient, TrainingJobs]:
    model = ServedModel(lambda: load_backend(model_dir))
    jobs = TrainingJobs(steps, tmp_path / "logs" / "training.log", on_success=model.reload, cwd=tmp_path)
    return TestClient(create_app(model, jobs)), jobs


def test_predict_gives_one_prediction_per_task_the_same_as_ls_push(model_dir, tmp_path):
    client, _ = app_for(model_dir, tmp_path, lambda p: [])
    assert client.get("/health").json()["status"] == "UP"
    assert client.post("/setup", json={"project": "1.1", "schema": "<View/>"}).json() == {"model_version": "tiny-test"}
    reply = client.post("/predict", json={"tasks": [{"id": i, "data": {"text": t}} for i, t in enumerate(TEXTS)]})
    assert reply.status_code == 200
    results = reply.json()["results"]
    backend = load_backend(model_dir)
    for got, answer in zip(results, model_answers(backend, TEXTS), strict=True):
        expected = prediction(answer, "tiny-test")
        assert {k: got[k] for k in expected} == expected
        assert got["meta"]["scores"] == answer.scores and set(answer.scores) == {
            "visit", "treaty", "strike", "sentence", "sanction"}
        assert 0.0 <= got["score"] <= 1.0


@pytest.mark.parametrize("body, status, detail", [
    (b"not json", 400, "body is not JSON"),
    (b"[]", 400, "expected a JSON object with a 'tasks' list"),
    (json.dumps({"tasks": [{"id": 7, "data": {"txt": "x"}}]}).encode(), 400, "task 7: no 'data.text' sentence"),
    (json.dumps({"tasks": [{"id": 8, "data": {"text": "  "}}]}).encode(), 400, "task 8: no 'data.text' sentence"),
    (json.dumps({"tasks": ["a sentence"]}).encode(), 400, "task #0: no 'data.text' sentence"),
])
def test_a_bad_predict_request_is_a_4xx_with_one_line(model_dir, tmp_path, body, status, detail):
    client, _ = app_for(model_dir, tmp_path, lambda p: [])
    reply = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == status
    assert reply.json()["detail"].startswith(detail) and "\n" not in reply.json()["detail"]


def test_webhooks_that_are_not_about_annotations_start_nothing(model_dir, tmp_path):
    client, jobs = app_for(model_dir, tmp_path, lambda p: [[sys.executable, "-c", "pass"]])
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED", "project": {"title": "p"}}).json()["status"] == "ignored"
    assert client.post("/webhook", json={"project": {}}).status_code == 400
    assert jobs.status.state == "idle"


def test_a_training_job_reloads_the_new_model(model_dir, tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1}, {"id": 2}]))
    pipeline = [sys.executable, str(FIXTURES / "retrain_pipeline.py"), str(export), str(model_dir)]
    client, jobs = app_for(model_dir, tmp_path, lambda project: [[sys.executable, "-c", f"print('pull {project}')"],
                                                                  pipeline])
    started = client.post("/webhook", json={"action": "START_TRAINING", "project": {"title": "p"}})
    assert started.status_code == 201 and started.json()["status"] == "started"
    assert client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"title": "p"}}).json()["status"] in {
        "queued", "started"}
    status = jobs.wait(timeout=120)
    assert status.state == "succeeded", status
    assert client.post("/setup", json={}).json() == {"model_version": "retrained-on-2"}
    assert client.get("/jobs").json()["state"] == "succeeded"
    log = (tmp_path / "logs" / "training.log").read_text()
    assert "pull p" in log and "wrote retrained-on-2" in log and "job succeeded" in log


def test_a_failed_job_keeps_the_old_model_and_says_why(model_dir, tmp_path):
    client, jobs = app_for(model_dir, tmp_path, lambda project: [
        [sys.executable, "-c", "import sys; print('dvc: stage train failed'); sys.exit(3)"]])
    client.post("/webhook", json={"action": "START_TRAINING", "project": {"title": "p"}})
    status = jobs.wait(timeout=60)
    assert status.state == "failed" and "exited with 3" in status.reason
    health = client.get("/health").json()
    assert health["model_version"] == "tiny-test" and health["training"]["state"] == "failed"
    assert "dvc: stage train failed" in (tmp_path / "logs" / "training.log").read_text()


def test_a_new_model_that_does_not_load_leaves_the_old_one_serving(model_dir, tmp_path):
    client, jobs = app_for(model_dir, tmp_path, lambda project: [
        [sys.executable, "-c", f"import os; os.remove({str(model_dir / 'newsevents.json')!r})"]])
    client.post("/webhook", json={"action": "START_TRAINING", "project": {"title": "p"}})
    status = jobs.wait(timeout=60)
    assert status.state == "failed" and "did not load" in status.reason
    assert client.post("/predict", json={"tasks": [{"data": {"text": TEXTS[0]}}]}).json()["results"][0][
        "model_version"] == "tiny-test"
