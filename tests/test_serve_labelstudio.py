"""`newsevents serve` as the ML backend of a real Label Studio (the one the test session starts)."""

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from newsevents.backends import load_backend
from newsevents.labelstudio import client as ls
from newsevents.labelstudio.answers import model_answers

from conftest import FIXTURES, ROOT, _free_port
from ls_browser import close_instructions, labeling_stream, ticked

pytestmark = pytest.mark.labelstudio
SENTENCE = "Drones struck a fuel depot near the border overnight."
TEXTS = ["The foreign minister arrived in Lima on Monday.", "Markets were calm."]


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
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project_id = ls.ensure_project(client, "backend", (ROOT / "labels" / "config.xml").read_text(encoding="utf-8"))
    task_data = lambda i, text: {"sentence_id": f"ui:{i}", "text": text, "context_before": "", "context_after": ""}
    client.projects.import_tasks(id=project_id, request=[task_data(1, t) for t in TEXTS[:1]] + [task_data(2, TEXTS[1])])
    assert not any(t.predictions for t in client.tasks.list(project=project_id, fields="all"))

    connected = subprocess.run([sys.executable, "-m", "newsevents.cli", "ls", "connect", "--project", "backend",
                                "--url", served["url"]], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert connected.returncode == 0, connected.stderr
    assert "(model tiny-test) connected" in connected.stderr
    project = ls.find_project(client, "backend")
    assert project.show_collab_predictions and project.evaluate_predictions_automatically
    # The tasks that were there before: the data manager's "Retrieve predictions" asks the backend.
    auth = {"Authorization": f"Token {labelstudio_server['LABEL_STUDIO_API_KEY']}"}
    base = labelstudio_server["LABEL_STUDIO_URL"]
    action = httpx.post(f"{base}/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": project_id},
                        json={"selectedItems": {"all": True, "excluded": []}}, headers=auth, timeout=120)
    assert action.status_code == 200, action.text
    # A task made in Label Studio after connecting: Label Studio asks the backend as it arrives.
    client.projects.import_tasks(id=project_id, request=[task_data(3, SENTENCE)])

    tasks = {t.data["text"]: t for t in client.tasks.list(project=project_id, page_size=100, fields="all")}
    assert len(tasks) == 3
    expected = dict(zip(tasks, model_answers(load_backend(served["model"]), list(tasks))))
    for text, task in tasks.items():
        [pred] = [p if isinstance(p, dict) else p.dict() for p in task.predictions]
        assert pred["model_version"] == "tiny-test"
        assert pred["result"][0]["value"]["choices"] == (list(expected[text].labels) or ["none"])
        assert pred["score"] == pytest.approx(expected[text].confidence, abs=1e-4)
    offered = httpx.get(f"{base}/api/projects/{project_id}/next", headers=auth, timeout=60).json()
    assert [p["model_version"] for p in offered["predictions"]] == ["tiny-test"]
    # In the browser, the task the stream opens is ticked with the backend's answer for it.
    with labeling_stream(labelstudio_server, project_id) as page:
        close_instructions(page)
        shown = page.locator(".ne-sentence").inner_text().strip()
        assert ticked(page) == (list(expected[shown].labels) or ["No event"])

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
    assert "job succeeded" in served["log"].read_text()
    assert (tmp_path / "labels" / "annotations" / "backend.json").exists()
