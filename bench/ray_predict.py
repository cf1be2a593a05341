"""Throughput of `newsevents predict-dataset` (Ray Data, local mode) against single-process
`newsevents predict`, both on the ONNX int8 backend, on the same cores and the same input.

The input is the seed and newswire articles repeated (new ids) until they hold --sentences
sentences, as --files JSONL files: both paths read, segment and score them, and write their rows.
Each path runs as its own process; sentences/s come from each command's own summary line (timed
from its start to its last row, so Ray's cluster start and model loading are counted). Ray runs:
  - fit:       a local cluster of the machine's cores, --actors as many as fit (1 thread each)
  - oversub:   one actor of all the cores' threads on a cluster offering one logical CPU more
               than it has, so segmenting tasks run beside the scoring threads

    .venv/bin/python bench/ray_predict.py [--onnx models/event-classifier-onnx] [--sentences 100000]
                                          [--paths single,fit,oversub]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"newsevents: (\d+) documents, (\d+) sentences in ([\d.]+)s")


def make_corpus(folder: Path, sentences: int, files: int) -> int:
    """JSONL files of real articles repeated until they hold about ``sentences``; returns the count."""
    from newsevents.corpus import iter_articles, segment

    articles = list(iter_articles([ROOT / "seeds", ROOT / "seeds" / "newswire.jsonl"],
                                  on_problem=lambda _: None))
    per = [len(segment(a)) for a in articles]
    docs, total, i = [], 0, 0
    while total < sentences:
        a = articles[i % len(articles)]
        docs.append({"id": f"{a.id}#{i // len(articles)}", "text": a.text})
        total += per[i % len(articles)]
        i += 1
    for f in range(files):
        with (folder / f"part{f:03}.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs[f::files])
    return total


def timed_run(args: list[str]) -> tuple[int, float, float]:
    """Sentences, seconds (the command's own) and wall seconds of one `newsevents` run."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "newsevents.cli", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"newsevents {args[0]} failed:\n{result.stderr[-2000:]}")
    match = SUMMARY.search(result.stderr)
    return int(match.group(2)), float(match.group(3)), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "event-classifier-onnx")
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=40, help="input files (the unit of Ray's work)")
    parser.add_argument("--paths", default="single,fit,oversub",
                        help="comma-separated subset of single, fit, oversub (single is always run: the ratios need it)")
    args = parser.parse_args()
    wanted = {"single", *args.paths.split(",")}
    cores = os.cpu_count() or 1
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average, {cores} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        total = make_corpus(folder, args.sentences, args.files)
        inputs = sorted(str(p) for p in folder.glob("*.jsonl"))
        model = ["--model", str(args.onnx)]
        runs = [("single process, onnx", 1, ["predict", *inputs, *model, "--backend", "onnx", "--quiet",
                                              "--output", f"{tmp}/single.jsonl"])]
        fit = max(int(cores - 0.5), 1)
        runs.append((f"ray fit: {fit} actor(s) x 1 thread, {cores} CPUs", fit,
                     ["predict-dataset", *inputs, *model, "--quiet", "--output", f"{tmp}/fit",
                      "--actors", str(fit), "--threads", "1", "--num-cpus", str(cores)]))
        runs.append((f"ray oversub: 1 actor x {cores} threads, {cores + 1} CPUs", 1,
                     ["predict-dataset", *inputs, *model, "--quiet", "--output", f"{tmp}/oversub",
                      "--actors", "1", "--threads", str(cores), "--num-cpus", str(cores + 1)]))
        runs = [run for run, key in zip(runs, ("single", "fit", "oversub")) if key in wanted]
        results = []
        for name, actors, cmd in runs:
            sentences, seconds, wall = timed_run(cmd)
            results.append((name, actors, sentences, seconds, wall))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print(f"\n{total} sentences in {args.files} JSONL files, {cores} cores")
    print(f"{'path':<44}{'sentences':>10}{'seconds':>9}{'wall s':>8}{'sent/s':>8}{'vs single':>10}{'per actor':>10}")
    base = results[0][2] / results[0][3]
    for name, actors, sentences, seconds, wall in results:
        rate = sentences / seconds
        per_actor = f"{rate / actors:>10.1f}" if name.startswith("ray") else f"{'':>10}"
        print(f"{name:<44}{sentences:>10}{seconds:>9.1f}{wall:>8.1f}{rate:>8.1f}{rate / base:>9.2f}x{per_actor}")


if __name__ == "__main__":
    main()
