"""Export parsing on a real export (tests/fixtures/export_sample.json, exported from a real
Label Studio 1.23 server) and on broken copies of it: one test per validation error."""

import copy
import json
from pathlib import Path

import pytest

from newsevents.labelstudio import (
    ExportError, choices_result, parse_export, resolve, sentence_tasks, stable_export,
)
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


def test_none_together_with_an_event_is_an_error(tmp_path, sample):
    sample[0]["annotations"][0]["result"][0]["value"]["choices"] = ["none", "visit"]
    with pytest.raises(ExportError, match=rf"task {sample[0]['id']}: 'none' chosen together"):
        parse_export(write(tmp_path, sample))


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
