"""Metrics from scored records: precision, recall and F1 per type, PR curves, confusions, errors.

Pure functions of ``ScoredRecord`` lists (scikit-learn does the counting), so the same code
scores the model and every baseline, pooled, per fold and per source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from newsevents.schema import EVENT_TYPES, NO_EVENT, ScoredRecord, label_matrix, score_matrix

PR_POINTS = 40  # points kept per precision-recall curve: enough to draw, small enough to diff


def _matrix(records: Sequence[ScoredRecord], key: str) -> np.ndarray:
    """Gold (``labels``) or ``predicted`` types as 0/1 integers, for counting."""
    return label_matrix((getattr(r, key) for r in records), dtype=np.int64)


def classification_metrics(gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Micro and macro precision/recall/F1, and per type P/R/F1 with the counts behind them
    (support, tp, fp, fn), so metrics of slices can be checked to add up to the pooled ones.

    Macro averages every type, including one with no support in this slice (its F1 is 0 when it
    is predicted), but leaves out a type neither present nor predicted, so a fold without
    sanctions is not punished for correctly predicting none.
    """
    from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

    gold = gold.reshape(-1, len(EVENT_TYPES))
    pred = pred.reshape(-1, len(EVENT_TYPES))
    counts = multilabel_confusion_matrix(gold, pred, labels=range(len(EVENT_TYPES))) if len(gold) else \
        np.zeros((len(EVENT_TYPES), 2, 2), dtype=np.int64)
    tp, fp, fn = counts[:, 1, 1], counts[:, 0, 1], counts[:, 1, 0]
    if len(gold):
        precision, recall, f1, _ = precision_recall_fscore_support(gold, pred, average=None, zero_division=0.0)
        micro = precision_recall_fscore_support(gold, pred, average="micro", zero_division=0.0)[:3]
    else:
        precision = recall = f1 = np.zeros(len(EVENT_TYPES))
        micro = (0.0, 0.0, 0.0)
    per_type = {
        t: {"precision": float(precision[j]), "recall": float(recall[j]), "f1": float(f1[j]),
            "support": int(tp[j] + fn[j]), "tp": int(tp[j]), "fp": int(fp[j]), "fn": int(fn[j])}
        for j, t in enumerate(EVENT_TYPES)
    }
    active = [t for j, t in enumerate(EVENT_TYPES) if tp[j] + fp[j] + fn[j] > 0]
    macro = {m: float(np.mean([per_type[t][m] for t in active])) if active else 0.0
             for m in ("precision", "recall", "f1")}
    return {"n": len(gold), "micro": dict(zip(("precision", "recall", "f1"), map(float, micro))),
            "macro": macro, "per_type": per_type}


def pr_curves(gold: np.ndarray, scores: np.ndarray) -> tuple[dict[str, dict[str, list[float]]], dict[str, float | None]]:
    """Per-type precision-recall curve (down-sampled) and PR-AUC (average precision)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curves, auc = {}, {}
    for j, t in enumerate(EVENT_TYPES):
        if gold[:, j].sum() == 0 or len(np.unique(scores[:, j])) < 2:
            auc[t] = float(average_precision_score(gold[:, j], scores[:, j])) if gold[:, j].sum() else None
            continue
        precision, recall, _ = precision_recall_curve(gold[:, j], scores[:, j])
        keep = np.unique(np.linspace(0, len(precision) - 1, PR_POINTS).round().astype(int))
        curves[t] = {"precision": [round(float(x), 4) for x in precision[keep]],
                     "recall": [round(float(x), 4) for x in recall[keep]]}
        auc[t] = float(average_precision_score(gold[:, j], scores[:, j]))
    return curves, auc


def system_report(records: Sequence[ScoredRecord], with_curves: bool = True) -> dict[str, Any]:
    """Everything the dashboard shows for one system: pooled over all real sentences (the top
    level), per fold, per source, and the PR curves."""
    gold, pred = _matrix(records, "labels"), _matrix(records, "predicted")
    report = classification_metrics(gold, pred)
    if with_curves:
        curves, auc = pr_curves(gold, score_matrix((r.scores for r in records), dtype=np.float64))
        report["pr_curves"] = curves
        for t in EVENT_TYPES:
            report["per_type"][t]["pr_auc"] = auc[t]
    per_fold = {}
    for k in sorted({r.fold for r in records}):
        part = [r for r in records if r.fold == k]
        m = classification_metrics(_matrix(part, "labels"), _matrix(part, "predicted"))
        per_fold[str(k)] = {"n": len(part), "micro_f1": m["micro"]["f1"], "macro_f1": m["macro"]["f1"]}
    report["per_fold"] = per_fold
    macro = [f["macro_f1"] for f in per_fold.values()]
    report["fold_spread"] = {
        "macro_f1_mean": float(np.mean(macro)), "macro_f1_std": float(np.std(macro)),
        "macro_f1_min": float(np.min(macro)), "macro_f1_max": float(np.max(macro)),
    }
    report["per_source"] = {}
    for source in sorted({r.source for r in records}):
        part = [r for r in records if r.source == source]
        report["per_source"][source] = classification_metrics(_matrix(part, "labels"), _matrix(part, "predicted"))
    return report


def cooccurrence(records: Sequence[ScoredRecord]) -> dict[str, Any]:
    """Counts of (gold type, predicted type) pairs per sentence, "none" standing for no type.

    The multi-label analogue of a confusion matrix: a sentence with gold {visit, treaty}
    predicted {visit} adds one to (visit, visit) and one to (treaty, visit).
    """
    labels = [*EVENT_TYPES, NO_EVENT]
    matrix = [[0] * len(labels) for _ in labels]
    for pair in confusion_pairs(records):
        matrix[labels.index(pair["actual"])][labels.index(pair["predicted"])] += 1
    return {"labels": labels, "matrix": matrix}


def confusion_pairs(records: Sequence[ScoredRecord]) -> list[dict[str, str]]:
    """(actual, predicted) rows for DVC's confusion plot; see ``cooccurrence``."""
    return [
        {"actual": g, "predicted": p}
        for r in records
        for g in (r.labels or [NO_EVENT])
        for p in (r.predicted or [NO_EVENT])
    ]


def errors(records: Sequence[ScoredRecord]) -> list[dict[str, Any]]:
    """Every sentence with a false positive or a false negative, worst (most confident) first."""
    out = []
    for r in records:
        fp = [t for t in r.predicted if t not in r.labels]
        fn = [t for t in r.labels if t not in r.predicted]
        if fp or fn:
            worst = max(abs(r.scores[t] - r.thresholds[t]) for t in fp + fn)
            out.append({
                "id": r.id, "source": r.source, "fold": r.fold, "text": r.text,
                "gold": list(r.labels), "predicted": list(r.predicted),
                "false_positives": fp, "false_negatives": fn,
                "scores": {t: round(r.scores[t], 4) for t in EVENT_TYPES},
                "thresholds": r.thresholds, "margin": round(worst, 4),
            })
    return sorted(out, key=lambda e: (-e["margin"], e["id"]))


def heldout_report(records: Sequence[ScoredRecord], hard_negatives: Mapping[str, str]) -> dict[str, Any]:
    """A held-out source's metrics, and how often its hard negatives get a false event.

    ``hard_negatives`` maps the ids of sentences collected as traps (trigger words of an event that
    did not happen) to the type each is a trap for; those whose gold has no event count towards
    the false-event rate, overall and per family (with how often the family's own type fires,
    which is what the counterfactual pairs of that family are meant to stop).
    """
    report = classification_metrics(_matrix(records, "labels"), _matrix(records, "predicted"))
    hard = [r for r in records if r.id in hard_negatives and not r.labels]
    fired = [r for r in hard if r.predicted]
    report["hard_negatives"] = {"n": len(hard), "false_event": len(fired),
                                "false_event_rate": len(fired) / len(hard) if hard else 0.0}
    per_family = {}
    for family in sorted({hard_negatives[r.id] for r in hard}):
        members = [r for r in hard if hard_negatives[r.id] == family]
        any_event = sum(bool(r.predicted) for r in members)
        own = sum(family in r.predicted for r in members)
        per_family[family] = {"n": len(members), "false_event": any_event, "false_event_rate": any_event / len(members),
                              "own_type": own, "own_type_rate": own / len(members)}
    report["hard_negatives"]["per_family"] = per_family
    return report


def headline(reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The numbers DVC tracks (``dvc metrics show/diff``, ``dvc exp show``): for every system,
    pooled over all real sentences of the folds (the headline: ``<system>.pooled.macro_f1``), per
    source, and on the held-out source (with precision per type, the hard-negative false-event
    rate, and per trap family the share that fires the family's own type)."""

    def compact(m: dict[str, Any]) -> dict[str, Any]:
        return {"n": m["n"], "macro_f1": m["macro"]["f1"], "micro_f1": m["micro"]["f1"],
                "f1": {t: m["per_type"][t]["f1"] for t in EVENT_TYPES}}

    out: dict[str, Any] = {}
    for name, rep in reports.items():
        entry = {"pooled": compact(rep), **{src: compact(m) for src, m in rep["per_source"].items()}}
        if "heldout" in rep:
            held = rep["heldout"]
            entry["heldout"] = {**compact(held), "precision": {t: held["per_type"][t]["precision"] for t in EVENT_TYPES},
                                "hard_negative_false_event_rate": held["hard_negatives"]["false_event_rate"],
                                "hard_negative_own_type_rate": {f: v["own_type_rate"] for f, v in
                                                                held["hard_negatives"]["per_family"].items()}}
        if name == "model":
            entry["pooled"].update(
                macro_precision=rep["macro"]["precision"], macro_recall=rep["macro"]["recall"],
                macro_f1_fold_std=rep["fold_spread"]["macro_f1_std"],
            )
        out[name] = rounded(entry)
    return out


def rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value
