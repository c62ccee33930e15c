"""The writes to the ledger: log, edit, resolve, reschedule, reopen; each appends a LedgerEvent.

Every function takes the session and `now`, checks its input, changes the rows and returns;
the caller commits. A LedgerError names the field that was wrong and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from vendortrack import tally
from vendortrack.models import (
    Commitment,
    Contact,
    EventAction,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    Status,
    User,
    Vendor,
)
from vendortrack.timeutil import is_aware

TITLE_MAX = 200
# A kept time a little ahead of the server's clock is a skewed phone, not a prophecy.
CLOCK_SKEW = timedelta(minutes=5)

# The fields an event records, in the order the history shows them.
TRACKED = (
    "kind", "title", "notes", "due_at", "contact_id", "owner_id", "status",
    "done_at", "excuse_category", "excuse", "reason",
)  # fmt: skip


class LedgerError(ValueError):
    """Input the ledger refuses, with the name of the field that caused it."""

    def __init__(self, field: str, message: Any):
        super().__init__(field, message)
        self.field = field
        self.message = message  # often a lazy string, translated when shown

    def __str__(self) -> str:
        return str(self.message)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(commitment: Commitment) -> dict[str, Any]:
    return {name: _plain(getattr(commitment, name)) for name in TRACKED}


def _record(
    session: Session,
    commitment: Commitment,
    action: EventAction,
    actor: User | None,
    now: datetime,
    before: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> LedgerEvent:
    after = snapshot(commitment)
    changed = [k for k in TRACKED if before.get(k) != after[k]]
    event = LedgerEvent(
        commitment=commitment,
        vendor_id=commitment.vendor_id,
        actor=actor,
        at=now,
        action=action,
        before={k: before[k] for k in changed if k in before},
        after={k: after[k] for k in changed} | (extra or {}),
    )
    session.add(event)
    # Keep the scorecard's monthly sums true in the same transaction, for the old and new month.
    dues = [commitment.due_at] + ([datetime.fromisoformat(before["due_at"])] if before.get("due_at") else [])
    tally.refresh(session, commitment.vendor_id, dues)
    return event


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise LedgerError("title", _l("Give the commitment a title."))
    if len(title) > TITLE_MAX:
        raise LedgerError("title", lazy_ngettext("The title is longer than %(num)d character.",
                                              "The title is longer than %(num)d characters.", TITLE_MAX))
    return title


def _check_moment(field: str, moment: datetime | None) -> datetime:
    if moment is None:
        raise LedgerError(field, _l("This date is required."))
    if not is_aware(moment):
        raise LedgerError(field, _l("The time needs a time zone offset."))
    return moment


def _check_contact(vendor: Vendor, contact: Contact | None) -> Contact | None:
    if contact is not None and contact.vendor_id != vendor.id:
        raise LedgerError("contact_id", _l("This contact works for another vendor."))
    return contact


def _check_owner(owner: User) -> User:
    if not owner.is_active:
        raise LedgerError("owner_id", _l("This user is disabled and cannot own commitments."))
    return owner


def log_commitment(
    session: Session,
    *,
    vendor: Vendor,
    kind: Kind,
    title: str,
    due_at: datetime,
    actor: User,
    now: datetime,
    contact: Contact | None = None,
    owner: User | None = None,
    notes: str = "",
) -> Commitment:
    if vendor.is_archived:
        raise LedgerError("vendor_id", _l("This vendor is archived; unarchive it to log more."))
    commitment = Commitment(
        vendor=vendor,
        vendor_id=vendor.id,
        kind=Kind(kind),
        title=_check_title(title),
        due_at=_check_moment("due_at", due_at),
        original_due_at=due_at,
        contact=_check_contact(vendor, contact),
        owner=_check_owner(owner or actor),
        created_by=actor,
        notes=(notes or "").strip(),
        status=Status.open,
        created_at=now,
        updated_at=now,
    )
    session.add(commitment)
    session.flush()
    _record(session, commitment, EventAction.created, actor, now, before={})
    return commitment


EDITABLE = ("kind", "title", "notes", "due_at", "contact", "owner")


def edit_commitment(
    session: Session, commitment: Commitment, *, actor: User, now: datetime, **changes: Any
) -> Commitment:
    """Correct what was logged. Moving a date on the vendor's request is `reschedule`, not this."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise LedgerError(sorted(unknown)[0], _l("This field cannot be edited."))
    before = snapshot(commitment)
    if "title" in changes:
        changes["title"] = _check_title(changes["title"])
    if "due_at" in changes:
        changes["due_at"] = _check_moment("due_at", changes["due_at"])
    if "contact" in changes:
        _check_contact(commitment.vendor, changes["contact"])
    if "owner" in changes:
        _check_owner(changes["owner"])
    if "notes" in changes:
        changes["notes"] = (changes["notes"] or "").strip()
    if "kind" in changes:
        changes["kind"] = Kind(changes["kind"])
    for name, value in changes.items():
        setattr(commitment, name, value)
    if "due_at" in changes and commitment.rescheduled_from is None:
        commitment.original_due_at = commitment.due_at
    if "due_at" in changes and snapshot(commitment)["due_at"] != before["due_at"]:
        # A corrected date deserves its own reminder and, if it passes unresolved, its own flag.
        commitment.reminded_at = commitment.flagged_overdue_at = None
    if commitment.done_at is not None:
        commitment.lateness_us = _lateness_us(commitment.done_at, commitment.due_at)
    session.flush()
    if snapshot(commitment) == before:
        return commitment  # nothing changed: no event, no noise in the history
    commitment.updated_at = now
    _record(session, commitment, EventAction.edited, actor, now, before)
    return commitment


def _close(session: Session, commitment: Commitment, values: dict[str, Any]) -> None:
    """Move an open commitment to a final status, or fail if someone else got there first.

    The conditional UPDATE is the guard: two editors resolving the same commitment at once
    (two gunicorn workers, PostgreSQL's read committed) cannot both win.
    """
    if commitment.status != Status.open:
        raise LedgerError("status", _l("This commitment is already resolved; reopen it first."))
    result = session.execute(
        sa.update(Commitment)
        .where(Commitment.id == commitment.id, Commitment.status == Status.open)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LedgerError("status", _l("Someone resolved this commitment a moment ago."))
    session.refresh(commitment)


def _lateness_us(done_at: datetime, due_at: datetime) -> int:
    return (done_at - due_at) // timedelta(microseconds=1)


def _excuse(category: ExcuseCategory | str | None, text: str) -> dict[str, Any]:
    try:
        category = ExcuseCategory(category) if category else ExcuseCategory.none_given
    except ValueError:
        raise LedgerError("excuse_category", _l("Pick one of the excuse categories.")) from None
    return {"excuse_category": category, "excuse": (text or "").strip()}


def resolve_kept(
    session: Session, commitment: Commitment, *, actor: User, now: datetime,
    done_at: datetime | None = None,
) -> Commitment:  # fmt: skip
    done_at = _check_moment("done_at", done_at or now)
    if done_at > now + CLOCK_SKEW:
        raise LedgerError("done_at", _l("It cannot have been kept in the future."))
    before = snapshot(commitment)
    _close(session, commitment, {
        "status": Status.kept, "done_at": done_at, "lateness_us": _lateness_us(done_at, commitment.due_at),
        "resolved_at": now, "resolved_by_id": actor.id, "updated_at": now,
    })  # fmt: skip
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def resolve_broken(
    session: Session, commitment: Commitment, *, actor: User, now: datetime,
    excuse_category: ExcuseCategory | str | None = None, excuse: str = "",
) -> Commitment:  # fmt: skip
    values = _excuse(excuse_category, excuse)
    before = snapshot(commitment)
    _close(session, commitment, values | {
        "status": Status.broken, "resolved_at": now, "resolved_by_id": actor.id, "updated_at": now,
    })  # fmt: skip
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def cancel(
    session: Session, commitment: Commitment, *, actor: User | None, now: datetime,
    reason: str = "",
) -> Commitment:  # fmt: skip
    before = snapshot(commitment)
    _close(session, commitment, {
        "status": Status.cancelled, "reason": (reason or "").strip(), "resolved_at": now,
        "resolved_by_id": actor.id if actor else None, "updated_at": now,
    })  # fmt: skip
    _record(session, commitment, EventAction.resolved, actor, now, before)
    return commitment


def reschedule(
    session: Session, commitment: Commitment, *, actor: User, now: datetime,
    new_due_at: datetime | None, excuse_category: ExcuseCategory | str | None = None,
    excuse: str = "",
) -> Commitment:  # fmt: skip
    """Close the commitment as rescheduled and open its successor; returns the successor."""
    new_due_at = _check_moment("new_due_at", new_due_at)
    values = _excuse(excuse_category, excuse)
    before = snapshot(commitment)
    _close(session, commitment, values | {
        "status": Status.rescheduled, "resolved_at": now, "resolved_by_id": actor.id,
        "updated_at": now,
    })  # fmt: skip
    successor = Commitment(
        vendor_id=commitment.vendor_id,
        contact_id=commitment.contact_id,
        owner_id=commitment.owner_id,
        created_by=actor,
        kind=commitment.kind,
        title=commitment.title,
        notes=commitment.notes,
        due_at=new_due_at,
        original_due_at=commitment.original_due_at,
        rescheduled_from=commitment,
        status=Status.open,
        created_at=now,
        updated_at=now,
    )
    session.add(successor)
    session.flush()
    _record(session, commitment, EventAction.rescheduled, actor, now, before,
            extra={"rescheduled_to": successor.id})  # fmt: skip
    _record(session, successor, EventAction.created, actor, now, before={},
            extra={"rescheduled_from": commitment.id})  # fmt: skip
    return successor


def reopen(session: Session, commitment: Commitment, *, actor: User, now: datetime) -> Commitment:
    """Undo an outcome logged by mistake; a rescheduled one takes back its open follow-up."""
    if commitment.status == Status.open:
        raise LedgerError("status", _l("This commitment is already open."))
    follow_up = commitment.rescheduled_to if commitment.status == Status.rescheduled else None
    if follow_up is not None and follow_up.status not in (Status.open, Status.cancelled):
        raise LedgerError(
            "status",
            _l("Its follow-up #%(id)d already has an outcome; reopen that first.", id=follow_up.id),
        )
    if follow_up is not None and follow_up.status == Status.open:
        cancel(session, follow_up, actor=actor, now=now,
               reason=str(_l("Replaced: the commitment it followed was reopened.")))  # fmt: skip
    before = snapshot(commitment)
    result = session.execute(
        sa.update(Commitment)
        .where(Commitment.id == commitment.id, Commitment.status == commitment.status)
        .values(status=Status.open, done_at=None, lateness_us=None, excuse_category=None, excuse="",
                reason="", resolved_at=None, resolved_by_id=None, updated_at=now)  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LedgerError("status", _l("Someone changed this commitment a moment ago."))
    session.refresh(commitment)
    _record(session, commitment, EventAction.reopened, actor, now, before)
    return commitment


def resolve(
    session: Session, commitment: Commitment, status: Status | str, *, actor: User,
    now: datetime, done_at: datetime | None = None, excuse_category: str | None = None,
    excuse: str = "", new_due_at: datetime | None = None, reason: str = "",
) -> Commitment:  # fmt: skip
    """One entry point for forms and the API: dispatch on the outcome the user chose."""
    match status:
        case Status.kept:
            return resolve_kept(session, commitment, actor=actor, now=now, done_at=done_at)
        case Status.broken:
            return resolve_broken(session, commitment, actor=actor, now=now,
                                  excuse_category=excuse_category, excuse=excuse)  # fmt: skip
        case Status.rescheduled:
            reschedule(session, commitment, actor=actor, now=now, new_due_at=new_due_at,
                       excuse_category=excuse_category, excuse=excuse)  # fmt: skip
            return commitment
        case Status.cancelled:
            return cancel(session, commitment, actor=actor, now=now, reason=reason)
    raise LedgerError("status", _l("Choose kept, broken, rescheduled or cancelled."))
