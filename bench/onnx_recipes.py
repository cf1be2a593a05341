"""Which ONNX recipe the export stage uses, by evidence: speed and agreement of each variant.

Every variant is built here from the same torch model folder and run by the same ONNX backend,
in one process on the same inputs (the seed sentences repeated to --sentences):
  - unfused int8:            SDPA export, ONNX Runtime's pre-processing, all 36 encoder MatMuls int8
  - fused, attention kept:   optimizer fusions except attention, all 36 encoder MatMuls int8
  - fused (the export's):    optimizer fusions including attention (Q/K/V fp32 inside it), 18 MatMuls int8
  - fused fp32:              the optimizer's fusions, no quantisation
then the export's recipe with and without tokenising the next batch ahead (``PREFETCH``).
Agreement: labels against the torch model on every real sentence (training/examples.jsonl).

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
        for _, backend in runs:
            backend.scores(texts[:64])  # warm-up
        print(f"\nONNX recipes on {args.sentences} seed sentences, {args.threads} threads; "
              f"agreement with torch on {len(real)} real sentences")
        print(f"{'variant':<34}{'sentences/s':>12}{'vs unfused':>11}{'agreement':>11}{'differ':>8}")
        first = None
        for name, backend in runs:
            rate = timed(backend.scores, texts)
            first = first or rate
            a = agreement(ref_scores, backend.scores(real), reference.thresholds)
            print(f"{name:<34}{rate:>12.1f}{rate / first:>10.2f}x{100 * a['agreement']:>10.2f}%{a['differing']:>8}")


if __name__ == "__main__":
    main()
