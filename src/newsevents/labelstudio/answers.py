"""The model's answer for a task, as both pre-annotation paths need it (``ls push --predictions``
and ``newsevents serve``): chosen types, per-type scores, the uncertainty margin and a confidence.

``model_answers`` is the one place that runs the model for Label Studio; switching it to another
inference API changes both paths at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsevents.inference import Backend
from newsevents.schema import EVENT_TYPES
from newsevents.thresholds import apply_thresholds, uncertainty


@dataclass(frozen=True)
class ModelAnswer:
    """One sentence as the model sees it."""

    labels: tuple[str, ...]  # the types whose score reaches their threshold
    scores: dict[str, float]  # per-type probability
    margin: float  # smallest distance of a score to its threshold (thresholds.uncertainty)
    confidence: float  # answer_confidence: 0 = a coin flip on some type, 1 = sure of every type


def answer_confidence(scores: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """Per row, the model's confidence in its whole answer, in [0, 1].

    Each type's distance to its threshold is divided by the room on that side (t below, 1 - t
    above), so 0 is a score on the threshold and 1 a score of 0 or 1; the answer is as sure as its
    least sure type. Unlike a product of p and 1 - p, this respects the tuned thresholds: a type
    chosen at p = 0.3 over a threshold of 0.2 is not "probably wrong". It orders rows almost as the
    margin does, so ascending sorts still put the closest calls first.
    """
    if not len(scores):
        return np.zeros(0)
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    room = np.where(scores >= cut, 1.0 - cut, cut)
    return (np.abs(scores - cut) / np.maximum(room, 1e-9)).clip(0.0, 1.0).min(axis=1)


def model_answers(backend: Backend, texts: Sequence[str]) -> list[ModelAnswer]:
    """The model's answer for each text, through the backend ``newsevents predict`` uses."""
    scores = backend.scores(list(texts))
    labels = apply_thresholds(scores, backend.thresholds)
    margins = uncertainty(scores, backend.thresholds)
    confidence = answer_confidence(scores, backend.thresholds)
    return [ModelAnswer(labels[i], {t: round(float(s), 4) for t, s in zip(EVENT_TYPES, scores[i])},
                        float(margins[i]), float(confidence[i])) for i in range(len(scores))]
