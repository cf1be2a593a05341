"""The ONNX Runtime backend (int8) must give the torch backend's labels on the seed corpus."""

from pathlib import Path

import numpy as np
import pytest

from newsevents import onnx_export
from newsevents.corpus import read_articles, segment
from newsevents.labelstudio import parse_export
from newsevents.model import save_classifier
from newsevents.params import TrainParams
from newsevents.predict import apply_thresholds, load_backend
from newsevents.train import fit

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_model_dir(tmp_path_factory) -> Path:
    """MiniLM fine-tuned briefly on 300 authored sentences: real weights, real score spread."""
    examples = parse_export(ROOT / "labels" / "authored" / "authored.json").examples[:300]
    rows = [{"id": e.id, "text": e.text, "labels": list(e.labels)} for e in examples]
    model, tokenizer = fit(rows, TrainParams(epochs=2), seed=5)
    directory = tmp_path_factory.mktemp("real") / "event-classifier"
    save_classifier(directory, model, tokenizer, dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5),
                    {"version": "onnx-test"})
    return directory


def test_int8_onnx_labels_agree_with_torch_on_the_seed_corpus(real_model_dir, tmp_path):
    onnx_dir = tmp_path / "onnx"
    onnx_export.export(real_model_dir, onnx_dir, quantize=True)
    texts = [s.text for a in read_articles(SEEDS) for s in segment(a)]
    torch_backend = load_backend(real_model_dir, "torch")
    onnx_backend = load_backend(onnx_dir, "onnx")
    assert onnx_backend.thresholds == torch_backend.thresholds and onnx_backend.version == "onnx-test"
    a, b = torch_backend.scores(texts), onnx_backend.scores(texts)
    same = [x == y for x, y in zip(apply_thresholds(a, torch_backend.thresholds), apply_thresholds(b, onnx_backend.thresholds))]
    assert sum(same) / len(same) >= 0.99, f"{len(same) - sum(same)} of {len(same)} sentences differ"
    assert np.abs(a - b).max() < 0.05  # int8 rounding, not a different model
    assert a.std() > 0.05  # the scores really spread, so agreement is not trivial


def test_onnx_backend_without_export_is_a_clear_error(real_model_dir):
    from newsevents.model import ModelError

    with pytest.raises(ModelError, match="newsevents export-onnx"):
        load_backend(real_model_dir, "onnx")
