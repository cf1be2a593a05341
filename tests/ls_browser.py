"""Label Studio in headless Chromium, as an annotator meets it: log in, open the labeling stream."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"


def login_of(server: dict[str, str]) -> tuple[str, str]:
    """The admin's e-mail and password, from the credentials file the start script wrote."""
    lines = (Path(server["LABEL_STUDIO_DATA"]) / "credentials.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines)
    return values["LABEL_STUDIO_USERNAME"], values["LABEL_STUDIO_PASSWORD"]


@contextmanager
def labeling_stream(server: dict[str, str], project_id: int, width: int = 1440, height: int = 900) -> Iterator[Any]:
    """A logged-in page on the project's labeling stream (the first task it offers)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not on PATH: run scripts/install-chromium.sh (as root) to install it")
    from playwright.sync_api import sync_playwright

    email, password = login_of(server)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{server['LABEL_STUDIO_URL']}/user/login/")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{server['LABEL_STUDIO_URL']}/projects/{project_id}/data?labeling=1")
            page.locator("input.ant-checkbox-input").first.wait_for(state="attached", timeout=60_000)
            yield page
        finally:
            browser.close()


def ticked(page: Any) -> list[str]:
    """The labels of the choices ticked in the open task ("visit", …, "No event")."""
    page.wait_for_timeout(1000)  # the pre-annotation is applied just after the boxes appear
    return page.evaluate("""() => [...document.querySelectorAll('input.ant-checkbox-input')]
        .filter(i => i.checked).map(i => i.closest('label').textContent.replace(/\\[\\d\\]$/, '').trim())""")


def close_instructions(page: Any) -> None:
    if page.locator(".ne-guidelines").count():
        page.keyboard.press("Escape")
        page.locator(".ne-guidelines").wait_for(state="detached", timeout=10_000)
