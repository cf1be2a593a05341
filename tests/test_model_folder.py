"""The saved model folder is a plain transformers model too: its config carries the thresholds,
and ``pipeline("text-classification")`` gives the same scores as newsevents."""

import json

import numpy as np
import pytest

from newsevents.backends import load_backend
from newsevents.schema import EVENT_TYPES

from conftest import TINY_ROWS

TEXTS = [r.text for r in TINY_ROWS]


def test_config_json_carries_the_thresholds(tiny_model_dir):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    meta = json.loads((tiny_model_dir / "newsevents.json").read_text())
    assert config["thresholds"] == meta["thresholds"] and set(config["thresholds"]) == set(EVENT_TYPES)
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(EVENT_TYPES))] == list(EVENT_TYPES)


@pytest.mark.slow
def test_transformers_pipeline_loads_the_folder_and_gives_the_same_scores(tiny_model_dir):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(tiny_model_dir), top_k=None, device="cpu")
    got = np.array([[next(d["score"] for d in out if d["label"] == t) for t in EVENT_TYPES] for out in pipe(TEXTS)])
    ours = load_backend(tiny_model_dir, "torch").scores(TEXTS)
    np.testing.assert_allclose(got, ours, atol=1e-5)
    assert pipe.model.config.thresholds == load_backend(tiny_model_dir, "torch").thresholds
