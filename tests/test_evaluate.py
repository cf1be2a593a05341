"""Metric functions against values computed by hand."""

import numpy as np
import pytest

from newsevents.evaluate import classification_metrics, cooccurrence, errors, system_report

T = ["visit", "treaty", "strike", "sentence", "sanction"]


def rec(i, gold, pred, fold=0, source="seed", scores=None):
    scores = scores or {t: (0.9 if t in pred else 0.1) for t in T}
    return {"id": f"s{i}", "fold": fold, "source": source, "group": "g", "text": f"text {i}",
            "labels": gold, "predicted": pred, "scores": scores, "thresholds": {t: 0.5 for t in T}}


def test_classification_metrics_by_hand():
    # visit: tp=2 fp=1 fn=0 → P=2/3 R=1 F1=0.8 ; strike: tp=1 fp=0 fn=1 → P=1 R=0.5 F1=2/3
    gold = np.array([[1, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    pred = np.array([[1, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    m = classification_metrics(gold, pred)
    assert m["per_type"]["visit"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert m["per_type"]["strike"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
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
