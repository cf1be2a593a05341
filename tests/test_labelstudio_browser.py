"""What an annotator meets in Label Studio, in headless Chromium: the guidelines and the pre-ticked answer."""

import os
import subprocess
import sys

import pytest

from newsevents.labelstudio import client as ls

from conftest import ROOT, model_copy
from ls_browser import ARTIFACTS, close_instructions, labeling_stream, ticked

pytestmark = pytest.mark.labelstudio


def model_with(tiny_model_dir, path, version: str, threshold: float):
    """The tiny model under another version whose thresholds force its answer (0.99: none, 0.01: all)."""
    return model_copy(tiny_model_dir, path, version=version,
                      thresholds=dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], threshold))


def test_readable_guidelines_and_the_newest_models_answer_pre_ticked(labelstudio_server, tiny_model_dir, tmp_path):
    env = {**os.environ, **labelstudio_server}
    old = model_with(tiny_model_dir, tmp_path / "old", "says-none", 0.99)
    new = model_with(tiny_model_dir, tmp_path / "new", "says-all", 0.01)
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("The foreign minister arrived in Lima on Monday.", encoding="utf-8")
    for model in (old, new):
        pushed = subprocess.run([sys.executable, "-m", "newsevents.cli", "ls", "push", str(articles), "--project",
                                 "annotator", "--predictions", "--model", str(model)],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert pushed.returncode == 0, pushed.stderr
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project_id = ls.find_project(client, "annotator").id
    ARTIFACTS.mkdir(exist_ok=True)

    for width, height in ((1440, 900), (1920, 1080)):
        with labeling_stream(labelstudio_server, project_id, width, height) as page:
            box = page.locator(".ne-guidelines")
            box.wait_for(timeout=30_000)  # the Instructions window opens by itself
            page.screenshot(path=str(ARTIFACTS / f"labelstudio-instructions-{width}.png"))
            clipped = page.evaluate("""() => [...document.querySelectorAll('.ne-guidelines, .ne-guidelines *')]
                .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).display !== 'inline')
                .map(e => e.tagName + ': ' + e.textContent.slice(0, 60))""")
            assert clipped == []
            assert box.evaluate("e => e.getBoundingClientRect().right") <= width
            table = page.locator(".ne-guidelines table")
            assert table.is_visible() and table.locator("tr").count() == 6  # header and the five types
            assert table.evaluate("t => t.getBoundingClientRect().width") <= box.evaluate("e => e.clientWidth")
            # The window scrolls: the last guideline can be reached.
            last = page.locator(".ne-guidelines > *").last
            last.scroll_into_view_if_needed()
            assert last.is_visible()
            assert page.locator(".ne-guidelines li[value='9']").count() == 1  # rule numbers run on across sections
            settings = page.evaluate("() => [window.APP_SETTINGS.sentry_dsn, window.APP_SETTINGS.collect_analytics]")
            assert settings == [None, False]  # no error reports, no usage analytics from the annotator's browser
            close_instructions(page)
            assert ticked(page) == ["visit", "treaty", "strike", "sentence", "sanction"]  # says-all, not says-none
            assert page.locator("text=No event").count() == 1
            assert page.locator(".lsf-sidepanels__wrapper_align_right").count() == 0 or not page.locator(
                ".lsf-sidepanels__wrapper_align_right").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / f"labelstudio-task-{width}.png"))
