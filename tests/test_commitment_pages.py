"""Logging and resolving commitments through the pages, in the user's own time zone."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.models import Commitment, EventAction, Kind, LedgerEvent, Role, Status
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact


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
    return {
        "kind": "meeting",
        "title": "Kick-off",
        "due_date": "2026-07-01",
        "due_time": "10:00",
        "owner_id": owner.id,
        "contact_id": 0,
    } | values


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
    response = client.submit(
        f"/commitments/new/{vendor.id}", log_form(editor, title="Quote for the roof", due_date="not a date")
    )
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
    commitment = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Kick-off", due_at=NOW, actor=editor, now=NOW
    )
    session.commit()
    return commitment


def test_a_meeting_kept_within_its_tolerance_is_not_called_late_on_any_page(client, editor, meeting, session):
    client.login(editor)
    client.submit(
        f"/commitments/{meeting.id}/resolve",
        {"status": "kept", "done_date": "2026-06-30", "done_time": "12:04"},
    )
    page = visible(text(client.get(f"/commitments/{meeting.id}")))
    assert "4 min after the time: on time, within the tolerance" in page
    assert "4 min late" not in page
    listed = visible(text(client.get(f"/vendors/{meeting.vendor_id}")))
    row = listed[listed.index("Kick-off") :][:80]
    assert "Kept" in row and "late" not in row, row


def test_kept_twenty_minutes_late_shows_on_the_page_and_in_history(client, editor, meeting, session):
    client.login(editor)
    response = client.submit(
        f"/commitments/{meeting.id}/resolve",
        {"status": "kept", "done_date": "2026-06-30", "done_time": "12:20"},
    )
    assert response.status_code == 302
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "20 min late" in page
    assert "Resolved" in page
    session.refresh(meeting)
    assert meeting.done_at - meeting.due_at == timedelta(minutes=20)


def test_broken_with_an_excuse(client, editor, meeting, session):
    client.login(editor)
    client.submit(
        f"/commitments/{meeting.id}/resolve",
        {"status": "broken", "excuse_category": "force_majeure", "excuse": "Snow storm"},
    )
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "Force majeure" in page and "Snow storm" in page
    session.refresh(meeting)
    assert meeting.status == Status.broken


def test_rescheduled_opens_a_follow_up_and_the_chain_is_shown(client, editor, meeting, session):
    client.login(editor)
    response = client.submit(
        f"/commitments/{meeting.id}/resolve",
        {
            "status": "rescheduled",
            "new_due_date": "2026-07-07",
            "new_due_time": "09:00",
            "excuse_category": "plot_twist",
            "excuse": "Boss changed plans",
            "confirm_past": "y",
        },
    )
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
    client.submit(
        f"/commitments/{meeting.id}/edit",
        log_form(editor, title="Kick-off at their office", due_date="2026-06-30", due_time="12:00"),
    )
    session.refresh(meeting)
    assert meeting.title == "Kick-off at their office"
    assert [e.action for e in meeting.events] == [EventAction.created, EventAction.edited]


def test_lists_across_vendors(client, viewer, editor, make_vendor, session):
    now = utcnow()
    for name, due in [("Late Larry", now - timedelta(days=5)), ("Soon Sam", now + timedelta(days=2))]:
        ledger.log_commitment(
            session,
            vendor=make_vendor(name),
            kind=Kind.promise,
            title=f"{name}'s quote",
            due_at=due,
            actor=editor,
            now=now,
        )
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


# -- logging what already happened, in one form -------------------------------------------------------


def visible(page: str) -> str:
    """The page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|title)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def days_ago(days: float) -> datetime:
    """A moment before the real clock (the pages read it), to the minute; editors here are on UTC."""
    return (utcnow() - timedelta(days=days)).replace(second=0, microsecond=0)


def when(moment: datetime) -> dict:
    return {"due_date": moment.date().isoformat(), "due_time": moment.strftime("%H:%M")}


def test_a_late_meeting_is_logged_kept_on_time_in_one_save_and_lands_on_the_vendor(
    client, editor, vendor, session
):
    client.login(editor)
    due = days_ago(3)
    form = client.get(f"/commitments/new/{vendor.id}")
    assert "It already happened:" in visible(text(form))
    assert 'type="radio"' in text(form), "the choice works without script"

    response = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, status="kept", **when(due)))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/vendors/{vendor.id}", (
        "nothing is left to do: back to the vendor"
    )
    kept = session.scalars(sa.select(Commitment)).one()
    assert (kept.status, kept.done_at) == (Status.kept, due), "no time given: kept on time"
    assert [e.action for e in kept.events] == [EventAction.created, EventAction.resolved]


def test_a_backfilled_broken_promise_keeps_its_excuse(client, editor, vendor, session):
    client.login(editor)
    client.submit(
        f"/commitments/new/{vendor.id}",
        log_form(
            editor,
            kind="promise",
            status="broken",
            excuse_category="oversight",
            excuse="Forgot the date",
            **when(days_ago(5)),
        ),
    )
    broken = session.scalars(sa.select(Commitment)).one()
    assert (broken.status, broken.excuse_category.value, broken.excuse) == (
        "broken",
        "oversight",
        "Forgot the date",
    )


def test_moved_into_the_past_at_logging_needs_the_box_ticked_and_lands_on_the_open_follow_up(
    client, editor, vendor, session
):
    client.login(editor)
    moved = log_form(
        editor,
        status="rescheduled",
        excuse_category="personal",
        **when(days_ago(6)),
        new_due_date=days_ago(2).date().isoformat(),
        new_due_time="09:00",
    )
    refused = client.submit(f"/commitments/new/{vendor.id}", moved)
    assert refused.status_code == 400
    shown = visible(text(refused))
    assert "The new due time has already passed; confirm that this is what happened." in shown
    assert "Yes, it was moved into the past or to an earlier time" in shown
    assert (count(session, Commitment), count(session, LedgerEvent)) == (0, 0)

    response = client.submit(f"/commitments/new/{vendor.id}", moved | {"confirm_past": "y"})
    follow_up = session.scalars(sa.select(Commitment).where(Commitment.status == Status.open)).one()
    assert response.headers["Location"] == f"/commitments/{follow_up.id}", (
        "open and due: what happened to it?"
    )
    assert follow_up.due_at.date() == days_ago(2).date()


def test_after_logging_an_open_commitment_lands_on_it_when_due_and_on_the_vendor_when_ahead(
    client, editor, vendor, session
):
    client.login(editor)
    due = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, title="Due", **when(days_ago(1))))
    ahead = client.submit(
        f"/commitments/new/{vendor.id}", log_form(editor, title="Ahead", **when(days_ago(-3)))
    )
    logged = session.scalars(sa.select(Commitment).where(Commitment.title == "Due")).one()
    assert due.headers["Location"] == f"/commitments/{logged.id}"
    assert ahead.headers["Location"] == f"/vendors/{vendor.id}"


def test_an_outcome_chosen_for_a_commitment_still_ahead_is_recorded_as_it_happened(
    client, editor, vendor, session
):
    client.login(editor)
    client.submit(f"/commitments/new/{vendor.id}", log_form(editor, status="broken", **when(days_ago(-3))))
    assert session.scalars(sa.select(Commitment.status)).one() == Status.broken


def test_the_contact_defaults_to_the_vendors_only_contact(client, editor, vendor, session):
    client.login(editor)
    jan = add_contact(session, vendor, now=NOW, name="Jan Kowalski")
    session.commit()
    only = text(client.get(f"/commitments/new/{vendor.id}"))
    assert re.search(rf'<option selected value="{jan.id}">Jan Kowalski</option>', only)
    add_contact(session, vendor, now=NOW, name="Anna Nowak")
    session.commit()
    two = text(client.get(f"/commitments/new/{vendor.id}"))
    assert "<option selected" not in two.split('name="contact_id"', 1)[1].split("</select>", 1)[0], (
        "two contacts: no guess"
    )


def test_owners_are_offered_among_people_who_can_act_and_an_owner_made_viewer_stays_on_edit(
    client, editor, vendor, session, make_user
):
    viewer = make_user(Role.viewer, name="Vera Viewer")
    disabled = make_user(Role.editor, name="Gone Editor")
    disabled.disabled_at = NOW
    colleague = make_user(Role.admin, name="Ada Admin")
    session.commit()
    client.login(editor)
    offered = text(client.get(f"/commitments/new/{vendor.id}"))
    assert "Ada Admin" in offered and "Edith Editor" in offered
    assert "Vera Viewer" not in offered and "Gone Editor" not in offered

    refused = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, owner_id=viewer.id))
    assert refused.status_code == 400 and count(session, Commitment) == 0

    quote = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Quote",
        due_at=NOW,
        actor=editor,
        now=NOW,
        owner=colleague,
    )
    colleague.role = Role.viewer
    session.commit()
    edit = text(client.get(f"/commitments/{quote.id}/edit"))
    assert re.search(rf'<option selected value="{colleague.id}">Ada Admin</option>', edit)
    saved = client.submit(
        f"/commitments/{quote.id}/edit",
        log_form(colleague, title="The quote", kind="promise", due_date="2026-06-30", due_time="12:00"),
    )
    assert saved.status_code == 302
    session.refresh(quote)
    assert (quote.title, quote.owner_id) == ("The quote", colleague.id)


def field_value(page: str, field_id: str) -> str:
    return re.search(rf'id="{field_id}"[^>]*value="([^"]*)"', page).group(1)


def test_the_kept_form_is_filled_with_the_due_time_once_it_has_passed_and_now_before(
    client, editor, vendor, session
):
    past_due = days_ago(2)
    past = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Past", due_at=past_due, actor=editor, now=past_due
    )
    ahead = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Ahead",
        due_at=days_ago(-2),
        actor=editor,
        now=past_due,
    )
    session.commit()
    client.login(editor)
    page = text(client.get(f"/commitments/{past.id}"))
    assert (field_value(page, "kept-done_date"), field_value(page, "kept-done_time")) == (
        past_due.date().isoformat(),
        past_due.strftime("%H:%M"),
    )
    assert (
        field_value(text(client.get(f"/commitments/{ahead.id}")), "kept-done_date")
        == utcnow().date().isoformat()
    )

    # One click on "Kept", the form as it came: kept on time.
    client.submit(
        f"/commitments/{past.id}/resolve",
        {
            "status": "kept",
            "done_date": field_value(page, "kept-done_date"),
            "done_time": field_value(page, "kept-done_time"),
        },
    )
    session.refresh(past)
    assert past.done_at == past_due and "late" not in visible(text(client.get(f"/commitments/{past.id}")))


def test_a_reschedule_into_the_past_on_the_commitment_page_warns_and_needs_the_box(
    client, editor, meeting, session
):
    client.login(editor)
    page = visible(text(client.get(f"/commitments/{meeting.id}")))
    assert (
        "A new time in the past, or earlier than the one promised, is taken only when you confirm it." in page
    )
    moved = {"status": "rescheduled", "new_due_date": "2026-06-29", "new_due_time": "09:00"}
    refused = client.submit(f"/commitments/{meeting.id}/resolve", moved)
    assert refused.status_code == 400
    assert "confirm that this is what happened" in visible(text(refused))
    session.refresh(meeting)
    assert meeting.status == Status.open and count(session, Commitment) == 1
    assert (
        client.submit(f"/commitments/{meeting.id}/resolve", moved | {"confirm_past": "y"}).status_code == 302
    )


def test_a_late_badge_says_hours_and_minutes(client, editor, meeting):
    client.login(editor)
    client.submit(
        f"/commitments/{meeting.id}/resolve",
        {"status": "kept", "done_date": "2026-06-30", "done_time": "14:10"},
    )
    assert "2 h 10 min late" in visible(text(client.get(f"/commitments/{meeting.id}")))


def test_the_history_names_every_field_any_event_carries_in_words(
    client, app, editor, vendor, session, make_user
):
    from vendortrack import jobs, mail, vendor_links
    from vendortrack.templating import FIELD_LABELS

    colleague = make_user(Role.editor, name="Cole League")
    jan = add_contact(session, vendor, now=NOW, name="Jan")
    logged_at = NOW - timedelta(days=10)
    first = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Kick-off",
        actor=editor,
        due_at=NOW - timedelta(days=3),
        now=logged_at,
    )
    ledger.edit_commitment(
        session,
        first,
        actor=editor,
        now=logged_at,
        kind=Kind.promise,
        title="Quote",
        notes="By mail",
        due_at=NOW - timedelta(days=2),
        contact=jan,
        owner=colleague,
    )
    session.commit()
    jobs.run("overdue", session, NOW)
    ledger.resolve_kept(session, first, actor=editor, now=NOW)
    ledger.reopen(session, first, actor=editor, now=NOW)
    ledger.resolve_broken(session, first, actor=editor, now=NOW, excuse_category="other", excuse="Flu")
    ledger.reopen(session, first, actor=editor, now=NOW)
    ledger.cancel(session, first, actor=editor, now=NOW, reason="Not needed")
    ledger.reopen(session, first, actor=editor, now=NOW)
    follow_up = ledger.reschedule(session, first, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=3))
    link, _token = vendor_links.ask(
        session,
        follow_up,
        contact=jan,
        actor=editor,
        now=NOW,
        rules=vendor_links.LinkRules(),
        send_email=False,
    )
    with mail.mail_context(app):
        vendor_links.propose(
            session, link, due_at=NOW + timedelta(days=5), reason="Our van broke down", now=NOW, address=None
        )
    session.commit()

    events = session.scalars(sa.select(LedgerEvent)).all()
    assert {e.action for e in events} == set(EventAction)
    client.login(editor)
    for commitment in (first, follow_up):
        page = text(client.get(f"/commitments/{commitment.id}"))
        history = visible(page.split('id="history-h"', 1)[1].split("</section>", 1)[0])
        for event in (
            e for e in events if e.commitment_id == commitment.id and e.action != EventAction.created
        ):
            if event.action == EventAction.vendor_answered:  # what the vendor said, as a sentence
                assert "Jan (vendor, through their link)" in history
                assert "Proposed Sun, July 5, 2026, 12:00 PM UTC instead: Our van broke down" in history
                assert "link_id" not in history and "answer:" not in history
                continue
            for key in {*event.before, *event.after}:
                assert key in FIELD_LABELS, f"{key} has no label"
                assert f"{FIELD_LABELS[key]}:" in history
                assert f"{key}:" not in history, f"the column name {key} is shown"
    assert "Flagged overdue:" in visible(text(client.get(f"/commitments/{first.id}")))
    keys = {key for e in events if e.action != EventAction.vendor_answered for key in (*e.before, *e.after)}
    assert keys - set(FIELD_LABELS) == set(), "every key any event carries, created ones too, has a label"
