"""The dashboard: rendered from sample eval files, checked as text and in a real headless Chromium."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from newsevents.dashboard import read_jsonl, render_dashboard, write_dashboard

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).parent / "artifacts"
SECTION_IDS = ("headline", "per-type", "pr-curves", "folds", "cooccurrence", "data-card", "errors")
CHART_SECTIONS = ("per-type", "pr-curves", "folds", "cooccurrence")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SEARCH_WORD = "Kinshasa"  # in two of the twelve sample error sentences


@pytest.fixture()
def report() -> dict[str, Any]:
    return json.loads((FIXTURES / "report_sample.json").read_text(encoding="utf-8"))


@pytest.fixture()
def card() -> dict[str, Any]:
    return json.loads((FIXTURES / "data_card_sample.json").read_text(encoding="utf-8"))


@pytest.fixture()
def errors() -> list[dict[str, Any]]:
    return read_jsonl(FIXTURES / "errors_sample.jsonl")


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    """An eval folder as the evaluate stage leaves it."""
    out = tmp_path / "eval"
    out.mkdir()
    shutil.copy(FIXTURES / "report_sample.json", out / "report.json")
    shutil.copy(FIXTURES / "errors_sample.jsonl", out / "errors.jsonl")
    return out


def test_every_section_is_present(report, card, errors):
    page = render_dashboard(report, card, errors)
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in page, sid
    assert 'id="error-search"' in page and 'id="error-count"' in page
    assert page.count('class="chart"') >= 1 + len(report["event_types"]) + 1 + 1


def test_page_loads_nothing_from_elsewhere(report, card, errors):
    page = render_dashboard(report, card, errors)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script src" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page


def test_sentence_text_is_escaped(report, card, errors):
    page = render_dashboard(report, card, errors)
    assert "<b>" not in page
    assert "&lt;b&gt;BREAKING&lt;/b&gt; &amp; the minister&#x27;s visit" in page
    assert "&quot;framework deal&quot;" in page
    assert "2 &lt; 3 talks" in page


def test_best_macro_f1_row_is_highlighted(report, card, errors):
    page = render_dashboard(report, card, errors)
    best = re.search(r'<tr class="best">(.*?)</tr>', page).group(1)
    assert "Fine-tuned MiniLM" in best and "<strong>0.769</strong>" in best


def test_scores_have_two_decimals(report, card, errors):
    page = render_dashboard(report, card, errors)
    first = errors[0]["scores"]["visit"]
    assert f"visit {first:.2f}" in page


def test_missing_pieces_render_as_na(report, card, errors):
    broken = copy.deepcopy(report)
    for system in broken["systems"].values():
        system.pop("pr_curves", None)
    model = broken["systems"]["model"]
    model["per_type"]["sanction"].update(f1=None, pr_auc=None, support=0)
    model["per_fold"]["3"]["macro_f1"] = None
    del model["fold_spread"]
    del broken["systems"]["zero_shot"]["per_type"]["visit"]
    del broken["cooccurrence"]
    errors[0]["scores"] = {}
    errors[1]["gold"] = []
    page = render_dashboard(broken, {}, errors)
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in page, sid
    assert "n/a" in page and "no curve" in page


def test_write_dashboard_writes_the_rendered_page(eval_dir, report, card, errors):
    out = write_dashboard(eval_dir, FIXTURES / "data_card_sample.json")
    assert out == eval_dir / "dashboard.html"
    assert out.read_text(encoding="utf-8") == render_dashboard(report, card, errors)
    assert [p.name for p in eval_dir.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_dashboard_in_headless_chromium(eval_dir, errors):
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not on PATH: run scripts/install-chromium.sh (as root) to install it")
    from playwright.sync_api import expect, sync_playwright

    page_path = write_dashboard(eval_dir, FIXTURES / "data_card_sample.json")
    problems: list[str] = []
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")

            for sid in CHART_SECTIONS:
                charts = page.locator(f"#{sid} svg.chart")
                drawn = [
                    charts.nth(i) for i in range(charts.count())
                    if (box := charts.nth(i).bounding_box()) and box["width"] > 0 and box["height"] > 0
                    and charts.nth(i).locator("rect, path, circle").count() > 0
                ]
                assert drawn, f"no drawn svg.chart in #{sid}"

            rows = page.locator("#error-table tbody tr:visible")
            total = len(errors)
            expected = sum(SEARCH_WORD.lower() in e["text"].lower() for e in errors)
            assert 0 < expected < total
            expect(rows).to_have_count(total)
            page.locator("#error-search").press_sequentially(SEARCH_WORD.lower())
            expect(rows).to_have_count(expected)
            expect(page.locator("#error-count")).to_have_text(f"{expected} of {total} errors shown")
            page.locator("#error-search").fill("")
            expect(rows).to_have_count(total)
            expect(page.locator("#error-count")).to_have_text(f"{total} of {total} errors shown")

            assert page.locator("#error-table b").count() == 0  # the sentence's <b> stays text
            expect(page.locator("#error-table")).to_contain_text("<b>BREAKING</b> & the minister's")

            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert outside == []


def test_per_source_table_lists_pooled_and_each_source_for_every_system(report, card, errors):
    page = render_dashboard(report, card, errors)
    table = re.search(r'<table class="num per-source">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 3 * len(report["systems"])  # pooled, seed, newswire
    model_newswire = next(r for r in rows if "Fine-tuned MiniLM" in r and "<td>newswire</td>" in r)
    assert "<td>299</td>" in model_newswire and "<td>0.694</td>" in model_newswire
    model_pooled = next(r for r in rows if "Fine-tuned MiniLM" in r and "<td>pooled</td>" in r)
    assert "<td>452</td>" in model_pooled and "<td>0.769</td>" in model_pooled


def test_data_card_shows_how_review_changed_first_pass_labels(report, card, errors):
    page = render_dashboard(report, card, errors)
    part = re.search(r'<div id="first-pass-review">(.*?)</div>', page, re.S).group(1)
    review = card["first_pass_review"]["newswire"]
    assert f"<td>newswire</td><td>{review['reviewed']}</td><td>{review['changed']}</td>" in part
    assert f"Changed labels: {review['changed']}" in part
    for change in review["changes"]:
        assert change["sentence_id"] in part
    assert 'id="first-pass-review"' not in render_dashboard(report, {}, errors)
