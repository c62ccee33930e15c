"""Complaints and how a vendor answers them, called directly as plain functions of (session, now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import NOW
from vendortrack import complaints, ledger
from vendortrack.models import ComplaintAction, ComplaintStatus, Kind, Resolution, Status
from vendortrack.scores import scorecard
from vendortrack.scores.rules import Rules, answer_deadline
from vendortrack.validation import InvalidInput
from vendortrack.vendors import add_contact

RULES = Rules()
RAISED = NOW - timedelta(days=10)


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Szybki Transport")


@pytest.fixture
def complaint(session, vendor, editor):
    logged = complaints.raise_complaint(
        session,
        vendor=vendor,
        title="Pallets arrived broken",
        severity="major",
        channel="email",
        raised_at=RAISED,
        actor=editor,
        now=NOW,
        rules=RULES,
    )
    session.commit()
    return logged


def test_answer_deadline_is_the_end_of_the_next_working_day_in_the_installations_zone():
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # a Friday
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    monday_end = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert answer_deadline(friday_evening, RULES) == monday_end
    assert answer_deadline(saturday, RULES) == monday_end
    assert answer_deadline(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), RULES) == monday_end + timedelta(days=1)
    warsaw = Rules(timezone="Europe/Warsaw", ack_working_days=2)
    # Thursday 23:30 UTC is already Friday in Warsaw: two working days on is Tuesday, ending at 23:00 UTC.
    thursday_late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert answer_deadline(thursday_late, warsaw) == datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC)


def test_raising_a_complaint_records_its_deadline_and_a_raised_event(complaint, editor):
    assert complaint.status == ComplaintStatus.waiting
    assert complaint.owner == editor
    assert complaint.answer_due_at == answer_deadline(RAISED, RULES)
    (event,) = complaint.events
    assert event.action == ComplaintAction.raised
    assert event.after["title"] == "Pallets arrived broken"


def test_an_answer_before_the_complaint_was_raised_is_refused_naming_the_field(session, complaint, editor):
    with pytest.raises(InvalidInput) as refused:
        complaints.answer(session, complaint, at=RAISED - timedelta(hours=1), actor=editor, now=NOW)
    assert refused.value.field == "acknowledged_at"
    session.rollback()
    assert complaint.acknowledged_at is None
    assert len(complaint.events) == 1


def test_a_dated_answer_needs_the_answer_first_and_not_before_it(session, complaint, editor):
    with pytest.raises(InvalidInput) as refused:
        complaints.give_dated_answer(
            session, complaint, due_at=NOW + timedelta(days=3), actor=editor, now=NOW
        )
    assert refused.value.field == "at"
    session.rollback()
    complaints.answer(session, complaint, at=RAISED + timedelta(hours=2), actor=editor, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        complaints.give_dated_answer(
            session,
            complaint,
            due_at=NOW + timedelta(days=3),
            at=RAISED + timedelta(hours=1),
            actor=editor,
            now=NOW,
        )
    assert refused.value.field == "at"


def test_a_dated_answer_whose_date_had_passed_when_it_was_given_is_refused(session, complaint, editor):
    answered = RAISED + timedelta(hours=2)
    complaints.answer(session, complaint, at=answered, actor=editor, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        complaints.give_dated_answer(
            session, complaint, due_at=answered - timedelta(days=1), at=answered, actor=editor, now=NOW
        )
    assert refused.value.field == "due_at"
    session.rollback()
    assert complaint.answer_promise is None


def test_a_dated_answer_is_a_promise_in_the_ledger_linked_both_ways(session, vendor, complaint, editor):
    contact = add_contact(session, vendor, name="Ewa Nowak", now=NOW)
    complaints.answer(
        session,
        complaint,
        at=RAISED + timedelta(hours=3),
        case_owner_contact=contact,
        apologised=True,
        actor=editor,
        now=NOW,
    )
    promise = complaints.give_dated_answer(
        session,
        complaint,
        due_at=NOW + timedelta(days=2),
        at=RAISED + timedelta(hours=3),
        actor=editor,
        now=NOW,
    )
    session.commit()
    assert promise.kind == Kind.promise
    assert promise.complaint_id == complaint.id
    assert complaint.answer_promise == promise
    assert promise.contact == contact, "the promise is the case owner's"
    assert [e.action for e in complaint.events][-1] == ComplaintAction.dated_answer
    # The vendor moves its date: the follow-up still answers the complaint.
    moved = ledger.reschedule(session, promise, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=5))
    session.commit()
    session.expire(complaint, ["answer_promises"])
    assert moved.complaint_id == complaint.id
    assert complaint.answer_promise == moved


def test_resolving_before_raising_is_refused_and_withdrawing_takes_it_out_of_the_count(
    session, vendor, complaint, editor
):
    with pytest.raises(InvalidInput) as refused:
        complaints.resolve(session, complaint, "fixed", at=RAISED - timedelta(days=1), actor=editor, now=NOW)
    assert refused.value.field == "resolved_at"
    session.rollback()
    before = scorecard.vendor_score(session, vendor, RULES, NOW).responsiveness
    assert before.counted == 1 and before.unanswered == 1
    complaints.resolve(session, complaint, Resolution.withdrawn, satisfied=True, actor=editor, now=NOW)
    session.commit()
    assert complaint.status == ComplaintStatus.withdrawn
    assert complaint.satisfied is None
    assert scorecard.vendor_score(session, vendor, RULES, NOW).responsiveness.counted == 0


def test_reopening_needs_a_reason_and_keeps_it_in_the_history(session, complaint, editor):
    complaints.resolve(session, complaint, "declined", satisfied=False, actor=editor, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        complaints.reopen(session, complaint, reason=" ", actor=editor, now=NOW)
    assert refused.value.field == "reason"
    complaints.reopen(session, complaint, reason="They never sent the replacement", actor=editor, now=NOW)
    session.commit()
    assert complaint.status == ComplaintStatus.waiting
    assert complaint.events[-1].reason == "They never sent the replacement"
    assert complaint.events[-1].before["resolution"] == "declined"


def test_an_edit_records_what_changed_and_moves_the_deadline_with_the_raised_moment(
    session, complaint, editor
):
    later = RAISED + timedelta(days=1)
    complaints.edit_complaint(
        session, complaint, actor=editor, now=NOW, rules=RULES, raised_at=later, severity="critical"
    )
    session.commit()
    assert complaint.answer_due_at == answer_deadline(later, RULES)
    event = complaint.events[-1]
    assert event.action == ComplaintAction.edited
    assert event.before == {"raised_at": RAISED.isoformat(), "severity": "major"}
    assert event.after == {"raised_at": later.isoformat(), "severity": "critical"}


def test_a_moment_in_the_future_is_refused(session, complaint, editor):
    with pytest.raises(InvalidInput) as refused:
        complaints.answer(session, complaint, at=NOW + timedelta(hours=1), actor=editor, now=NOW)
    assert refused.value.field == "acknowledged_at"


def test_responsiveness_counts_in_time_late_and_unanswered_as_scoring_md_says(session, vendor, editor):
    def raise_at(days_ago: float, answered_after: timedelta | None):
        raised = NOW - timedelta(days=days_ago)
        logged = complaints.raise_complaint(
            session,
            vendor=vendor,
            title=f"{days_ago} days ago",
            severity="minor",
            channel="phone",
            raised_at=raised,
            actor=editor,
            now=NOW,
            rules=RULES,
        )
        if answered_after is not None:
            complaints.answer(session, logged, at=raised + answered_after, actor=editor, now=NOW)
        return logged

    raise_at(30, timedelta(hours=2))  # in time
    raise_at(20, timedelta(days=6))  # late
    raise_at(10, None)  # unanswered, its deadline long gone
    raise_at(0.1, None)  # within its deadline: not counted yet
    session.commit()
    figures = scorecard.vendor_score(session, vendor, RULES, NOW).responsiveness
    assert (figures.counted, figures.answered_in_time, figures.answered_late, figures.unanswered) == (
        3,
        1,
        1,
        1,
    )
    # The arithmetic of §10: weights 2^(-30/180), 2^(-20/180), 2^(-10/180); only the first earns a = 1.
    w = [2 ** (-d / 180) for d in (30, 20, 10)]
    assert figures.value == pytest.approx((w[0] + 1) / (sum(w) + 2))
    assert figures.median_hours_to_answer == pytest.approx((2 + 6 * 24) / 2)


def test_complaints_do_not_move_any_score(session, vendor, make_vendor, editor):
    other = make_vendor("Inny")
    for v in (vendor, other):
        ledger.log_what_happened(
            session,
            vendor=v,
            kind=Kind.meeting,
            title="m",
            due_at=NOW - timedelta(days=3),
            status=Status.kept,
            actor=editor,
            now=NOW,
        )
    session.commit()
    before = {v.id: scorecard.vendor_score(session, v, RULES, NOW).figures for v in (vendor, other)}
    for _ in range(3):
        complaints.raise_complaint(
            session,
            vendor=vendor,
            title="x",
            severity="minor",
            channel="email",
            raised_at=NOW - timedelta(days=9),
            actor=editor,
            now=NOW,
            rules=RULES,
        )
    session.commit()
    after = {v.id: scorecard.vendor_score(session, v, RULES, NOW).figures for v in (vendor, other)}
    assert after == before
    ranked = {line.vendor_id: line for line in scorecard.ranked(session, RULES, NOW)}
    assert ranked[vendor.id].responsiveness.counted == 3
    assert ranked[other.id].responsiveness.counted == 0


def test_a_move_logged_as_it_happens_was_told_now_and_one_written_down_later_has_no_notice(
    session, vendor, editor
):
    def moved(due_at):
        commitment = ledger.log_commitment(
            session, vendor=vendor, kind=Kind.meeting, title="m", due_at=due_at, actor=editor, now=NOW
        )
        ledger.reschedule(
            session, commitment, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=7), confirm_past=True
        )
        return commitment

    ahead = moved(NOW + timedelta(days=2))
    no_show_calling = moved(NOW - timedelta(hours=3))
    history = moved(NOW - timedelta(days=30))
    assert ahead.notified_at == NOW
    assert no_show_calling.notified_at == NOW, "a call three hours after the time is a move told late"
    assert history.notified_at is None, "when the vendor told us a month ago is not known"
    session.commit()
    notice = scorecard.vendor_score(session, vendor, RULES, NOW + timedelta(days=3)).notice
    assert notice.moves == 2 and notice.last_minute_moves == 1
