"""Latency of `newsevents serve`'s /predict, as Label Studio calls it, with the ONNX backend.

A real `newsevents serve` process on a free loopback port; each request carries 1 or 32 seed
sentences (Label Studio sends one task as it opens, a page of tasks from "Retrieve predictions").
Printed: median and 90th percentile over --repeats requests, per request and per task, and the same
texts scored in-process by ``model_answers`` (the HTTP and JSON overhead is the difference). The
1-minute load average before and after says whether the machine was busy.

    .venv/bin/python bench/serve.py [--model models/event-classifier-onnx] [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered) * 1000, ordered[int(0.9 * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "event-classifier-onnx")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads in-process")
    args = parser.parse_args()

    import httpx

    from newsevents.backends import load_backend
    from newsevents.labelstudio.answers import model_answers

    texts = seed_sentences()
    load_before = os.getloadavg()[0]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "newsevents.cli", "serve", "--model", str(args.model), "--backend", "onnx",
             "--port", str(port), "--no-training", "--training-log", str(Path(tmp) / "training.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=120) as http:
                for _ in range(240):
                    try:
                        if http.get(f"{url}/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.5)
                else:
                    raise SystemExit("newsevents serve did not start")
                backend = load_backend(args.model, "onnx", threads=args.threads)
                print(f"model {backend.version} (onnx), {args.repeats} requests each, load average before "
                      f"{load_before:.2f} on {os.cpu_count()} cores")
                print(f"{'tasks':>5}  {'HTTP median ms':>14}  {'p90 ms':>7}  {'ms/task':>7}  "
                      f"{'in-process median ms':>20}  {'HTTP/in-process':>15}")
                for n in (1, 32):
                    http_s, local_s = [], []
                    for r in range(args.repeats + 2):  # two warm-up rounds
                        batch = [texts[(r * n + i) % len(texts)] for i in range(n)]
                        body = {"tasks": [{"id": i, "data": {"text": t}} for i, t in enumerate(batch)]}
                        start = time.perf_counter()
                        reply = http.post(f"{url}/predict", json=body)
                        elapsed = time.perf_counter() - start
                        reply.raise_for_status()
                        assert len(reply.json()["results"]) == n
                        start = time.perf_counter()
                        model_answers(backend, batch)
                        local = time.perf_counter() - start
                        if r >= 2:
                            http_s.append(elapsed)
                            local_s.append(local)
                    median, p90 = percentiles(http_s)
                    local_median, _ = percentiles(local_s)
                    print(f"{n:>5}  {median:>14.1f}  {p90:>7.1f}  {median / n:>7.2f}  {local_median:>20.1f}  "
                          f"{median / local_median:>15.2f}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average after {os.getloadavg()[0]:.2f} (another job running makes every figure slower)")


if __name__ == "__main__":
    main()
