"""Our owner asks a vendor's contact from the commitment's page, in a real browser: the link shown once
is copied with its Copy button, then the vendor's proposal is accepted, on a desk and on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, open_context, screenshot
from tests.conftest import NOW, PASSWORD
from vendortrack import ledger, mail, vendor_links
from vendortrack.extensions import db
from vendortrack.models import Commitment, Kind, Status, VendorLink
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

pytestmark = pytest.mark.browser


def sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Vendors")).to_be_visible()


@pytest.fixture
def meeting(session, make_vendor, editor):
    vendor = make_vendor("Kovács Építő Kft.")
    anna = add_contact(session, vendor, now=NOW, name="Kovács Anna", phone="+36 1 555 0100")
    logged = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Site survey",
        due_at=(utcnow() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0),
        actor=editor,
        now=utcnow() - timedelta(days=1),
        contact=anna,
    )
    session.commit()
    return logged


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desk", "phone"])
def test_an_owner_copies_a_link_shown_once_and_accepts_the_vendors_new_time(
    browser, live_server, app, session, editor, meeting, viewport
):
    context = open_context(browser, live_server, **({"viewport": viewport} if viewport else {}))
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, editor.email)

    page.goto(f"/commitments/{meeting.id}")
    ask = page.locator("#ask-vendor")
    expect(ask.get_by_label("Whom to ask")).to_have_value(str(meeting.contact_id))
    ask.get_by_role("button", name="Copy link").click()

    expect(page.get_by_text("Shown once; anyone with it can answer for this item.")).to_be_visible()
    url = page.get_by_label("The link to send to Kovács Anna").input_value()
    assert url.startswith(f"{live_server}/v/")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot(page, f"vendor-link-copied-{'phone' if viewport else 'desk'}")

    token = url.rsplit("/", 1)[1]
    db.session.commit()  # a new read: the snapshot this thread held was from before the ask
    link = vendor_links.find_open(db.session, token, utcnow(), vendor_links.LinkRules())
    new_time = meeting.due_at + timedelta(days=1)
    with mail.mail_context(app):
        vendor_links.propose(
            db.session, link, due_at=new_time, reason="Our surveyor is ill.", now=utcnow(), address=None
        )
    db.session.commit()

    page.get_by_role("link", name="Back to Site survey").click()
    answers = page.locator("#vendor-answers")
    expect(answers).to_contain_text("instead: Our surveyor is ill.")
    expect(answers.get_by_label("Excuse")).to_have_value("other")
    answers.get_by_label("Excuse").select_option("personal")
    screenshot(page, f"vendor-link-answers-{'phone' if viewport else 'desk'}")
    answers.get_by_role("button", name="Accept the new time").click()
    expect(page.get_by_text("Accepted: it is moved to")).to_be_visible()
    expect(page.locator("#vendor-answers")).to_contain_text("Accepted")
    context.close()

    session.expire_all()
    moved = session.get(Commitment, meeting.id)
    assert moved.status == Status.rescheduled and moved.rescheduled_to.due_at == new_time
    assert session.get(VendorLink, link.id).commitment_id == moved.rescheduled_to_id
