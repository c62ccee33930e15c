"""The ledger's rules, called directly as plain functions of (session, now)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.extensions import db
from vendortrack.models import Commitment, EventAction, ExcuseCategory, Kind, LedgerEvent, Status, User
from vendortrack.validation import InvalidInput
from vendortrack.vendors import add_contact, archive_vendor

DUE = NOW - timedelta(days=2)


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Mistrz Sp. z o.o.")


@pytest.fixture
def meeting(session, vendor, editor):
    commitment = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Kick-off", due_at=DUE, actor=editor, now=NOW
    )
    session.commit()
    return commitment


def actions(commitment: Commitment) -> list[str]:
    return [event.action for event in commitment.events]


def test_logging_a_commitment_writes_a_created_event_with_every_field(meeting, editor):
    assert meeting.status == Status.open
    assert meeting.owner == editor, "the owner defaults to whoever logs it"
    assert meeting.original_due_at == DUE
    (event,) = meeting.events
    assert event.action == EventAction.created
    assert event.actor == editor
    assert event.after["title"] == "Kick-off"
    assert event.after["due_at"] == DUE.isoformat()
    assert event.before == {}


def test_a_commitment_needs_a_title(session, vendor, editor):
    with pytest.raises(InvalidInput) as refused:
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.promise, title="  ", due_at=DUE, actor=editor, now=NOW
        )
    assert refused.value.field == "title"


def test_a_naive_due_time_is_refused(session, vendor, editor):
    with pytest.raises(InvalidInput) as refused:
        ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title="Quote",
            due_at=datetime(2026, 6, 1, 12, 0),
            actor=editor,
            now=NOW,
        )
    assert refused.value.field == "due_at"


def test_a_contact_from_another_vendor_is_refused(session, vendor, make_vendor, editor):
    stranger = add_contact(session, make_vendor("Other"), now=NOW, name="Stranger")
    with pytest.raises(InvalidInput) as refused:
        ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title="Quote",
            due_at=DUE,
            actor=editor,
            now=NOW,
            contact=stranger,
        )
    assert refused.value.field == "contact_id"


def test_an_archived_vendor_takes_no_new_commitments(session, vendor, editor):
    archive_vendor(vendor, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.promise, title="Quote", due_at=DUE, actor=editor, now=NOW
        )
    assert refused.value.field == "vendor_id"


def test_kept_records_when_and_how_late(session, meeting, editor):
    ledger.resolve_kept(session, meeting, actor=editor, now=NOW, done_at=DUE + timedelta(minutes=20))
    session.commit()
    assert meeting.status == Status.kept
    assert meeting.lateness() == timedelta(minutes=20)
    resolved = meeting.events[-1]
    assert resolved.action == EventAction.resolved
    assert resolved.before == {"status": "open", "done_at": None}
    assert resolved.after == {"status": "kept", "done_at": (DUE + timedelta(minutes=20)).isoformat()}


def test_kept_in_the_future_is_refused(session, meeting, editor):
    with pytest.raises(InvalidInput) as refused:
        ledger.resolve_kept(session, meeting, actor=editor, now=NOW, done_at=NOW + timedelta(hours=1))
    assert refused.value.field == "done_at"
    assert meeting.status == Status.open


def test_broken_keeps_the_excuse_and_its_category(session, meeting, editor):
    ledger.resolve_broken(
        session,
        meeting,
        actor=editor,
        now=NOW,
        excuse_category=ExcuseCategory.force_majeure,
        excuse="A flood in the office",
    )
    assert (meeting.status, meeting.excuse_category, meeting.excuse) == (
        Status.broken,
        ExcuseCategory.force_majeure,
        "A flood in the office",
    )


def test_an_unknown_excuse_category_is_refused_and_changes_nothing(session, meeting, editor):
    with pytest.raises(InvalidInput) as refused:
        ledger.resolve_broken(session, meeting, actor=editor, now=NOW, excuse_category="the dog ate it")
    assert refused.value.field == "excuse_category"
    session.rollback()
    assert session.get(Commitment, meeting.id).status == Status.open
    assert actions(meeting) == ["created"]


def test_rescheduling_closes_the_old_and_opens_a_successor_that_keeps_the_first_date(
    session, meeting, editor
):
    moved_to = DUE + timedelta(days=7)
    successor = ledger.reschedule(
        session,
        meeting,
        actor=editor,
        now=NOW,
        new_due_at=moved_to,
        excuse_category="personal",
        excuse="Sick child",
    )
    again = ledger.reschedule(
        session,
        successor,
        actor=editor,
        now=NOW,
        new_due_at=moved_to + timedelta(days=7),
        excuse_category="plot_twist",
    )
    session.commit()
    assert meeting.status == Status.rescheduled
    assert meeting.rescheduled_to == successor and successor.rescheduled_from == meeting
    assert successor.status == Status.rescheduled and again.status == Status.open
    assert again.original_due_at == DUE, "the chain keeps the original date"
    assert again.due_at == moved_to + timedelta(days=7)
    assert actions(meeting) == ["created", "rescheduled"]
    assert meeting.events[-1].after["rescheduled_to"] == successor.id
    assert successor.events[0].after["rescheduled_from"] == meeting.id


def test_a_resolved_commitment_cannot_be_resolved_again(session, meeting, editor):
    ledger.cancel(session, meeting, actor=editor, now=NOW, reason="We found another firm")
    with pytest.raises(InvalidInput) as refused:
        ledger.resolve_kept(session, meeting, actor=editor, now=NOW)
    assert refused.value.field == "status"
    assert meeting.status == Status.cancelled


def test_reopening_clears_the_outcome_and_is_recorded(session, meeting, editor):
    ledger.resolve_broken(session, meeting, actor=editor, now=NOW, excuse_category="oversight")
    ledger.reopen(session, meeting, actor=editor, now=NOW + timedelta(minutes=1))
    assert meeting.status == Status.open
    assert meeting.excuse_category is None and meeting.resolved_at is None
    assert actions(meeting) == ["created", "resolved", "reopened"]
    assert meeting.events[-1].before["status"] == "broken"


def test_reopening_a_rescheduled_commitment_cancels_its_open_follow_up(session, meeting, editor):
    successor = ledger.reschedule(session, meeting, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=3))
    ledger.reopen(session, meeting, actor=editor, now=NOW)
    assert meeting.status == Status.open
    assert successor.status == Status.cancelled
    # ... and it can be rescheduled again, keeping both follow-ups in the record.
    second = ledger.reschedule(session, meeting, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=5))
    session.commit()
    assert meeting.successors == [successor, second]
    assert meeting.rescheduled_to == second


def test_reopening_is_refused_while_the_follow_up_has_an_outcome(session, meeting, editor):
    successor = ledger.reschedule(
        session, meeting, actor=editor, now=NOW, new_due_at=NOW - timedelta(hours=1), confirm_past=True
    )
    ledger.resolve_kept(session, successor, actor=editor, now=NOW)
    with pytest.raises(InvalidInput, match="follow-up"):
        ledger.reopen(session, meeting, actor=editor, now=NOW)


def test_editing_records_only_what_changed(session, meeting, editor):
    ledger.edit_commitment(
        session, meeting, actor=editor, now=NOW, title="Kick-off meeting", notes="Bring the contract"
    )
    edited = meeting.events[-1]
    assert edited.action == EventAction.edited
    assert edited.before == {"title": "Kick-off", "notes": ""}
    assert edited.after == {"title": "Kick-off meeting", "notes": "Bring the contract"}


def test_an_edit_that_changes_nothing_writes_no_event(session, meeting, editor):
    ledger.edit_commitment(session, meeting, actor=editor, now=NOW, title="Kick-off")
    assert actions(meeting) == ["created"]


def test_two_editors_resolving_at_once_cannot_both_win(app, session, meeting, make_user):
    """Two threads, two connections: the conditional UPDATE lets exactly one outcome through."""
    editor_ids = [make_user().id, make_user().id]
    meeting_id = meeting.id
    session.commit()  # release the test's own transaction before the race
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def resolve(editor_id: int, status: str) -> None:
        barrier.wait()
        with app.app_context():
            s = db.session
            try:
                commitment = s.get(Commitment, meeting_id)
                user = s.get(User, editor_id)
                ledger.resolve(s, commitment, status, actor=user, now=NOW, excuse_category="other")
                s.commit()
                outcomes.append(status)
            except InvalidInput:
                s.rollback()
            finally:
                s.remove()

    threads = [
        threading.Thread(target=resolve, args=(e, st))
        for e, st in zip(editor_ids, ["kept", "broken"], strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    stored = session.get(Commitment, meeting_id)
    assert len(outcomes) == 1
    assert stored.status == outcomes[0]
    resolutions = session.scalars(
        sa.select(LedgerEvent).where(
            LedgerEvent.commitment_id == meeting_id, LedgerEvent.action == EventAction.resolved
        )
    ).all()
    assert len(resolutions) == 1


def _meanwhile(app, commitment_id: int, editor_id: int, change) -> None:
    """Another writer, on a connection of its own, changes the commitment and commits."""

    def write() -> None:
        with app.app_context():
            s = db.session
            change(s, s.get(Commitment, commitment_id), s.get(User, editor_id))
            s.commit()
            s.remove()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()


def _read_then_release(session, commitment: Commitment, editor: User) -> None:
    """What an API request does before the write lock: read the rows, end the reading transaction."""
    commitment.status, editor.id  # noqa: B018 - loaded as a request would
    current = session()  # the scoped session's own Session, whose setting this is
    current.expire_on_commit = False
    current.commit()
    current.expire_on_commit = True


def test_a_resolve_computed_from_a_row_someone_since_edited_is_refused_and_changes_nothing(
    app, session, meeting, editor
):
    _read_then_release(session, meeting, editor)
    _meanwhile(
        app,
        meeting.id,
        editor.id,
        lambda s, c, who: ledger.edit_commitment(
            s, c, actor=who, now=NOW + timedelta(minutes=1), due_at=DUE + timedelta(days=1)
        ),
    )
    with pytest.raises(InvalidInput, match="Someone changed this commitment a moment ago"):
        ledger.resolve(session, meeting, "kept", actor=editor, now=NOW)
    session.rollback()
    assert meeting.status == Status.open and meeting.due_at == DUE + timedelta(days=1)
    assert actions(meeting) == [EventAction.created, EventAction.edited]


def test_resolving_what_someone_resolved_since_it_was_read_says_so(app, session, meeting, editor):
    _read_then_release(session, meeting, editor)
    _meanwhile(
        app, meeting.id, editor.id, lambda s, c, who: ledger.resolve(s, c, "broken", actor=who, now=NOW)
    )
    with pytest.raises(InvalidInput, match="Someone resolved this commitment a moment ago"):
        ledger.resolve(session, meeting, "kept", actor=editor, now=NOW)
    session.rollback()
    assert meeting.status == Status.broken
    assert actions(meeting) == [EventAction.created, EventAction.resolved]


def test_an_edit_made_from_a_stale_read_is_refused_rather_than_overwriting_another(
    app, session, meeting, editor
):
    _read_then_release(session, meeting, editor)
    _meanwhile(
        app,
        meeting.id,
        editor.id,
        lambda s, c, who: ledger.edit_commitment(
            s, c, actor=who, now=NOW + timedelta(minutes=1), title="Renamed by someone else"
        ),
    )
    with pytest.raises(InvalidInput, match="Someone changed this commitment a moment ago"):
        ledger.edit_commitment(session, meeting, actor=editor, now=NOW, title="Kick-off with the board")
    session.rollback()
    assert meeting.title == "Renamed by someone else"


def test_times_come_back_aware_and_in_utc(session, vendor, editor):
    warsaw_morning = datetime.fromisoformat("2026-03-29T10:00:00+02:00")  # the day DST begins
    c = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Audit", due_at=warsaw_morning, actor=editor, now=NOW
    )
    session.commit()
    session.expire_all()
    stored = session.get(Commitment, c.id)
    assert stored.due_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert stored.due_at.utcoffset() == timedelta(0)


def test_correcting_the_due_date_lets_the_reminder_and_overdue_flag_happen_again(session, meeting, editor):
    meeting.reminded_at = meeting.flagged_overdue_at = NOW
    ledger.edit_commitment(session, meeting, actor=editor, now=NOW, due_at=DUE + timedelta(days=5))
    assert meeting.reminded_at is None and meeting.flagged_overdue_at is None
    meeting.reminded_at = NOW
    ledger.edit_commitment(session, meeting, actor=editor, now=NOW, title="Renamed only")
    assert meeting.reminded_at == NOW, "a change that leaves the date alone keeps the claim"


# -- backfilling: logging what already happened -------------------------------------------------------


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_kept_with_no_time_given_is_on_time_once_due_and_now_while_still_ahead(session, vendor, editor):
    past = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Past", due_at=DUE, actor=editor, now=NOW
    )
    ahead = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Early delivery",
        due_at=NOW + timedelta(days=3),
        actor=editor,
        now=NOW,
    )
    ledger.resolve_kept(session, past, actor=editor, now=NOW)
    ledger.resolve_kept(session, ahead, actor=editor, now=NOW)
    assert past.done_at == DUE and past.lateness() == timedelta(0), "kept on time, not two days late"
    assert ahead.done_at == NOW
    assert ledger.default_done_at(DUE, NOW) == DUE
    assert ledger.default_done_at(NOW + timedelta(days=3), NOW) == NOW


def test_a_commitment_is_logged_with_what_already_happened_in_one_unit_of_work(session, vendor, editor):
    kept = ledger.log_what_happened(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Kick-off",
        due_at=DUE,
        actor=editor,
        now=NOW,
        status=Status.kept,
        done_at=DUE + timedelta(minutes=40),
    )
    broken = ledger.log_what_happened(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Quote",
        due_at=DUE,
        actor=editor,
        now=NOW,
        status="broken",
        excuse_category="oversight",
        excuse="Forgot",
    )
    session.commit()
    assert (kept.status, kept.done_at) == (Status.kept, DUE + timedelta(minutes=40))
    assert (broken.status, broken.excuse_category, broken.excuse) == (
        Status.broken,
        ExcuseCategory.oversight,
        "Forgot",
    )
    for commitment in (kept, broken):
        assert actions(commitment) == [EventAction.created, EventAction.resolved]


def test_a_backfilled_move_into_the_past_needs_confirming_and_a_refusal_writes_nothing(
    session, vendor, editor
):
    moved = dict(
        vendor=vendor,
        kind=Kind.meeting,
        title="Kick-off",
        due_at=DUE,
        actor=editor,
        now=NOW,
        status=Status.rescheduled,
        new_due_at=DUE + timedelta(days=1),
        excuse_category="personal",
    )
    with pytest.raises(InvalidInput, match="already passed") as refused:
        ledger.log_what_happened(session, **moved)
    assert refused.value.field == "new_due_at"
    session.rollback()
    # As when a request ends: the refused row's object goes, so it cannot meet its id reused by SQLite.
    for stale in [row for row in session.identity_map.values() if isinstance(row, Commitment)]:
        session.expunge(stale)
    assert (count(session, Commitment), count(session, LedgerEvent)) == (0, 0)

    original = ledger.log_what_happened(session, **moved, confirm_past=True)
    session.commit()
    successor = original.rescheduled_to
    assert original.status == Status.rescheduled
    assert (successor.status, successor.due_at, successor.original_due_at) == (
        Status.open,
        DUE + timedelta(days=1),
        DUE,
    )


def test_a_move_earlier_than_the_current_due_time_needs_confirming_even_in_the_future(
    session, vendor, editor
):
    later = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Review",
        due_at=NOW + timedelta(days=10),
        actor=editor,
        now=NOW,
    )
    with pytest.raises(InvalidInput, match="earlier than the current one") as refused:
        ledger.reschedule(session, later, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=5))
    assert refused.value.field == "new_due_at" and later.status == Status.open
    successor = ledger.reschedule(
        session, later, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=5), confirm_past=True
    )
    assert successor.due_at == NOW + timedelta(days=5)


def test_a_commitment_cannot_be_logged_as_cancelled_at_once(session, vendor, editor):
    with pytest.raises(InvalidInput) as refused:
        ledger.log_what_happened(
            session,
            vendor=vendor,
            kind=Kind.meeting,
            title="Kick-off",
            due_at=DUE,
            actor=editor,
            now=NOW,
            status=Status.cancelled,
        )
    assert refused.value.field == "status"


def test_a_viewer_cannot_own_a_commitment_but_one_who_became_a_viewer_keeps_theirs(
    session, vendor, editor, make_user
):
    from vendortrack.models import Role

    viewer = make_user(Role.viewer)
    with pytest.raises(InvalidInput, match="viewer") as refused:
        ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title="Quote",
            due_at=DUE,
            actor=editor,
            now=NOW,
            owner=viewer,
        )
    assert refused.value.field == "owner_id"
    session.rollback()

    colleague = make_user(Role.editor)
    quote = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Quote",
        due_at=DUE,
        actor=editor,
        now=NOW,
        owner=colleague,
    )
    colleague.role = Role.viewer
    session.commit()
    ledger.edit_commitment(session, quote, actor=editor, now=NOW, title="The quote", owner=colleague)
    assert (quote.title, quote.owner_id) == ("The quote", colleague.id)
    with pytest.raises(InvalidInput, match="viewer"):
        ledger.edit_commitment(session, quote, actor=editor, now=NOW, owner=viewer)
