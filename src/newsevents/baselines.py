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
from typing import Any

import numpy as np

from newsevents.schema import EVENT_TYPES, LABEL_DESCRIPTIONS, label_matrix
from newsevents.train import score_records, with_nested_thresholds

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


def keywords(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules need no threshold: a match is a prediction."""
    evaluated = [r for r in rows if r["fold"] is not None]
    records = score_records(evaluated, keyword_scores([r["text"] for r in evaluated]))
    for r in records:
        r["thresholds"] = {t: 0.5 for t in EVENT_TYPES}
        r["predicted"] = [t for t in EVENT_TYPES if r["scores"][t] >= 0.5]
    return records


def tfidf_logreg(rows: Sequence[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """One logistic regression per type on word and bigram TF-IDF, trained per fold."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    records = []
    for k in sorted({r["fold"] for r in rows if r["fold"] is not None}):
        train = [r for r in rows if r["fold"] != k]
        test = [r for r in rows if r["fold"] == k]
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x_train = vectorizer.fit_transform([r["text"] for r in train])
        x_test = vectorizer.transform([r["text"] for r in test])
        y = label_matrix(r["labels"] for r in train)
        scores = np.zeros((len(test), len(EVENT_TYPES)), dtype=np.float32)
        for j in range(len(EVENT_TYPES)):
            if 0 < y[:, j].sum() < len(y):
                clf = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
                clf.fit(x_train, y[:, j])
                scores[:, j] = clf.predict_proba(x_test)[:, 1]
        records += score_records(test, scores)
    return with_nested_thresholds(records)


def zero_shot(rows: Sequence[dict[str, Any]], base_model: str) -> list[dict[str, Any]]:
    """Cosine similarity of each sentence to each type's definition, mapped to [0, 1]."""
    from transformers import AutoModel, AutoTokenizer

    from newsevents.model import resolve_base_model
    from newsevents.predict import embed

    path = resolve_base_model(base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    evaluated = [r for r in rows if r["fold"] is not None]
    sentences = embed(encoder, tokenizer, [r["text"] for r in evaluated])
    labels = embed(encoder, tokenizer, [LABEL_DESCRIPTIONS[t] for t in EVENT_TYPES])
    scores = (sentences @ labels.T + 1.0) / 2.0
    return with_nested_thresholds(score_records(evaluated, scores))
