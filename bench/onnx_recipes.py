"""Which ONNX recipe the export stage uses, by evidence: speed and agreement of each variant.

Every variant is built here from the same torch model folder and run by the same ONNX backend,
in one process on the same inputs (the seed sentences repeated to --sentences):
  - unfused int8:            SDPA export, ONNX Runtime's pre-processing, all 36 encoder MatMuls int8
  - fused, attention kept:   optimizer fusions except attention, all 36 encoder MatMuls int8
  - fused (the export's):    optimizer fusions including attention (Q/K/V fp32 inside it), 18 MatMuls int8
  - fused fp32:              the optimizer's fusions, no quantisation
  - fused MHA, int8 Q/K/V:   MultiHeadAttention instead of Attention, so its Q/K/V MatMuls stay outside
                             and are int8 like the other 18 (MatMulNBits): 36 in all
  - fused, int8 Q/K/V:       the export's, and the fused attention as QAttention (int8 Q/K/V weights,
                             one dynamic int8 scale per batch for its input)
  - fused, all dynamic int8: quantize_dynamic on every encoder MatMul and attention (MatMulInteger,
                             int8 weights per channel, one activation scale per batch tensor)
then the export's recipe with and without tokenising the next batch ahead (``PREFETCH``), and all
dynamic int8 run one sentence per call (its activation scale is then the sentence's own).
Agreement: labels against the torch model on every real sentence (training/examples.jsonl). By
batch: how many of those labels change when each sentence runs alone; a recipe whose activation
scale is shared by the batch gives a sentence other labels depending on its neighbours.

    .venv/bin/python bench/onnx_recipes.py [--model models/event-classifier] [--sentences 3000]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import ROOT, real_sentences, seed_sentences, timed


def dynamic_int8(graph, out: Path, op_types: list[str]):
    """``quantize_dynamic`` of ``op_types`` in a fused graph, the heads kept fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from newsevents.onnx_export import keep_fp32, node_role

    src, dst = out / "dyn-in.onnx", out / "dyn-out.onnx"
    graph = copy.deepcopy(graph)
    if not any(o.domain == "com.microsoft" for o in graph.opset_import):  # for shape inference
        graph.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(graph, str(src))
    quantize_dynamic(str(src), str(dst), op_types_to_quantize=op_types, per_channel=True,
                     weight_type=QuantType.QInt8,
                     nodes_to_exclude=[n.name for n in graph.graph.node
                                       if n.op_type == "MatMul" and keep_fp32(*node_role(n.name))],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops lack shapes
    return onnx.load(str(dst))


def build(model: Path, onnx_dir: Path, out: Path) -> dict[str, Path]:
    """One folder per variant: the export's folder with its model.onnx replaced."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from newsevents.model import load_classifier
    from newsevents.onnx_export import export_fp32, optimize, quantize_matmuls

    classifier = load_classifier(model)
    config = classifier.model.config
    sdpa, eager = out / "sdpa.onnx", out / "eager.onnx"
    export_fp32(classifier, sdpa, eager=False)  # before eager: export_fp32 switches the model to eager
    export_fp32(classifier, eager, eager=True)
    quant_pre_process(str(sdpa), str(out / "pre.onnx"), skip_symbolic_shape=True)
    fused_fp32 = optimize(eager, config, fuse_attention=True)[0]
    graphs = {
        "unfused int8": onnx.load(str(out / "pre.onnx")),
        "fused, attention kept": optimize(eager, config, fuse_attention=False)[0],
        "fused (the export's)": copy.deepcopy(fused_fp32),
    }
    for graph in graphs.values():
        quantize_matmuls(graph)  # in place
    graphs["fused MHA, int8 Q/K/V"] = optimize(eager, config, multi_head=True)[0]
    quantize_matmuls(graphs["fused MHA, int8 Q/K/V"])
    graphs["fused, int8 Q/K/V"] = dynamic_int8(fused_fp32, out, ["Attention"])
    quantize_matmuls(graphs["fused, int8 Q/K/V"])
    graphs["fused, all dynamic int8"] = dynamic_int8(fused_fp32, out, ["Attention", "MatMul"])
    graphs["fused fp32"] = fused_fp32
    folders = {}
    for i, (name, graph) in enumerate(graphs.items()):
        folder = out / f"v{i}"
        shutil.copytree(onnx_dir, folder)
        onnx.save(graph, str(folder / "model.onnx"))
        folders[name] = folder
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "event-classifier")
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "event-classifier-onnx",
                        help="an export of --model, for its tokenizer and metadata")
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from newsevents.backends import load_backend
    from newsevents.onnx_backend import OnnxBackend
    from newsevents.onnx_export import agreement

    base = seed_sentences()
    texts = (base * (args.sentences // len(base) + 1))[: args.sentences]
    real = real_sentences()
    reference = load_backend(args.model, "torch", threads=args.threads)
    ref_scores = reference.scores(real)
    with tempfile.TemporaryDirectory() as tmp:
        folders = build(args.model, args.onnx, Path(tmp))
        runs = [(name, OnnxBackend(folder, threads=args.threads, prefetch=False)) for name, folder in folders.items()]
        runs.append(("fused (the export's) + prefetch",
                     OnnxBackend(folders["fused (the export's)"], threads=args.threads, prefetch=True)))
        runs.append(("all dynamic int8, batches of 1",  # one activation scale per sentence
                     OnnxBackend(folders["fused, all dynamic int8"], threads=args.threads, batch_size=1)))
        for _, backend in runs:
            backend.scores(texts[:64])  # warm-up
        print(f"\nONNX recipes on {args.sentences} seed sentences, {args.threads} threads; agreement with "
              f"torch on {len(real)} real sentences; by batch: labels that change when the same sentences "
              f"run one at a time instead of in batches of {runs[0][1].batch_size}")
        print(f"{'variant':<34}{'sentences/s':>12}{'vs unfused':>11}{'agreement':>11}{'differ':>8}{'by batch':>10}")
        first = None
        for name, backend in runs:
            rate = timed(backend.scores, texts)
            first = first or rate
            scores = backend.scores(real)
            a = agreement(ref_scores, scores, reference.thresholds)
            by_batch = "-"  # a variant already run one sentence per call has nothing to compare
            if backend.batch_size > 1:
                backend.batch_size = 1
                by_batch = agreement(scores, backend.scores(real), reference.thresholds)["differing"]
            print(f"{name:<34}{rate:>12.1f}{rate / first:>10.2f}x{100 * a['agreement']:>10.2f}%{a['differing']:>8}"
                  f"{by_batch:>10}")


if __name__ == "__main__":
    main()
