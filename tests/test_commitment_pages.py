"""Logging and resolving commitments through the pages, in the user's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.models import Commitment, EventAction, Kind, LedgerEvent, Status
from vendortrack.timeutil import utcnow


def text(response) -> str:
    return response.get_data(as_text=True)


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Mistrz")


@pytest.fixture
def warsaw_editor(make_user):
    return make_user(timezone="Europe/Warsaw")


def log_form(owner, **values) -> dict:
    return {"kind": "meeting", "title": "Kick-off", "due_date": "2026-07-01", "due_time": "10:00",
            "owner_id": owner.id, "contact_id": 0} | values  # fmt: skip


def test_a_meeting_is_logged_in_the_editors_time_zone(client, warsaw_editor, vendor, session):
    client.login(warsaw_editor)
    response = client.submit(f"/commitments/new/{vendor.id}", log_form(warsaw_editor))
    assert response.status_code == 302
    meeting = session.scalars(sa.select(Commitment)).one()
    assert meeting.due_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "10:00 in Warsaw in summer is 08:00 UTC"
    assert meeting.owner_id == warsaw_editor.id


def test_a_date_without_a_time_means_the_end_of_that_day(client, warsaw_editor, vendor, session):
    client.login(warsaw_editor)
    client.submit(f"/commitments/new/{vendor.id}", log_form(warsaw_editor, kind="promise", due_time=""))
    promise = session.scalars(sa.select(Commitment)).one()
    assert promise.due_at == datetime(2026, 7, 1, 21, 59, 59, tzinfo=UTC)


def test_a_refused_log_keeps_what_was_typed_and_creates_nothing(client, editor, vendor, session):
    client.login(editor)
    response = client.submit(f"/commitments/new/{vendor.id}",
                             log_form(editor, title="Quote for the roof", due_date="not a date"))  # fmt: skip
    assert response.status_code == 400
    assert 'value="Quote for the roof"' in text(response)
    assert "Not a valid date value." in text(response)
    assert count(session, Commitment) == 0


def test_an_owner_who_is_not_a_choice_is_refused(client, editor, vendor, session):
    client.login(editor)
    response = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, owner_id=99999))
    assert response.status_code == 400
    assert count(session, Commitment) == 0


@pytest.fixture
def meeting(session, vendor, editor):
    commitment = ledger.log_commitment(session, vendor=vendor, kind=Kind.meeting, title="Kick-off",
                                       due_at=NOW, actor=editor, now=NOW)  # fmt: skip
    session.commit()
    return commitment


def test_kept_twenty_minutes_late_shows_on_the_page_and_in_history(client, editor, meeting, session):
    client.login(editor)
    response = client.submit(f"/commitments/{meeting.id}/resolve",
                             {"status": "kept", "done_date": "2026-06-30", "done_time": "12:20"})  # fmt: skip
    assert response.status_code == 302
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "20 min late" in page
    assert "Resolved" in page
    session.refresh(meeting)
    assert meeting.done_at - meeting.due_at == timedelta(minutes=20)


def test_broken_with_an_excuse(client, editor, meeting, session):
    client.login(editor)
    client.submit(f"/commitments/{meeting.id}/resolve",
                  {"status": "broken", "excuse_category": "force_majeure", "excuse": "Snow storm"})  # fmt: skip
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "Force majeure" in page and "Snow storm" in page
    session.refresh(meeting)
    assert meeting.status == Status.broken


def test_rescheduled_opens_a_follow_up_and_the_chain_is_shown(client, editor, meeting, session):
    client.login(editor)
    response = client.submit(f"/commitments/{meeting.id}/resolve",
                             {"status": "rescheduled", "new_due_date": "2026-07-07", "new_due_time": "09:00",
                              "excuse_category": "plot_twist", "excuse": "Boss changed plans",
                              "confirm_past": "y"})  # fmt: skip
    assert response.status_code == 302
    successor = session.scalars(sa.select(Commitment).where(Commitment.id != meeting.id)).one()
    assert successor.rescheduled_from_id == meeting.id and successor.status == Status.open
    page = text(client.get(f"/commitments/{successor.id}"))
    assert "Reschedule chain" in page and "First promised for" in page
    assert f"/commitments/{meeting.id}" in page


def test_rescheduled_without_a_new_date_is_refused(client, editor, meeting, session):
    client.login(editor)
    response = client.submit(f"/commitments/{meeting.id}/resolve", {"status": "rescheduled"})
    assert response.status_code == 400
    assert "Give the new due date." in text(response)
    assert count(session, Commitment) == 1
    session.refresh(meeting)
    assert meeting.status == Status.open


def test_an_unknown_outcome_is_refused(client, editor, meeting, session):
    client.login(editor)
    assert client.submit(f"/commitments/{meeting.id}/resolve", {"status": "vanished"}).status_code == 400
    assert count(session, LedgerEvent) == 1


def test_cancelled_then_reopened(client, editor, meeting, session):
    client.login(editor)
    client.submit(f"/commitments/{meeting.id}/resolve", {"status": "cancelled", "reason": "Not needed"})
    client.submit(f"/commitments/{meeting.id}/reopen")
    session.refresh(meeting)
    assert meeting.status == Status.open
    actions = session.scalars(sa.select(LedgerEvent.action).order_by(LedgerEvent.id)).all()
    assert actions == [EventAction.created, EventAction.resolved, EventAction.reopened]


def test_resolving_twice_says_so(client, editor, meeting):
    client.login(editor)
    client.submit(f"/commitments/{meeting.id}/resolve", {"status": "cancelled"})
    response = client.submit(f"/commitments/{meeting.id}/resolve", {"status": "broken"})
    assert response.status_code == 400
    assert "already resolved" in text(response)


def test_editing_a_commitment_is_recorded(client, editor, meeting, session):
    client.login(editor)
    client.submit(f"/commitments/{meeting.id}/edit",
                  log_form(editor, title="Kick-off at their office", due_date="2026-06-30", due_time="12:00"))  # fmt: skip
    session.refresh(meeting)
    assert meeting.title == "Kick-off at their office"
    assert [e.action for e in meeting.events] == [EventAction.created, EventAction.edited]


def test_lists_across_vendors(client, viewer, editor, make_vendor, session):
    now = utcnow()
    for name, due in [("Late Larry", now - timedelta(days=5)), ("Soon Sam", now + timedelta(days=2))]:
        ledger.log_commitment(session, vendor=make_vendor(name), kind=Kind.promise, title=f"{name}'s quote",
                              due_at=due, actor=editor, now=now)  # fmt: skip
    session.commit()
    client.login(viewer)
    overdue = text(client.get("/commitments/?view=overdue"))
    upcoming = text(client.get("/commitments/?view=upcoming"))
    assert "Late Larry" in overdue and "Soon Sam" not in overdue
    assert "Soon Sam" in upcoming and "Late Larry" not in upcoming


def test_a_viewer_sees_no_resolve_forms(client, viewer, meeting):
    client.login(viewer)
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "What happened?" not in page
    assert "History" in page
