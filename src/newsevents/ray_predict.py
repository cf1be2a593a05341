"""``newsevents predict-dataset``: ``predict`` on Ray Data, for corpora one machine cannot finish.

The unit of work is one input file. Ray Data reads and segments each file in a CPU task
(``map_batches`` with a function), and scores it in a fixed pool of actors, each holding one
ONNX backend loaded once (``map_batches`` with a callable class and ``ActorPoolStrategy``).
The actor writes the file's rows as one shard (``shards.py``) and returns only counts, so rows
never pass through the driver. Rows are made by ``classifier.predict_segmented``, the function
``newsevents predict`` uses, and so have the same fields and meaning.

Ray is an optional extra (``pip install newsevents[ray]``); nothing else imports this module.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import shards, sources
from newsevents.corpus import CorpusError, articles_in_bytes, first_of_each_id
from newsevents.classifier import EventClassifier
from newsevents.predict import (check_settings, predict_segmented, problem_kind, run_settings, sentences_of,
                                summary_line)
from newsevents.schema import Article

logger = logging.getLogger(__name__)

#: Scoring always runs on ONNX Runtime: no torch in the workers, int8 weights, 2.7× torch's speed.
BACKEND = "onnx"
#: CPUs a read-and-segment task reserves. Half a core: a task waits on its file (a remote store)
#: part of the time, and pysbd is light beside the model. Being unlike an actor's whole cores, it
#: also keeps Ray Data from fusing segmenting into the scoring actors (it fuses operators whose
#: resources match), so the actors only score.
SEGMENT_CPUS = 0.5


@dataclass(frozen=True)
class Job:
    """The settings of one run, as the actors need them."""

    model_dir: str
    output: str
    fmt: str = "parquet"
    unit: str = "article"
    batch_size: int = 32  # sentences per forward pass, as in ``newsevents predict``
    threshold_scale: float = 1.0
    threads: int = 1  # ONNX Runtime threads per actor; the actor reserves as many CPUs


def segment_files(batch: dict[str, np.ndarray], unit: str) -> dict[str, np.ndarray]:
    """Read and segment each input file of ``batch`` (a Ray Data task).

    Returns per file its segmented documents (pickled: both ends are this module) and the
    problems met, each one line naming the file and line. A file of which nothing could be read
    (unreadable, not UTF-8, every line bad) gets ``readable`` False: no shard is written for it,
    so a rerun reports it again rather than passing it over as done.
    """
    docs, problems, readable = [], [], []
    for uri, txt_id in zip(batch["source"], batch["txt_id"]):
        found: list[tuple[Article, list]] = []
        lines: list[str] = []
        try:
            data = sources.read_bytes(str(uri))
        except CorpusError as err:
            lines.append(str(err))
            data = None
        if data is not None:
            for item in first_of_each_id(articles_in_bytes(data, str(uri), str(txt_id)), {}):
                if isinstance(item, CorpusError):
                    lines.append(str(item))
                    continue
                try:
                    found.append((item, sentences_of(item, unit)))
                except CorpusError as err:
                    lines.append(str(err))
        docs.append(pickle.dumps(found))
        problems.append(json.dumps(lines))
        readable.append(bool(found) or not lines)
    return {"source": batch["source"], "shard": batch["shard"], "docs": np.array(docs, dtype=object),
            "problems": np.array(problems, dtype=object), "readable": np.array(readable)}


class Scorer:
    """A Ray Data actor: one ONNX backend, loaded once, scoring one input file per call and
    writing its shard."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.backend = EventClassifier.load(job.model_dir, BACKEND, batch_size=job.batch_size, threads=job.threads).backend

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, list[Any]] = {"source": [], "documents": [], "sentences": [], "problems": [], "written": []}
        for source, shard, docs, problems, readable in zip(batch["source"], batch["shard"], batch["docs"],
                                                          batch["problems"], batch["readable"]):
            lines = json.loads(problems)
            rows: list[dict[str, Any]] = []
            documents = 0
            for _, doc_rows in predict_segmented(self.backend, pickle.loads(docs), self.job.threshold_scale,
                                                 on_problem=lines.append):
                rows += doc_rows
                documents += 1
            if readable:
                shards.write_shard(self.job.output, str(shard), rows, self.job.fmt)
            for key, value in (("source", source), ("documents", documents), ("sentences", len(rows)),
                               ("problems", json.dumps(lines)), ("written", bool(readable))):
                out[key].append(value)
        return {k: np.array(v, dtype=object if k in ("source", "problems") else None) for k, v in out.items()}


def _connect(address: str | None, num_cpus: int | None) -> None:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``), else start a local one; keep a
    session the caller already started."""
    import ray

    if ray.is_initialized():
        return
    cluster = address or os.environ.get("RAY_ADDRESS")
    ray.init(address=cluster, num_cpus=None if cluster else num_cpus, logging_level=logging.WARNING)


def _placed(job: Job, cluster: bool) -> Job:
    """Local paths as every worker must see them. On this machine they are made absolute; on a
    cluster a relative model folder is left for the workers to find in their working directory
    (a ``ray job submit --working-dir``), and a relative output folder, which would land in a
    different temporary folder on each node, is refused."""
    if not cluster:
        out = job.output if "://" in job.output else str(Path(job.output).resolve())
        return replace(job, model_dir=str(Path(job.model_dir).resolve()), output=out)
    if "://" not in job.output and not Path(job.output).is_absolute():
        raise ValueError(f"{job.output}: on a cluster --output must be a URI (s3://...) or an absolute path "
                         f"every node shares")
    return job


def check_room(actors: int, threads: int, cpus: float) -> None:
    """Refuse actors that would take every CPU: segmenting tasks then never start, and the run
    waits forever. Each actor reserves ``threads`` CPUs; a segmenting task ``SEGMENT_CPUS``."""
    if actors * threads + SEGMENT_CPUS > cpus:
        raise ValueError(f"--actors {actors} x --threads {threads} reserve {actors * threads} of the cluster's "
                         f"{cpus:g} CPUs and leave none for reading and segmenting; use --actors "
                         f"{max(int((cpus - SEGMENT_CPUS) // threads), 0)} or fewer")


def run(inputs: Sequence[str], job: Job, actors: int = 1, address: str | None = None, quiet: bool = False,
        num_cpus: int | None = None) -> dict[str, Any]:
    """Score every file of ``inputs`` into shards in ``job.output``; returns the summary counts.

    Raises ValueError for what makes the run meaningless: no inputs, bad settings, no usable
    model, an output folder made with other settings, or inputs of which nothing could be read.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("predict-dataset needs Ray: pip install -e '.[ray]' (or make setup)") from None

    job = _placed(job, cluster=bool(address or os.environ.get("RAY_ADDRESS")))
    if not inputs:
        raise ValueError("no inputs: give .txt, .jsonl or .parquet files, folders or globs (local or URIs)")
    check_settings(job.batch_size, job.threshold_scale, job.threads)
    if job.fmt not in shards.FORMATS:
        raise ValueError(f"unknown format {job.fmt!r}; expected one of {list(shards.FORMATS)}")
    if actors < 1:
        raise ValueError(f"actors must be at least 1, got {actors}")
    # Loaded here too: a bad model folder stops the run before a cluster is involved, and its
    # settings go into the manifest that a rerun must match.
    settings = run_settings(EventClassifier.load(job.model_dir, BACKEND, batch_size=1, threads=1).backend, job.threshold_scale)
    found, problems = sources.expand(list(inputs))
    for line in problems:
        print(f"newsevents: skipped {line}", file=sys.stderr)
    shards.check_manifest(job.output, shards.Manifest(**settings, format=job.fmt, unit=job.unit))
    done = shards.done_shards(job.output)
    todo = [(s, shards.shard_name(s.uri, job.fmt)) for s in found]
    todo = [(s, name) for s, name in todo if name not in done]
    counts: dict[str, Any] = {"documents": 0, "sentences": 0, "resumed": len(found) - len(todo)}
    why: Counter[str] = Counter(problem_kind(p) for p in problems)
    started = time.perf_counter()
    if todo:
        _connect(address, num_cpus)
        check_room(actors, job.threads, ray.cluster_resources().get("CPU", 0.0))
        ray.data.DataContext.get_current().enable_progress_bars = not quiet
        files = ray.data.from_items([{"source": s.uri, "txt_id": s.txt_id, "shard": name} for s, name in todo],
                                    override_num_blocks=len(todo))
        scored = (files
                  .map_batches(segment_files, batch_size=1, fn_kwargs={"unit": job.unit}, num_cpus=SEGMENT_CPUS)
                  .map_batches(Scorer, batch_size=1, fn_constructor_kwargs={"job": job},
                               compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=job.threads))
        for row in scored.iter_rows():
            counts["documents"] += int(row["documents"])
            counts["sentences"] += int(row["sentences"])
            for line in json.loads(row["problems"]):
                print(f"newsevents: skipped {line}", file=sys.stderr)
                why[problem_kind(line)] += 1
    counts["seconds"] = round(time.perf_counter() - started, 2)
    counts["skipped"] = sum(why.values())
    counts["problems"] = dict(why)
    if counts["documents"] == 0 and counts["resumed"] == 0 and counts["skipped"]:
        raise ValueError(f"nothing could be read: {summary_line(counts).removeprefix('newsevents: ')}")
    return counts

