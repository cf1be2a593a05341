"""The model card: rendered for a tiny model's out-of-fold records, with parseable front matter."""

import yaml

from newsevents import model_card
from newsevents.metrics import headline, rounded, system_report
from newsevents.model import resolve_base_model
from newsevents.schema import EVENT_TYPES, ScoredRecord

from conftest import TINY_ROWS


def card_for(records):
    report = system_report(records)
    meta = {"version": "0.1.0+tiny", "base_model": "sentence-transformers/all-MiniLM-L6-v2",
            "params": {"base": {"seed": 1}, "train": {"pos_weight": "sqrt", "epochs": 2, "learning_rate": 0.001,
                                                      "batch_size": 4}}}
    data_card = {"per_source": {"newswire": {"sentences": 8, **{t: 1 for t in EVENT_TYPES}, "no_event": 2}}}
    license = model_card.base_license(resolve_base_model(""))
    metrics = headline({"model": report})["model"]
    return model_card.render(meta, dict.fromkeys(EVENT_TYPES, 0.5), data_card, rounded(report), metrics, license), metrics


def test_card_front_matter_is_model_card_metadata_with_the_eval_results():
    records = [ScoredRecord.scored(r, [0.9 if t in r.labels else 0.1 for t in EVENT_TYPES]) for r in TINY_ROWS]
    records[0] = ScoredRecord.scored(TINY_ROWS[0], [0.2] * 5)  # one miss, so the figures are not all 1.0
    from newsevents.thresholds import with_nested_thresholds

    text, metrics = card_for(with_nested_thresholds(records))
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "apache-2.0"  # the packaged base model's licence, read from its card
    assert front["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    [entry] = front["model-index"]
    results = {r["dataset"]["split"]: r["metrics"][0]["value"] for r in entry["results"]}
    assert results == {part: m["macro_f1"] for part, m in metrics.items()}  # pooled and newswire
    assert set(results) == {"pooled", "newswire"} and results["pooled"] < 1.0
    body = text.split("---\n", 2)[2]
    for t in EVENT_TYPES:  # one row per type, in the per-type table and the data table header
        assert f"| {t} | " in body
    assert "{{" not in body and "{%" not in body
