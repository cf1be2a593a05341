"""`newsevents serve` as the ML backend of a real Label Studio (the one the test session starts)."""

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from newsevents.inference import load_backend
from newsevents.labelstudio import client as ls
from newsevents.labelstudio.answers import model_answers

from conftest import FIXTURES, ROOT, _free_port

pytestmark = pytest.mark.labelstudio
SENTENCE = "Drones struck a fuel depot near the border overnight."


@pytest.fixture
def served(labelstudio_server, tiny_model_dir, tmp_path):
    """`newsevents serve` on a free port, serving a copy of the tiny model; its training job pulls
    the project and runs a one-second stand-in for `dvc repro`."""
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    port = _free_port()
    pipeline = f"{sys.executable} {FIXTURES / 'retrain_pipeline.py'} labels/annotations/backend.json {model}"
    env = {**os.environ, **labelstudio_server, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "newsevents.cli", "serve", "--model", str(model), "--port", str(port),
         "--train-command", pipeline, "--training-log", str(tmp_path / "training.log")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.err", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "serve.err").read_text()
            time.sleep(0.5)
        yield {"url": url, "model": model, "log": tmp_path / "training.log"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_label_studio_gets_predictions_from_serve_and_starts_training(labelstudio_server, served, tmp_path):
    env = {**os.environ, **labelstudio_server}
    article = tmp_path / "articles" / "a.txt"
    article.parent.mkdir()
    article.write_text("The foreign minister arrived in Lima on Monday. Markets were calm.", encoding="utf-8")
    run = lambda *args: subprocess.run([sys.executable, "-m", "newsevents.cli", *args], env=env, cwd=ROOT,
                                       capture_output=True, text=True, timeout=300)
    assert run("ls", "push", str(article.parent), "--project", "backend").returncode == 0
    connected = run("ls", "connect", "--project", "backend", "--url", served["url"])
    assert connected.returncode == 0, connected.stderr
    assert "(model tiny-test) connected" in connected.stderr

    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = ls.find_project(client, "backend")
    assert project.show_collab_predictions and project.evaluate_predictions_automatically
    # A task made in Label Studio, not pushed by us: it has no prediction until the backend gives one.
    client.projects.import_tasks(id=project.id, request=[
        {"sentence_id": "ui:1", "text": SENTENCE, "context_before": "", "context_after": ""}])
    auth = {"Authorization": f"Token {labelstudio_server['LABEL_STUDIO_API_KEY']}"}
    base = labelstudio_server["LABEL_STUDIO_URL"]
    action = httpx.post(f"{base}/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": project.id},
                        json={"selectedItems": {"all": True, "excluded": []}}, headers=auth, timeout=120)
    assert action.status_code == 200, action.text
    tasks = {t.data["text"]: t for t in client.tasks.list(project=project.id, page_size=100, fields="all")}
    assert len(tasks) == 3
    backend = load_backend(served["model"])
    expected = dict(zip(tasks, model_answers(backend, list(tasks))))
    for text, task in tasks.items():
        [pred] = [p if isinstance(p, dict) else p.dict() for p in task.predictions]
        assert pred["model_version"] == "tiny-test"
        assert pred["result"][0]["value"]["choices"] == (list(expected[text].labels) or ["none"])
        assert pred["score"] == pytest.approx(expected[text].confidence, abs=1e-4)
    offered = httpx.get(f"{base}/api/projects/{project.id}/next", headers=auth, timeout=60).json()
    assert [p["model_version"] for p in offered["predictions"]] == ["tiny-test"]

    bad = httpx.post(f"{served['url']}/predict", json={"tasks": [{"id": 5, "data": {"title": "x"}}]}, timeout=30)
    assert bad.status_code == 400 and bad.json() == {"detail": "task 5: no 'data.text' sentence to classify"}

    # "Start training" in Label Studio: pull, the stand-in pipeline, then the new model is served.
    [ml] = client.ml.list(project=project.id)
    client.ml.train(id=ml.id)
    for _ in range(120):
        job = httpx.get(f"{served['url']}/jobs", timeout=5).json()
        if job["state"] in ("succeeded", "failed") and not job["pending"]:
            break
        time.sleep(0.5)
    assert job["state"] == "succeeded", served["log"].read_text()
    assert job["trigger"] == "START_TRAINING" and job["project"] == "backend"
    assert httpx.post(f"{served['url']}/setup", json={}, timeout=5).json() == {"model_version": "retrained-on-3"}
    assert (tmp_path / "labels" / "annotations" / "backend.json").exists()
