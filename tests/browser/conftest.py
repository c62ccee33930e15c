"""A live server on loopback and a real Chromium driven by Playwright, watching every page it opens.

Every context made by `open_context` checks each page it loads: the page must fit its window
(no hidden sideways scrolling, on a desk or a 390 px phone) and nothing it asks for may answer
404 (a missing favicon, a stylesheet). A test fails at its end if any page broke either rule.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.watch import DESK, PHONE, open_context, problems  # noqa: F401 - the tests' imports

CHROMIUM = Path(os.environ.get("VENDORTRACK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def pages_fit_and_find_their_files():
    problems.clear()
    yield
    found, problems[:] = list(problems), []
    assert not found, "\n".join(found)


@pytest.fixture
def page(browser, live_server):
    context = open_context(browser, live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
