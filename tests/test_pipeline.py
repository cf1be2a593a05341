"""`dvc repro` end to end on a small fixture corpus, in a temporary copy of the project."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
PARAMS = """\
base:
  seed: 3
prepare:
  n_folds: 2
  authored: [authored]
train:
  base_model: sentence-transformers/all-MiniLM-L6-v2
  epochs: 1
  batch_size: 16
  learning_rate: 0.0001
  weight_decay: 0.01
  warmup_ratio: 0.1
  max_length: 48
  freeze_embeddings: true
  pos_weight: sqrt
  threads: 2
export:
  min_agreement: 0.0  # a 1-epoch model on 190 sentences: the gate itself is tested in test_onnx.py
annotate:
  context_sentences: 1
learning_curve:
  fractions: [0.5]
"""


def subset(src: Path, dst: Path, n: int) -> None:
    """The first n tasks of a committed export: real Label Studio output, only fewer of it."""
    tasks = json.loads(src.read_text(encoding="utf-8"))[:n]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(tasks), encoding="utf-8")


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_dvc_repro_runs_every_stage_and_then_nothing(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "dvc.yaml", repo)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (repo / "seeds").mkdir()
    shutil.copy(ROOT / "seeds" / "stories.yaml", repo / "seeds")
    (repo / "seeds" / "heldout").mkdir()
    shutil.copy(ROOT / "seeds" / "heldout" / "families.jsonl", repo / "seeds" / "heldout")
    (repo / "params.yaml").write_text(PARAMS, encoding="utf-8")
    labels = ROOT / "labels"
    subset(labels / "annotations" / "seeds.json", repo / "labels" / "annotations" / "seeds.json", 30)
    subset(labels / "annotations" / "newswire.json", repo / "labels" / "annotations" / "newswire.json", 60)
    subset(labels / "authored" / "authored.json", repo / "labels" / "authored" / "authored.json", 60)
    subset(labels / "annotations" / "heldout.json", repo / "labels" / "annotations" / "heldout.json", 40)

    dvc("init", "--no-scm", "-q", cwd=repo)
    first = dvc("repro", cwd=repo)
    for stage in ("prepare", "train", "evaluate", "learning_curve", "dashboard", "export", "review"):
        assert f"Running stage '{stage}'" in first.stdout
    curve = json.loads((repo / "eval" / "learning_curve.json").read_text())["points"]
    assert [p["fraction"] for p in curve] == [0.5, 1.0] and curve[0]["real_sentences"] < curve[1]["real_sentences"]

    metrics = json.loads((repo / "eval" / "metrics.json").read_text())
    assert set(metrics) == {"model", "keywords", "tfidf_logreg", "zero_shot"}
    for system in metrics.values():  # the held-out source: its own entry, never part of pooled
        assert system["heldout"]["n"] == 40 and 0.0 <= system["heldout"]["hard_negative_false_event_rate"] <= 1.0
    assert 0.0 <= metrics["model"]["pooled"]["macro_f1"] <= 1.0
    assert metrics["model"]["pooled"]["n"] == metrics["model"]["seed"]["n"] + metrics["model"]["newswire"]["n"]
    assert (repo / "models" / "event-classifier" / "model.safetensors").exists()
    assert (repo / "models" / "event-classifier" / "README.md").read_text().startswith("---")
    assert (repo / "eval" / "dashboard.html").exists()
    scored = [json.loads(x) for x in (repo / "models" / "cv_predictions.jsonl").read_text().splitlines()]
    assert len(scored) == 90 and {r["source"] for r in scored} == {"seed", "newswire"}

    assert json.loads((repo / "eval" / "onnx_agreement.json").read_text())["sentences"] == 190  # held-out too

    second = dvc("repro", cwd=repo)
    assert "Running stage" not in second.stdout  # nothing changed, nothing reruns

    # A change to the dashboard's template reruns the dashboard stage and nothing else.
    template = repo / "src" / "newsevents" / "templates" / "dashboard.html.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    status = dvc("status", cwd=repo).stdout
    assert "dashboard:" in status and not any(f"{s}:" in status for s in ("prepare", "train", "evaluate", "export"))
    third = dvc("repro", cwd=repo)
    assert "Running stage 'dashboard'" in third.stdout and third.stdout.count("Running stage") == 1
    shown = dvc("metrics", "show", "--json", cwd=repo)
    assert "macro_f1" in shown.stdout
