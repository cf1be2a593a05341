"""The ONNX export: it runs on a tiny model, its agreement figures are right, and the gate fails."""

import numpy as np
import pytest

from newsevents import onnx_export
from newsevents.backends import load_backend
from newsevents.model import ModelError
from newsevents.params import ExportParams, Params
from newsevents.thresholds import apply_thresholds

from conftest import TINY_ROWS

pytestmark = pytest.mark.slow
TEXTS = [r.text for r in TINY_ROWS]


def test_exported_folder_is_a_complete_model(tiny_model_dir, onnx_dir):
    torch_backend, onnx_backend = load_backend(tiny_model_dir, "torch"), load_backend(onnx_dir, "onnx")
    assert onnx_backend.thresholds == torch_backend.thresholds and onnx_backend.version == torch_backend.version
    a, b = torch_backend.scores(TEXTS), onnx_backend.scores(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 5)
    assert np.abs(a - b).max() < 0.05  # int8 rounding of the same weights, not another model


def test_agreement_counts_sentences_whose_label_sets_differ():
    th = dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5)
    reference = np.array([[0.9, 0.1, 0.1, 0.1, 0.1], [0.6, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.1]])
    exported = reference.copy()
    exported[1, 0] = 0.4  # crosses visit's threshold: one sentence differs
    exported[2, 4] = 0.2  # moves, stays below: no label changes
    result = onnx_export.agreement(reference, exported, th)
    assert result == {"sentences": 3, "agreement": round(2 / 3, 4), "differing": 1,
                      "max_score_change": 0.2, "mean_score_change": round(0.3 / 15, 6)}
    assert apply_thresholds(exported, th)[1] == ()


def test_export_stage_writes_agreement_and_fails_below_the_gate(tiny_model_dir, tmp_path, monkeypatch):
    import json

    from newsevents import atomic

    examples = tmp_path / "examples.jsonl"
    atomic.write_jsonl(examples, (r.to_json() for r in TINY_ROWS))
    out, metric = tmp_path / "onnx", tmp_path / "onnx_agreement.json"
    result = onnx_export.main(tiny_model_dir, examples, out, metric, Params(export=ExportParams(min_agreement=0.0)))
    assert result["sentences"] == len(TINY_ROWS) and (out / "model.onnx").is_file()
    assert json.loads(metric.read_text()) == result
    # An export whose labels differ on 1 of 8 sentences is below a 99.5% gate: the stage fails,
    # after writing the figure that says by how much.
    worse = {**result, "agreement": 0.875, "differing": 1}
    monkeypatch.setattr(onnx_export, "measure", lambda *args: dict(worse))
    with pytest.raises(onnx_export.AgreementError, match=r"1 of 8 sentences .* export.min_agreement 0.995"):
        onnx_export.main(tiny_model_dir, examples, out, metric, Params())
    assert json.loads(metric.read_text())["agreement"] == 0.875


def test_onnx_backend_without_export_is_a_clear_error(tiny_model_dir):
    with pytest.raises(ModelError, match="newsevents export-onnx"):
        load_backend(tiny_model_dir, "onnx")


def test_which_matmuls_are_quantised_is_decided_by_role_not_by_node_id(onnx_dir):
    from collections import Counter

    import onnx

    assert onnx_export.node_role("/bert/encoder/layer.3/intermediate/dense/MatMul") == (3, "ffn_in")
    assert onnx_export.node_role("/classifier/MatMul") == (None, "classifier")
    assert not onnx_export.keep_fp32(0, "qkv") and onnx_export.keep_fp32(None, "classifier")
    ops = Counter(n.op_type for n in onnx.load(str(onnx_dir / "model.onnx")).graph.node)
    # the tiny model has 2 layers, each with q, k, v, attention out, FFN in and FFN out weight
    # MatMuls and two residual + LayerNorm steps; the optimizer fused the latter
    assert ops["SkipLayerNormalization"] == 4 and ops["BiasGelu"] == 2
    if onnx_export.FUSE_ATTENTION:  # q, k, v live inside the fused Attention node, in fp32
        assert ops["Attention"] == 2 and ops["MatMulNBits"] == 6
    else:
        assert ops["MatMulNBits"] == 12


def test_tokenising_ahead_gives_the_same_scores_in_the_same_order(onnx_dir):
    from newsevents.onnx_backend import OnnxBackend, one_ahead

    assert list(one_ahead(lambda x: x * x, iter(range(7)))) == [x * x for x in range(7)]
    assert list(one_ahead(str, [])) == []
    texts = TEXTS * 3  # several batches of 4, in length order, scattered back to input order
    ahead = OnnxBackend(onnx_dir, batch_size=4, prefetch=True).scores(texts)
    plain = OnnxBackend(onnx_dir, batch_size=4, prefetch=False).scores(texts)
    assert ahead.shape == (len(texts), 5)
    np.testing.assert_array_equal(ahead, plain)
