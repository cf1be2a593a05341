"""Faults in what the pipeline reads and writes: a model folder checked whole on load, an ONNX
export that never deletes what it replaces, exports from another labeling config, examples and
data card as one unit, and records with missing fields named by file and line."""

import json
import shutil
from pathlib import Path

import pytest

from newsevents import atomic, onnx_export
from newsevents.datacard import check_pair
from newsevents.dataset import prepare, write_training
from newsevents.backends import load_backend
from newsevents.jsonl import JsonlError
from newsevents.labelstudio.export import ExportError, parse_export
from newsevents.model import ModelError

from conftest import FIXTURES


def copy_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    return folder


# ------------------------------------------------------------------- the model folder, checked whole

def test_a_folder_without_its_tokenizer_is_refused(tiny_model_dir, tmp_path):
    folder = copy_model(tiny_model_dir, tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="tokenizer.json missing"):
        load_backend(folder)


@pytest.mark.parametrize("bad", [float("nan"), -0.2, 1.5, "high"])
def test_thresholds_outside_0_1_are_refused(tiny_model_dir, tmp_path, bad):
    folder = copy_model(tiny_model_dir, tmp_path)
    meta = json.loads((folder / "newsevents.json").read_text())
    meta["thresholds"]["visit"] = bad
    (folder / "newsevents.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="newsevents.json"):
        load_backend(folder)


def test_a_tokenizer_of_another_vocabulary_is_refused(tiny_model_dir, tmp_path):
    folder = copy_model(tiny_model_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["vocab_size"] += 7  # the embedding no longer matches the tokenizer's vocabulary
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="tokenizer.json has .* tokens but the model's embedding has"):
        load_backend(folder)


# ------------------------------------------------------------------ the ONNX export's output folder

def test_export_refuses_outputs_it_would_destroy(tiny_model_dir, tmp_path):
    folder = copy_model(tiny_model_dir, tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    for out in (folder, tmp_path):  # the model folder, and a folder that contains it
        with pytest.raises(ValueError, match="is the model folder or contains it"):
            onnx_export.export(folder, out)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an earlier ONNX export"):
        onnx_export.export(folder, other)
    assert sorted(p.name for p in folder.iterdir()) == before and (other / "keep.txt").read_text() == "mine"


def test_an_earlier_export_is_replaced(tiny_model_dir, tmp_path):
    out = tmp_path / "onnx"
    onnx_export.export(tiny_model_dir, out)
    assert onnx_export.is_export(out) and (out / "config.json").is_file()
    onnx_export.export(tiny_model_dir, out)  # the same folder again: allowed
    assert load_backend(out, "onnx").scores(["A court jailed him."]).shape == (1, 5)


# ------------------------------------------------------------------------------ Label Studio exports

def export_with(tmp_path: Path, result) -> Path:
    task = {"id": 7, "data": {"text": "Troops shelled the town.", "sentence_id": "s:1", "source": "seed"},
            "annotations": [{"id": 1, "completed_by": 1, "result": result}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task]))
    return path


@pytest.mark.parametrize("result, problem", [
    ([{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["strike"]}}],
     "unknown control 'label'; this export was made with another labeling config"),
    ([{"from_name": "events", "to_name": "text", "type": "choices", "value": None}], "has no 'value' object"),
    (["strike"], "has no 'value' object"),
    ([{"from_name": "events", "to_name": "text", "type": "choices", "value": {"choices": "strike"}}],
     "'choices' is not a list"),
])
def test_malformed_or_foreign_exports_name_file_and_task(tmp_path, result, problem):
    path = export_with(tmp_path, result)
    with pytest.raises(ExportError, match=f"{path}: task 7: .*{problem.split(';')[0]}"):
        parse_export(path)


def test_an_annotation_that_is_a_string_names_file_and_task(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"id": 3, "data": {"text": "x."}, "annotations": ["strike"]}]))
    with pytest.raises(ExportError, match=f"{path}: task 3: an annotation is not an object"):
        parse_export(path)


# -------------------------------------------------------------- the examples and their data card

def test_examples_and_card_are_one_unit(tmp_path, monkeypatch):
    rows, card = prepare([FIXTURES / "export_sample.json"], n_folds=2)
    examples, card_path = tmp_path / "examples.jsonl", tmp_path / "data_card.json"
    write_training(examples, card_path, rows, card)
    check_pair(examples, json.loads(card_path.read_text()), card_path)
    before = (examples.read_bytes(), card_path.read_bytes())
    calls = []

    def fails_on_second(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fails_on_second)
    with pytest.raises(OSError):
        write_training(examples, card_path, rows[:1], card)
    assert (examples.read_bytes(), card_path.read_bytes()) == before  # the old pair, both files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data_card.json", "examples.jsonl"]
    examples.write_text(examples.read_text().splitlines()[0] + "\n")  # a hand edit of one of the two
    with pytest.raises(ValueError, match="not the data card of"):
        check_pair(examples, json.loads(card_path.read_text()), card_path)


# ---------------------------------------------------------------------- records with a missing field

def test_review_on_a_record_without_labels_names_file_and_line(tmp_path):
    from newsevents import review

    record = {"id": "a", "fold": 0, "source": "seed", "group": "g", "text": "x.",
              "scores": dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5),
              "thresholds": dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5)}
    path = tmp_path / "cv.jsonl"
    path.write_text(json.dumps({**record, "labels": []}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(JsonlError, match=f"{path}:2: missing field 'labels'"):
        review.main(path, tmp_path / "issues.jsonl")
    assert not (tmp_path / "issues.jsonl").exists()
