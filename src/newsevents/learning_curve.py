"""The learning-curve stage: out-of-fold macro-F1 against the number of real training sentences.

Each point retrains every fold's model on a share of the other folds' real sentences (whole
stories, drawn in one seeded order, so each share contains the smaller ones) plus all
training-only text, and scores the fold exactly as the train stage does. The 100% point is
the train stage's own out-of-fold records, so the curve ends at the headline figure. A curve
still rising at 100% says more labels would still help.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from newsevents import atomic
from newsevents.jsonl import read_records
from newsevents.metrics import system_report
from newsevents.params import Params
from newsevents.schema import Example, ScoredRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurvePoint:
    """One point: the share of real training sentences, how many a fold model trained on (mean
    over folds), and the out-of-fold macro-F1, pooled and per source."""

    fraction: float
    real_sentences: int
    macro_f1: float
    per_source: dict[str, float]


def story_share(rows: Sequence[Example], fraction: float, seed: int) -> list[Example]:
    """Training-only rows, plus whole groups of real rows in a seeded order until ``fraction`` of
    the real sentences is reached: a share of stories, not of sentences, so no story is split."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"learning-curve fraction must be in (0, 1], got {fraction}")
    real = [r for r in rows if r.in_cv]
    groups = sorted({r.group for r in real})
    random.Random(seed).shuffle(groups)
    size = {g: 0 for g in groups}
    for r in real:
        size[r.group] += 1
    keep, total = set(), 0
    for g in groups:
        if total >= fraction * len(real):
            break
        keep.add(g)
        total += size[g]
    return [r for r in rows if not r.in_cv or r.group in keep]


def real_training_sentences(rows: Sequence[Example], fraction: float, seed: int) -> int:
    """Mean number of real sentences a fold model trains on at this share."""
    folds = sorted({r.fold for r in rows if r.in_cv})
    counts = [sum(r.in_cv for r in story_share([r for r in rows if r.fold != k], fraction, seed)) for k in folds]
    return round(float(np.mean(counts)))


def point(fraction: float, real_sentences: int, scored: Sequence[ScoredRecord]) -> CurvePoint:
    report = system_report(scored, with_curves=False)
    return CurvePoint(fraction, real_sentences, round(report["macro"]["f1"], 4),
                      {s: round(m["macro"]["f1"], 4) for s, m in report["per_source"].items()})


def learning_curve(rows: Sequence[Example], full: Sequence[ScoredRecord], params: Params) -> list[CurvePoint]:
    """The curve at ``params.learning_curve.fractions`` below 1, then the train stage's 100% point."""
    from newsevents.train import cross_validate

    trainable = [r for r in rows if r.trainable]
    seed = params.base.seed
    points = []
    for fraction in sorted(params.learning_curve.fractions):
        n = real_training_sentences(trainable, fraction, seed)
        logger.info("learning curve: %.0f%% of the real sentences (%d per fold model)", 100 * fraction, n)
        scored = cross_validate(trainable, params.train, seed, subsample=lambda rs: story_share(rs, fraction, seed))
        points.append(point(fraction, n, scored))
    points.append(point(1.0, real_training_sentences(trainable, 1.0, seed), full))
    return points


def main(examples: Path, cv_predictions: Path, output: Path, plot: Path, params: Params) -> list[CurvePoint]:
    rows = read_records(examples, Example.from_json)
    full = read_records(cv_predictions, ScoredRecord.from_json)
    points = learning_curve(rows, full, params)
    atomic.write_json(output, {"points": [asdict(p) for p in points]})
    atomic.write_json(plot, [{"real_sentences": p.real_sentences, "macro_f1": p.macro_f1, "fraction": p.fraction}
                             for p in points])
    logger.info("learning curve: %s", ", ".join(f"{p.real_sentences} → {p.macro_f1:.3f}" for p in points))
    return points
