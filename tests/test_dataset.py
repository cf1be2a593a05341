import json
from dataclasses import replace

import pytest

from newsevents.dataset import assign_folds, data_card, load_exports, prepare, write_training
from newsevents.labelstudio.export import ParsedExport
from newsevents.labelstudio.tasks import choices_result
from newsevents.schema import TRAIN_ONLY, Example

from conftest import FIXTURES, ROOT


def ex(i: int, group: str, source: str = "seed", labels=()) -> Example:
    return Example(f"{group}:{i}", f"Sentence {i} of {group}.", tuple(labels), source, group)


def corpus() -> list[Example]:
    out = []
    for g, n in {"a1": 9, "a2": 7, "a3": 5, "a4": 3, "a5": 2, "a6": 1}.items():
        out += [ex(i, g, labels=("visit",) if i == 0 else ()) for i in range(n)]
    out += [ex(i, "page", source="newswire", labels=("strike",)) for i in range(4)]
    out += [ex(i, "authored", source="authored", labels=("sanction",)) for i in range(6)]
    return out


def test_no_group_in_two_folds():
    examples = corpus()
    folds = assign_folds(examples, n_folds=3)
    fold_of_group: dict[str, set] = {}
    for e in examples:
        fold_of_group.setdefault(e.group, set()).add(folds[e.id])
    assert all(len(f) == 1 for f in fold_of_group.values())
    assert {f for e in examples if e.source != "authored" for f in [folds[e.id]]} == {0, 1, 2}


def test_authored_examples_are_never_in_an_evaluation_fold():
    examples = corpus()
    folds = assign_folds(examples, n_folds=3)
    assert all(folds[e.id] is TRAIN_ONLY for e in examples if e.source == "authored")
    assert all(folds[e.id] is not TRAIN_ONLY for e in examples if e.source != "authored")


def test_folds_are_balanced_and_deterministic():
    examples = corpus()
    folds = assign_folds(examples, n_folds=3)
    assert folds == assign_folds(list(reversed(examples)), n_folds=3)
    sizes = [sum(1 for e in examples if folds[e.id] == f) for f in range(3)]
    assert max(sizes) - min(sizes) <= 2  # 31 real sentences in groups of 9,7,5,4,3,2,1


def test_fewer_groups_than_folds_gives_one_fold_per_group():
    examples = [ex(0, "x"), ex(1, "x"), ex(0, "y")]
    assert sorted(set(assign_folds(examples, n_folds=5).values())) == [0, 1]


def test_data_card_counts_types_sources_folds_and_exclusions():
    examples = corpus()
    parsed = ParsedExport(examples, [{"file": "f.json", "task": 7, "sentence_id": "s", "reason": "not annotated"}], [])
    card = data_card(parsed, assign_folds(examples, 3))
    assert card["total"]["sentences"] == 37
    assert card["per_source"]["seed"] == {"sentences": 27, "visit": 6, "treaty": 0, "strike": 0,
                                          "sentence": 0, "sanction": 0, "no_event": 21}
    assert card["per_source"]["authored"]["sanction"] == 6
    assert card["per_source"]["newswire"]["strike"] == 4
    assert card["per_fold"]["train_only"]["sentences"] == 6
    assert sum(card["per_fold"][f]["sentences"] for f in ("0", "1", "2")) == 31
    assert sum(card["per_fold"][f]["groups"] for f in ("0", "1", "2")) == 7
    assert card["excluded"] == {"count": 1, "by_reason": {"not annotated": 1}, "tasks": parsed.excluded}


def test_prepare_writes_examples_and_card_from_real_export(tmp_path):
    rows, card = prepare([FIXTURES / "export_sample.json"], n_folds=5)
    write_training(tmp_path / "examples.jsonl", tmp_path / "data_card.json", rows, card)
    written = [json.loads(line) for line in (tmp_path / "examples.jsonl").read_text().splitlines()]
    assert [Example.from_json(w) for w in written] == rows and len(rows) == 4
    assert {r.fold for r in rows} == {0}  # one article: one fold
    saved = json.loads((tmp_path / "data_card.json").read_text())
    assert saved["excluded"]["count"] == 4
    assert saved["excluded"]["by_reason"] == {
        "annotators tied": 1, "cancelled (skipped by the annotator)": 1,
        "empty annotation (no choice made)": 1, "not annotated": 1}
    assert len(saved["disagreements"]) == 2


def test_a_sentence_in_two_exports_is_an_error(tmp_path):
    task = {"id": 1, "data": {"text": "Troops shelled the town.", "sentence_id": "art:0"},
            "annotations": [{"id": 1, "result": choices_result(["strike"])}]}
    for name in ("one.json", "two.json"):
        (tmp_path / name).write_text(json.dumps([task]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"two\.json: sentence 'art:0' is also in .*one\.json"):
        load_exports([tmp_path / "one.json", tmp_path / "two.json"])


def test_prepare_without_exports_says_what_to_do():
    with pytest.raises(ValueError, match="newsevents ls pull"):
        prepare([], n_folds=5)


def test_articles_of_one_story_share_a_fold(tmp_path):
    from newsevents.dataset import read_stories

    path = tmp_path / "stories.yaml"
    path.write_text("summit:\n  - a1\n  - a3\n", encoding="utf-8")
    stories = read_stories(path)
    assert stories == {"a1": "story:summit", "a3": "story:summit"}
    examples = [replace(e, group=stories.get(e.group, e.group)) for e in corpus()]
    folds = assign_folds(examples, n_folds=3)
    assert len({folds[e.id] for e in examples if e.group == "story:summit"}) == 1
    path.write_text("one:\n  - a1\ntwo:\n  - a1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"stories\.yaml: a1 is in stories 'one' and 'two'"):
        read_stories(path)


def test_first_pass_changes_count_added_and_removed_per_type():
    from newsevents.dataset import first_pass_changes

    reviewed = [
        {"sentence_id": "newswire:a", "source": "newswire", "first_pass": ["treaty"], "labels": ["visit", "treaty"],
         "reason": "Rule 6d"},
        {"sentence_id": "newswire:b", "source": "newswire", "first_pass": ["visit"], "labels": [], "reason": ""},
        {"sentence_id": "newswire:c", "source": "newswire", "first_pass": ["strike"], "labels": ["strike"], "reason": ""},
    ]
    out = first_pass_changes(reviewed)["newswire"]
    assert (out["reviewed"], out["changed"], out["unexplained"]) == (3, 2, 1)
    assert out["added"]["visit"] == 1 and out["removed"]["visit"] == 1
    assert sum(out["added"].values()) + sum(out["removed"].values()) == 2
    assert [c["sentence_id"] for c in out["changes"]] == ["newswire:a", "newswire:b"]


def test_committed_data_never_splits_a_source_page_or_story_across_folds():
    from newsevents import paths
    from newsevents.dataset import find_exports, read_stories
    from newsevents.params import load_params

    params = load_params(ROOT / paths.PARAMS_FILE)
    rows, card = prepare(find_exports(ROOT / paths.LABELS_DIR), params.prepare.n_folds,
                         read_stories(ROOT / paths.STORIES))
    folds_of: dict[str, set] = {}
    for r in rows:
        folds_of.setdefault(r.group, set()).add(r.fold)
    assert all(len(f) == 1 for f in folds_of.values())
    newswire = [r for r in rows if r.source == "newswire"]
    pages = {r.group for r in newswire}
    assert all(p.startswith("http") for p in pages) and len(pages) < len(newswire)  # grouped by page
    assert len({r.fold for r in newswire}) > 1  # pages spread over folds, each page in one
    assert all(r.fold is TRAIN_ONLY for r in rows if r.source == "authored")
    assert card["first_pass_review"]["newswire"]["reviewed"] == len(newswire)


def test_authored_sets_are_chosen_by_name_and_a_missing_one_is_an_error(tmp_path):
    from newsevents.dataset import find_exports

    for rel in ("annotations/seeds.json", "authored/authored.json", "authored/pairs.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("[]", encoding="utf-8")
    names = lambda paths: [str(p.relative_to(tmp_path)) for p in paths]  # noqa: E731
    assert names(find_exports(tmp_path, ("authored",))) == ["annotations/seeds.json", "authored/authored.json"]
    assert len(find_exports(tmp_path)) == 3
    with pytest.raises(ValueError, match=r"no export named \['pair'\] \(prepare.authored\)"):
        find_exports(tmp_path, ("authored", "pair"))
