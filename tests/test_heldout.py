"""The held-out source: never trained on, never near-duplicated in training, scored by the final model."""

import re

from newsevents.jsonl import read_jsonl
from newsevents.metrics import heldout_report
from newsevents.schema import HELD_OUT, Example, ScoredRecord

from conftest import ROOT, TINY_ROWS, tiny_params

N_GRAM = 8  # words: a shared run this long is the same text, not the same phrasing


def grams(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(words[i : i + N_GRAM]) for i in range(len(words) - N_GRAM + 1)}


def test_no_heldout_sentence_is_near_duplicated_in_anything_trained_on():
    """Everything a model may learn from: the committed examples (real and authored), the raw
    newswire rows, the seed articles and the unlabelled pool that feeds annotation rounds."""
    examples = [Example.from_json(r) for r in read_jsonl(ROOT / "training" / "examples.jsonl")]
    held = [ex for ex in examples if not ex.trainable]
    assert len(held) >= 400 and {ex.source for ex in held} == {"heldout"}
    trained = [ex.text for ex in examples if ex.trainable]
    trained += [r["text"] for r in read_jsonl(ROOT / "seeds" / "newswire.jsonl")]
    trained += [r["text"] for r in read_jsonl(ROOT / "seeds" / "pool" / "pool.jsonl")]
    trained += [p.read_text(encoding="utf-8") for p in (ROOT / "seeds").glob("*.txt")]
    seen = set().union(*(grams(t) for t in trained))
    shared = [(ex.id, sorted(grams(ex.text) & seen)[0]) for ex in held if grams(ex.text) & seen]
    assert not shared, f"{len(shared)} held-out sentences share {N_GRAM} words with training text: {shared[:3]}"


def test_heldout_sentences_are_in_no_fold_and_never_trainable():
    examples = [Example.from_json(r) for r in read_jsonl(ROOT / "training" / "examples.jsonl")]
    for ex in examples:
        assert (ex.source == "heldout") == (ex.fold == HELD_OUT) == (not ex.trainable), ex.id


def test_train_never_sees_the_heldout_rows_and_scores_them_with_the_final_model(tiny_base):
    from dataclasses import replace

    from newsevents.train import train

    held = [replace(r, id=f"heldout:{i}", source="heldout", fold=HELD_OUT) for i, r in enumerate(TINY_ROWS[:3])]
    result = train([*TINY_ROWS, *held], tiny_params(tiny_base), seed=1)
    assert {r.id for r in result.scored} == {r.id for r in TINY_ROWS}  # out-of-fold: the folds only
    assert [r.id for r in result.heldout] == [h.id for h in held]
    assert all(r.thresholds == result.thresholds and r.fold == HELD_OUT for r in result.heldout)
    # Held-out rows are the same texts as three training rows here, so the test can see that the
    # final model scored them: a model trained on the held-out rows too would be a different one.
    from newsevents.inference import predict_scores

    again = predict_scores(result.scorer.model, result.scorer.tokenizer, [h.text for h in held])
    import numpy as np

    np.testing.assert_allclose([list(r.scores.values()) for r in result.heldout], again, atol=1e-5)


def test_hard_negative_false_event_rate_counts_traps_without_gold_events():
    th = dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5)

    def rec(i, gold, pred):
        return ScoredRecord(f"heldout:h{i}", HELD_OUT, "heldout", "heldout", "t", tuple(gold), {}, th, tuple(pred))

    records = [rec(1, [], ["sanction"]), rec(2, [], []), rec(3, ["visit"], ["visit"]), rec(4, [], ["strike"])]
    traps = {"heldout:h1": "sanction", "heldout:h2": "visit", "heldout:h3": "visit"}
    report = heldout_report(records, traps)
    # h3 has a gold event (not a negative); h4 is not a trap: 1 of the 2 trap negatives fires,
    # the sanction trap, with its own type.
    per_family = report["hard_negatives"].pop("per_family")
    assert report["hard_negatives"] == {"n": 2, "false_event": 1, "false_event_rate": 0.5}
    assert per_family == {
        "sanction": {"n": 1, "false_event": 1, "false_event_rate": 1.0, "own_type": 1, "own_type_rate": 1.0},
        "visit": {"n": 1, "false_event": 0, "false_event_rate": 0.0, "own_type": 0, "own_type_rate": 0.0}}
    assert report["per_type"]["sanction"]["fp"] == 1 and report["n"] == 4


def test_hard_negative_families_name_held_out_examples():
    """The families file's ids join with the held-out predictions' example ids; a family that is
    not a type (plain, positive) is no trap."""
    from newsevents.evaluate import read_hard_negatives

    traps = read_hard_negatives(ROOT / "seeds" / "heldout" / "families.jsonl")
    held = {r["id"] for r in read_jsonl(ROOT / "training" / "examples.jsonl") if r["source"] == "heldout"}
    assert len(traps) >= 200 and set(traps) <= held
    assert set(traps.values()) == {"visit", "treaty", "strike", "sentence", "sanction"}
