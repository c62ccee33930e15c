"""The writes to the ledger: log, edit, resolve, reschedule, reopen; each appends a LedgerEvent.

Every function takes the session and `now`, checks its input, changes the rows and returns;
the caller commits. A InvalidInput names the field that was wrong and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from vendortrack.database import core, new_row_values, relationships_behind
from vendortrack.models import (
    AnswerState,
    Commitment,
    Contact,
    EventAction,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    Status,
    User,
    Vendor,
    VendorAnswer,
    VendorLink,
)
from vendortrack.scores import responsiveness, tally
from vendortrack.scores.rules import Fact, default_notified_at
from vendortrack.timeutil import CLOCK_SKEW, is_aware
from vendortrack.validation import InvalidInput

TITLE_MAX = 200

# The fields an event records, in the order the history shows them.
TRACKED = (
    "kind",
    "title",
    "notes",
    "due_at",
    "contact_id",
    "owner_id",
    "status",
    "done_at",
    "excuse_category",
    "excuse",
    "reason",
    "notified_at",
)


def recorded(value: Any) -> Any:
    """A value as an event records it: moments as ISO text, enums as their value."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(commitment: Commitment) -> dict[str, Any]:
    return {name: recorded(getattr(commitment, name)) for name in TRACKED}


_EVENTS = LedgerEvent.__table__


def _record(
    session: Session,
    commitment: Commitment,
    action: EventAction,
    actor: User | None,
    now: datetime,
    before: dict[str, Any],
    extra: dict[str, Any] | None = None,
    by_contact: Contact | None = None,
) -> None:
    after = snapshot(commitment)
    changed = [k for k in TRACKED if before.get(k) != after[k]]
    # Appended with Core: the ledger is never read back as objects while writing, and the ORM's
    # unit of work costs nine times the INSERT (bench/request_cost.py). The commitment's loaded
    # list of events, if any, is told to read itself again.
    core(session).execute(
        _EVENTS.insert(),
        {
            "commitment_id": commitment.id,
            "vendor_id": commitment.vendor_id,
            "actor_id": actor.id if actor is not None else None,
            "actor_contact_id": by_contact.id if by_contact is not None else None,
            "at": now,
            "action": action,
            "before": {k: before[k] for k in changed if k in before},
            "after": {k: after[k] for k in changed} | (extra or {}),
        },
    )
    session.expire(commitment, ["events"])
    # Keep the scorecard's monthly sums true in the same transaction, for the old and new month.
    tally.follow(session, commitment.vendor_id, _fact(before) if before else None, _fact(after))
    if commitment.complaint_id is not None:
        # A dated answer's promise: whether and when it was kept is part of its complaint's figures.
        responsiveness.recount(session, commitment.vendor_id)


def _fact(state: dict[str, Any]) -> Fact:
    """What scoring reads of a commitment, from a snapshot of it: with its notice, which the score
    rollups hold for the settled months' moves (tally.follow rolls up when only that changed)."""
    done_at, notified_at = state["done_at"], state["notified_at"]
    return Fact(
        0,
        state["kind"],
        datetime.fromisoformat(state["due_at"]),
        state["status"],
        datetime.fromisoformat(done_at) if done_at else None,
        notified_at=datetime.fromisoformat(notified_at) if notified_at else None,
    )


# The relationships each key stands behind: when a key changes, its object is read again when next used.
RELATIONSHIPS = relationships_behind(Commitment)


# Built once: the columns it sets are the keys of the values it is given (a compiled form each).
_UPDATE_AS_READ = Commitment.__table__.update().where(
    Commitment.id == sa.bindparam("_id"),
    Commitment.status == sa.bindparam("_status_read"),
    Commitment.updated_at == sa.bindparam("_updated_at_read"),
)


def _update(session: Session, commitment: Commitment, values: dict[str, Any]) -> None:
    """Write values to the commitment's row only if the row is still as this writer read it.

    The UPDATE is conditional on the status and updated_at the object holds (every change to a
    commitment moves updated_at): of two writers, only the first wins, and no change is computed
    from, or recorded against, a state someone else has since replaced (a request reads its rows
    before it takes SQLite's write lock; PostgreSQL reads committed). The object then takes the
    values as written, without reading the row back.
    """
    result = core(session).execute(
        _UPDATE_AS_READ,
        values
        | {
            "_id": commitment.id,
            "_status_read": commitment.status,
            "_updated_at_read": commitment.updated_at,
        },
    )
    if result.rowcount != 1:
        now_status = session.scalar(sa.select(Commitment.status).where(Commitment.id == commitment.id))
        if now_status not in (commitment.status, Status.open):
            raise InvalidInput("status", _l("Someone resolved this commitment a moment ago."))
        raise InvalidInput("status", _l("Someone changed this commitment a moment ago."))
    for name, value in values.items():
        set_committed_value(commitment, name, value)
    stale = [relationship for name in values for relationship in RELATIONSHIPS.get(name, ())]
    if stale:  # (an empty list would expire every attribute)
        session.expire(commitment, stale)


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("title", _l("Give the commitment a title."))
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            "title",
            lazy_ngettext(
                "The title is longer than %(num)d character.",
                "The title is longer than %(num)d characters.",
                TITLE_MAX,
            ),
        )
    return title


def check_moment(field: str, moment: datetime | None) -> datetime:
    if moment is None:
        raise InvalidInput(field, _l("This date is required."))
    if not is_aware(moment):
        raise InvalidInput(field, _l("The time needs a time zone offset."))
    if not in_range(moment):
        raise InvalidInput(field, OUT_OF_RANGE)
    return moment


# The dates a ledger can mean: year 9615 is a slip of the keyboard, and the scorecard's monthly sums
# take everything due before the year 9000 to have come due (tally.SETTLED).
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = _l(
    "Give a date from the years %(first)d to %(last)d.", first=EARLIEST.year, last=LATEST.year - 1
)


def in_range(moment: datetime) -> bool:
    return EARLIEST <= moment < LATEST


def check_notified_at(
    notified_at: datetime | None, now: datetime, due_at: datetime | None = None
) -> datetime | None:
    """When the vendor warned of a move, never in the future; when not given, the default for a move
    of a commitment due at `due_at` (`default_notified_at`: unknown for history), else unknown."""
    if notified_at is None:
        return default_notified_at(due_at, now) if due_at is not None else None
    notified_at = check_moment("notified_at", notified_at)
    if notified_at > now + CLOCK_SKEW:
        raise InvalidInput("notified_at", _l("The vendor cannot have told us in the future."))
    return notified_at


def _check_contact(vendor: Vendor, contact: Contact | None) -> Contact | None:
    if contact is not None and contact.vendor_id != vendor.id:
        raise InvalidInput("contact_id", _l("This contact works for another vendor."))
    return contact


def _check_owner(owner: User) -> User:
    if not owner.is_active:
        raise InvalidInput("owner_id", _l("This user is disabled and cannot own commitments."))
    if not owner.can_write:
        # The owner is asked what happened; a viewer could not record the answer.
        raise InvalidInput(
            "owner_id", _l("A viewer cannot follow up commitments; choose an editor or an admin.")
        )
    return owner


def log_commitment(
    session: Session,
    *,
    vendor: Vendor,
    kind: Kind,
    title: str,
    due_at: datetime,
    actor: User | None,
    now: datetime,
    contact: Contact | None = None,
    owner: User | None = None,
    notes: str = "",
    complaint_id: int | None = None,
    by_contact: Contact | None = None,
) -> Commitment:
    """Log what a vendor said it would do; `complaint_id` when it is the dated answer to a complaint.
    `by_contact` when the vendor's contact gave it through their link: then there is no `actor`, and
    `owner` is ours who follows it up."""
    if vendor.is_archived:
        raise InvalidInput("vendor_id", _l("This vendor is archived; unarchive it to log more."))
    contact = _check_contact(vendor, contact)
    commitment = _insert(
        session,
        {
            "vendor_id": vendor.id,
            "kind": Kind(kind),
            "title": _check_title(title),
            "due_at": check_moment("due_at", due_at),
            "original_due_at": due_at,
            "contact_id": contact.id if contact is not None else None,
            "owner_id": _check_owner(owner or actor).id,
            "created_by_id": actor.id if actor is not None else None,
            "notes": (notes or "").strip(),
            "complaint_id": complaint_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    _record(session, commitment, EventAction.created, actor, now, before={}, by_contact=by_contact)
    return commitment


_COMMITMENTS = Commitment.__table__
# What a new commitment holds besides what its caller gives: every column, so that its object
# never has to read its row back.
_NEW = new_row_values(_COMMITMENTS)


_INSERT_COMMITMENT = _COMMITMENTS.insert().returning(_COMMITMENTS.c.id)


def _insert(session: Session, values: dict[str, Any]) -> Commitment:
    """Insert a commitment with Core and hand back its object, attached as if just loaded.

    The unit of work's flush costs three to seven times the INSERT (BENCHMARKS.md), and every
    write of the API pays it under SQLite's write lock.
    """
    values = _NEW | values
    commitment_id = core(session).execute(_INSERT_COMMITMENT, values).scalar_one()
    commitment = Commitment(id=commitment_id, **values)
    make_transient_to_detached(commitment)  # persistent, its history that of a row just read
    session.add(commitment)
    set_committed_value(commitment, "rescheduled_to_id", None)  # no follow-up yet: the answer need not ask
    return commitment


EDITABLE = ("kind", "title", "notes", "due_at", "contact", "owner", "notified_at")


def edit_commitment(
    session: Session, commitment: Commitment, *, actor: User, now: datetime, **changes: Any
) -> Commitment:
    """Correct what was logged. Moving a date on the vendor's request is `reschedule`, not this."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], _l("This field cannot be edited."))
    before = snapshot(commitment)
    if "title" in changes:
        changes["title"] = _check_title(changes["title"])
    if "due_at" in changes:
        changes["due_at"] = check_moment("due_at", changes["due_at"])
    if "contact" in changes:
        _check_contact(commitment.vendor, changes["contact"])
    if "owner" in changes and changes["owner"].id != commitment.owner_id:
        _check_owner(changes["owner"])  # an owner kept as they were stays, even if now a viewer
    if "notes" in changes:
        changes["notes"] = (changes["notes"] or "").strip()
    if "kind" in changes:
        changes["kind"] = Kind(changes["kind"])
    if "notified_at" in changes:
        if commitment.status != Status.rescheduled:
            raise InvalidInput("notified_at", _l("Only a moved commitment has a notice."))
        changes["notified_at"] = check_notified_at(changes["notified_at"], now)
    values = {name: value for name, value in changes.items() if name not in ("contact", "owner")}
    for name in ("contact", "owner"):
        if name in changes:
            values[f"{name}_id"] = changes[name].id if changes[name] is not None else None
    if {name: recorded(value) for name, value in values.items()} == {name: before[name] for name in values}:
        return commitment  # nothing changed: no event, no noise in the history
    due_at = values.get("due_at", commitment.due_at)
    if "due_at" in values and commitment.rescheduled_from_id is None:
        values["original_due_at"] = due_at
    if recorded(due_at) != before["due_at"]:
        # A corrected date deserves its own reminder and, if it passes unresolved, its own flag.
        values["reminded_at"] = values["flagged_overdue_at"] = None
    if commitment.done_at is not None:
        values["lateness_us"] = _lateness_us(commitment.done_at, due_at)
    _update(session, commitment, values | {"updated_at": now})
    _record(session, commitment, EventAction.edited, actor, now, before)
    return commitment


def _close(session: Session, commitment: Commitment, values: dict[str, Any]) -> None:
    """Move an open commitment to a final status, or fail if someone else got there first."""
    if commitment.status != Status.open:
        raise InvalidInput("status", _l("This commitment is already resolved; reopen it first."))
    _update(session, commitment, values)
    # What the vendor's contact asked of this commitment and still waits for us is moot now: once
    # it is closed (or moved), accepting it would act on a commitment that is no longer the same.
    # The answer being accepted, if that is what closes it, is marked accepted after this.
    core(session).execute(
        sa.update(VendorAnswer)
        .where(VendorAnswer.commitment_id == commitment.id, VendorAnswer.state == AnswerState.waiting)
        .values(state=AnswerState.overtaken)
    )


def _lateness_us(done_at: datetime, due_at: datetime) -> int:
    return (done_at - due_at) // timedelta(microseconds=1)


def _excuse(category: ExcuseCategory | str | None, text: str) -> dict[str, Any]:
    try:
        category = ExcuseCategory(category) if category else ExcuseCategory.none_given
    except ValueError:
        raise InvalidInput("excuse_category", _l("Pick one of the excuse categories.")) from None
    return {"excuse_category": category, "excuse": (text or "").strip()}


def default_done_at(due_at: datetime, now: datetime) -> datetime:
    """When "kept" happened if no one says: on time once the due time has passed, else just now.

    Recording a commitment kept after the fact must not make it late by however long it took to
    log it; one click on "kept" for a past meeting records it kept on time.
    """
    return min(due_at, now)


def resolve_kept(
    session: Session,
    commitment: Commitment,
    *,
    actor: User,
    now: datetime,
    done_at: datetime | None = None,
) -> Commitment:
    done_at = check_moment("done_at", done_at or default_done_at(commitment.due_at, now))
    if done_at > now + CLOCK_SKEW:
        raise InvalidInput("done_at", _l("It cannot have been kept in the future."))
    before = snapshot(commitment)
    _close(
        session,
        commitment,
        {
            "status": Status.kept,
            "done_at": done_at,
            "lateness_us": _lateness_us(done_at, commitment.due_at),
            "resolved_at": now,
            "resolved_by_id": actor.id,
            "updated_at": now,
        },
    )
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def resolve_broken(
    session: Session,
    commitment: Commitment,
    *,
    actor: User,
    now: datetime,
    excuse_category: ExcuseCategory | str | None = None,
    excuse: str = "",
) -> Commitment:
    values = _excuse(excuse_category, excuse)
    before = snapshot(commitment)
    _close(
        session,
        commitment,
        values
        | {
            "status": Status.broken,
            "resolved_at": now,
            "resolved_by_id": actor.id,
            "updated_at": now,
        },
    )
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def cancel(
    session: Session,
    commitment: Commitment,
    *,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> Commitment:
    before = snapshot(commitment)
    _close(
        session,
        commitment,
        {
            "status": Status.cancelled,
            "reason": (reason or "").strip(),
            "resolved_at": now,
            "resolved_by_id": actor.id if actor else None,
            "updated_at": now,
        },
    )
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def reschedule(
    session: Session,
    commitment: Commitment,
    *,
    actor: User,
    now: datetime,
    new_due_at: datetime | None,
    excuse_category: ExcuseCategory | str | None = None,
    excuse: str = "",
    confirm_past: bool = False,
    notified_at: datetime | None = None,
) -> Commitment:
    """Close the commitment as rescheduled and open its successor; returns the successor.

    A new time in the past, or earlier than the current one, is usually a typo (the wrong month,
    the wrong year); it is taken only with `confirm_past`, when it is history being written down.
    `notified_at` is when the vendor warned us (SCORING.md §11): by default, the moment it is logged.
    """
    new_due_at = check_moment("new_due_at", new_due_at)
    notified_at = check_notified_at(notified_at, now, commitment.due_at)
    if not confirm_past and new_due_at < now:
        raise InvalidInput(
            "new_due_at", _l("The new due time has already passed; confirm that this is what happened.")
        )
    if not confirm_past and new_due_at < commitment.due_at:
        raise InvalidInput(
            "new_due_at",
            _l("The new due time is earlier than the current one; confirm that this is what happened."),
        )
    values = _excuse(excuse_category, excuse)
    before = snapshot(commitment)
    _close(
        session,
        commitment,
        values
        | {
            "status": Status.rescheduled,
            "notified_at": notified_at,
            "resolved_at": now,
            "resolved_by_id": actor.id,
            "updated_at": now,
        },
    )
    successor = _insert(
        session,
        {
            "vendor_id": commitment.vendor_id,
            "contact_id": commitment.contact_id,
            "owner_id": commitment.owner_id,
            "created_by_id": actor.id,
            "kind": commitment.kind,
            "title": commitment.title,
            "notes": commitment.notes,
            "due_at": new_due_at,
            "original_due_at": commitment.original_due_at,
            "rescheduled_from_id": commitment.id,
            "complaint_id": commitment.complaint_id,  # a moved dated answer still answers its complaint
            "created_at": now,
            "updated_at": now,
        },
    )
    set_committed_value(commitment, "rescheduled_to_id", successor.id)  # the live one, and the newest
    _carry_links(session, commitment.id, successor.id)
    _record(
        session,
        commitment,
        EventAction.rescheduled,
        actor,
        now,
        before,
        extra={"rescheduled_to": successor.id},
    )
    _record(
        session,
        successor,
        EventAction.created,
        actor,
        now,
        before={},
        extra={"rescheduled_from": commitment.id},
    )
    return successor


def _carry_links(session: Session, from_id: int, to_id: int) -> None:
    """The vendor's links follow a move to the follow-up (and back when it is undone): the contact
    asked about a meeting keeps answering for it at its new time."""
    core(session).execute(
        sa.update(VendorLink).where(VendorLink.commitment_id == from_id).values(commitment_id=to_id)
    )


def note_vendor_answer(
    session: Session, commitment: Commitment, *, contact: Contact, now: datetime, answer: dict[str, Any]
) -> None:
    """An answer through the vendor's link, in the commitment's history, by the contact who gave it.
    It changes nothing of the commitment (what it asks waits for our owner), so no sums move."""
    core(session).execute(
        _EVENTS.insert(),
        {
            "commitment_id": commitment.id,
            "vendor_id": commitment.vendor_id,
            "actor_id": None,
            "actor_contact_id": contact.id,
            "at": now,
            "action": EventAction.vendor_answered,
            "before": {},
            "after": {k: recorded(v) for k, v in answer.items()},
        },
    )
    session.expire(commitment, ["events"])


def reopen(session: Session, commitment: Commitment, *, actor: User, now: datetime) -> Commitment:
    """Undo an outcome logged by mistake; a rescheduled one takes back its open follow-up."""
    if commitment.status == Status.open:
        raise InvalidInput("status", _l("This commitment is already open."))
    follow_up = commitment.rescheduled_to if commitment.status == Status.rescheduled else None
    if follow_up is not None and follow_up.status not in (Status.open, Status.cancelled):
        raise InvalidInput(
            "status",
            _l("Its follow-up #%(id)d already has an outcome; reopen that first.", id=follow_up.id),
        )
    if follow_up is not None and follow_up.status == Status.open:
        cancel(
            session,
            follow_up,
            actor=actor,
            now=now,
            reason=str(_l("Replaced: the commitment it followed was reopened.")),
        )
        _carry_links(session, follow_up.id, commitment.id)
    before = snapshot(commitment)
    _update(
        session,
        commitment,
        {
            "status": Status.open,
            "done_at": None,
            "lateness_us": None,
            "excuse_category": None,
            "excuse": "",
            "reason": "",
            "notified_at": None,
            "resolved_at": None,
            "resolved_by_id": None,
            "updated_at": now,
        },
    )
    _record(session, commitment, EventAction.reopened, actor, now, before)
    return commitment


def resolve(
    session: Session,
    commitment: Commitment,
    status: Status | str,
    *,
    actor: User,
    now: datetime,
    done_at: datetime | None = None,
    excuse_category: str | None = None,
    excuse: str = "",
    new_due_at: datetime | None = None,
    reason: str = "",
    confirm_past: bool = False,
    notified_at: datetime | None = None,
) -> Commitment:
    """One entry point for forms and the API: dispatch on the outcome the user chose."""
    match status:
        case Status.kept:
            return resolve_kept(session, commitment, actor=actor, now=now, done_at=done_at)
        case Status.broken:
            return resolve_broken(
                session, commitment, actor=actor, now=now, excuse_category=excuse_category, excuse=excuse
            )
        case Status.rescheduled:
            reschedule(
                session,
                commitment,
                actor=actor,
                now=now,
                new_due_at=new_due_at,
                excuse_category=excuse_category,
                excuse=excuse,
                confirm_past=confirm_past,
                notified_at=notified_at,
            )
            return commitment
        case Status.cancelled:
            return cancel(session, commitment, actor=actor, now=now, reason=reason)
    raise InvalidInput("status", _l("Choose kept, broken, rescheduled or cancelled."))


# The outcomes a commitment can be logged with at once: what already happened to it.
LOGGED_OUTCOMES = (Status.open, Status.kept, Status.broken, Status.rescheduled)


def log_what_happened(
    session: Session,
    *,
    actor: User,
    now: datetime,
    status: Status | str = Status.open,
    done_at: datetime | None = None,
    excuse_category: ExcuseCategory | str | None = None,
    excuse: str = "",
    new_due_at: datetime | None = None,
    confirm_past: bool = False,
    notified_at: datetime | None = None,
    **logged: Any,
) -> Commitment:
    """Log a commitment and what already became of it, in one unit of work: backfilling history.

    The outcome is written by the same functions as a later resolve, so it reads in the history
    as it would have then; a refusal of either part leaves the caller nothing to commit.
    """
    if status not in LOGGED_OUTCOMES:
        raise InvalidInput("status", _l("Choose still open, kept, broken or moved."))
    commitment = log_commitment(session, actor=actor, now=now, **logged)
    if status != Status.open:
        resolve(
            session,
            commitment,
            status,
            actor=actor,
            now=now,
            done_at=done_at,
            excuse_category=excuse_category,
            excuse=excuse,
            new_due_at=new_due_at,
            confirm_past=confirm_past,
            notified_at=notified_at,
        )
    return commitment
