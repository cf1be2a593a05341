"""The documented output layouts hold: real `newsevents predict` rows and summary rows over the seed
articles validate against docs/*.schema.json, and the schemas reject what they must."""

import json
import subprocess
import sys

import jsonschema
import pytest

from newsevents import __version__
from newsevents.schema import EVENT_TYPES

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def schema(name: str) -> dict:
    return json.loads((ROOT / "docs" / f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def output(tiny_exported, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    rows, summary = tmp / "rows.jsonl", tmp / "summary.jsonl"
    subprocess.run([sys.executable, "-m", "newsevents.cli", "predict", str(SEEDS), "--model", str(tiny_exported),
                    "--output", str(rows), "--summary", str(summary), "--quiet", "--threshold-scale", "0.9"],
                   check=True, timeout=300)
    read = lambda p: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return read(rows), read(summary)


def test_schemas_name_the_event_types_of_schema_py():
    for name, key in (("predict-row", "scores"), ("summary-row", "counts")):
        assert schema(name)["properties"][key]["required"] == list(EVENT_TYPES)
    jsonschema.Draft202012Validator.check_schema(schema("predict-row"))
    jsonschema.Draft202012Validator.check_schema(schema("summary-row"))


def test_predict_rows_of_the_seed_articles_validate(output):
    rows, _ = output
    validator = jsonschema.Draft202012Validator(schema("predict-row"))
    assert len({r["doc_id"] for r in rows}) == len(list(SEEDS.glob("*.txt")))
    for row in rows:
        validator.validate(row)
    assert {r["backend"] for r in rows} == {"onnx"} and {r["model"] for r in rows} == {"event-classifier tiny-test"}
    assert {r["thresholds"]["visit"] for r in rows} == {0.45}  # 0.5 × --threshold-scale 0.9


def test_summary_rows_validate(output):
    rows, summaries = output
    validator = jsonschema.Draft202012Validator(schema("summary-row"))
    for s in summaries:
        validator.validate(s)
    assert sum(s["sentences"] for s in summaries) == len(rows)


def test_the_schemas_reject_rows_that_break_the_contract(output):
    rows, summaries = output
    row, validator = rows[0], jsonschema.Draft202012Validator(schema("predict-row"))
    broken = [{k: v for k, v in row.items() if k != "schema_version"}, {**row, "events": ["riot"]},
              {**row, "scores": {**row["scores"], "visit": 1.5}}, {**row, "extra": 1}, {**row, "backend": "tf"}]
    assert all(not validator.is_valid(b) for b in broken)
    assert not jsonschema.Draft202012Validator(schema("summary-row")).is_valid({**summaries[0], "counts": {}})


def test_version_names_the_package_and_the_default_model(tiny_exported):
    cwd = tiny_exported.parents[1]  # holds models/event-classifier
    out = subprocess.run([sys.executable, "-m", "newsevents.cli", "--version"], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == [f"newsevents {__version__}", "model models/event-classifier: tiny-test"]
    out = subprocess.run([sys.executable, "-m", "newsevents.cli", "--version"], cwd=cwd / "models", capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[1] == "model models/event-classifier: not trained"
