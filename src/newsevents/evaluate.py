"""The evaluate stage: the model against three baselines on the same folds, as DVC metrics and plots.

Everything here starts from ``ScoredRecord`` lists: the model's come from the train stage's
out-of-fold predictions, the baselines' are computed here on the very same folds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsevents import atomic, baselines
from newsevents.jsonl import read_jsonl, read_records
from newsevents.metrics import confusion_pairs, cooccurrence, errors, headline, heldout_report, rounded, system_report
from newsevents.params import Params
from newsevents.schema import EVENT_TYPES, Example, ScoredRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """What the stage writes: the full report, the DVC metrics, the model's errors, plot data."""

    report: dict[str, Any]
    metrics: dict[str, Any]
    errors: list[dict[str, Any]]
    plots: dict[str, Any]  # file name under eval/plots/ → JSON rows


def evaluate(examples: Sequence[Example], model_records: Sequence[ScoredRecord], seed: int,
             base_model: str, model_heldout: Sequence[ScoredRecord] = (),
             hard_negatives: Mapping[str, str] | None = None) -> Evaluation:
    """Score the baselines on the model's folds and on the held-out source, and report every system
    pooled, per fold, per source, and held out."""
    if {r.id for r in model_records} != {ex.id for ex in examples if ex.in_cv}:
        raise ValueError("the model's out-of-fold predictions do not cover the evaluation sentences: "
                         "rerun the train stage (`dvc repro`)")
    if {r.id for r in model_heldout} != {ex.id for ex in examples if not ex.trainable}:
        raise ValueError("the model's held-out predictions do not cover the held-out sentences: "
                         "rerun the train stage (`dvc repro`)")
    systems = {
        "model": baselines.Scored(list(model_records), list(model_heldout)),
        "keywords": baselines.keywords(examples),
        "tfidf_logreg": baselines.tfidf_logreg(examples, seed),
        "zero_shot": baselines.zero_shot(examples, base_model),
    }
    reports = {}
    for name, scored in systems.items():
        reports[name] = {"label": baselines.SYSTEM_LABELS[name], **system_report(scored.cv)}
        if scored.heldout:
            reports[name]["heldout"] = heldout_report(scored.heldout, hard_negatives or {})
    report = {
        "event_types": list(EVENT_TYPES),
        "n_sentences": len(model_records),
        "n_folds": len({r.fold for r in model_records}),
        "systems": reports,
        "cooccurrence": cooccurrence(model_records),
    }
    plots: dict[str, Any] = {
        f"pr/{t}.json": [{"recall": r, "precision": p} for r, p in zip(curve["recall"], curve["precision"])]
        for t, curve in reports["model"].get("pr_curves", {}).items()
    }
    plots["confusion.json"] = confusion_pairs(model_records)
    plots["f1_per_type.json"] = [
        {"type": t, "system": name, "f1": round(rep["per_type"][t]["f1"], 4)}
        for name, rep in reports.items() for t in EVENT_TYPES
    ]
    return Evaluation(rounded(report), headline(reports), errors(model_records), plots)


#: Collection families of held-out sentences drawn as traps for one type.
HARD_NEGATIVE_FAMILIES = frozenset({"visit", "treaty", "strike", "sentence", "sanction"})


def read_hard_negatives(families: Path) -> dict[str, str]:
    """Example id (``heldout:<id>``, as the held-out predictions name them) → type, for the held-out
    sentences collected as a type's trap (``{"id", "family"}`` per line of ``families``)."""
    return {f"heldout:{r['id']}": r["family"] for r in read_jsonl(families) if r["family"] in HARD_NEGATIVE_FAMILIES}


def main(examples: Path, cv_predictions: Path, heldout_predictions: Path, families: Path, report: Path,
         metrics: Path, errors_out: Path, plots_dir: Path, params: Params) -> Evaluation:
    """Read the prepare and train outputs, evaluate, write every output atomically."""
    rows = read_records(examples, Example.from_json)
    records = read_records(cv_predictions, ScoredRecord.from_json)
    heldout = read_records(heldout_predictions, ScoredRecord.from_json)
    result = evaluate(rows, records, params.base.seed, params.train.base_model, heldout, read_hard_negatives(families))
    atomic.write_json(report, result.report)
    atomic.write_json(metrics, result.metrics)
    atomic.write_jsonl(errors_out, result.errors)
    for name, rows_ in result.plots.items():
        atomic.write_json(plots_dir / name, rows_)
    for name, rep in result.report["systems"].items():
        held = rep.get("heldout")
        logger.info("%-14s macro-F1 %.3f  micro-F1 %.3f%s", name, rep["macro"]["f1"], rep["micro"]["f1"],
                    f"  held-out macro-F1 {held['macro']['f1']:.3f}, hard negatives firing "
                    f"{held['hard_negatives']['false_event_rate']:.1%}" if held else "")
    return result
