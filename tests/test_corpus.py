from pathlib import Path

import pytest

from newsevents.corpus import CorpusError, is_furniture, read_articles, segment
from newsevents.schema import Article

LIVE_BLOG = "001_df33677249d575f2"
PAGE_WITH_TEASERS = "003_0a8ef615f6d99544"


def texts(article: Article) -> list[str]:
    return [s.text for s in segment(article)]


def test_offsets_round_trip_on_every_seed_article(seed_articles):
    assert len(seed_articles) == 5
    for article in seed_articles.values():
        sentences = segment(article)
        assert sentences, article.id
        for i, s in enumerate(sentences):
            assert article.text[s.start : s.end] == s.text
            assert s.index == i
            assert s.id == f"{article.id}:{i}"
            assert s.text == s.text.strip()
        starts = [s.start for s in sentences]
        assert starts == sorted(starts)


def test_segmentation_is_stable(seed_articles):
    article = seed_articles[LIVE_BLOG]
    assert segment(article) == segment(article)


def test_headlines_without_final_period_are_sentences_of_their_own(seed_articles):
    live = texts(seed_articles[LIVE_BLOG])
    i = live.index("EU Commission to impose tariffs on Ukrainian egg imports")
    assert live[i + 1].startswith("The European Commission will introduce tariffs")
    assert "Putin has arrived in North Korea" in texts(seed_articles["002_ba462182fceb0a49"])
    assert "Fighting Updates, Day 846" in texts(seed_articles["000_8c045d6ba132c515"])


def test_abbreviations_do_not_end_sentences(seed_articles):
    live = texts(seed_articles[LIVE_BLOG])
    assert any(t.startswith("Staff Sgt. Gordon Black, 34, flew to Vladivostok") and t.endswith("U.S. officials and Russian authorities.") for t in live)
    spun = texts(seed_articles["004_500b28330caf8db6"])
    assert any("rebuff to U.S.-led efforts to isolate Putin" in t and t.endswith("ballistic missiles.") for t in spun)
    assert spun[-1].startswith("A possible arms deal would violate U.N. sanctions")
    assert spun[-1].endswith("Security Council.")


def test_quotes_stay_with_their_sentence(seed_articles):
    live = texts(seed_articles[LIVE_BLOG])
    assert (
        "“We need to be aware that authoritarian powers are aligning more and more. They are "
        "supporting each other in a way we haven’t seen before,” he told a panel discussion "
        "during an official visit to Ottawa."
    ) in live
    page = texts(seed_articles["002_ba462182fceb0a49"])
    assert page[-1].startswith("South Korean Defense Minister Shin Wonsik")
    assert page[-1].endswith("win in Ukraine.”")  # the closing quote is not a sentence of its own
    assert all(any(c.isalnum() for c in t) for a in seed_articles.values() for t in texts(a))


def test_bullet_lines_lose_the_bullet_and_split_into_sentences(seed_articles):
    page = texts(seed_articles[PAGE_WITH_TEASERS])
    assert "Putin extended an invitation to Kim Jong-un to visit Moscow to further maintain and strengthen the relationship between the two nations." in page
    assert "This invitation underscores the importance Russia places on its alliance with North Korea amid growing international tensions." in page
    assert not any(t.startswith("•") for t in page)


def test_page_furniture_and_trailing_teasers_are_dropped(seed_articles):
    page = texts(seed_articles[PAGE_WITH_TEASERS])
    assert page[-1].startswith("This includes potential technical knowledge transfer")
    for junk in ("World", "Trends", "Latest", "Clam Reports", "North Korea / Russia / Ukraine",
                 "Images from the reference sources", "Refs: | Le Figaro | CNNEE | Merkur |"):
        assert junk not in page
    assert not any("Bois de Boulogne" in t or "Hezbollah" in t for t in page)
    assert "Source: independent.co.uk" not in texts(seed_articles[LIVE_BLOG])
    assert "Compiled by Ana Dumbadze" not in texts(seed_articles["000_8c045d6ba132c515"])


def test_furniture_rule_keeps_short_headlines():
    assert is_furniture("World")
    assert is_furniture("2024-09-28T06:17:18.913Z")
    assert not is_furniture("Putin visits Pyongyang")
    assert not is_furniture("Talks end.")


def test_read_articles_rejects_non_utf8_naming_the_file(tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(CorpusError, match=r"bad\.txt: not UTF-8"):
        read_articles(bad)


def test_read_articles_jsonl_errors_name_file_and_line(tmp_path: Path):
    good = tmp_path / "a.jsonl"
    good.write_text('{"id": "x1", "text": "Talks ended."}\n\n{"id": 2, "text": "More."}\n', encoding="utf-8")
    assert [a.id for a in read_articles(good)] == ["x1", "2"]
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"id": "x1", "text": "ok"}\n{"id": "x2"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"b\.jsonl:2: expected an object with 'id' and 'text'"):
        read_articles(bad)
    worse = tmp_path / "c.jsonl"
    worse.write_text("not json\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: not JSON"):
        read_articles(worse)


def test_read_articles_folder_is_recursive_and_sorted_with_relative_ids(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("B happened.", encoding="utf-8")
    (tmp_path / "sub" / "a.txt").write_text("Another A happened.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("A happened.", encoding="utf-8")
    assert [a.id for a in read_articles(tmp_path)] == ["a", "sub/a", "sub/b"]  # two a.txt, two articles
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"empty: no \.txt files"):
        read_articles(tmp_path / "empty")


def test_long_lines_reach_pysbd_in_bounded_chunks_cut_at_sentence_ends():
    from newsevents.corpus import MAX_CHUNK, bounded_chunks, segment
    from newsevents.schema import Article

    line = "The minister arrived in Lima on Monday. Talks followed, Mr. Castillo said. " * 1500
    chunks = list(bounded_chunks(line))
    assert len(chunks) > 1 and all(len(c) <= MAX_CHUNK for _, c in chunks)
    assert "".join(c for _, c in chunks) == line and all(line[o:o + len(c)] == c for o, c in chunks)
    assert all(c.rstrip().endswith(".") for _, c in chunks[:-1])  # cut where a sentence ends
    assert list(bounded_chunks("short line")) == [(0, "short line")]
    assert [len(c) for _, c in bounded_chunks("x" * 25, limit=10)] == [10, 10, 5]  # no boundary at all
    sentences = segment(Article("a", "Headline here.\n" + line))
    assert len(sentences) == 1 + 3000
    assert all(("Headline here.\n" + line)[s.start:s.end] == s.text for s in sentences)
