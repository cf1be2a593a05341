"""The label set and the records that flow between stages.

This is the only place the event types are written down; everything else imports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The event types, in the fixed order used by every multi-hot vector and every model head.
EVENT_TYPES: tuple[str, ...] = ("visit", "treaty", "strike", "sentence", "sanction")

#: One-line definitions for the zero-shot baseline to embed (labels/guidelines.md has the rules).
LABEL_DESCRIPTIONS: dict[str, str] = {
    "visit": "An official or diplomatic visit: a leader, minister or delegation travels to, arrives in or tours a country, or hosts a visiting counterpart.",
    "treaty": "States, governments or armed parties sign, agree or ratify a formal agreement, pact, treaty, deal or ceasefire.",
    "strike": "A military attack: an air, missile or drone strike, shelling, bombing or an armed raid on a place.",
    "sentence": "A court convicts a person or sentences them to prison.",
    "sanction": "A government imposes sanctions, freezes assets, blacklists a company or person, or bans exports as a penalty.",
}

#: The explicit "no event" decision in the labeling interface. It is a decision, not a type:
#: it never appears in an Example's labels, it only tells an empty answer from a skipped task.
NO_EVENT = "none"

#: Where an example came from. Seed, newswire, pool and heldout sentences are real text; authored
#: ones were written by the project to cover rare types and traps and are never evaluated on.
#: Pool sentences were selected from seeds/pool/ by the model (uncertainty plus a random share).
SOURCES: tuple[str, ...] = ("seed", "newswire", "pool", "heldout", "authored")
#: Real text in the cross-validation folds: trained on by the other folds' models, scored out-of-fold.
CV_SOURCES: frozenset[str] = frozenset({"seed", "newswire", "pool"})
#: Real text never trained on and never tuned on: scored by the final model only.
HELDOUT_SOURCES: frozenset[str] = frozenset({"heldout"})

#: The fold of an example that is never evaluated on (authored text): training only.
TRAIN_ONLY = None
#: The fold of a held-out example: never in training, scored by the final model.
HELD_OUT = -1


def check_labels(labels: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return the labels in canonical order; raise ValueError naming any unknown one."""
    unknown = sorted(set(labels) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}; expected some of {list(EVENT_TYPES)}")
    return tuple(t for t in EVENT_TYPES if t in labels)


def _list(row: dict[str, Any], key: str) -> list[str]:
    """``row[key]`` as a list of type names; TypeError naming the field otherwise."""
    value = row[key]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key!r} must be a list of type names, got {value!r}")
    return list(value)


def multi_hot(labels: tuple[str, ...] | list[str]) -> list[float]:
    """One float per event type, in EVENT_TYPES order (1.0 = present)."""
    present = set(check_labels(labels))
    return [1.0 if t in present else 0.0 for t in EVENT_TYPES]


def label_matrix(label_lists: Iterable[Sequence[str]], dtype: type = np.float32) -> np.ndarray:
    """Multi-hot rows, one per example, columns in EVENT_TYPES order (floats for the loss,
    integers for counting)."""
    return np.array([multi_hot(labels) for labels in label_lists], dtype=dtype).reshape(-1, len(EVENT_TYPES))


def score_matrix(score_maps: Iterable[Mapping[str, float]], dtype: type = np.float32) -> np.ndarray:
    """Per-type score dicts as rows, columns in EVENT_TYPES order."""
    return np.array([[s[t] for t in EVENT_TYPES] for s in score_maps], dtype=dtype).reshape(-1, len(EVENT_TYPES))


@dataclass(frozen=True)
class Article:
    id: str
    text: str


@dataclass(frozen=True)
class Sentence:
    """A sentence located in its article: ``article.text[start:end] == text``."""

    article_id: str
    index: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"


@dataclass(frozen=True)
class Example:
    """A sentence with its gold labels, where it came from, the group it must stay with, and its
    fold (``TRAIN_ONLY`` for authored text, ``HELD_OUT`` for the held-out source). One line of
    ``training/examples.jsonl``."""

    id: str
    text: str
    labels: tuple[str, ...]
    source: str
    group: str  # article id, story or source page: examples of one group never straddle folds
    context: str = ""
    fold: int | None = TRAIN_ONLY

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}; expected one of {SOURCES}")
        object.__setattr__(self, "labels", check_labels(self.labels))

    @property
    def trainable(self) -> bool:
        """Whether any model may learn from this example (the held-out source: never)."""
        return self.fold != HELD_OUT

    @property
    def in_cv(self) -> bool:
        """Whether the example is scored out-of-fold (real text of the cross-validation folds)."""
        return self.fold is not TRAIN_ONLY and self.fold != HELD_OUT

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Example:
        return cls(**{**row, "labels": check_labels(_list(row, "labels"))})


@dataclass(frozen=True)
class ScoredRecord:
    """One evaluated sentence of one system: gold labels, per-type scores, the thresholds used
    for it (tuned without its fold) and the labels they give. What every metric starts from.
    Held-out sentences have fold ``HELD_OUT`` and the final model's thresholds."""

    id: str
    fold: int
    source: str
    group: str
    text: str
    labels: tuple[str, ...]
    scores: dict[str, float]
    thresholds: dict[str, float] = field(default_factory=dict)
    predicted: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "labels": list(self.labels), "predicted": list(self.predicted)}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ScoredRecord:
        scores = row["scores"]
        if not isinstance(scores, dict) or set(scores) != set(EVENT_TYPES):
            raise ValueError(f"'scores' must give every type of {list(EVENT_TYPES)}")
        return cls(**{**row, "labels": check_labels(_list(row, "labels")),
                      "predicted": check_labels(_list(row, "predicted")) if "predicted" in row else ()})

    @classmethod
    def scored(cls, example: Example, scores: Sequence[float]) -> ScoredRecord:
        """An evaluated example with its scores (one per type), before thresholds."""
        if example.fold is TRAIN_ONLY:
            raise ValueError(f"{example.id}: a training-only example is never scored")
        return cls(example.id, example.fold, example.source, example.group, example.text, example.labels,
                   {t: round(float(v), 6) for t, v in zip(EVENT_TYPES, scores)})
