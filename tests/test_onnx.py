"""The ONNX Runtime backend (int8) must give the torch backend's labels on the seed corpus."""

from pathlib import Path

import numpy as np
import pytest

from newsevents import onnx_export
from newsevents.corpus import read_articles, segment
from newsevents.predict import apply_thresholds, load_backend

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_model_dir() -> Path:
    """The model the pipeline trained (`make repro`): the claim is about it, so it is tested on it."""
    directory = ROOT / "models" / "event-classifier"
    assert (directory / "model.safetensors").exists(), f"no trained model in {directory}: run `make repro` first"
    return directory


def test_int8_onnx_labels_agree_with_torch_on_the_seed_corpus(real_model_dir, tmp_path):
    onnx_dir = tmp_path / "onnx"
    onnx_export.export(real_model_dir, onnx_dir, quantize=True)
    texts = [s.text for a in read_articles(SEEDS) for s in segment(a)]
    torch_backend = load_backend(real_model_dir, "torch")
    onnx_backend = load_backend(onnx_dir, "onnx")
    assert onnx_backend.thresholds == torch_backend.thresholds and onnx_backend.version == torch_backend.version
    a, b = torch_backend.scores(texts), onnx_backend.scores(texts)
    same = [x == y for x, y in zip(apply_thresholds(a, torch_backend.thresholds), apply_thresholds(b, onnx_backend.thresholds))]
    assert sum(same) / len(same) >= 0.99, f"{len(same) - sum(same)} of {len(same)} sentences differ"
    assert np.abs(a - b).mean() < 0.01  # int8 rounding, not a different model
    assert a.std() > 0.05  # the scores really spread, so agreement is not trivial


def test_onnx_backend_without_export_is_a_clear_error(real_model_dir):
    from newsevents.model import ModelError

    with pytest.raises(ModelError, match="newsevents export-onnx"):
        load_backend(real_model_dir, "onnx")
