"""The export stage: the classifier as an int8 ONNX model, checked against the torch model it came from.

The ONNX model is the fast CPU path of ``newsevents predict``. Quantisation changes scores a
little, so the stage measures label agreement with the torch model on every real and authored
sentence and fails when it is below ``export.min_agreement``: a fast model that says other
things than the evaluated one is not shipped.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import atomic
from newsevents.inference import ONNX_FILE, load_backend
from newsevents.jsonl import read_jsonl
from newsevents.model import META_FILE, load_classifier, write_meta
from newsevents.params import Params
from newsevents.thresholds import apply_thresholds

logger = logging.getLogger(__name__)


class AgreementError(ValueError):
    """The exported model's labels differ from the torch model's on too many sentences."""


def export(model_dir: Path, out_dir: Path, quantize: bool = True) -> Path:
    """Write ``out_dir`` with model.onnx, the tokenizer and the model's newsevents.json."""
    import torch

    classifier = load_classifier(model_dir)
    tmp = atomic.new_dir_beside(out_dir)
    try:
        sample = classifier.tokenizer(["An example sentence.", "Another one, a bit longer."],
                                      padding=True, return_tensors="pt")
        names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
        fp32 = tmp / "model-fp32.onnx"
        model = classifier.model.eval()
        model.config.return_dict = False  # tuple outputs trace cleanly
        with torch.inference_mode():
            torch.onnx.export(
                model, tuple(sample[k] for k in names), str(fp32), input_names=names,
                output_names=["logits"], opset_version=17, dynamo=False,
                dynamic_axes={**{k: {0: "batch", 1: "tokens"} for k in names}, "logits": {0: "batch"}},
            )
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(tmp / ONNX_FILE), weight_type=QuantType.QInt8,
                             per_channel=True, reduce_range=True)
            fp32.unlink()
        else:
            fp32.rename(tmp / ONNX_FILE)
        classifier.tokenizer.save_pretrained(tmp)
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        meta["onnx"] = {"quantized": quantize}
        write_meta(tmp, meta, classifier.thresholds)
        if (model_dir / "README.md").is_file():
            shutil.copy(model_dir / "README.md", tmp / "README.md")
        atomic.replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / ONNX_FILE


def agreement(reference: np.ndarray, exported: np.ndarray, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """How far the exported model's scores and labels are from the reference model's."""
    same = [a == b for a, b in zip(apply_thresholds(reference, thresholds), apply_thresholds(exported, thresholds))]
    change = np.abs(reference - exported)
    return {
        "sentences": len(same),
        "agreement": round(sum(same) / len(same), 4) if same else 1.0,
        "differing": len(same) - sum(same),
        "max_score_change": round(float(change.max()), 4) if len(same) else 0.0,
        "mean_score_change": round(float(change.mean()), 6) if len(same) else 0.0,
    }


def measure(model_dir: Path, onnx_dir: Path, texts: Sequence[str]) -> dict[str, Any]:
    """Agreement of the exported model with the torch model it came from, on ``texts``."""
    torch_backend, onnx_backend = load_backend(model_dir, "torch"), load_backend(onnx_dir, "onnx")
    return agreement(torch_backend.scores(texts), onnx_backend.scores(texts), torch_backend.thresholds)


def main(model_dir: Path, examples: Path, out_dir: Path, agreement_out: Path, params: Params) -> dict[str, Any]:
    """Export, measure agreement on every sentence of ``examples`` (real and authored), write the
    metric, then apply the gate: a failing export still shows by how much it failed."""
    export(model_dir, out_dir)
    result = {**measure(model_dir, out_dir, [row["text"] for row in read_jsonl(examples)]),
              "min_agreement": params.export.min_agreement}
    atomic.write_json(agreement_out, result)
    if result["agreement"] < params.export.min_agreement:
        raise AgreementError(
            f"{out_dir}: the ONNX model's labels differ from the torch model's on {result['differing']} of "
            f"{result['sentences']} sentences (agreement {result['agreement']:.4f} < export.min_agreement "
            f"{params.export.min_agreement}); see {agreement_out}")
    logger.info("ONNX export agrees on %d of %d sentences (%.2f%%), largest score change %.3f → %s",
                result["sentences"] - result["differing"], result["sentences"], 100 * result["agreement"],
                result["max_score_change"], out_dir)
    return result
