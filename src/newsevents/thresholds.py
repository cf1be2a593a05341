"""Per-type decision thresholds: tuning them, tuning them per fold without that fold, applying them.

The same functions serve the model and every scored baseline, so no system gets a kinder cut.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from newsevents.schema import EVENT_TYPES, ScoredRecord, label_matrix, score_matrix

#: Candidate cuts: 0.05 steps, so a threshold never chases single sentences.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
DEFAULT_THRESHOLD = 0.5


def tune_thresholds(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Per type, the grid threshold with the best F1; 0.5 where the type has no positive.

    Ties go to the threshold closest to 0.5, so a flat F1 curve does not drift to an extreme.
    """
    from sklearn.metrics import f1_score

    thresholds = {}
    for j, t in enumerate(EVENT_TYPES):
        if y[:, j].sum() == 0:
            thresholds[t] = DEFAULT_THRESHOLD
            continue
        best = max(THRESHOLD_GRID, key=lambda th: (
            f1_score(y[:, j], scores[:, j] >= th, zero_division=0.0), -abs(th - 0.5)))
        thresholds[t] = float(best)
    return thresholds


def apply_thresholds(scores: np.ndarray, thresholds: Mapping[str, float]) -> list[tuple[str, ...]]:
    """The event types whose probability reaches the type's threshold, per row."""
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    return [tuple(t for t, hit in zip(EVENT_TYPES, row) if hit) for row in np.asarray(scores) >= cut]


def with_thresholds(record: ScoredRecord, thresholds: Mapping[str, float]) -> ScoredRecord:
    """The record with these thresholds and the labels they give."""
    predicted = apply_thresholds(score_matrix([record.scores], dtype=np.float64), thresholds)[0]
    return dataclasses.replace(record, thresholds=dict(thresholds), predicted=predicted)


def with_nested_thresholds(records: Sequence[ScoredRecord]) -> list[ScoredRecord]:
    """Each record with the thresholds tuned on the *other* folds and the labels they give.

    Tuning on the fold being evaluated would flatter every system; this keeps each fold's
    metrics honest.
    """
    tuned: dict[int, dict[str, float]] = {}
    for k in sorted({r.fold for r in records}):
        others = [r for r in records if r.fold != k]
        tuned[k] = (tune_thresholds(label_matrix(r.labels for r in others), score_matrix(r.scores for r in others))
                    if others else dict.fromkeys(EVENT_TYPES, DEFAULT_THRESHOLD))
    return [with_thresholds(r, tuned[r.fold]) for r in records]


def scaled(thresholds: Mapping[str, float], scale: float) -> dict[str, float]:
    """Thresholds times ``scale`` (below 1: more recall, above 1: more precision), kept in [0, 1]."""
    return {t: min(1.0, max(0.0, v * scale)) for t, v in thresholds.items()}


def uncertainty(scores: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """Per row, the smallest distance of any type's score to its threshold: 0 = a coin flip.

    The measure behind uncertainty sampling: the sentence whose closest call is closest is the
    one an annotator's answer teaches the model most about.
    """
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    return np.abs(scores - cut).min(axis=1) if len(scores) else np.zeros(0)
