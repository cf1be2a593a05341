"""The export stage: the classifier as an 8-bit ONNX model, checked against the torch model it came from.

The ONNX model is the fast CPU path of ``newsevents predict``. Quantisation changes scores a
little, so the stage measures label agreement with the torch model on every real and authored
sentence and fails when it is below ``export.min_agreement``: a fast model that says other
things than the evaluated one is not shipped.

The recipe: ``torch.onnx.export`` of the model with eager attention (the pattern ONNX Runtime's
transformer optimizer recognises), that optimizer's fusions (embeddings + LayerNorm, attention,
residual + LayerNorm, bias + GELU), then every remaining weight MatMul of the encoder layers
becomes ``MatMulNBits`` with int8 weights in blocks of 128 input rows and, at ``accuracy_level``
4, int8 activations quantised per row and block. ``quantize_dynamic`` (one activation scale per
batch tensor, so one outlier token coarsens every other sentence in the batch) changed the
labels of 18 of 1,654 sentences of the pipeline's model, most of them held-out text; MatMulNBits
changed 1. The heads, the embeddings and the fused attention (its query, key and value
projections included) stay fp32. ONNX Runtime's int8 GEMM (``quantize_dynamic``: MatMulInteger and
QAttention) runs 1.6x faster, but its activation scale is shared by the whole batch, so a
sentence's labels depend on which sentences it is batched with (15 of 3,808 change between
batches of 32 and 1; MatMulNBits, per row: none). ``bench/onnx_recipes.py`` measures each
variant's speed, agreement and batch dependence.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import atomic
from newsevents.backends import load_backend
from newsevents.onnx_backend import ONNX_FILE
from newsevents.jsonl import read_jsonl
from newsevents.model import META_FILE, load_classifier, write_meta
from newsevents.params import Params
from newsevents.thresholds import apply_thresholds

logger = logging.getLogger(__name__)

BITS = 8
BLOCK_SIZE = 128  # 32 is ~1.5x more accurate and ~15% slower; 256 is no faster than 128
ACCURACY_LEVEL = 4  # int8 activations per block (fast path); 0 = fp32 activations (slower, closer)
FUSE_ATTENTION = True  # see bench/onnx_recipes.py

# Roles of the weight-bearing nodes of a BERT-like encoder, from the module paths the TorchScript
# exporter puts in node names (``/bert/encoder/layer.3/intermediate/dense/MatMul``).  The same
# pattern names the nodes of RoBERTa / DistilBERT / MiniLM / ELECTRA exports (their paths differ
# only in the prefix).
_ROLES = (
    ("embeddings", re.compile(r"/embeddings/")),
    ("qkv", re.compile(r"/attention/self/(query|key|value)/|/attention/(q_lin|k_lin|v_lin)/")),
    ("attn_out", re.compile(r"/attention/output/dense/|/attention/out_lin/")),
    ("ffn_in", re.compile(r"/intermediate/dense/|/ffn/lin1/")),
    ("ffn_out", re.compile(r"/output/dense/|/ffn/lin2/")),
    ("pooler", re.compile(r"/pooler/")),
    ("classifier", re.compile(r"classifier|pre_classifier|/score/")),
)
_LAYER = re.compile(r"layer[._](\d+)")



def node_role(name: str) -> tuple[int | None, str | None]:
    """(layer index or None, role or None) of an exported node, from its module path."""
    role = next((r for r, pat in _ROLES if pat.search(name)), None)
    m = _LAYER.search(name)
    return (int(m.group(1)) if m else None), role


def keep_fp32(layer: int | None, role: str | None) -> bool:
    """The rule for which weight MatMuls stay fp32: everything outside the encoder layers.

    The pooler and classifier are 0.1% of the arithmetic and sit right before the thresholds, so
    quantising them buys nothing and costs agreement.  Unrecognised MatMuls also stay fp32.
    """
    return layer is None or role not in ("qkv", "attn_out", "ffn_in", "ffn_out")


def optimize(src: Path, config: Any, fuse_attention: bool = FUSE_ATTENTION,
             multi_head: bool = False) -> tuple[Any, dict[str, int]]:
    """ONNX Runtime's transformer fusions for the base model's architecture, and what they fused.

    ``opt_level=0`` runs the Python fusions only: the saved graph stays portable across CPUs
    (ONNX Runtime applies its own hardware-specific optimisations when a session loads it). An
    architecture the optimizer does not know is left unfused, not refused.
    """
    import onnx
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import MODEL_TYPES, optimize_model

    model_type = getattr(config, "model_type", "")
    if model_type not in MODEL_TYPES:
        logger.warning("%s: ONNX Runtime has no fusions for model type %r; exporting it unfused", src, model_type)
        return onnx.load(str(src)), {}
    options = FusionOptions(model_type)
    options.enable_attention = fuse_attention
    options.use_multi_head_attention = multi_head  # Q/K/V MatMuls stay outside, so they can be int8
    optimized = optimize_model(str(src), model_type=model_type, num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size, opt_level=0, optimization_options=options)
    fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    return optimized.model, fused


def quantize_matmuls(model, block_size: int = BLOCK_SIZE, accuracy_level: int = ACCURACY_LEVEL,
                  bits: int = BITS) -> list[str]:
    """Replace the constant-weight MatMuls not kept fp32 by ``keep_fp32`` with MatMulNBits, in place.

    Returns the names of the replaced nodes.  Same packing as onnxruntime's MatMulNBitsQuantizer
    (symmetric, so no zero-point input: the kernel's default zero point 128 applies).
    """
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.capi._pybind_state import quantize_matmul_8bits

    if bits != 8:
        raise ValueError("only 8-bit weights are implemented")
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for n in graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    roles = {n.name: node_role(n.name) for n in graph.node}
    new_nodes, replaced, dropped = [], [], set()
    for node in graph.node:
        w_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        w = numpy_helper.to_array(inits[w_name]) if w_name in inits else None
        if (w is None or w.ndim != 2 or w.dtype != np.float32 or keep_fp32(*roles[node.name])):
            new_nodes.append(node)
            continue
        k, n = w.shape
        k_blocks = (k + block_size - 1) // block_size
        padded = np.pad(w, ((0, k_blocks * block_size - k), (0, 0))) if k % block_size else w
        packed = np.zeros((n, k_blocks, block_size), dtype=np.uint8)
        scales = np.zeros((n, k_blocks), dtype=np.float32)
        zero_points = np.zeros((n, k_blocks), dtype=np.uint8)
        quantize_matmul_8bits(packed, np.ascontiguousarray(padded), scales, zero_points, block_size, n, k, True)
        q_name, s_name = f"{w_name}_Q{bits}", f"{w_name}_scales"
        graph.initializer.extend([numpy_helper.from_array(packed, q_name), numpy_helper.from_array(scales, s_name)])
        new_nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], q_name, s_name], list(node.output), name=f"{node.name}_Q{bits}",
            domain="com.microsoft", K=k, N=n, bits=bits, block_size=block_size, accuracy_level=accuracy_level))
        replaced.append(node.name)
        uses[w_name] -= 1
        if uses[w_name] == 0:
            dropped.add(w_name)
    del graph.node[:]
    graph.node.extend(new_nodes)
    keep = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return replaced


def recipe(quantize: bool, fused: Mapping[str, int]) -> str:
    """The export recipe in one line, for newsevents.json and the model card."""
    fusions = ", ".join(f"{op} ×{n}" for op, n in sorted(fused.items())) or "none"
    if not quantize:
        return f"fp32; fused: {fusions}"
    fp32_parts = "heads, embeddings and fused attention" if fused.get("Attention") else "heads and embeddings"
    return (f"MatMulNBits int{BITS} weights, block {BLOCK_SIZE}, accuracy_level {ACCURACY_LEVEL}; "
            f"{fp32_parts} fp32; fused: {fusions}")


class AgreementError(ValueError):
    """The exported model's labels differ from the torch model's on too many sentences."""


def check_output(model_dir: Path, out_dir: Path) -> None:
    """Refuse an output folder whose replacement would destroy anything: the model folder
    itself, a folder that contains it, a file, or a non-empty folder that is not an earlier
    export (the export replaces ``out_dir`` whole)."""
    model, out = model_dir.resolve(), out_dir.resolve()
    if out == model or out in model.parents:
        raise ValueError(f"{out_dir}: --output is the model folder or contains it; the export replaces its "
                         f"output folder whole, so give a folder of its own (models/event-classifier-onnx)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: is a file; --output takes a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_export(out_dir):
        raise ValueError(f"{out_dir}: a folder that is not an earlier ONNX export, and not empty; the export "
                         f"replaces its output folder whole, so give an empty or new folder")


def is_export(directory: Path) -> bool:
    """An earlier output of ``export``: its model.onnx and a newsevents.json that says so."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (directory / ONNX_FILE).is_file() and isinstance(meta, dict) and "onnx" in meta


def export_fp32(classifier: Any, path: Path, eager: bool = True) -> None:
    """The torch model as an fp32 ONNX graph with dynamic batch and length.

    Eager attention traces to the pattern ONNX Runtime's optimizer fuses; SDPA (transformers'
    default) does not, and the two give the same scores.
    """
    import torch

    sample = classifier.tokenizer(["An example sentence.", "Another one, a bit longer."],
                                  padding=True, return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
    model = classifier.model.eval()
    if eager:
        model.set_attn_implementation("eager")
    model.config.return_dict = False  # tuple outputs trace cleanly
    try:
        with torch.inference_mode():
            torch.onnx.export(
                model, tuple(sample[k] for k in names), str(path), input_names=names,
                output_names=["logits"], opset_version=17, dynamo=False,
                dynamic_axes={**{k: {0: "batch", 1: "tokens"} for k in names}, "logits": {0: "batch"}},
            )
    finally:
        model.config.return_dict = True


def export(model_dir: Path, out_dir: Path, quantize: bool = True) -> Path:
    """Write ``out_dir`` with model.onnx, the tokenizer, the model's config and newsevents.json."""
    import onnx

    check_output(model_dir, out_dir)
    classifier = load_classifier(model_dir)
    tmp = atomic.new_dir_beside(out_dir)
    try:
        fp32 = tmp / "model-fp32.onnx"
        export_fp32(classifier, fp32)
        graph, fused = optimize(fp32, classifier.model.config)
        replaced: list[str] = []
        if quantize:
            replaced = quantize_matmuls(graph)
            if not replaced:
                raise RuntimeError(f"{model_dir}: no encoder MatMul recognised; nothing was quantised")
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp / ONNX_FILE))
        fp32.unlink()
        classifier.tokenizer.save_pretrained(tmp)
        classifier.model.config.save_pretrained(tmp)  # vocabulary size and labels, checked on load
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        meta["onnx"] = {"quantized": quantize, "quantized_matmuls": len(replaced), "fused": fused,
                        "recipe": recipe(quantize, fused)}
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
