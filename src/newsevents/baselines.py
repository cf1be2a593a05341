"""The comparisons the model must beat, run on the very same folds as the model.

- keyword rules: what an analyst would grep for;
- TF-IDF + logistic regression: the classic supervised baseline, trained per fold like the model;
- zero-shot: cosine similarity between base-model embeddings of a sentence and of each type's
  one-line definition, with no training at all.

The scored baselines get per-type thresholds tuned on the other folds, exactly like the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from newsevents.schema import EVENT_TYPES, LABEL_DESCRIPTIONS, Example, ScoredRecord, label_matrix
from newsevents.thresholds import DEFAULT_THRESHOLD, with_nested_thresholds, with_thresholds

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


def _scored(examples: Sequence[Example], scores: np.ndarray) -> list[ScoredRecord]:
    return [ScoredRecord.scored(ex, s) for ex, s in zip(examples, scores)]


def _evaluated(examples: Sequence[Example]) -> list[Example]:
    return [ex for ex in examples if ex.fold is not None]


def keywords(examples: Sequence[Example]) -> list[ScoredRecord]:
    """Rules need no threshold: a match is a prediction."""
    evaluated = _evaluated(examples)
    cut = dict.fromkeys(EVENT_TYPES, DEFAULT_THRESHOLD)
    return [with_thresholds(r, cut) for r in _scored(evaluated, keyword_scores([ex.text for ex in evaluated]))]


def tfidf_logreg(examples: Sequence[Example], seed: int) -> list[ScoredRecord]:
    """One logistic regression per type on word and bigram TF-IDF, trained per fold."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    records: list[ScoredRecord] = []
    for k in sorted({ex.fold for ex in _evaluated(examples)}):
        train = [ex for ex in examples if ex.fold != k]
        test = [ex for ex in examples if ex.fold == k]
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x_train = vectorizer.fit_transform([ex.text for ex in train])
        x_test = vectorizer.transform([ex.text for ex in test])
        y = label_matrix(ex.labels for ex in train)
        scores = np.zeros((len(test), len(EVENT_TYPES)), dtype=np.float32)
        for j in range(len(EVENT_TYPES)):
            if 0 < y[:, j].sum() < len(y):
                clf = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
                clf.fit(x_train, y[:, j])
                scores[:, j] = clf.predict_proba(x_test)[:, 1]
        records += _scored(test, scores)
    return with_nested_thresholds(records)


def zero_shot(examples: Sequence[Example], base_model: str) -> list[ScoredRecord]:
    """Cosine similarity of each sentence to each type's definition, mapped to [0, 1].

    Embeddings come from sentence-transformers with the base model's own pooling config, as its
    authors meant it to be used.
    """
    from sentence_transformers import SentenceTransformer

    from newsevents.model import resolve_base_model

    encoder = SentenceTransformer(resolve_base_model(base_model), device="cpu")
    evaluated = _evaluated(examples)
    encode = lambda texts: encoder.encode(texts, batch_size=32, normalize_embeddings=True,  # noqa: E731
                                          convert_to_numpy=True, show_progress_bar=False)
    sentences = encode([ex.text for ex in evaluated])
    labels = encode([LABEL_DESCRIPTIONS[t] for t in EVENT_TYPES])
    scores = (sentences @ labels.T + 1.0) / 2.0
    return with_nested_thresholds(_scored(evaluated, scores))
