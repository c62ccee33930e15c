"""Both sides of the vendor's own link, in real browsers, as the issue tells it: our owner, in Polish,
asks a vendor's contact to confirm a meeting; the contact, in another browser with no sign-in,
opens the link from the email the test's SMTP server received and proposes a new time in
Hungarian; the owner accepts in Polish and the meeting moves with the notice the vendor gave; the
contact answers a complaint and gives a dated answer; the vendor page shows the measured times.

Every label is looked up in its catalog (tests.catalogs.say): the test fails if a page shows English.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from statistics import median
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import mailserver
from tests.browser.conftest import PHONE, open_context, screenshot
from tests.catalogs import say
from tests.conftest import NOW, PASSWORD
from tests.mailserver import app_with, smtp_settings
from vendortrack import complaints, jobs, ledger
from vendortrack.extensions import db
from vendortrack.models import (
    AnswerKind,
    Commitment,
    Complaint,
    ComplaintAction,
    Kind,
    Status,
    VendorAnswer,
    VendorLink,
)
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

pytestmark = pytest.mark.browser
PL, HU = "pl", "hu"
LINK = re.compile(r"https?://[^\s\"<>]+/v/[A-Za-z0-9_-]{32,}")
BUDAPEST = ZoneInfo("Europe/Budapest")


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


@pytest.fixture
def zofia(session, make_user):
    user = make_user(name="Zofia Nowak", timezone="Europe/Warsaw")
    user.locale = PL
    session.commit()
    return user


@pytest.fixture
def anna(session, make_vendor):
    contact = add_contact(
        session, make_vendor("Kovács Építő Kft."), now=NOW, name="Kovács Anna", email="anna@kovacs.test"
    )
    contact.language, contact.timezone = HU, "Europe/Budapest"
    session.commit()
    return contact


@pytest.fixture
def meeting(session, anna, zofia):
    logged = ledger.log_commitment(
        session,
        vendor=anna.vendor,
        kind=Kind.meeting,
        title="Pomiar na budowie",
        due_at=(utcnow() + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0),
        actor=zofia,
        now=utcnow() - timedelta(days=1),
        contact=anna,
    )
    session.commit()
    return logged


@pytest.fixture
def complaint(session, anna, zofia, app):
    raised = complaints.raise_complaint(
        session,
        vendor=anna.vendor,
        title="Pęknięte płytki",
        severity="major",
        channel="email",
        raised_at=utcnow() - timedelta(hours=2),
        actor=zofia,
        now=utcnow(),
        rules=app.config["VENDORTRACK_RULES"],
        contact=anna,
    )
    session.commit()
    return raised


def sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=say(PL, "Vendors"))).to_be_visible()


def ask_by_email(page, path: str, smtp, session) -> str:
    """Our owner asks from the item's page; the outbox job sends it; the link as the contact's mail has it."""
    db.session.commit()
    jobs.run("outbox", session, utcnow())  # what earlier answers queued (our owner told, the contact told)
    smtp.received.clear()
    page.goto(path)
    page.locator("#ask-vendor").get_by_role("button", name=say(PL, "Send by email")).click()
    expect(page.get_by_role("alert").filter(has_text="Kovács Anna")).to_be_visible()
    db.session.commit()  # a new read: the ask was written by the server's thread
    assert jobs.run("outbox", session, utcnow())["sent"] == 1
    message = smtp.to("anna@kovacs.test")[-1]
    assert message["Content-Language"] == HU
    (url,) = set(LINK.findall(message.get_body(("plain",)).get_content()))
    return url


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desk", "phone"])
def test_an_owner_and_a_vendors_contact_settle_a_move_and_a_complaint_through_the_link(
    browser, live_server, session, smtp, zofia, anna, meeting, complaint, viewport
):
    size = {"viewport": viewport} if viewport else {}
    device = "phone" if viewport else "desk"
    ours = open_context(browser, live_server, **size).new_page()
    theirs = open_context(browser, live_server, **size).new_page()  # no sign-in, no cookie of ours
    for page in (ours, theirs):
        page.set_default_timeout(10_000)
    sign_in(ours, zofia.email)

    # Our owner asks the contact to confirm the meeting; the contact opens the emailed link.
    url = ask_by_email(ours, f"/commitments/{meeting.id}", smtp, session)
    theirs.goto(url)
    expect(theirs.locator("html")).to_have_attribute("lang", HU)
    expect(theirs.get_by_text("Pomiar na budowie").first).to_be_visible()
    expect(theirs.get_by_text("Europe/Budapest").first).to_be_visible()

    # In Hungarian, on their own clock: two days later at 10:00 Budapest time, with the reason.
    new_local = (meeting.due_at + timedelta(days=2)).astimezone(BUDAPEST).replace(hour=10, minute=0)
    theirs.get_by_text(say(HU, "Propose another time"), exact=True).first.click()
    step = theirs.locator("#step-propose")
    step.get_by_label(say(HU, "New date"), exact=True).fill(new_local.strftime("%Y-%m-%d"))
    step.get_by_label(say(HU, "Time"), exact=True).fill("10:00")
    step.get_by_label(say(HU, "Why it has to move")).fill("A daru elromlott.")
    step.get_by_role("button", name=say(HU, "Propose another time")).click()
    expect(theirs.get_by_text("A daru elromlott.").first).to_be_visible()
    screenshot(theirs, f"vendor-link-proposed-{device}")

    # Our owner accepts it in Polish: the meeting moves, told when the vendor proposed it.
    ours.goto(f"/commitments/{meeting.id}")
    answers = ours.locator("#vendor-answers")
    expect(answers).to_contain_text("A daru elromlott.")
    answers.get_by_role("button", name=say(PL, "Accept the new time")).click()
    expect(ours.locator("#vendor-answers")).to_contain_text(say(PL, "Accepted"))
    screenshot(ours, f"vendor-link-accepted-{device}")

    session.commit()  # a new read: the server wrote since this thread last read
    moved = session.get(Commitment, meeting.id)
    proposal = session.scalars(sa.select(VendorAnswer).where(VendorAnswer.kind == AnswerKind.proposed)).one()
    assert moved.status == Status.rescheduled
    assert moved.rescheduled_to.due_at == new_local.astimezone(moved.due_at.tzinfo)
    assert moved.notified_at == proposal.at  # the notice the vendor gave, measured at the server
    assert moved.excuse == "A daru elromlott."

    # The complaint: the contact takes it up, names no one else (themselves) and gives a dated answer.
    url = ask_by_email(ours, f"/complaints/{complaint.id}", smtp, session)
    theirs.goto(url)
    step = theirs.locator("#step-answer")
    step.get_by_label(say(HU, "Yes")).check()
    step.get_by_label(say(HU, "Your message (optional)")).fill("Elnézést, vizsgáljuk.")
    answer_by = (utcnow() + timedelta(days=3)).astimezone(BUDAPEST)
    step.get_by_label(say(HU, "You will have our full answer by")).fill(answer_by.strftime("%Y-%m-%d"))
    step.get_by_role("button", name=say(HU, "Answer the complaint")).click()
    expect(theirs.get_by_text("Elnézést, vizsgáljuk.").first).to_be_visible()
    screenshot(theirs, f"vendor-link-complaint-answered-{device}")

    session.commit()  # a new read: the server wrote since this thread last read
    answered = session.get(Complaint, complaint.id)
    taken_up = session.scalars(sa.select(VendorAnswer).where(VendorAnswer.kind == AnswerKind.answered)).one()
    assert answered.acknowledged_at == taken_up.at  # the server's clock, not a typed time
    assert answered.case_owner == "Kovács Anna" and answered.apologised
    event = next(e for e in answered.events if e.action == ComplaintAction.answered)
    assert event.actor_id is None and event.actor_contact_id == anna.id
    assert answered.answer_promise is not None and answered.answer_promise.status == Status.open

    # The vendor page shows the measured times: both asks answered, the median from ask to answer.
    links = session.scalars(sa.select(VendorLink)).all()
    waited = median((link.first_answered_at - link.asked_at) / timedelta(minutes=1) for link in links)
    ours.goto(f"/vendors/{anna.vendor_id}")
    card = ours.locator("section.asks")
    expect(card.locator(".asks-share")).to_have_text("100 %")
    minutes = max(1, math.ceil(waited - 1e-9))
    expect(card.locator(".asks-median")).to_have_text(say(PL, "%(num)d min") % {"num": minutes})
    assert answered.acknowledged_at <= answered.answer_due_at  # answered in time, for §10
    screenshot(ours, f"vendor-link-vendor-page-{device}")
    ours.context.close()
    theirs.context.close()
