"""Model-assisted labeling: uncertainty sampling, agreement, label-error review (no server)."""

import dataclasses
import json

import numpy as np
import pytest

from newsevents.dataset import agreement, data_card, assign_folds
from newsevents.labelstudio.export import parse_export
from newsevents.labelstudio.tasks import choices_result, prediction, select_tasks
from newsevents.review import find_label_issues
from newsevents.schema import ScoredRecord
from newsevents.thresholds import uncertainty

TYPES = ["visit", "treaty", "strike", "sentence", "sanction"]


def test_uncertainty_is_the_closest_call():
    scores = np.array([[0.9, 0.1, 0.45, 0.0, 0.0], [0.99, 0.01, 0.01, 0.01, 0.01]])
    th = dict.fromkeys(TYPES, 0.5)
    th["strike"] = 0.4
    np.testing.assert_allclose(uncertainty(scores, th), [0.05, 0.39])


def test_select_uncertain_first_random_is_seeded():
    tasks = [{"sentence_id": str(i)} for i in range(5)]
    margins = [0.3, 0.01, 0.2, 0.01, 0.4]
    assert select_tasks(tasks, margins, "uncertain", 3, seed=1) == [1, 3, 2]
    assert select_tasks(tasks, margins, "random", 3, seed=1) == select_tasks(tasks, margins, "random", 3, seed=1)
    assert sorted(select_tasks(tasks, margins, "random", None, seed=1)) == [0, 1, 2, 3, 4]
    assert select_tasks(tasks, margins, "all", None, seed=1) == [0, 1, 2, 3, 4]


def test_prediction_carries_version_confidence_and_choices():
    from newsevents.labelstudio.answers import ModelAnswer

    answer = ModelAnswer(("strike",), dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.1),
                         margin=0.05, confidence=0.12345)
    p = prediction(answer, "0.1.0+abc")
    assert p == {"model_version": "0.1.0+abc", "score": 0.1235, "result": choices_result(["strike"])}


def test_confidence_is_the_least_sure_type_scaled_by_the_room_beside_its_threshold():
    from newsevents.labelstudio.answers import answer_confidence

    th = {"visit": 0.2, "treaty": 0.5, "strike": 0.5, "sentence": 0.5, "sanction": 0.5}
    scores = np.array([[0.6, 0.0, 0.0, 0.0, 0.0],   # visit chosen: (0.6-0.2)/0.8 = 0.5; others sure (1.0)
                       [0.1, 0.0, 0.0, 0.0, 1.0],   # visit not chosen: (0.2-0.1)/0.2 = 0.5
                       [0.2, 0.0, 0.0, 0.0, 0.0],   # on the threshold: a coin flip
                       [0.0, 0.0, 0.0, 0.0, 0.0]])  # sure of every type
    np.testing.assert_allclose(answer_confidence(scores, th), [0.5, 0.5, 0.0, 1.0])
    # a smaller uncertainty margin never makes the answer more confident when thresholds are equal
    equal = dict.fromkeys(th, 0.5)
    rows = np.random.default_rng(0).random((200, 5))
    order = np.argsort(answer_confidence(rows, equal), kind="stable")
    assert np.all(np.diff(uncertainty(rows, equal)[order]) >= -1e-12)


def test_krippendorff_alpha_by_hand():
    # visit over 4 tasks by 2 annotators: (1,1) (0,1) (0,0) (0,0). Coincidences o00=4, o01=o10=1,
    # o11=2; n0=5, n1=3, n=8. D_o = 2/8, D_e = 2*5*3/(8*7) = 30/56; alpha = 1 - D_o/D_e = 0.5333.
    multi = [{"sentence_id": s, "answers": a} for s, a in [
        ("a", {"1": ["visit"], "2": ["visit"]}), ("b", {"1": [], "2": ["visit"]}),
        ("c", {"1": ["strike"], "2": ["strike"]}), ("d", {"1": [], "2": []})]]
    result = agreement(multi)
    assert result["tasks"] == 4 and result["annotators"] == 2
    assert result["krippendorff_alpha"]["visit"] == pytest.approx(1 - 0.25 / (30 / 56), abs=1e-4)
    assert result["krippendorff_alpha"]["strike"] == 1.0
    assert result["krippendorff_alpha"]["treaty"] is None  # nobody ever said treaty: undefined


def test_two_annotators_give_agreement_in_the_data_card(tmp_path):
    def task(i, answers):
        return {"id": i, "data": {"text": f"Sentence {i}.", "sentence_id": f"art:{i}"},
                "annotations": [{"id": 10 * i + k, "completed_by": who, "result": choices_result(labels)}
                                for k, (who, labels) in enumerate(answers)]}

    tasks = [task(1, [(1, ["visit"]), (2, ["visit"])]), task(2, [(1, []), (2, ["visit"])]),
             task(3, [(1, ["strike"]), (2, ["strike"])]), task(4, [(1, []), (2, [])]), task(5, [(1, ["treaty"])])]
    path = tmp_path / "two.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    parsed = parse_export(path)
    assert len(parsed.multi) == 4
    card = data_card(parsed, assign_folds(parsed.examples, 2))
    assert card["agreement"]["krippendorff_alpha"]["visit"] == pytest.approx(0.5333, abs=1e-4)
    assert [d["sentence_id"] for d in card["disagreements"]] == ["art:2"]
    assert "art:2" in [e["sentence_id"] for e in card["excluded"]["tasks"]]  # 1 vs 1: tied


def test_review_flags_the_label_the_model_confidently_contradicts():
    rng = np.random.default_rng(0)
    records = []
    for i in range(60):
        t = TYPES[i % 5]
        scores = {u: float(rng.uniform(0.0, 0.1)) for u in TYPES}
        scores[t] = float(rng.uniform(0.85, 0.99))
        records.append(ScoredRecord(f"s{i}", 0, "newswire", "g", f"text {i}", (t,), scores,
                                    dict.fromkeys(TYPES, 0.5)))
    records[7] = dataclasses.replace(records[7], labels=("visit",))  # really a strike (i % 5 == 2): the gold is wrong
    issues = find_label_issues(records)
    assert issues and issues[0]["id"] == "s7" and issues[0]["rank"] == 1
    assert "gold has visit but the model gives it" in issues[0]["reason"]
    assert "gold lacks strike" in issues[0]["reason"]
    assert all(i["id"] != "s8" for i in issues)


def test_a_ground_truth_annotation_settles_a_disagreement_and_stays_out_of_agreement(tmp_path):
    """Adjudication: two blind annotators differ, a third answer starred as ground truth decides."""
    from newsevents.labelstudio.config import REASON

    def ann(i, who, labels, ground_truth=False, reason=""):
        result = choices_result(labels)
        if reason:
            result.append({"from_name": REASON, "to_name": "text", "type": "textarea", "value": {"text": [reason]}})
        return {"id": i, "completed_by": who, "ground_truth": ground_truth, "result": result}

    tasks = [
        {"id": 1, "data": {"text": "Sanctions were lifted.", "sentence_id": "heldout:1", "source": "seed"},
         "annotations": [ann(11, 1, ["sanction"]), ann(12, 2, []), ann(13, 3, [], True, "rule 15: lifted")]},
        {"id": 2, "data": {"text": "Troops shelled the town.", "sentence_id": "heldout:2", "source": "seed"},
         "annotations": [ann(21, 1, ["strike"]), ann(22, 2, ["strike"])]},
    ]
    path = tmp_path / "adjudicated.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    parsed = parse_export(path)
    assert {e.id: e.labels for e in parsed.examples} == {"heldout:1": (), "heldout:2": ("strike",)}
    assert [d["adjudicated"] for d in parsed.disagreements] == ["rule 15: lifted"]
    assert parsed.disagreements[0]["answers"] == [["sanction"], []]  # the independent answers only
    assert all(set(m["answers"]) == {"1", "2"} for m in parsed.multi)  # the adjudicator is not an annotator
