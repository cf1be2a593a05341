"""The core package alone (no extras) predicts with the ONNX model, in a fresh virtual environment
without torch: what `pip install newsevents` gives a user."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def test_core_install_predicts_with_onnx_and_has_no_torch(tiny_exported, tmp_path):
    python = shutil.which("python3.11") or sys.executable
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # A copy of the source, so the build leaves nothing in the work tree.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "models", "eval", "training", "labels",
                                                             "__pycache__", "*.egg-info", "build"))
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), str(src)], check=True, timeout=1200)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    article = SEEDS / "000_8c045d6ba132c515.txt"
    result = subprocess.run([str(venv / "bin" / "newsevents"), "predict", str(article), "--model", str(tiny_exported),
                             "--quiet"], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    text = article.read_text(encoding="utf-8")
    assert rows and all(text[r["start"]:r["end"]] == r["text"] for r in rows)
    assert {r["backend"] for r in rows} == {"onnx"} and {r["model"] for r in rows} == {"event-classifier tiny-test"}
    for module in ("torch", "transformers"):
        probe = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], capture_output=True,
                               text=True, env=env, cwd=tmp_path)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, module
    # The torch backend says what to install instead of a traceback.
    forced = subprocess.run([str(venv / "bin" / "newsevents"), "predict", str(article), "--model", str(tiny_exported),
                             "--backend", "torch", "--quiet"], capture_output=True, text=True, timeout=300, env=env,
                            cwd=tmp_path)
    assert forced.returncode == 1 and "newsevents[torch]" in forced.stderr
