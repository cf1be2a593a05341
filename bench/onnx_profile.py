"""Where ONNX Runtime spends its time on the exported model: kernel time per op type, from its own
profiler, over 1,000 seed sentences in length-sorted batches.

    .venv/bin/python bench/onnx_profile.py [BATCH]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from predict import seed_sentences

from newsevents.inference import length_sorted_batches
from newsevents.onnx_backend import ONNX_FILE, OnnxBackend


def main(batch_size: int) -> None:
    model = ROOT / "models" / "event-classifier-onnx"
    backend = OnnxBackend(model, batch_size, threads=2)  # its tokenizer and input arrays, as predict uses them
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.enable_mem_pattern = False  # as the backend's session
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(str(model / ONNX_FILE), options, providers=["CPUExecutionProvider"])

    texts = (seed_sentences() * 10)[:1000]
    tokenising = 0.0
    start = time.perf_counter()
    for idx in length_sorted_batches(texts, batch_size):
        t = time.perf_counter()
        feed = backend.encode([texts[i] for i in idx])
        tokenising += time.perf_counter() - t
        session.run(None, feed)
    total = time.perf_counter() - start

    kernel_us: Counter[str] = Counter()
    for event in json.loads(Path(session.end_profiling()).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernel_us[event["args"]["op_name"]] += event["dur"]
    all_us = sum(kernel_us.values())
    print(f"{len(texts)} sentences in {total:.2f} s ({len(texts) / total:.0f} sent/s, profiling on), "
          f"tokenising {tokenising:.2f} s; kernels {all_us / 1e6:.2f} s")
    for op, us in kernel_us.most_common():
        print(f"  {op:<28}{us / 1e6:7.2f} s {100 * us / all_us:5.1f}%")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 32)
