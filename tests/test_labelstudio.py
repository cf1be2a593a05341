"""Export parsing on a real export (tests/fixtures/export_sample.json, exported from a real
Label Studio 1.23 server) and on broken copies of it: one test per validation error."""

import copy
import json
from pathlib import Path

import pytest

from newsevents.labelstudio.config import FIRST_PASS
from newsevents.labelstudio.export import ExportError, parse_export, resolve, stable_export
from newsevents.labelstudio.tasks import choices_result, labelled_tasks, read_sentence_rows, sentence_tasks
from newsevents.corpus import segment

from conftest import FIXTURES, ROOT

SAMPLE = FIXTURES / "export_sample.json"


@pytest.fixture
def sample() -> list[dict]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def write(tmp_path: Path, tasks, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def test_real_sample_export_parses_with_each_case_resolved():
    parsed = parse_export(SAMPLE)
    by_id = {ex.id: ex for ex in parsed.examples}
    art = "000_8c045d6ba132c515"
    assert by_id[f"{art}:0"].labels == ("visit",)
    assert by_id[f"{art}:1"].labels == ("visit",)  # two of three annotators said visit
    assert by_id[f"{art}:2"].labels == ()  # explicit "none" choice
    assert by_id[f"{art}:6"].labels == ("strike",)  # a cancelled annotation beside a valid one
    assert all(ex.source == "seed" and ex.group == art for ex in parsed.examples)
    reasons = {e["sentence_id"]: e["reason"] for e in parsed.excluded}
    assert reasons[f"{art}:3"].startswith("annotators tied")
    assert reasons[f"{art}:4"] == "cancelled (skipped by the annotator)"
    assert reasons[f"{art}:5"] == "empty annotation (no choice made)"
    assert reasons[f"{art}:7"] == "not annotated"
    assert len(parsed.examples) + len(parsed.excluded) == 8
    assert {d["sentence_id"] for d in parsed.disagreements} == {f"{art}:1", f"{art}:3"}


def test_committed_seed_export_parses():
    parsed = parse_export(ROOT / "labels" / "annotations" / "seeds.json")
    assert len(parsed.examples) + len(parsed.excluded) == 153


def test_unknown_label_names_file_and_task(tmp_path, sample):
    sample[0]["annotations"][0]["result"][0]["value"]["choices"] = ["protest"]
    with pytest.raises(ExportError, match=rf"export\.json: task {sample[0]['id']}: unknown label\(s\) \['protest'\]"):
        parse_export(write(tmp_path, sample))


def test_missing_text_names_file_and_task(tmp_path, sample):
    del sample[2]["data"]["text"]
    with pytest.raises(ExportError, match=rf"export\.json: task {sample[2]['id']}: missing text"):
        parse_export(write(tmp_path, sample))


def test_blank_text_is_missing_text(tmp_path, sample):
    sample[2]["data"]["text"] = "   "
    with pytest.raises(ExportError, match="missing text"):
        parse_export(write(tmp_path, sample))


def test_none_together_with_an_event_excludes_that_task_only_and_the_card_counts_it(tmp_path, sample):
    from newsevents.dataset import prepare

    sample[0]["annotations"][0]["result"][0]["value"]["choices"] = ["none", "visit"]
    path = write(tmp_path, sample)
    parsed = parse_export(path)
    [slip] = [e for e in parsed.excluded if e["task"] == sample[0]["id"]]
    assert slip["reason"] == "contradictory choice: 'none' chosen together with event types ['none', 'visit']"
    assert sample[0]["data"]["sentence_id"] not in {e.id for e in parsed.examples}
    assert parsed.examples  # the rest of the file still counts
    _, card = prepare([path], n_folds=2)
    assert card["excluded"]["by_reason"]["contradictory choice"] == 1


def test_pull_lists_contradictory_tasks():
    from newsevents.annotate import contradictory_tasks

    none_and_visit = {"result": [{"from_name": "events", "type": "choices", "value": {"choices": ["none", "visit"]}}]}
    visit = {"result": [{"from_name": "events", "type": "choices", "value": {"choices": ["visit"]}}]}
    tasks = [{"id": 1, "data": {"sentence_id": "a"}, "annotations": [visit]},
             {"id": 2, "data": {"sentence_id": "b"}, "annotations": [visit, none_and_visit]},
             {"id": 3, "data": {"sentence_id": "c"}, "annotations": [{**none_and_visit, "was_cancelled": True}]}]
    assert contradictory_tasks(tasks) == [(2, "b")]


def test_tied_annotators_exclude_the_task_and_report_it(tmp_path, sample):
    parsed = parse_export(write(tmp_path, sample))
    tied = [e for e in parsed.excluded if e["reason"].startswith("annotators tied")]
    assert [e["task"] for e in tied] == [sample[3]["id"]]
    assert "['treaty'], []" in tied[0]["reason"]
    assert tied[0]["file"].endswith("export.json")


def test_majority_resolves_a_disagreement():
    assert resolve([("visit",), ("visit",), ()]) == ("visit",)
    assert resolve([("visit", "treaty"), ("visit",), ("treaty",)]) == ("visit", "treaty")
    assert resolve([("visit",), ()]) is None
    assert resolve([(), ()]) == ()


def test_cancelled_annotation_is_excluded_with_reason(tmp_path, sample):
    sample[0]["annotations"][0]["was_cancelled"] = True
    parsed = parse_export(write(tmp_path, sample))
    assert {"task": sample[0]["id"], "reason": "cancelled (skipped by the annotator)"}.items() <= next(
        e for e in parsed.excluded if e["task"] == sample[0]["id"]).items()


def test_empty_annotation_is_excluded_with_reason(tmp_path, sample):
    sample[0]["annotations"][0]["result"] = []
    parsed = parse_export(write(tmp_path, sample))
    assert next(e for e in parsed.excluded if e["task"] == sample[0]["id"])["reason"] == "empty annotation (no choice made)"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_bytes(b"")
    with pytest.raises(ExportError, match=r"empty\.json: file is empty"):
        parse_export(path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"data": {"text": "café"}}]'.encode("latin-1"))
    with pytest.raises(ExportError, match=r"latin1\.json: not UTF-8"):
        parse_export(path)


def test_not_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": 1,', encoding="utf-8")
    with pytest.raises(ExportError, match=r"broken\.json: not JSON \(line 1"):
        parse_export(path)


def test_not_a_task_list(tmp_path):
    with pytest.raises(ExportError, match="expected a JSON list of tasks"):
        parse_export(write(tmp_path, {"tasks": []}))


def test_unknown_source(tmp_path, sample):
    sample[0]["data"]["source"] = "wikipedia"
    with pytest.raises(ExportError, match="unknown source 'wikipedia'"):
        parse_export(write(tmp_path, sample))


def test_duplicate_sentence_id(tmp_path, sample):
    sample.append(copy.deepcopy(sample[0]))
    sample[-1]["id"] = 99999
    with pytest.raises(ExportError, match=r"task 99999: sentence_id .* appears twice"):
        parse_export(write(tmp_path, sample))


def test_stable_export_orders_tasks_and_annotations(sample):
    shuffled = list(reversed(copy.deepcopy(sample)))
    for task in shuffled:
        task["annotations"].reverse()
    assert stable_export(shuffled) == stable_export(sample)
    assert [t["id"] for t in stable_export(shuffled)] == sorted(t["id"] for t in sample)


def test_sentence_tasks_carry_context_and_location(seed_articles):
    article = seed_articles["000_8c045d6ba132c515"]
    sentences = segment(article)
    tasks = sentence_tasks(article, sentences, context=1)
    assert [t["sentence_id"] for t in tasks] == [s.id for s in sentences]
    assert tasks[0]["context_before"] == ""
    assert tasks[1]["context_before"] == sentences[0].text
    assert tasks[1]["context_after"] == sentences[2].text
    assert tasks[-1]["context_after"] == ""
    for t in tasks:
        assert article.text[t["start"] : t["end"]] == t["text"]
        assert t["source"] == "seed" and t["group"] == article.id


def test_choices_result_orders_types_and_makes_no_event_explicit():
    assert choices_result(["sanction", "visit"])[0]["value"]["choices"] == ["visit", "sanction"]
    assert choices_result([])[0]["value"]["choices"] == ["none"]


def test_first_pass_labels_become_predictions_not_annotations():
    rows = [{"id": "nw1", "text": "Jets struck the depot.", "labels": ["strike"], "source": "https://a.example/1"}]
    [task] = labelled_tasks(rows, "newswire", as_prediction=FIRST_PASS)
    assert "annotations" not in task
    assert task["predictions"] == [{"model_version": "first-pass", "result": choices_result(["strike"])}]
    assert task["data"]["sentence_id"] == "newswire:nw1" and task["data"]["group"] == "https://a.example/1"
    [authored] = labelled_tasks(rows, "authored")
    assert authored["annotations"] == [{"result": choices_result(["strike"])}] and "predictions" not in authored


@pytest.mark.parametrize("line, problem", [
    ('{"id": "a", "text": "x"', "not JSON"),
    ('["a", "x"]', "expected a JSON object"),
    ('{"id": "a", "text": "x"}', r"missing \['labels'\]"),
    ('{"id": "a", "text": "x", "labels": ["protest"]}', r"unknown label\(s\) \['protest'\]"),
])
def test_bad_sentence_row_names_file_and_line(tmp_path, line, problem):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "ok", "text": "Fine.", "labels": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"rows\.jsonl:2: {problem}"):
        read_sentence_rows(path)


def reviewed_task(first_pass: list[str], chosen: list[str], reason: str = "") -> dict:
    """A task as Label Studio 1.23 exports it: predictions by id, the reviewed one inside the annotation."""
    prediction = {"id": 5, "model_version": "first-pass", "created_ago": "3\u00a0minutes",
                  "result": choices_result(first_pass)}
    result = choices_result(chosen)
    if reason:
        result.append({"from_name": "reason", "to_name": "text", "type": "textarea", "value": {"text": [reason]}})
    return {"id": 1, "data": {"text": "The minister arrived in Beijing.", "sentence_id": "newswire:nw9",
                              "source": "newswire", "group": "https://a.example/9"},
            "predictions": [5], "annotations": [{"id": 2, "completed_by": 1, "result": result,
                                                 "prediction": prediction, "parent_prediction": 5}]}


def test_review_of_first_pass_labels_is_recorded_with_its_reason(tmp_path):
    parsed = parse_export(write(tmp_path, [reviewed_task([], ["visit"], "Rule 1: a scheduled trip.")]))
    assert parsed.examples[0].labels == ("visit",)  # the reason box is not a label
    assert parsed.reviewed == [{"sentence_id": "newswire:nw9", "source": "newswire", "first_pass": [],
                                "labels": ["visit"], "reason": "Rule 1: a scheduled trip."}]
    accepted = parse_export(write(tmp_path, [reviewed_task(["visit"], ["visit"])], "accepted.json"))
    assert accepted.reviewed[0]["first_pass"] == accepted.reviewed[0]["labels"] == ["visit"]
    assert parse_export(SAMPLE).reviewed == []  # tasks without first-pass labels are not reviews


def test_stable_export_drops_clock_relative_fields_and_sorts_prediction_ids():
    task = reviewed_task(["visit"], ["visit"])
    task["predictions"] = [7, 5]
    [out] = stable_export([task])
    assert out["predictions"] == [5, 7]
    assert "created_ago" not in out["annotations"][0]["prediction"]


def test_pool_tasks_take_context_from_their_article_and_group_by_story_else_article():
    from newsevents.labelstudio.tasks import pool_tasks

    rows = [{"id": "p1", "text": "A.", "page": "u", "doc": "d1"}, {"id": "p2", "text": "B.", "page": "u", "doc": "d2",
            "story": "basil:s"}, {"id": "p3", "text": "C.", "page": "u", "doc": "d1"}]
    tasks = {t["sentence_id"]: t for t in pool_tasks(rows, context=1)}
    assert (tasks["pool:p1"]["context_before"], tasks["pool:p1"]["context_after"]) == ("", "C.")
    assert (tasks["pool:p3"]["context_before"], tasks["pool:p3"]["context_after"]) == ("A.", "")
    assert tasks["pool:p2"]["context_before"] == tasks["pool:p2"]["context_after"] == ""
    assert [tasks[i]["group"] for i in ("pool:p1", "pool:p2", "pool:p3")] == ["doc:d1", "basil:s", "doc:d1"]


def test_uncertainty_selection_with_a_random_share():
    from newsevents.labelstudio.tasks import select_tasks

    margins = [i / 100 for i in range(100)]
    tasks = [{}] * 100
    picked = select_tasks(tasks, margins, "uncertain", 20, seed=3, random_share=0.25)
    assert len(set(picked)) == 20
    assert picked[:15] == list(range(15))  # the 15 least sure
    assert all(i >= 15 for i in picked[15:]) and max(picked[15:]) > 30  # 5 drawn from the whole rest
    assert picked == select_tasks(tasks, margins, "uncertain", 20, seed=3, random_share=0.25)
    with pytest.raises(ValueError, match="random share"):
        select_tasks(tasks, margins, "uncertain", 20, seed=3, random_share=1.5)


def test_changes_to_the_models_answers_are_counted_per_version_and_type(tmp_path):
    from newsevents.labelstudio.export import model_changes

    def choice(*labels):
        return [{"from_name": "events", "to_name": "text", "type": "choices", "value": {"choices": list(labels)}}]

    def task(i, predicted, version, *answers):
        pred = {"id": 100 + i, "model_version": version, "result": choice(*predicted)}
        return {"id": i, "data": {"text": f"sentence {i}", "sentence_id": f"s{i}"}, "predictions": [pred["id"]],
                "annotations": [{"id": 10 * i + n, "completed_by": n, "result": choice(*a), "prediction": pred}
                                for n, a in enumerate(answers)]}

    tasks = [task(1, ["visit"], "m1", ["visit"]),  # accepted
             task(2, ["visit", "treaty"], "m1", ["visit"]),  # treaty removed
             task(3, ["none"], "m2", ["strike"]),  # strike added
             task(4, ["strike"], "first-pass", ["visit"]),  # a first-pass review, counted elsewhere
             {"id": 5, "data": {"text": "s", "sentence_id": "s5"}, "annotations": [{"result": choice("visit")}]}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    parsed = parse_export(path)
    assert [a["sentence_id"] for a in parsed.model_answers] == ["s1", "s2", "s3"]
    counts = model_changes(parsed.model_answers)
    assert list(counts) == ["m1", "m2"]
    assert counts["m1"]["answers"] == 2 and counts["m1"]["unchanged"] == 1
    assert counts["m1"]["per_type"]["visit"] == {"accepted": 2, "added": 0, "removed": 0}
    assert counts["m1"]["per_type"]["treaty"] == {"accepted": 0, "added": 0, "removed": 1}
    assert counts["m2"]["per_type"]["strike"] == {"accepted": 0, "added": 1, "removed": 0}
    assert counts["m2"]["unchanged"] == 0
