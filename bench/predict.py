"""Throughput and memory of `newsevents predict` against a plain transformers pipeline.

Speed, in one process on the same inputs (the seed sentences repeated to --sentences), the median
of --rounds interleaved rounds:
  - plain:  pipeline("text-classification") over the same model folder, default settings
  - torch:  newsevents.predict (length-sorted batches, torch.inference_mode)
  - onnx:   newsevents.predict with the ONNX Runtime int8 backend (the export stage's models/event-classifier-onnx)
Agreement: labels of the ONNX model vs the torch model on every real sentence (training/examples.jsonl).
Cold start: wall time of a fresh `newsevents predict` process on one sentence with the default
backend (auto: ONNX when exported), best of 3.
Memory: peak RSS of a fresh `newsevents predict` process streaming 1k and 20k sentences, to show
that it does not grow with the input.

    .venv/bin/python bench/predict.py [--model models/event-classifier] [--sentences 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seed_sentences() -> list[str]:
    from newsevents.corpus import read_articles, segment

    return [s.text for a in read_articles(ROOT / "seeds") for s in segment(a)]


def timed(fn, texts: list[str]) -> float:
    start = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - start)


def speed(model: Path, onnx: Path | None, n: int, threads: int, rounds: int) -> list[tuple[str, list[float]]]:
    """Sentences/s of each path in ``rounds`` interleaved rounds (plain, torch, onnx, plain, …), so a
    machine that speeds up or slows down during the run moves every path alike."""
    import torch
    from transformers import pipeline

    from newsevents.backends import load_backend

    torch.set_num_threads(threads)
    base = seed_sentences()
    texts = (base * (n // len(base) + 1))[:n]
    plain = pipeline("text-classification", model=str(model), device="cpu")
    ours = load_backend(model, "torch", batch_size=32, threads=threads)
    runs = [("plain pipeline", lambda t: plain(t, top_k=None)), ("newsevents torch", ours.scores)]
    if onnx is not None:
        runs.append(("newsevents onnx int8", load_backend(onnx, "onnx", batch_size=32, threads=threads).scores))
    for _, fn in runs:
        fn(texts[:64])  # warm-up: first-call allocations and lazy initialisation
    rates: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(rounds):
        for name, fn in runs:
            rates[name].append(timed(fn, texts))
    return list(rates.items())


def peak_rss_mb(model: Path, backend: str, n: int) -> float:
    """Peak RSS of a separate `newsevents predict` run over n sentences (JSONL in, file out)."""
    base = seed_sentences()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs.jsonl"
        with docs.open("w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"d{i}", "text": base[i % len(base)]}) + "\n")
        # VmHWM is this process's own peak RSS; ru_maxrss would carry the parent's over the exec.
        code = (
            "import sys; from newsevents.cli import main; rc = main(sys.argv[1:]); "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
            "print(hwm, file=sys.stderr); sys.exit(rc)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, "predict", str(docs), "--unit", "sentence", "--quiet",
             "--model", str(model), "--backend", backend, "--output", str(Path(tmp) / "out.jsonl")],
            capture_output=True, text=True, check=True,
        )
        return int(result.stderr.strip().splitlines()[-1]) / 1024


def real_sentences() -> list[str]:
    from newsevents.jsonl import read_jsonl

    path = ROOT / "training" / "examples.jsonl"
    return [row["text"] for row in read_jsonl(path)] if path.exists() else seed_sentences()


def label_agreement(model: Path, onnx: Path) -> dict:
    from newsevents.backends import load_backend
    from newsevents.onnx_export import agreement

    texts = real_sentences()
    torch_backend = load_backend(model, "torch")
    return agreement(torch_backend.scores(texts), load_backend(onnx, "onnx").scores(texts), torch_backend.thresholds)


def cold_start_s(model: Path, runs: int = 3) -> tuple[float, str]:
    """Wall time of `newsevents predict` on one sentence in a fresh process (the installed entry
    point, default backend); best of ``runs``, and the backend the rows name."""
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.txt"
        one.write_text("The army shelled the town overnight.\n", encoding="utf-8")
        exe = Path(sys.executable).parent / "newsevents"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "newsevents.cli"]
        best, backend = float("inf"), ""
        for _ in range(runs):
            start = time.perf_counter()
            out = subprocess.run([*cmd, "predict", str(one), "--model", str(model), "--quiet"],
                                 capture_output=True, text=True, check=True).stdout
            best = min(best, time.perf_counter() - start)
            backend = json.loads(out.splitlines()[0])["backend"]
        return best, backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "event-classifier")
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "event-classifier-onnx")
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds; the median is reported")
    args = parser.parse_args()
    onnx = args.onnx if (args.onnx / "model.onnx").exists() else None
    if onnx is None:
        print(f"(no {args.onnx}/model.onnx: run `make repro` (its export stage) to include the ONNX backend)")

    results = speed(args.model, onnx, args.sentences, args.threads, args.rounds)
    plain = statistics.median(results[0][1])
    print(f"\nThroughput on {args.sentences} seed sentences, {args.threads} threads, "
          f"median of {args.rounds} interleaved rounds (range in brackets)")
    print(f"{'path':<24}{'sentences/s':>12}{'range':>16}{'vs plain':>10}{'target':>10}")
    targets = {"newsevents torch": ">= 3x", "newsevents onnx int8": ">= 8x"}
    for name, rates in results:
        rate = statistics.median(rates)
        spread = f"({min(rates):.1f}-{max(rates):.1f})"
        print(f"{name:<24}{rate:>12.1f}{spread:>16}{rate / plain:>9.1f}x{targets.get(name, ''):>10}")

    if onnx is not None:
        a = label_agreement(args.model, onnx)
        print(f"\nLabel agreement ONNX vs torch on {a['sentences']} real sentences: {100 * a['agreement']:.2f}% "
              f"({a['differing']} differ; largest score change {a['max_score_change']}) (target >= 99.5%)")

    seconds, backend = cold_start_s(args.model)
    print(f"\nCold start of `newsevents predict` on one sentence (default backend: {backend}): "
          f"{seconds:.2f} s wall, best of 3 (target <= 1.0 s with ONNX)")

    print("\nPeak memory of `newsevents predict` (separate process per run)")
    print(f"{'backend':<10}{'1k sentences':>14}{'20k sentences':>15}")
    for backend in ["torch"] + (["onnx"] if onnx else []):
        model = args.model if backend == "torch" else onnx
        small, large = peak_rss_mb(model, backend, 1_000), peak_rss_mb(model, backend, 20_000)
        print(f"{backend:<10}{small:>11.0f} MB{large:>12.0f} MB")
    if onnx:
        print("(target for ONNX over 20k sentences: <= 300 MB)")


if __name__ == "__main__":
    main()
