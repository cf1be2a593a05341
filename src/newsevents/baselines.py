"""The comparisons the model must beat, run on the very same folds as the model.

- keyword rules: what an analyst would grep for;
- TF-IDF + logistic regression: the classic supervised baseline, trained per fold like the model;
- zero-shot: cosine similarity between base-model embeddings of a sentence and of each type's
  one-line definition, with no training at all.

The scored baselines get per-type thresholds tuned on the other folds, exactly like the model,
and on the held-out source the thresholds tuned on all their out-of-fold scores, as the model's
final thresholds are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsevents.schema import EVENT_TYPES, LABEL_DESCRIPTIONS, Example, ScoredRecord, label_matrix, score_matrix
from newsevents.thresholds import DEFAULT_THRESHOLD, tune_thresholds, with_nested_thresholds, with_thresholds

#: The words an analyst would search for, per type (case-insensitive).
KEYWORD_RULES: dict[str, str] = {
    "visit": r"\bvisit|\barriv|\blanded\b|touched down|\btour(s|ed)?\b|travel+ed to",
    "treaty": r"\btreat(y|ies)\b|agreement|\baccord\b|\bpact\b|\bdeal\b|ceasefire|truce|memorandum",
    "strike": r"\bstrikes?\b|\bstruck\b|shell(ing|ed)|bomb|air ?raid|missile attack|drone attack",
    "sentence": r"sentenc|convict|\bjailed\b|found guilty|years in prison",
    "sanction": r"sanction|asset freeze|froze .{0,40}assets|blacklist|embargo|entity list|travel ban",
}
SYSTEM_LABELS = {
    "model": "Fine-tuned classifier",
    "keywords": "Keyword rules",
    "tfidf_logreg": "TF-IDF + logistic regression",
    "zero_shot": "Zero-shot embedding similarity",
}


def keyword_scores(texts: Sequence[str]) -> np.ndarray:
    rules = [re.compile(KEYWORD_RULES[t], re.I) for t in EVENT_TYPES]
    return np.array([[1.0 if r.search(x) else 0.0 for r in rules] for x in texts], dtype=np.float32).reshape(-1, len(EVENT_TYPES))


@dataclass(frozen=True)
class Scored:
    """One system's records: out-of-fold on the folds, and on the held-out source."""

    cv: list[ScoredRecord]
    heldout: list[ScoredRecord]


def _scored(examples: Sequence[Example], scores: np.ndarray) -> list[ScoredRecord]:
    return [ScoredRecord.scored(ex, s) for ex, s in zip(examples, scores)]


def _final(cv: list[ScoredRecord], heldout: list[ScoredRecord]) -> Scored:
    """Held-out records get the thresholds tuned on every out-of-fold score, as the model does."""
    cut = tune_thresholds(label_matrix(r.labels for r in cv), score_matrix(r.scores for r in cv))
    return Scored(with_nested_thresholds(cv), [with_thresholds(r, cut) for r in heldout])


def keywords(examples: Sequence[Example]) -> Scored:
    """Rules need no threshold: a match is a prediction."""
    cut = dict.fromkeys(EVENT_TYPES, DEFAULT_THRESHOLD)

    def run(part: list[Example]) -> list[ScoredRecord]:
        return [with_thresholds(r, cut) for r in _scored(part, keyword_scores([ex.text for ex in part]))]

    return Scored(run([ex for ex in examples if ex.in_cv]), run([ex for ex in examples if not ex.trainable]))


def _tfidf_scores(train: Sequence[Example], test: Sequence[Example], seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x_train = vectorizer.fit_transform([ex.text for ex in train])
    x_test = vectorizer.transform([ex.text for ex in test])
    y = label_matrix(ex.labels for ex in train)
    scores = np.zeros((len(test), len(EVENT_TYPES)), dtype=np.float32)
    for j in range(len(EVENT_TYPES)):
        if 0 < y[:, j].sum() < len(y) and len(test):
            clf = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
            clf.fit(x_train, y[:, j])
            scores[:, j] = clf.predict_proba(x_test)[:, 1]
    return scores


def tfidf_logreg(examples: Sequence[Example], seed: int) -> Scored:
    """One logistic regression per type on word and bigram TF-IDF, trained per fold like the
    model, and once on every trainable sentence for the held-out source."""
    trainable = [ex for ex in examples if ex.trainable]
    cv: list[ScoredRecord] = []
    for k in sorted({ex.fold for ex in trainable if ex.in_cv}):
        test = [ex for ex in trainable if ex.fold == k]
        cv += _scored(test, _tfidf_scores([ex for ex in trainable if ex.fold != k], test, seed))
    held = [ex for ex in examples if not ex.trainable]
    return _final(cv, _scored(held, _tfidf_scores(trainable, held, seed)))


def zero_shot(examples: Sequence[Example], base_model: str) -> Scored:
    """Cosine similarity of each sentence to each type's definition, mapped to [0, 1].

    Embeddings come from sentence-transformers with the base model's own pooling config, as its
    authors meant it to be used.
    """
    from sentence_transformers import SentenceTransformer

    from newsevents.model import resolve_base_model

    encoder = SentenceTransformer(resolve_base_model(base_model), device="cpu")
    encode = lambda texts: encoder.encode(texts, batch_size=32, normalize_embeddings=True,  # noqa: E731
                                          convert_to_numpy=True, show_progress_bar=False)
    labels = encode([LABEL_DESCRIPTIONS[t] for t in EVENT_TYPES])

    def run(part: list[Example]) -> list[ScoredRecord]:
        return _scored(part, (encode([ex.text for ex in part]) @ labels.T + 1.0) / 2.0) if part else []

    return _final(run([ex for ex in examples if ex.in_cv]), run([ex for ex in examples if not ex.trainable]))
