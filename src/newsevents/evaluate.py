"""Metrics, curves, co-occurrence and error lists from out-of-fold predictions.

Every function here takes scored records (gold ``labels``, ``scores``, ``predicted``, ``fold``,
``source``) and returns plain dicts, so the same code scores the model and every baseline.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents.params import Params
from newsevents.schema import EVENT_TYPES, label_matrix, score_matrix

logger = logging.getLogger(__name__)

NONE = "none"
PR_POINTS = 40  # points kept per precision-recall curve: enough to draw, small enough to diff


def _matrix(records: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    """Gold (``labels``) or ``predicted`` types as 0/1 integers, for counting."""
    return label_matrix((r[key] for r in records), dtype=np.int64)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return _ratio(2 * p * r, p + r)


def classification_metrics(gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Micro and macro precision/recall/F1, and per type P/R/F1 with the counts behind them
    (support, tp, fp, fn), so metrics of slices can be checked to add up to the pooled ones.

    Macro averages every type, including one with no support in this slice (its F1 is 0 when it
    is predicted, and it is left out of the macro average when it is neither present nor
    predicted, so a fold without sanctions is not punished for correctly predicting none).
    """
    tp = (gold & pred).sum(axis=0)
    fp = ((1 - gold) & pred).sum(axis=0)
    fn = (gold & (1 - pred)).sum(axis=0)
    per_type = {}
    for j, t in enumerate(EVENT_TYPES):
        p, r = _ratio(tp[j], tp[j] + fp[j]), _ratio(tp[j], tp[j] + fn[j])
        per_type[t] = {"precision": p, "recall": r, "f1": _f1(p, r), "support": int(gold[:, j].sum()),
                       "tp": int(tp[j]), "fp": int(fp[j]), "fn": int(fn[j])}
    active = [t for j, t in enumerate(EVENT_TYPES) if tp[j] + fp[j] + fn[j] > 0]
    macro = {m: float(np.mean([per_type[t][m] for t in active])) if active else 0.0
             for m in ("precision", "recall", "f1")}
    mp, mr = _ratio(tp.sum(), tp.sum() + fp.sum()), _ratio(tp.sum(), tp.sum() + fn.sum())
    return {"n": len(gold), "micro": {"precision": mp, "recall": mr, "f1": _f1(mp, mr)}, "macro": macro,
            "per_type": per_type}


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


def system_report(records: Sequence[dict[str, Any]], with_curves: bool = True) -> dict[str, Any]:
    """Everything the dashboard shows for one system: pooled over all real sentences (the top
    level), per fold, per source, and the PR curves."""
    gold, pred = _matrix(records, "labels"), _matrix(records, "predicted")
    report = classification_metrics(gold, pred)
    if with_curves:
        curves, auc = pr_curves(gold, score_matrix((r["scores"] for r in records), dtype=np.float64))
        report["pr_curves"] = curves
        for t in EVENT_TYPES:
            report["per_type"][t]["pr_auc"] = auc[t]
    per_fold = {}
    for k in sorted({r["fold"] for r in records}):
        part = [r for r in records if r["fold"] == k]
        m = classification_metrics(_matrix(part, "labels"), _matrix(part, "predicted"))
        per_fold[str(k)] = {"n": len(part), "micro_f1": m["micro"]["f1"], "macro_f1": m["macro"]["f1"]}
    report["per_fold"] = per_fold
    macro = [f["macro_f1"] for f in per_fold.values()]
    report["fold_spread"] = {
        "macro_f1_mean": float(np.mean(macro)), "macro_f1_std": float(np.std(macro)),
        "macro_f1_min": float(np.min(macro)), "macro_f1_max": float(np.max(macro)),
    }
    report["per_source"] = {}
    for source in sorted({r["source"] for r in records}):
        part = [r for r in records if r["source"] == source]
        report["per_source"][source] = classification_metrics(_matrix(part, "labels"), _matrix(part, "predicted"))
    return report


def cooccurrence(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts of (gold type, predicted type) pairs per sentence, "none" standing for no type.

    The multi-label analogue of a confusion matrix: a sentence with gold {visit, treaty}
    predicted {visit} adds one to (visit, visit) and one to (treaty, visit).
    """
    labels = [*EVENT_TYPES, NONE]
    matrix = [[0] * len(labels) for _ in labels]
    for pair in confusion_pairs(records):
        matrix[labels.index(pair["actual"])][labels.index(pair["predicted"])] += 1
    return {"labels": labels, "matrix": matrix}


def confusion_pairs(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """(actual, predicted) rows for DVC's confusion plot; see ``cooccurrence``."""
    return [
        {"actual": g, "predicted": p}
        for r in records
        for g in (r["labels"] or [NONE])
        for p in (r["predicted"] or [NONE])
    ]


def errors(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every sentence with a false positive or a false negative, worst (most confident) first."""
    out = []
    for r in records:
        fp = [t for t in r["predicted"] if t not in r["labels"]]
        fn = [t for t in r["labels"] if t not in r["predicted"]]
        if fp or fn:
            worst = max(abs(r["scores"][t] - r["thresholds"][t]) for t in fp + fn)
            out.append({
                "id": r["id"], "source": r["source"], "fold": r["fold"], "text": r["text"],
                "gold": list(r["labels"]), "predicted": list(r["predicted"]),
                "false_positives": fp, "false_negatives": fn,
                "scores": {t: round(r["scores"][t], 4) for t in EVENT_TYPES},
                "thresholds": r["thresholds"], "margin": round(worst, 4),
            })
    return sorted(out, key=lambda e: (-e["margin"], e["id"]))


def headline(reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The numbers DVC tracks (``dvc metrics show/diff``, ``dvc exp show``): for every system,
    pooled over all real sentences (the headline: ``<system>.pooled.macro_f1``) and per source."""

    def compact(m: dict[str, Any]) -> dict[str, Any]:
        return {"n": m["n"], "macro_f1": m["macro"]["f1"], "micro_f1": m["micro"]["f1"],
                "f1": {t: m["per_type"][t]["f1"] for t in EVENT_TYPES}}

    out: dict[str, Any] = {}
    for name, rep in reports.items():
        entry = {"pooled": compact(rep), **{src: compact(m) for src, m in rep["per_source"].items()}}
        if name == "model":
            entry["pooled"].update(
                macro_precision=rep["macro"]["precision"], macro_recall=rep["macro"]["recall"],
                macro_f1_fold_std=rep["fold_spread"]["macro_f1_std"],
            )
        out[name] = _rounded(entry)
    return out


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def evaluate_stage(data_dir: Path, models_dir: Path, out_dir: Path, params: Params) -> dict[str, Any]:
    """The DVC evaluate stage: model vs baselines on the same folds; metrics, plots, dashboard."""
    from newsevents import atomic, baselines, dashboard
    from newsevents.train import CV_PREDICTIONS

    rows = _read_jsonl(data_dir / "examples.jsonl")
    model_records = _read_jsonl(models_dir / CV_PREDICTIONS)
    evaluated = {r["id"] for r in rows if r["fold"] is not None}
    if {r["id"] for r in model_records} != evaluated:
        raise ValueError(f"{models_dir / CV_PREDICTIONS} does not cover the evaluation sentences of "
                         f"{data_dir}: rerun the train stage (`dvc repro`)")
    systems = {
        "model": model_records,
        "keywords": baselines.keywords(rows),
        "tfidf_logreg": baselines.tfidf_logreg(rows, params.base.seed),
        "zero_shot": baselines.zero_shot(rows, params.train.base_model),
    }
    reports = {name: {"label": baselines.SYSTEM_LABELS[name], **system_report(recs)} for name, recs in systems.items()}
    report = {
        "event_types": list(EVENT_TYPES),
        "n_sentences": len(model_records),
        "n_folds": len({r["fold"] for r in model_records}),
        "systems": reports,
        "cooccurrence": cooccurrence(model_records),
    }
    atomic.write_json(out_dir / "report.json", _rounded(report))
    atomic.write_json(out_dir / "metrics.json", headline(reports))
    atomic.write_jsonl(out_dir / "errors.jsonl", errors(model_records))
    plots = out_dir / "plots"
    for t, curve in reports["model"].get("pr_curves", {}).items():
        atomic.write_json(plots / "pr" / f"{t}.json",
                          [{"recall": r, "precision": p} for r, p in zip(curve["recall"], curve["precision"])])
    atomic.write_json(plots / "confusion.json", confusion_pairs(model_records))
    atomic.write_json(plots / "f1_per_type.json", [
        {"type": t, "system": name, "f1": round(rep["per_type"][t]["f1"], 4)}
        for name, rep in reports.items() for t in EVENT_TYPES
    ])
    dashboard.write_dashboard(out_dir, data_dir / "data_card.json")
    for name, rep in reports.items():
        logger.info("%-14s macro-F1 %.3f  micro-F1 %.3f", name, rep["macro"]["f1"], rep["micro"]["f1"])
    return report


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
