"""Where ONNX Runtime spends its time on the exported model: kernel time per op type, from its own
profiler, over 1,000 seed sentences in length-sorted batches (`.venv/bin/python bench/onnx_profile.py [BATCH]`)."""
import json, sys, time
from collections import Counter
from pathlib import Path
import numpy as np, onnxruntime as ort
ROOT = Path(__file__).resolve().parent.parent; sys.path.insert(0, str(ROOT / "bench"))
from predict import seed_sentences
from newsevents.onnx_backend import fast_tokenizer
from newsevents.inference import length_sorted_batches
d = ROOT / "models/event-classifier-onnx"
o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.enable_profiling = True; o.profile_file_prefix = "/tmp/ortprof"
s = ort.InferenceSession(str(d / "model.onnx"), o, providers=["CPUExecutionProvider"])
tok = fast_tokenizer(d); names = {i.name for i in s.get_inputs()}
texts = (seed_sentences() * 10)[:1000]
bs = int(sys.argv[1]) if len(sys.argv) > 1 else 32
t0 = time.perf_counter(); tt = 0
for idx in length_sorted_batches(texts, bs):
    a = time.perf_counter(); e = tok.encode_batch([texts[i] for i in idx]); tt += time.perf_counter() - a
    feed = {"input_ids": np.array([x.ids for x in e], np.int64), "attention_mask": np.array([x.attention_mask for x in e], np.int64), "token_type_ids": np.array([x.type_ids for x in e], np.int64)}
    s.run(None, {k: v for k, v in feed.items() if k in names})
total = time.perf_counter() - t0
prof = json.load(open(s.end_profiling()))
c = Counter()
for ev in prof:
    if ev.get("cat") == "Node" and ev["name"].endswith("_kernel_time"):
        c[ev["args"]["op_name"]] += ev["dur"]
sm = sum(c.values())
print(f"{len(texts)} sentences in {total:.2f} s ({len(texts)/total:.0f} sent/s, profiling on), tokenising {tt:.2f} s; kernels {sm/1e6:.2f} s")
for op, us in c.most_common(): print(f"  {op:<28}{us/1e6:7.2f} s {100*us/sm:5.1f}%")
