"""The demo's asks through the vendors' own links: the good vendor's account manager answers within
hours and warns of a move days ahead; the salesman never opens two links and answers the third after
days. Measured at the server's clock, so the figures on the pages are the ones the story tells."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from tests.conftest import NOW
from tests.test_scorecard_pages import rows, text, visible
from vendortrack.demo import SALESMAN, load_demo
from vendortrack.models import (
    AnswerKind,
    AnswerState,
    MailKind,
    MailState,
    OutboxMessage,
    Status,
    Vendor,
    VendorAnswer,
    VendorLink,
)
from vendortrack.scores import asks
from vendortrack.timeutil import utcnow

GOOD = "Northwind IT Services"


@pytest.fixture
def demo(session) -> None:
    load_demo(session, NOW)
    session.commit()


def vendor_named(session, name: str) -> Vendor:
    return session.scalars(sa.select(Vendor).where(Vendor.name == name)).one()


def links_of(session, name: str) -> list[VendorLink]:
    vendor = vendor_named(session, name)
    return session.scalars(
        sa.select(VendorLink).where(VendorLink.vendor_id == vendor.id).order_by(VendorLink.asked_at)
    ).all()


def figures(session, name: str):
    return asks.for_vendor(
        session, vendor_named(session, name).id, current_app.config["VENDORTRACK_RULES"], NOW
    )


def test_the_good_vendors_contact_answers_every_ask_within_hours(session, demo):
    links = links_of(session, GOOD)

    assert len(links) == 3
    assert all(link.contact.name == "Anna Kowalczyk" and link.emailed_to for link in links)
    assert all(link.first_answered_at - link.asked_at <= timedelta(hours=3) for link in links)
    answered = figures(session, GOOD)
    assert (answered.asks, answered.answered, answered.waiting) == (3, 3, 0)
    assert answered.median_hours == 2.0


def test_the_good_vendor_proposes_a_move_days_ahead_and_our_owner_accepts_it_with_that_notice(session, demo):
    (proposal,) = session.scalars(
        sa.select(VendorAnswer).where(VendorAnswer.kind == AnswerKind.proposed)
    ).all()

    assert proposal.state == AnswerState.accepted and proposal.link.vendor.name == GOOD
    moved = proposal.link.commitment.rescheduled_from
    assert moved.status == Status.rescheduled
    assert moved.notified_at == proposal.at, "told when the contact proposed it, not when we accepted"
    assert moved.due_at - moved.notified_at >= timedelta(days=5)
    assert moved.excuse == proposal.message and "restore server" in moved.excuse
    follow_up = moved.rescheduled_to
    assert follow_up.due_at == proposal.proposed_due_at and follow_up.status == Status.kept


def test_the_salesman_never_opens_two_links_and_answers_the_third_after_days(session, demo):
    ignored_one, ignored_two, answered_link = links_of(session, SALESMAN)

    for link in (ignored_one, ignored_two):
        assert link.opens == 0 and link.first_opened_at is None and link.first_answered_at is None
        assert link.commitment.status == Status.broken
    assert answered_link.first_answered_at - answered_link.asked_at >= timedelta(days=3)
    answered = figures(session, SALESMAN)
    assert (answered.asks, answered.answered, answered.waiting) == (3, 1, 0)
    assert answered.median_hours == 3 * 24 + 6


def test_the_demos_emails_of_the_past_year_are_not_left_for_the_outbox_to_send(session, demo):
    mailed = session.scalars(sa.select(OutboxMessage)).all()

    assert mailed, "the asks went out by email, and the owner heard of the proposal"
    assert {m.state for m in mailed} == {MailState.sent}
    assert all(m.sent_at == m.created_at for m in mailed)
    asks = [m for m in mailed if m.kind == MailKind.vendor_ask]
    assert asks and all(
        "/v/…" in m.body_text and not re.search(r"/v/[A-Za-z0-9_-]{16}", m.body_text) for m in asks
    )


def test_the_scorecard_shows_the_story_in_its_answers_asks_column(client, viewer, session):
    load_demo(session, utcnow())
    session.commit()
    client.login(viewer)

    page = text(client.get("/scorecard"))

    good = next(row for row in rows(page) if GOOD in row)
    assert good.endswith("100 % answered 3 of 3 asks (100 %) · median 2 h to answer")
    salesman = next(row for row in rows(page) if SALESMAN in row)
    assert salesman.endswith("33 % answered 1 of 3 asks (33 %) · 3 days to answer")
    quiet = next(row for row in rows(page) if "Greenleaf Catering" in row)
    assert quiet.endswith("— not asked through a link yet")
    assert not re.search(r"(?<![\d.,])0 %", visible(page)), "a vendor never asked has no share at all"
