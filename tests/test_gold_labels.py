"""The committed gold labels: complete over the seeds, and an authored set that teaches the events.

The keyword lists are written here on purpose, independent of the code under test.
"""

import json
import re

import pytest

from newsevents.corpus import segment
from newsevents.dataset import find_exports, load_exports
from newsevents.labelstudio.export import parse_export
from newsevents.schema import EVENT_TYPES

from conftest import ROOT

SEED_EXPORT = ROOT / "labels" / "annotations" / "seeds.json"
NEWSWIRE = ROOT / "seeds" / "newswire.jsonl"
NEWSWIRE_EXPORT = ROOT / "labels" / "annotations" / "newswire.json"
AUTHORED_EXPORT = ROOT / "labels" / "authored" / "authored.json"

KEYWORDS = {
    "visit": r"visit",
    "treaty": r"treat|agreement|accord|pact|deal",
    "strike": r"strik|struck",
    "sentence": r"sentenc",
    "sanction": r"sanction",
}
TRAP_WORDS = r"strike|strik|struck|sentenc|sanction|visit|agreement|deal|signed|pact|accord"
MIN_PER_TYPE = 60
MIN_NO_EVENT = 200


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def ngrams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


@pytest.fixture(scope="module")
def authored():
    return parse_export(AUTHORED_EXPORT)


def test_all_committed_exports_parse_without_error():
    parsed = load_exports(find_exports(ROOT / "labels"))
    assert parsed.examples
    assert not [e for e in parsed.excluded if e["reason"] != "not annotated"]


def test_every_seed_sentence_has_exactly_one_decision(seed_articles):
    parsed = parse_export(SEED_EXPORT)
    assert parsed.excluded == [] and parsed.disagreements == []
    expected = {s.id: s.text for a in seed_articles.values() for s in segment(a)}
    got = {e.id: e.text for e in parsed.examples}
    assert got == expected
    assert len(parsed.examples) == len(expected)  # no sentence twice


def test_seed_export_has_one_live_annotation_per_task():
    for task in json.loads(SEED_EXPORT.read_text(encoding="utf-8")):
        live = [a for a in task["annotations"] if not a["was_cancelled"]]
        assert len(live) >= 1, task["id"]
        assert all(a["result"] for a in live), task["id"]  # "none" is chosen, never left blank


def newswire_rows() -> dict[str, dict]:
    rows = [json.loads(line) for line in NEWSWIRE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {f"newswire:{r['id']}": r for r in rows}


def test_every_newswire_sentence_has_exactly_one_reviewed_annotation():
    rows = newswire_rows()
    tasks = json.loads(NEWSWIRE_EXPORT.read_text(encoding="utf-8"))
    assert sorted(t["data"]["sentence_id"] for t in tasks) == sorted(rows)  # each sentence once, none extra
    for task in tasks:
        sid = task["data"]["sentence_id"]
        assert task["data"]["text"] == rows[sid]["text"], sid
        assert task["data"]["group"] == rows[sid]["source"], sid  # folds group by source page
        live = [a for a in task["annotations"] if not a["was_cancelled"]]
        assert len(live) == 1, sid
        # Reviewed, not imported: the annotation was made from the first-pass prediction, and the
        # first-pass labels themselves never arrived as an annotation.
        first_pass = live[0]["prediction"]
        assert first_pass["model_version"] == "first-pass" and live[0]["parent_prediction"] == first_pass["id"], sid
        chosen = first_pass["result"][0]["value"]["choices"]
        assert [c for c in chosen if c != "none"] == rows[sid]["labels"], sid


def test_newswire_export_parses_and_every_change_of_a_first_pass_label_says_why():
    parsed = parse_export(NEWSWIRE_EXPORT)
    assert parsed.excluded == [] and len(parsed.examples) == len(newswire_rows())
    assert {e.source for e in parsed.examples} == {"newswire"}
    assert len(parsed.reviewed) == len(parsed.examples)
    changed = [r for r in parsed.reviewed if r["labels"] != r["first_pass"]]
    assert changed, "the review changed nothing: was it done?"
    for r in changed:
        assert re.search(r"[Rr]ule \d", r["reason"]), f"{r['sentence_id']}: no rule named in {r['reason']!r}"
    guidelines = (ROOT / "labels" / "guidelines.md").read_text(encoding="utf-8")
    for r in changed:  # every changed sentence is a worked example in the guidelines
        assert r["sentence_id"].split(":")[1] in guidelines, r["sentence_id"]


def test_authored_examples_are_marked_authored(authored):
    assert authored.excluded == []
    assert all(e.source == "authored" and e.id.startswith("authored:") for e in authored.examples)


def test_authored_counts_per_type_and_keyword_free_share(authored):
    for t in EVENT_TYPES:
        positives = [e for e in authored.examples if t in e.labels]
        assert len(positives) >= MIN_PER_TYPE, t
        keyword_free = [e for e in positives if not re.search(KEYWORDS[t], e.text, re.I)]
        assert 3 * len(keyword_free) >= len(positives), (t, len(keyword_free), len(positives))
    assert sum(len(e.labels) >= 2 for e in authored.examples) >= 10


def test_authored_no_event_examples_and_traps():
    tasks = json.loads(AUTHORED_EXPORT.read_text(encoding="utf-8"))
    negatives = [t["data"] for t in tasks
                 if t["annotations"][0]["result"][0]["value"]["choices"] == ["none"]]
    assert len(negatives) >= MIN_NO_EVENT
    # Traps are tagged with their kind by the writer ("labour strike", "prosecutor demand", ...).
    tagged = [d for d in negatives if d.get("trap")]
    assert 2 * len(tagged) >= len(negatives), (len(tagged), len(negatives))
    assert len({d["trap"] for d in tagged}) >= 15  # many kinds of trap, not one repeated
    # Independent of the tags: a third of all negatives carry an event keyword that must not fire.
    with_word = [d for d in negatives if re.search(TRAP_WORDS, d["text"], re.I)]
    assert 3 * len(with_word) >= len(negatives), (len(with_word), len(negatives))


def test_authored_texts_are_unique(authored):
    texts = [e.text.lower() for e in authored.examples]
    assert len(texts) == len(set(texts))


def test_no_authored_sentence_shares_eight_words_with_a_seed_sentence(authored, seed_articles):
    seed_grams = set()
    for article in seed_articles.values():
        for s in segment(article):
            seed_grams |= ngrams(s.text)
    shared = {e.id: ngrams(e.text) & seed_grams for e in authored.examples}
    assert {k: v for k, v in shared.items() if v} == {}
