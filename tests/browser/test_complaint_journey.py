"""A complaint and the vendor's answer, logged in Polish by an editor whose language is Polish, read back
on the complaint and vendor pages, on a desk and on a phone.

Every label is looked up in the Polish catalog (tests.catalogs.say), so the test follows the
translators' wording and fails if a page shows English instead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, open_context, screenshot
from tests.browser.test_languages_journey import blocking_violations
from tests.catalogs import say
from tests.conftest import NOW, PASSWORD
from vendortrack import ledger
from vendortrack.models import Complaint, ComplaintStatus, Kind
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

pytestmark = pytest.mark.browser
PL = "pl"


def sign_in(page, email: str) -> None:
    """Signed out, the browser's English; signed in, the user's Polish."""
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=say(PL, "Vendors"))).to_be_visible()


@pytest.fixture
def polish_editor(session, make_user):
    user = make_user(name="Zofia Nowak", timezone="Europe/Warsaw")
    user.locale = PL
    session.commit()
    return user


@pytest.fixture
def vendor(session, make_vendor, polish_editor):
    vendor = make_vendor("Szybki Transport sp. z o.o.")
    add_contact(session, vendor, now=NOW, name="Anna Kowalska", role="Opiekun klienta")
    vendor.delivery = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Dostawa palet",
        due_at=NOW,
        actor=polish_editor,
        now=NOW,
    )
    session.commit()
    return vendor


def test_a_complaint_and_its_answer_with_a_dated_answer_are_logged_and_read_in_polish(
    browser, live_server, session, polish_editor, vendor
):
    # The browser asks for English: the user's own setting is what makes the pages Polish.
    context = open_context(browser, live_server, locale="en-GB", timezone_id="Europe/Warsaw")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, polish_editor.email)
    today = utcnow().date()
    raised, answered, promised = (
        today - timedelta(days=2),
        today - timedelta(days=1),
        today + timedelta(days=5),
    )

    page.goto(f"/vendors/{vendor.id}")
    page.get_by_role("link", name=say(PL, "Log a complaint")).click()
    expect(page.get_by_role("heading", name=say(PL, "Log a complaint"))).to_be_visible()
    page.get_by_label(say(PL, "What went wrong")).fill("Palety przyszły połamane")
    page.get_by_label(say(PL, "Details")).fill("Trzy z dziesięciu palet były połamane przy rozładunku.")
    page.get_by_label(say(PL, "Severity")).select_option("critical")
    page.get_by_label(say(PL, "How it was raised")).select_option("phone")
    page.get_by_label(say(PL, "When was the vendor told?")).fill(raised.isoformat())
    page.locator("#raised_time").fill("09:00")
    page.get_by_label(say(PL, "Raised with")).select_option(label="Anna Kowalska")
    concerns = page.get_by_label(say(PL, "Commitments it concerns"))
    # Each choice says its date and outcome beside the title, for titles that repeat.
    delivery = concerns.locator("option", has_text=f"#{vendor.delivery.id} Dostawa palet")
    expect(delivery).to_contain_text("·")
    concerns.select_option(value=str(vendor.delivery.id))
    assert blocking_violations(page) == []
    page.get_by_role("button", name=say(PL, "Log it")).click()

    expect(page.get_by_role("heading", name="Palety przyszły połamane")).to_be_visible()
    expect(page.get_by_text(say(PL, "Waiting for an answer")).first).to_be_visible()
    complaint_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.locator("summary", has_text=say(PL, "The vendor answered")).click()
    page.locator("#answer-acknowledged_date").fill(answered.isoformat())
    page.locator("#answer-acknowledged_time").fill("10:00")
    page.locator("#answer-case_owner_contact_id").select_option(label="Anna Kowalska")
    page.get_by_label(say(PL, "They apologised")).check()
    page.locator("#answer-due_date").fill(promised.isoformat())
    page.locator("#answer-due_time").fill("16:00")
    assert blocking_violations(page) == []
    page.get_by_role("button", name=say(PL, "The vendor answered")).click()

    expect(page.get_by_text(say(PL, "The vendor's answer is recorded."))).to_be_visible()
    facts = page.locator(".complaint-facts")
    expect(facts).to_contain_text(say(PL, "answered after %(time)s").split("%")[0].strip())
    expect(facts).to_contain_text("Anna Kowalska")
    expect(facts).to_contain_text(say(PL, "Answered"))
    promise_link = facts.get_by_role("link", name=say(PL, "promise #%(id)d").split("%")[0].strip())
    expect(promise_link).to_be_visible()
    screenshot(page, "pl-complaint-answered")

    promise_link.click()
    expect(
        page.get_by_role("link", name=say(PL, "dated answer to complaint #%(id)d") % {"id": complaint_id})
    ).to_be_visible()

    page.goto(f"/vendors/{vendor.id}")
    listed = page.locator("table.complaints")
    expect(listed).to_contain_text("Palety przyszły połamane")
    expect(listed).to_contain_text(say(PL, "Answered"))
    panel = page.locator("section.responsiveness")
    expect(panel.get_by_role("heading", name=say(PL, "Responsiveness to complaints"))).to_be_visible()
    expect(panel.locator(".too-little")).to_contain_text("1 z 3")
    assert blocking_violations(page) == []
    screenshot(page, "pl-vendor-complaints")

    session.rollback()  # see what the browser wrote
    complaint = session.scalars(sa.select(Complaint)).one()
    assert complaint.status == ComplaintStatus.answered and complaint.apologised
    assert complaint.case_owner == "Anna Kowalska" and complaint.severity == "critical"
    assert complaint.answer_promise is not None and [c.title for c in complaint.commitments] == [
        "Dostawa palet"
    ]
    context.close()

    phone = open_context(
        browser,
        live_server,
        locale="en-GB",
        timezone_id="Europe/Warsaw",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
    )
    page = phone.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, polish_editor.email)
    for path in (
        f"/complaints/{complaint.id}",
        f"/vendors/{vendor.id}",
        "/complaints/",
        f"/complaints/new/{vendor.id}",
    ):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    page.goto(f"/complaints/{complaint.id}")
    expect(page.get_by_role("heading", name="Palety przyszły połamane")).to_be_visible()
    screenshot(page, "pl-phone-complaint", full_page=False)
    phone.close()
