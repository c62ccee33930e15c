"""The demo's complaints and notice tell the story of seeds 003 and 004: the salesman hides from our
complaints and rings about a move when the time has come; the good vendor answers the same day,
names who owns the case, keeps its dated answer and warns of its moves days ahead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from tests.conftest import NOW
from vendortrack.demo import SALESMAN, load_demo
from vendortrack.models import Complaint, Status, Vendor
from vendortrack.scores import scorecard
from vendortrack.scores.rules import Standing

GOOD = "Northwind IT Services"


@pytest.fixture
def demo(session) -> None:
    load_demo(session, NOW)
    session.commit()


def complaints_of(session, name: str) -> list[Complaint]:
    query = sa.select(Complaint).join(Vendor).where(Vendor.name == name).order_by(Complaint.raised_at)
    return session.scalars(query).all()


def score(session, name: str):
    vendor = session.scalars(sa.select(Vendor).where(Vendor.name == name)).one()
    return scorecard.vendor_score(session, vendor, current_app.config["VENDORTRACK_RULES"], NOW)


def test_the_salesman_ignores_two_complaints_and_answers_a_third_after_a_week_naming_nobody(session, demo):
    answered, *ignored = complaints_of(session, SALESMAN)

    assert len(ignored) == 2
    assert all(c.acknowledged_at is None and c.resolution is None for c in ignored)
    assert all(c.answer_due_at < NOW for c in ignored), "their deadlines are long gone"
    assert answered.acknowledged_at - answered.raised_at >= timedelta(days=7)
    assert not answered.owner_named and not answered.apologised and answered.answer_promise is None


def test_the_good_vendor_answers_every_complaint_the_same_day_names_an_owner_and_keeps_its_dated_answer(
    session, demo
):
    logged = complaints_of(session, GOOD)

    assert len(logged) >= 3
    for c in logged:
        assert c.acknowledged_at.date() == c.raised_at.date()
        assert c.acknowledged_at <= c.answer_due_at
        assert c.owner_named and c.case_owner in {contact.name for contact in c.vendor.contacts}
        assert c.apologised
    promises = [c.answer_promise for c in logged if c.answer_promise is not None]
    assert promises, "at least one dated answer"
    assert all(p.status == Status.kept and p.done_at <= p.due_at for p in promises)


def test_responsiveness_puts_the_good_vendor_first_and_the_salesman_last(session, demo):
    rules = current_app.config["VENDORTRACK_RULES"]

    good, salesman = score(session, GOOD).responsiveness, score(session, SALESMAN).responsiveness

    assert (good.standing, salesman.standing) == (Standing.good, Standing.unreliable)
    assert (good.answered_in_time, good.owner_named, good.dated_answers_kept) == (
        good.counted,
        good.counted,
        2,
    )
    assert (salesman.counted, salesman.answered_in_time, salesman.answered_late, salesman.unanswered) == (
        3,
        0,
        1,
        2,
    )
    assert salesman.owner_named == 0
    by_responsiveness = scorecard.ranked(session, rules, NOW, by="responsiveness")
    rated = [line.name for line in by_responsiveness if line.responsiveness.rated]
    assert rated == [GOOD, SALESMAN]
    # The other five raised no complaint: too little to judge them on, and nothing said of them.
    assert all(
        line.responsiveness.standing == Standing.insufficient_data
        for line in by_responsiveness
        if line.name not in (GOOD, SALESMAN)
    )


def test_the_salesman_moves_things_at_the_last_minute_and_the_good_vendor_warns_days_ahead(session, demo):
    good, salesman = score(session, GOOD).notice, score(session, SALESMAN).notice

    assert salesman.moves >= 3 and salesman.last_minute_moves == salesman.moves
    assert salesman.median_hours < 3, "told around the time itself, or after it had passed"
    assert good.moves >= 1 and good.last_minute_moves == 0
    assert good.median_hours >= 48


def test_the_complaints_do_not_change_the_scores_story(session, demo):
    # The good vendor's kept dated answers are promises like any other; the salesman stays the worst.
    ranked = scorecard.ranked(session, current_app.config["VENDORTRACK_RULES"], NOW)
    rated = [line for line in ranked if line.figures.rated]
    assert rated[-1].name == SALESMAN and rated[-1].figures.standing == Standing.unreliable
    assert score(session, GOOD).figures.standing in (Standing.good, Standing.excellent)
