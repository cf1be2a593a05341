"""Metric functions against values computed by hand, and the committed evaluation's consistency."""

import numpy as np
import pytest

import json

from newsevents.metrics import classification_metrics, cooccurrence, errors, headline, system_report
from newsevents.schema import ScoredRecord

from conftest import ROOT

T = ["visit", "treaty", "strike", "sentence", "sanction"]


def rec(i, gold, pred, fold=0, source="seed", scores=None):
    scores = scores or {t: (0.9 if t in pred else 0.1) for t in T}
    return ScoredRecord(f"s{i}", fold, source, "g", f"text {i}", tuple(gold), scores, {t: 0.5 for t in T}, tuple(pred))


def test_classification_metrics_by_hand():
    # visit: tp=2 fp=1 fn=0 → P=2/3 R=1 F1=0.8 ; strike: tp=1 fp=0 fn=1 → P=1 R=0.5 F1=2/3
    gold = np.array([[1, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    pred = np.array([[1, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    m = classification_metrics(gold, pred)
    assert m["per_type"]["visit"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2, "tp": 2, "fp": 1, "fn": 0})
    assert m["per_type"]["strike"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "tp": 1, "fp": 0, "fn": 1})
    assert m["n"] == 4
    # micro: tp=3 fp=1 fn=1 → P=R=F1=0.75
    assert m["micro"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75})
    # macro over the two active types only (treaty, sentence, sanction: no gold, no prediction)
    assert m["macro"]["f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["macro"]["precision"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_a_type_predicted_but_absent_counts_as_zero_in_macro():
    gold = np.array([[1, 0, 0, 0, 0]])
    pred = np.array([[1, 1, 0, 0, 0]])
    m = classification_metrics(gold, pred)
    assert m["per_type"]["treaty"]["f1"] == 0.0
    assert m["macro"]["f1"] == pytest.approx(0.5)
    assert m["micro"]["precision"] == pytest.approx(0.5)


def test_system_report_folds_sources_and_pr_auc():
    records = [
        rec(1, ["visit"], ["visit"], fold=0, scores={"visit": 0.9, "treaty": 0.2, "strike": 0.1, "sentence": 0.1, "sanction": 0.1}),
        rec(2, [], ["visit"], fold=0, scores={"visit": 0.6, "treaty": 0.1, "strike": 0.1, "sentence": 0.1, "sanction": 0.1}),
        rec(3, ["visit"], [], fold=1, source="newswire", scores={"visit": 0.3, "treaty": 0.1, "strike": 0.1, "sentence": 0.1, "sanction": 0.1}),
        rec(4, [], [], fold=1, source="newswire", scores={"visit": 0.2, "treaty": 0.1, "strike": 0.1, "sentence": 0.1, "sanction": 0.1}),
    ]
    r = system_report(records)
    assert r["per_fold"]["0"] == pytest.approx({"n": 2, "micro_f1": 2 / 3, "macro_f1": 2 / 3})
    assert r["per_fold"]["1"] == pytest.approx({"n": 2, "micro_f1": 0.0, "macro_f1": 0.0})
    assert r["fold_spread"]["macro_f1_mean"] == pytest.approx(1 / 3)
    assert r["fold_spread"]["macro_f1_std"] == pytest.approx(1 / 3)
    assert r["per_source"]["newswire"]["n"] == 2
    # visit scores by rank: 0.9 (pos), 0.6 (neg), 0.3 (pos), 0.2 (neg): AP = (1/1 + 2/3) / 2
    assert r["per_type"]["visit"]["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert r["per_type"]["treaty"]["pr_auc"] is None  # no positive: undefined, not zero
    assert r["pr_curves"]["visit"]["recall"][0] == 1.0


def test_cooccurrence_and_errors():
    records = [rec(1, ["visit", "treaty"], ["visit"]), rec(2, [], ["strike"]), rec(3, ["sentence"], ["sentence"])]
    co = cooccurrence(records)
    assert co["labels"][-1] == "none"
    m = {(co["labels"][i], co["labels"][j]): v for i, row in enumerate(co["matrix"]) for j, v in enumerate(row) if v}
    assert m == {("visit", "visit"): 1, ("treaty", "visit"): 1, ("none", "strike"): 1, ("sentence", "sentence"): 1}
    errs = errors(records)
    assert [(e["id"], e["false_positives"], e["false_negatives"]) for e in errs] == [
        ("s1", [], ["treaty"]), ("s2", ["strike"], [])]


def assert_sources_add_up(report: dict) -> None:
    sources = report["per_source"].values()
    assert report["n"] == sum(m["n"] for m in sources)
    for t in T:
        for count in ("support", "tp", "fp", "fn"):
            assert report["per_type"][t][count] == sum(m["per_type"][t][count] for m in sources), (t, count)


def test_per_source_metrics_add_up_to_the_pooled_ones():
    import random

    rng = random.Random(3)
    records = [rec(i, [t for t in T if rng.random() < 0.3], [t for t in T if rng.random() < 0.3],
                   fold=i % 3, source=("seed", "newswire")[i % 2]) for i in range(60)]
    report = system_report(records, with_curves=False)
    assert set(report["per_source"]) == {"seed", "newswire"}
    assert_sources_add_up(report)
    metrics = headline({"model": report, "keywords": report})
    for system in ("model", "keywords"):
        assert set(metrics[system]) == {"pooled", "seed", "newswire"}
        assert metrics[system]["pooled"]["n"] == metrics[system]["seed"]["n"] + metrics[system]["newswire"]["n"]
        assert metrics[system]["pooled"]["macro_f1"] == round(report["macro"]["f1"], 4)
        assert set(metrics[system]["newswire"]["f1"]) == set(T)


def test_committed_evaluation_reports_every_system_per_source_and_pooled():
    """The evaluate stage's committed output (eval/report.json and eval/metrics.json are in git)."""
    report = json.loads((ROOT / "eval" / "report.json").read_text(encoding="utf-8"))
    metrics = json.loads((ROOT / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert set(report["systems"]) == set(metrics) == {"model", "keywords", "tfidf_logreg", "zero_shot"}
    for name, system in report["systems"].items():
        assert set(system["per_source"]) == {"seed", "newswire", "pool"}, name  # authored is never evaluated
        assert_sources_add_up(system)
        assert system["n"] == report["n_sentences"]
        assert metrics[name]["pooled"]["macro_f1"] == pytest.approx(system["macro"]["f1"], abs=1e-4)
