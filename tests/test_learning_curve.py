"""The learning curve: shares of whole stories, nested, and the 100% point is the train stage's."""

from dataclasses import replace

import pytest

from newsevents.learning_curve import learning_curve, story_share
from newsevents.params import LearningCurveParams, Params
from newsevents.schema import Example

from conftest import TINY_ROWS, tiny_params


def rows_in_groups() -> list[Example]:
    real = [Example(f"r{i}", f"Sentence {i}.", (), "pool", f"g{i // 3}", fold=0) for i in range(30)]  # 10 groups of 3
    authored = [Example(f"a{i}", f"Authored {i}.", (), "authored", "authored", fold=None) for i in range(4)]
    return real + authored


def test_a_share_keeps_every_training_only_row_and_whole_stories():
    rows = rows_in_groups()
    half = story_share(rows, 0.5, seed=7)
    assert {r.id for r in half if not r.in_cv} == {"a0", "a1", "a2", "a3"}
    real = [r for r in half if r.in_cv]
    assert len(real) == 15  # whole groups of three until half of the 30 sentences
    groups = {r.group for r in real}
    assert all(sum(r.group == g for r in real) == 3 for g in groups)


def test_shares_are_nested_and_seeded():
    rows = rows_in_groups()
    ids = [{r.id for r in story_share(rows, f, seed=7)} for f in (0.25, 0.5, 0.75, 1.0)]
    assert ids[0] < ids[1] < ids[2] < ids[3] == {r.id for r in rows}
    assert ids[1] == {r.id for r in story_share(rows, 0.5, seed=7)}
    assert ids[1] != {r.id for r in story_share(rows, 0.5, seed=8)}
    with pytest.raises(ValueError, match="fraction"):
        story_share(rows, 0.0, seed=7)


def test_curve_retrains_below_100_percent_and_ends_at_the_train_stage(tiny_base):
    from newsevents.metrics import system_report
    from newsevents.train import cross_validate

    rows = [replace(r, group=f"g{i // 2}") for i, r in enumerate(TINY_ROWS)]
    params = Params(train=tiny_params(tiny_base), learning_curve=LearningCurveParams(fractions=(0.5,)))
    full = cross_validate(rows, params.train, params.base.seed)
    points = learning_curve(rows, full, params)
    assert [p.fraction for p in points] == [0.5, 1.0]
    assert points[0].real_sentences == 2 and points[1].real_sentences == 4  # of a fold's 4 training sentences
    assert all(0.0 <= p.macro_f1 <= 1.0 and set(p.per_source) == {"newswire"} for p in points)
    assert points[1].macro_f1 == round(system_report(full, with_curves=False)["macro"]["f1"], 4)
