"""The dashboard: rendered from sample eval files, checked as text and in a real headless Chromium;
its chart geometry checked as numbers."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from newsevents import charts
from newsevents.dashboard import main, render_dashboard, static_text, template
from newsevents.jsonl import read_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).parent / "artifacts"
SECTION_IDS = ("headline", "per-type", "pr-curves", "folds", "learning-curve", "cooccurrence", "data-card", "errors")
CHART_SECTIONS = ("per-type", "pr-curves", "folds", "learning-curve", "cooccurrence")
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
def curve() -> dict[str, Any]:
    return json.loads((FIXTURES / "learning_curve_sample.json").read_text(encoding="utf-8"))


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    """An eval folder as the evaluate stage leaves it."""
    out = tmp_path / "eval"
    out.mkdir()
    shutil.copy(FIXTURES / "report_sample.json", out / "report.json")
    shutil.copy(FIXTURES / "errors_sample.jsonl", out / "errors.jsonl")
    shutil.copy(FIXTURES / "learning_curve_sample.json", out / "learning_curve.json")
    return out


def write_page(eval_dir: Path) -> Path:
    """The dashboard stage on ``eval_dir``, as the pipeline runs it."""
    return main(eval_dir / "report.json", eval_dir / "errors.jsonl", FIXTURES / "data_card_sample.json",
                eval_dir / "learning_curve.json", eval_dir / "dashboard.html")


def test_every_section_is_present(report, card, errors, curve):
    page = render_dashboard(report, card, errors, curve)
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
    for sid in (s for s in SECTION_IDS if s != "learning-curve"):  # no curve file: no section
        assert f'id="{sid}"' in page, sid
    assert "n/a" in page and "no curve" in page


def test_main_writes_the_rendered_page(eval_dir, report, card, errors, curve):
    out = write_page(eval_dir)
    assert out == eval_dir / "dashboard.html"
    assert out.read_text(encoding="utf-8") == render_dashboard(report, card, errors, curve)
    assert [p.name for p in eval_dir.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_dashboard_in_headless_chromium(eval_dir, errors):
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not on PATH: run scripts/install-chromium.sh (as root) to install it")
    from playwright.sync_api import expect, sync_playwright

    page_path = write_page(eval_dir)
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


def test_html_in_labels_and_sentences_is_escaped(report, card, errors):
    assert template().environment.autoescape(template().name) is True
    report["systems"]["keywords"]["label"] = '<img src=x onerror="alert(1)">'
    errors[0]["text"] = "<script>alert('x')</script>"
    errors[0]["gold"] = ["<i>visit</i>"]
    card["per_source"]["<em>heldout</em>"] = {"sentences": 3}
    page = render_dashboard(report, card, errors)
    assert "<img" not in page and "<script>alert" not in page and "<i>" not in page and "<em>" not in page
    label = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    # headline row, per-source rows, fold table and strip plot, legend, every bar and curve tooltip
    assert page.count(label) > 10
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert '<span class="chip">&lt;i&gt;visit&lt;/i&gt;</span>' in page
    assert "<th>&lt;em&gt;heldout&lt;/em&gt;</th>" in page


def test_the_heldout_source_has_its_own_section_outside_pooled(report, card, errors):
    types = report["event_types"]
    for system in report["systems"].values():
        system["heldout"] = {"n": 535, "macro": {"f1": 0.75}, "micro": {"f1": 0.7},
                             "per_type": {t: {"precision": 0.8, "recall": 0.6, "f1": 0.686} for t in types},
                             "hard_negatives": {"n": 200, "false_event": 25, "false_event_rate": 0.125}}
    page = render_dashboard(report, card, errors)
    section = re.search(r'<section id="heldout">(.*?)</section>', page, re.S).group(1)
    assert "535 real sentences" in section and "Hard negatives (200)" in section
    assert section.count("<td>0.750</td>") == len(report["systems"])
    assert "<td>0.80 / 0.60 / 0.69</td>" in section and "<td>12.5% (25)</td>" in section
    assert '<a href="#heldout">' in page
    assert 'id="heldout"' not in render_dashboard(json.loads((FIXTURES / "report_sample.json").read_text()), card, errors)


def test_css_and_js_are_the_package_files_inlined(report, card, errors):
    page = render_dashboard(report, card, errors)
    assert f"<style>\n{static_text('dashboard.css')}</style>" in page
    assert f"<script>\n{static_text('dashboard.js')}</script>" in page
    assert page.startswith("<!DOCTYPE html>\n")


def test_a_new_source_becomes_a_column_and_rows(report, card, errors):
    for system in report["systems"].values():
        system["per_source"]["wire2020"] = {"n": 40, "macro": {"f1": 0.5}, "micro": {"f1": 0.25}}
    card["per_source"]["wire2020"] = {"sentences": 40}
    page = render_dashboard(report, card, errors)
    assert "<th>seed</th><th>newswire</th><th>wire2020</th></tr>" in page  # headline: known order, then new
    assert '<th colspan="3">macro-F1 per source</th>' in page
    table = re.search(r'<table class="num per-source">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 4 * len(report["systems"])
    assert "<td>Fine-tuned MiniLM</td><td>wire2020</td><td>40</td><td>0.500</td><td>0.250</td>" in table
    assert "<th>authored (training only)</th><th>wire2020</th><th>total</th>" in page
    assert "<tr><td>visit</td><td>35</td><td>42</td><td>84</td><td>n/a</td><td>161</td></tr>" in page


def test_bar_width_is_the_f1_share_of_the_axis():
    chart = charts.per_type_bars(["visit", "treaty"],
                                 [("model", {"visit": 0.5, "treaty": None}), ("rules", {"visit": 1.7, "treaty": 0.25})],
                                 {"visit": 10})
    start, end = chart.axis.ticks[0].x, chart.axis.ticks[-1].x
    assert [t.label for t in chart.axis.ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    model, rules = chart.groups[0].bars
    assert model.x == start and model.width == pytest.approx((end - start) / 2)
    assert model.value.text == "0.50" and model.value.x == pytest.approx(model.x + model.width + 4)
    assert rules.width == pytest.approx(end - start)  # clamped to 1
    assert rules.y == model.y + charts.BAR_H + charts.BAR_GAP and model.height == charts.BAR_H
    missing, quarter = chart.groups[1].bars
    assert missing.width == 0 and missing.value.text == "n/a" and "F1 n/a" in missing.title
    assert quarter.width == pytest.approx((end - start) / 4)
    assert chart.groups[0].support.text == "support 10" and chart.groups[1].support.text == "support n/a"
    assert chart.height == chart.axis.bottom + 36 and chart.axis.top < model.y < chart.groups[1].bars[0].y


def test_pr_curve_points_span_the_frame():
    chart = charts.pr_chart("visit", [charts.PrSeries("model", [1.0, 0.5, 0.0], [0.5, 0.75, 1.0], 0.81),
                                      charts.PrSeries("rules", None, None, None)])
    frame = chart.frame
    (curve,) = chart.curves
    assert [(p.x, p.y) for p in curve.points] == [
        (frame.x + frame.width, frame.y + frame.height / 2),
        (frame.x + frame.width / 2, frame.y + frame.height / 4),
        (frame.x, frame.y),
    ]
    assert [e.label for e in chart.legend] == ["model: PR-AUC 0.81", "rules: no curve"]
    assert chart.empty is None and curve.color == chart.legend[0].color
    assert charts.pr_chart("visit", [charts.PrSeries("rules", None, None, None)]).empty.text == "n/a"


def test_fold_strip_dots_and_band():
    chart = charts.fold_strip([charts.FoldSeries("model", [("0", 0.4, 10), ("1", 0.6, 12), ("2", None, 5)], 0.5, 0.1),
                               charts.FoldSeries("rules", [], None, None)])
    start, end = chart.axis.ticks[0].x, chart.axis.ticks[-1].x
    model, rules = chart.rows
    assert [d.cx for d in model.dots] == [pytest.approx(start + 0.4 * (end - start)),
                                         pytest.approx(start + 0.6 * (end - start))]
    assert model.dots[1].cy - model.dots[0].cy == 3.5  # jitter keeps equal scores apart
    assert "fold 1 (n=12): macro-F1 0.600" in model.dots[1].title
    assert model.band.x == pytest.approx(model.dots[0].cx) and model.band.width == pytest.approx(0.2 * (end - start))
    assert model.mean.x1 == model.mean.x2 == pytest.approx((start + end) / 2)
    assert model.spread.text == "0.500 ± 0.100"
    assert rules.band is None and rules.mean is None and rules.dots == [] and rules.spread.text == "n/a"


def test_heatmap_cells_are_shaded_by_count():
    chart = charts.heatmap(["visit", "none"], [[4, 1], [0]])
    (a, b), (c, d) = ([cell for cell in row.cells] for row in chart.rows)
    assert a.shade == pytest.approx(0.96) and a.count.cls == "cell dark" and a.diagonal
    assert b.shade == pytest.approx(0.04 + 0.92 * 0.5) and b.count.cls == "cell" and not b.diagonal
    assert c.shade == pytest.approx(0.04) and c.count.text == "0"
    assert d.count.text == "n/a" and d.title == "gold none, predicted none: n/a"
    assert b.box.x - a.box.x == charts.CELL and a.box.width == charts.CELL - 2
    assert chart.width == 110 + 2 * charts.CELL + 10


def test_learning_curve_lines_rise_with_the_points_and_the_table_lists_them(report, card, errors, curve):
    from newsevents.charts import CurveSeries, learning_chart

    chart = learning_chart([120, 240, 360, 480], [CurveSeries("pooled", [0.61, 0.72, 0.79, 0.83]),
                                                   CurveSeries("seed", [None, 0.55, 0.6, 0.63])])
    pooled, seed = chart.curves
    assert [round(p.x) for p in pooled.points] == [round(chart.frame.x + chart.frame.width * n / 480)
                                                    for n in (120, 240, 360, 480)]
    assert [p.y for p in pooled.points] == sorted((p.y for p in pooled.points), reverse=True)  # higher F1, higher up
    assert len(seed.points) == 3  # a missing value is left out, not drawn as zero
    assert chart.frame.y <= min(p.y for p in pooled.points) and max(p.y for p in seed.points) <= chart.frame.y + chart.frame.height
    page = render_dashboard(report, card, errors, curve)
    section = page[page.index('id="learning-curve"'):page.index('id="cooccurrence"')]
    for cell in ("25%", "120", "0.610", "100%", "480", "0.830"):
        assert f">{cell}<" in section, cell
    assert 'id="learning-curve"' not in render_dashboard(report, card, errors)


def test_data_card_shows_changes_to_the_models_answers(report, card, errors):
    from newsevents.labelstudio.export import model_changes

    assert 'id="model-changes"' not in render_dashboard(report, card, errors)
    card["model_changes"] = model_changes([
        {"sentence_id": "a", "model_version": "m1", "predicted": ["visit", "treaty"], "labels": ["visit"]},
        {"sentence_id": "b", "model_version": "m1", "predicted": [], "labels": ["strike"]}])
    page = render_dashboard(report, card, errors)
    part = re.search(r'<div id="model-changes">(.*?)</div>', page, re.S).group(1)
    assert "<td>m1</td><td>2</td><td>0</td><td>✓1 +0 −0</td><td>✓0 +0 −1</td><td>✓0 +1 −0</td>" in part
