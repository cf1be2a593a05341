"""The Python API: ``EventClassifier`` picks the model as documented, returns typed results that
agree with ``newsevents predict``'s rows, and the ONNX path runs without torch or transformers."""

import json
import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from newsevents.classifier import (ArticlePrediction, EventClassifier, ModelError, Prediction, SentencePrediction,
                                   resolve)
from newsevents.schema import EVENT_TYPES, Article

from conftest import ROOT, SEEDS, TINY_ROWS

pytestmark = pytest.mark.slow
TEXTS = [r.text for r in TINY_ROWS]


def test_importing_the_package_and_the_class_loads_no_model_library():
    code = ("import sys; from newsevents import EventClassifier, __version__; "
            "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}).stdout
    assert out.strip() == "[]"


def test_auto_uses_the_export_beside_the_model_when_it_is_of_the_same_version(tiny_exported, tiny_model_dir, tmp_path,
                                                                            caplog):
    onnx_dir = tiny_exported.with_name("event-classifier-onnx")
    assert resolve(tiny_exported) == (onnx_dir, "onnx")
    assert resolve(onnx_dir) == (onnx_dir, "onnx")  # an ONNX folder is run as given
    assert resolve(tiny_exported, "torch") == (tiny_exported, "torch")
    assert resolve(tiny_model_dir) == (tiny_model_dir, "torch")  # no export beside it
    # An export left over from another training is not this model: auto falls back to torch, onnx refuses.
    stale = tmp_path / "models" / "event-classifier"
    shutil.copytree(tiny_exported, stale)
    shutil.copytree(onnx_dir, stale.with_name("event-classifier-onnx"))
    meta_file = stale / "newsevents.json"
    meta_file.write_text(json.dumps({**json.loads(meta_file.read_text()), "version": "retrained"}))
    with caplog.at_level(logging.WARNING, logger="newsevents.classifier"):
        assert resolve(stale) == (stale, "torch")
    assert "re-run `newsevents export-onnx`" in caplog.text
    with pytest.raises(ModelError, match="an export of model version tiny-test, not of .*retrained"):
        resolve(stale, "onnx")
    with pytest.raises(ValueError, match="unknown backend"):
        resolve(stale, "tensorflow")


def test_predict_gives_typed_results_that_follow_the_thresholds(tiny_exported):
    clf = EventClassifier.load(tiny_exported)
    assert clf.backend_name == "onnx" and clf.version == "tiny-test"
    results = clf.predict(TEXTS)
    assert [type(r) for r in results] == [Prediction] * len(TEXTS) and [r.text for r in results] == TEXTS
    scores = clf.scores(TEXTS)
    for r, row in zip(results, scores):
        assert list(r.scores) == list(EVENT_TYPES)
        np.testing.assert_allclose([r.scores[t] for t in EVENT_TYPES], row)
        assert r.events == tuple(t for t in EVENT_TYPES if r.scores[t] >= clf.thresholds[t])
    assert clf.predict([]) == []
    with pytest.raises(TypeError, match="list of texts"):
        clf.predict("one text")
    # threshold_scale moves every cut-off, as --threshold-scale does
    assert EventClassifier.load(tiny_exported, threshold_scale=0.0).predict(TEXTS[:1])[0].events == EVENT_TYPES


def test_predict_articles_matches_the_predict_command_rows(tiny_exported, tmp_path):
    clf = EventClassifier.load(tiny_exported)
    text = (SEEDS / "000_8c045d6ba132c515.txt").read_text(encoding="utf-8")
    [article] = clf.predict_articles([Article("000_8c045d6ba132c515", text)])
    assert isinstance(article, ArticlePrediction) and all(isinstance(s, SentencePrediction) for s in article.sentences)
    for s in article.sentences:
        assert text[s.start:s.end] == s.text
    out, summary = tmp_path / "rows.jsonl", tmp_path / "summary.jsonl"
    from newsevents import predict

    predict.run([str(SEEDS / "000_8c045d6ba132c515.txt")], tiny_exported, out, summary=summary, quiet=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [SentencePrediction.from_row(r) for r in rows] == list(article.sentences)
    assert {r["backend"] for r in rows} == {"onnx"}
    [srow] = [json.loads(line) for line in summary.read_text().splitlines()]
    assert srow["events"] == list(article.summary.events) and srow["counts"] == article.summary.counts
    assert {t: v["score"] for t, v in srow["top"].items()} == {t: v.score for t, v in article.summary.top.items()}
    plain = clf.predict_articles(["One sentence. Two sentences."])
    assert plain[0].doc_id == "doc-0" and len(plain[0].sentences) == 2


def test_onnx_predict_imports_neither_torch_nor_transformers(tiny_exported, tmp_path):
    code = ("import sys; from newsevents.cli import main; rc = main(sys.argv[1:]); "
            "print('LOADED', [m for m in ('torch', 'transformers', 'datasets', 'sklearn') if m in sys.modules], "
            "file=sys.stderr); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code, "predict", str(SEEDS / "000_8c045d6ba132c515.txt"),
                             "--model", str(tiny_exported), "--quiet"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and {r["backend"] for r in rows} == {"onnx"}
    assert "LOADED []" in result.stderr


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the model from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tiny_exported, monkeypatch, capsys):
    """The README's code, as written, against a models/ folder laid out as the pipeline leaves it."""
    monkeypatch.chdir(tiny_exported.parents[1])
    namespace: dict = {}
    exec(compile(readme_python_example(), "README.md", "exec"), namespace)
    clf = namespace["clf"]
    assert isinstance(clf, EventClassifier) and clf.backend_name == "onnx"
    assert isinstance(namespace["articles"][0], ArticlePrediction)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("tiny-test onnx {")
