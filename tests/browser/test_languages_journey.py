"""The main journeys in Polish and Hungarian, on a desk and on a phone, reachable and labelled.

Every label the test clicks is looked up in the language's catalog, so the test follows the
translators' wording and fails if a page shows English instead. The screenshots it saves under
test-artifacts/ are the ones the README shows (copied to docs/screenshots/).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, open_context, screenshot
from tests.catalogs import say
from tests.conftest import PASSWORD
from vendortrack.demo import SALESMAN, load_demo
from vendortrack.models import Commitment, Status, User, Vendor
from vendortrack.timeutil import utcnow

pytestmark = pytest.mark.browser

# axe-core's findings that would stop someone using the page: missing labels, unreachable
# controls, unreadable contrast. "moderate" and "minor" findings are advice, not blockers.
BLOCKING = ("serious", "critical")


@pytest.fixture
def demo(session):
    result = load_demo(session, utcnow())
    session.commit()
    return result


def open_page(browser, live_server, code: str, **options):
    context = open_context(browser, live_server, locale=code, timezone_id="Europe/Warsaw", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def sign_in(page, code: str, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.get_by_label(say(code, "Email")).fill(email)
    page.get_by_label(say(code, "Password"), exact=True).fill(password)
    page.get_by_role("button", name=say(code, "Sign in")).click()
    expect(page.get_by_role("heading", name=say(code, "Vendors"))).to_be_visible()


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}: "
        + "; ".join(f"{n['target']} {n.get('failureSummary', '')[-120:]}" for n in v["nodes"][:4])
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


@pytest.mark.parametrize("code", ["pl", "hu"])
def test_an_editor_logs_a_promise_and_records_it_broken_in_their_language(
    browser, live_server, session, editor, code
):
    context, page = open_page(browser, live_server, code)
    sign_in(page, code, editor.email, PASSWORD)
    assert page.locator("html").get_attribute("lang") == code

    page.get_by_role("link", name=say(code, "New vendor")).click()
    page.get_by_label(say(code, "Name")).fill("Mistrz Sprzedaży sp. z o.o.")
    page.get_by_label(say(code, "Category")).fill("IT")
    page.get_by_role("button", name=say(code, "Save")).click()
    expect(page.get_by_role("heading", name="Mistrz Sprzedaży sp. z o.o.")).to_be_visible()

    page.get_by_role("link", name=say(code, "Log a commitment")).click()
    page.get_by_label(say(code, "Kind")).select_option("promise")
    page.get_by_label(say(code, "What was promised")).fill("Oferta do piątku")
    page.get_by_label(say(code, "Due date")).fill("2026-06-05")
    page.get_by_role("button", name=say(code, "Log it")).click()

    # Logged after its due time and still open: it lands on the commitment, to say what happened.
    expect(page.get_by_role("heading", name="Oferta do piątku")).to_be_visible()
    page.locator("summary", has_text=say(code, "Broken")).click()
    page.locator("#broken-excuse_category").select_option("oversight")
    page.locator("#broken-excuse").fill("Zapomniałem")
    page.get_by_role("button", name=say(code, "Broken"), exact=True).click()
    expect(page.get_by_text(say(code, "Outcome recorded."))).to_be_visible()
    assert blocking_violations(page) == []
    screenshot(page, f"{code}-commitment-broken")

    session.rollback()  # see what the browser wrote
    broken = session.scalars(sa.select(Commitment)).one()
    assert broken.status == Status.broken
    context.close()


@pytest.mark.parametrize("code", ["pl", "hu"])
def test_procurement_reads_the_scorecard_and_a_vendors_history_in_their_language(
    browser, live_server, session, demo, code
):
    context, page = open_page(browser, live_server, code)
    sign_in(page, code, demo.admin_email, demo.password)
    page.get_by_role("link", name=say(code, "Scorecard")).first.click()
    expect(page.get_by_role("heading", name=say(code, "Scorecard"))).to_be_visible()
    expect(page.get_by_text(SALESMAN).first).to_be_visible()
    assert blocking_violations(page) == []
    screenshot(page, f"{code}-scorecard")

    salesman = session.scalar(sa.select(Vendor).where(Vendor.name == SALESMAN))
    page.goto(f"/vendors/{salesman.id}")
    expect(page.get_by_role("heading", name=SALESMAN)).to_be_visible()
    assert blocking_violations(page) == []
    screenshot(page, f"{code}-vendor")
    context.close()


def test_the_vendor_page_fits_a_phone_without_sideways_scrolling(browser, live_server, session, demo):
    context, page = open_page(browser, live_server, "pl", viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(page, "pl", demo.admin_email, demo.password)
    salesman = session.scalar(sa.select(Vendor).where(Vendor.name == SALESMAN))
    for path in ("/vendors/", f"/vendors/{salesman.id}", "/scorecard", "/commitments/"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    page.goto(f"/vendors/{salesman.id}")
    screenshot(page, "pl-phone-vendor", full_page=False)
    context.close()


def test_the_sign_in_form_is_reachable_from_the_keyboard(browser, live_server, session, editor):
    context, page = open_page(browser, live_server, "hu")
    page.goto("/auth/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == say("hu", "Skip to content")
    focused = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.name || document.activeElement.type"))
    assert {"email", "password", "submit"} <= set(focused), focused
    page.get_by_label(say("hu", "Email")).fill(editor.email)
    page.get_by_label(say("hu", "Password"), exact=True).fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=say("hu", "Vendors"))).to_be_visible()
    session.rollback()
    assert session.get(User, editor.id).locale is None  # the browser's language, not a saved choice
    context.close()


def test_bootstraps_drawn_icons_are_not_blocked_by_the_content_security_policy(browser, live_server, editor):
    context, page = open_page(browser, live_server, "pl", viewport=PHONE, is_mobile=True)
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    sign_in(page, "pl", editor.email, PASSWORD)
    assert refused == []
    context.close()
