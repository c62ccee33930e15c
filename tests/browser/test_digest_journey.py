"""The digest as its reader sees it: the email in a phone's and a desk's window, the page on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESK, PHONE, open_context, screenshot
from tests.conftest import PASSWORD
from tests.test_digest import WEEK, WEEK_END, Ledger, composed
from vendortrack.models import Role

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def week(session, make_vendor, editor) -> Ledger:
    return Ledger(session, make_vendor, editor)


def figures_in_view(page, width: int) -> None:
    """Every score and move the digest shows is on the screen, inside its width."""
    for figure in page.get_by_text("→").all() + page.locator("td[align=right] b").all():
        expect(figure).to_be_visible()
        box = figure.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (figure.inner_text(), box)


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESK, "desk")])
def test_the_digest_email_fits_600_px_and_a_phone(
    app, session, week, make_user, browser, live_server, viewport, name
):
    reader = make_user(Role.viewer, name="Sue Scriber", timezone="Europe/Warsaw")
    html = composed(app, session, reader, WEEK_END).html
    context = open_context(browser, live_server, viewport=viewport)
    page = context.new_page()

    page.set_content(html)

    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
    width = page.locator("#mail").bounding_box()["width"]
    assert width <= 600 and width >= min(600, viewport["width"]) - 20
    expect(page.get_by_role("heading", name="Best and worst vendors")).to_be_visible()
    figures_in_view(page, viewport["width"])
    screenshot(page, f"digest-email-{name}")
    context.close()


@pytest.mark.parametrize("code", ["en", "pl", "hu", "ru"])
def test_the_digest_page_shows_its_figures_on_a_phone_in_every_language(
    session, week, make_user, browser, live_server, code
):
    reader = make_user(
        Role.viewer, name="Sue Scriber", timezone="Europe/Warsaw"
    )  # speaks the browser's language
    context = open_context(browser, live_server, locale=code, viewport=PHONE, timezone_id="Europe/Warsaw")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/auth/login")
    page.locator("input[name=email]").fill(reader.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()

    page.goto(f"/digest?week={WEEK}")

    assert page.locator("html").get_attribute("lang") == code
    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
    expect(page.locator("#ranking")).to_be_visible()
    figures_in_view(page, PHONE["width"])
    expect(page.get_by_text("Newcomer Ltd")).to_be_visible()
    if code == "en":
        expect(page.get_by_text("too little history: 0 of 3 commitments counted")).to_be_visible()
    screenshot(page, f"digest-page-phone-{code}")
    context.close()
