"""The writes to a complaint: raise, edit, answer, dated answer, resolve, reopen; each appends an event.

As in the ledger, every function takes the session, the rules and `now`, checks its input, changes
the rows and returns; the caller commits. InvalidInput names the field that was wrong and changes
nothing. The order of a complaint's moments is kept: no answer before it was raised, no dated answer
before the answer, no resolution before it was raised, and none of them in the future.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from vendortrack import ledger
from vendortrack.models import (
    Channel,
    Commitment,
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    Contact,
    Kind,
    Resolution,
    Severity,
    User,
    Vendor,
)
from vendortrack.scores import responsiveness
from vendortrack.scores.rules import Rules, answer_deadline
from vendortrack.timeutil import CLOCK_SKEW
from vendortrack.validation import InvalidInput

TITLE_MAX = ledger.TITLE_MAX

# What an event records, in the order the history shows it.
TRACKED = (
    "title",
    "details",
    "severity",
    "channel",
    "raised_at",
    "contact_id",
    "owner_id",
    "commitment_ids",
    "acknowledged_at",
    "case_owner_name",
    "case_owner_contact_id",
    "apologised",
    "dated_answer_at",
    "resolution",
    "resolved_at",
    "satisfied",
)


def snapshot(complaint: Complaint) -> dict[str, Any]:
    state = {name: ledger.recorded(getattr(complaint, name)) for name in TRACKED if name != "commitment_ids"}
    state["commitment_ids"] = sorted(c.id for c in complaint.commitments)
    return state


def _record(
    session: Session,
    complaint: Complaint,
    action: ComplaintAction,
    actor: User | None,
    now: datetime,
    before: dict[str, Any],
    *,
    reason: str = "",
    extra: dict[str, Any] | None = None,
    by_contact: Contact | None = None,
) -> None:
    session.flush()
    after = snapshot(complaint)
    changed = [k for k in TRACKED if before.get(k) != after[k]]
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            vendor_id=complaint.vendor_id,
            actor_id=actor.id if actor is not None else None,
            actor_contact_id=by_contact.id if by_contact is not None else None,
            at=now,
            action=action,
            before={k: before[k] for k in changed if k in before},
            after={k: after[k] for k in changed} | (extra or {}),
            reason=reason,
        )
    )
    session.flush()
    session.expire(complaint, ["events"])
    # The scorecard's cache of the vendor's settled complaints follows, in the same transaction.
    responsiveness.recount(session, complaint.vendor_id)


def note_vendor_answer(
    session: Session, complaint: Complaint, *, contact: Contact, now: datetime, answer: dict[str, Any]
) -> None:
    """An answer through the vendor's link, in the complaint's history, by the contact who gave it,
    for what no other step records (the answer itself). It changes none of the complaint's facts."""
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            vendor_id=complaint.vendor_id,
            actor_contact_id=contact.id,
            at=now,
            action=ComplaintAction.vendor_answered,
            before={},
            after={k: ledger.recorded(v) for k, v in answer.items()},
        )
    )
    session.flush()
    session.expire(complaint, ["events"])


# -- the checks --------------------------------------------------------------------------------


def _check_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("title", _l("Say in a few words what went wrong."))
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


def _check_past(field: str, moment: datetime | None, now: datetime) -> datetime:
    """A moment that has happened: given, with a zone, in the ledger's years, not in the future."""
    moment = ledger.check_moment(field, moment)
    if moment > now + CLOCK_SKEW:
        raise InvalidInput(field, _l("This moment is in the future; log it once it has happened."))
    return moment


def _choice(field: str, enum: type[Enum], value: Any, message: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(field, message) from None


def _check_contact(vendor: Vendor, contact: Contact | None, field: str = "contact_id") -> Contact | None:
    if contact is not None and contact.vendor_id != vendor.id:
        raise InvalidInput(field, _l("This contact works for another vendor."))
    return contact


def _check_commitments(vendor: Vendor, commitments: Iterable[Commitment]) -> list[Commitment]:
    commitments = list(dict.fromkeys(commitments))
    if any(c.vendor_id != vendor.id for c in commitments):
        raise InvalidInput("commitment_ids", _l("A complaint can only concern this vendor's commitments."))
    return commitments


def _check_order(complaint: Complaint) -> None:
    check_order(
        raised_at=complaint.raised_at,
        acknowledged_at=complaint.acknowledged_at,
        dated_answer_at=complaint.dated_answer_at,
        resolved_at=complaint.resolved_at,
        withdrawn=complaint.resolution == Resolution.withdrawn,
    )


def check_order(
    *,
    raised_at: datetime,
    acknowledged_at: datetime | None = None,
    dated_answer_at: datetime | None = None,
    resolved_at: datetime | None = None,
    withdrawn: bool = False,
) -> None:
    """The moments of a complaint in their order; the field named is the one that came too early."""
    if acknowledged_at is not None and acknowledged_at < raised_at:
        raise InvalidInput("acknowledged_at", _l("The answer cannot come before the complaint was raised."))
    if dated_answer_at is not None:
        if acknowledged_at is None:
            raise InvalidInput(
                "dated_answer_at", _l("Record the vendor's first answer before its dated answer.")
            )
        if dated_answer_at < acknowledged_at:
            raise InvalidInput(
                "dated_answer_at", _l("The dated answer cannot come before the vendor's first answer.")
            )
    if resolved_at is not None and resolved_at < raised_at:
        if withdrawn:
            raise InvalidInput("resolved_at", _l("It cannot be withdrawn before it was raised."))
        raise InvalidInput("resolved_at", _l("It cannot be resolved before it was raised."))


def check_moments(
    *,
    raised_at: datetime,
    now: datetime,
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> None:
    """What the writes check of a complaint's moments (none in the future, each in its order), for a
    caller that names every problem before anything is written: the import's preview."""
    for field, moment in (
        ("raised_at", raised_at),
        ("acknowledged_at", acknowledged_at),
        ("resolved_at", resolved_at),
    ):
        if moment is not None:
            _check_past(field, moment, now)
    check_order(raised_at=raised_at, acknowledged_at=acknowledged_at, resolved_at=resolved_at)


def _check_owner(owner: User) -> User:
    if not owner.is_active or not owner.can_write:
        raise InvalidInput("owner_id", _l("Choose an active editor or admin to follow the complaint up."))
    return owner


# -- the writes --------------------------------------------------------------------------------


def raise_complaint(
    session: Session,
    *,
    vendor: Vendor,
    title: str,
    severity: Severity | str,
    channel: Channel | str,
    raised_at: datetime | None,
    actor: User,
    now: datetime,
    rules: Rules,
    details: str = "",
    contact: Contact | None = None,
    owner: User | None = None,
    commitments: Sequence[Commitment] = (),
) -> Complaint:
    """Log a complaint we raised with the vendor; `raised_at` may be in the past, for history."""
    if vendor.is_archived:
        raise InvalidInput("vendor_id", _l("This vendor is archived; unarchive it to log more."))
    raised_at = _check_past("raised_at", raised_at or now, now)
    complaint = Complaint(
        vendor=vendor,
        title=_check_title(title),
        details=(details or "").strip(),
        severity=_choice("severity", Severity, severity, _l("Choose minor, major or critical.")),
        channel=_choice("channel", Channel, channel, _l("Choose email, phone, meeting or other.")),
        raised_at=raised_at,
        answer_due_at=answer_deadline(raised_at, rules),
        contact=_check_contact(vendor, contact),
        owner=_check_owner(owner or actor),
        created_by=actor,
        apologised=False,
        case_owner_name="",
        created_at=now,
        updated_at=now,
    )
    complaint.commitments = _check_commitments(vendor, commitments)
    session.add(complaint)
    session.flush()
    _record(session, complaint, ComplaintAction.raised, actor, now, before={})
    return complaint


EDITABLE = (
    "title",
    "details",
    "severity",
    "channel",
    "raised_at",
    "contact",
    "owner",
    "commitments",
    "acknowledged_at",
    "case_owner_name",
    "case_owner_contact",
    "apologised",
    "dated_answer_at",
    "resolved_at",
    "satisfied",
)


def edit_complaint(
    session: Session, complaint: Complaint, *, actor: User, now: datetime, rules: Rules, **changes: Any
) -> Complaint:
    """Correct what was logged, at any step; the history keeps what it was."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], _l("This field cannot be edited."))
    if "acknowledged_at" in changes and changes["acknowledged_at"] is None and complaint.dated_answer_at:
        raise InvalidInput("acknowledged_at", _l("A complaint with a dated answer has been answered."))
    if "resolved_at" in changes and complaint.resolution is None:
        raise InvalidInput("resolved_at", _l("This complaint is not resolved."))
    before = snapshot(complaint)
    values: dict[str, Any] = {}
    for name, value in changes.items():
        match name:
            case "title":
                value = _check_title(value)
            case "details" | "case_owner_name":
                value = (value or "").strip()
            case "severity":
                value = _choice(name, Severity, value, _l("Choose minor, major or critical."))
            case "channel":
                value = _choice(name, Channel, value, _l("Choose email, phone, meeting or other."))
            case "raised_at" | "resolved_at":
                value = _check_past(name, value, now)
            case "acknowledged_at" | "dated_answer_at":
                value = None if value is None else _check_past(name, value, now)
            case "contact":
                value = _check_contact(complaint.vendor, value)
            case "case_owner_contact":
                value = _check_contact(complaint.vendor, value, "case_owner_contact_id")
            case "owner":
                if value.id != complaint.owner_id:
                    _check_owner(value)
            case "commitments":
                value = _check_commitments(complaint.vendor, value)
            case "apologised":
                value = bool(value)
        values[name] = value
    with session.no_autoflush:
        for name, value in values.items():
            setattr(complaint, name, value)
        if "raised_at" in values:
            complaint.answer_due_at = answer_deadline(complaint.raised_at, rules)
        _check_order(complaint)
    if snapshot(complaint) == before:
        return complaint  # nothing changed: no event, no noise in the history
    complaint.updated_at = now
    _record(session, complaint, ComplaintAction.edited, actor, now, before)
    return complaint


def answer(
    session: Session,
    complaint: Complaint,
    *,
    at: datetime | None,
    actor: User | None,
    now: datetime,
    case_owner_name: str = "",
    case_owner_contact: Contact | None = None,
    apologised: bool = False,
    by_contact: Contact | None = None,
) -> Complaint:
    """The vendor took the case up: when, who at the vendor owns it, whether they apologised.
    `by_contact` (and no `actor`) when the vendor's contact answered through their link."""
    if complaint.acknowledged_at is not None:
        raise InvalidInput("acknowledged_at", _l("The vendor's answer is already recorded; edit it instead."))
    before = snapshot(complaint)
    with session.no_autoflush:
        complaint.acknowledged_at = _check_past("acknowledged_at", at or now, now)
        complaint.case_owner_contact = _check_contact(
            complaint.vendor, case_owner_contact, "case_owner_contact_id"
        )
        complaint.case_owner_name = "" if case_owner_contact is not None else (case_owner_name or "").strip()
        complaint.apologised = bool(apologised)
        _check_order(complaint)
    complaint.updated_at = now
    _record(session, complaint, ComplaintAction.answered, actor, now, before, by_contact=by_contact)
    return complaint


def give_dated_answer(
    session: Session,
    complaint: Complaint,
    *,
    due_at: datetime | None,
    actor: User | None,
    now: datetime,
    at: datetime | None = None,
    by_contact: Contact | None = None,
) -> Commitment:
    """The vendor commits to an answer by `due_at`: a promise in the ledger, scored as every promise.

    Returns the promise. A vendor that later moves the date reschedules that promise, whose
    follow-up stays linked to the complaint.
    """
    if complaint.answer_promise is not None:
        raise InvalidInput(
            "due_at", _l("The vendor already gave a dated answer; reschedule its promise to move the date.")
        )
    before = snapshot(complaint)
    with session.no_autoflush:
        complaint.dated_answer_at = _check_past("at", at or now, now)
        try:
            _check_order(complaint)
        except InvalidInput as refused:
            raise InvalidInput("at", refused.message) from None
    due_at = ledger.check_moment("due_at", due_at)
    if due_at <= complaint.dated_answer_at:
        # A date already gone when they named it would count as broken the moment it is logged.
        raise InvalidInput("due_at", _l("The promised date must come after the moment the vendor gave it."))
    # Our complaint's owner follows the promise up; if they cannot any more, whoever logs it (the
    # vendor's contact, through their link, is not one of us: the owner stays, and is refused).
    usable = complaint.owner.is_active and complaint.owner.can_write
    owner = complaint.owner if usable or actor is None else actor
    promise = ledger.log_commitment(
        session,
        vendor=complaint.vendor,
        kind=Kind.promise,
        # The complaint's own words, in no one's language: the pages name it a dated answer (complaint_id).
        title=complaint.title,
        due_at=due_at,
        actor=actor,
        now=now,
        contact=complaint.case_owner_contact or complaint.contact,
        owner=owner,
        complaint_id=complaint.id,
        by_contact=by_contact,
    )
    complaint.updated_at = now
    session.expire(complaint, ["answer_promises"])
    _record(
        session,
        complaint,
        ComplaintAction.dated_answer,
        actor,
        now,
        before,
        extra={"promise_id": promise.id},
        by_contact=by_contact,
    )
    return promise


def resolve(
    session: Session,
    complaint: Complaint,
    resolution: Resolution | str,
    *,
    actor: User,
    now: datetime,
    at: datetime | None = None,
    satisfied: bool | None = None,
) -> Complaint:
    """Fixed, compensated or declined by the vendor; or withdrawn by us, which takes it out of the count."""
    if complaint.resolution is not None:
        raise InvalidInput("resolution", _l("This complaint is already closed; reopen it first."))
    resolution = _choice(
        "resolution", Resolution, resolution, _l("Choose fixed, compensated, declined or withdrawn.")
    )
    before = snapshot(complaint)
    with session.no_autoflush:
        complaint.resolution = resolution
        complaint.resolved_at = _check_past("resolved_at", at or now, now)
        # Whether we were satisfied says nothing of a complaint we took back.
        complaint.satisfied = None if resolution == Resolution.withdrawn else satisfied
        _check_order(complaint)
    complaint.updated_at = now
    action = ComplaintAction.withdrawn if resolution == Resolution.withdrawn else ComplaintAction.resolved
    _record(session, complaint, action, actor, now, before)
    return complaint


def reopen(session: Session, complaint: Complaint, *, reason: str, actor: User, now: datetime) -> Complaint:
    """Back to open (answered or waiting, as its answer says), with the reason in its history."""
    if complaint.resolution is None:
        raise InvalidInput("resolution", _l("This complaint is still open."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason", _l("Say why the complaint is reopened."))
    before = snapshot(complaint)
    complaint.resolution = complaint.resolved_at = complaint.satisfied = None
    complaint.updated_at = now
    _record(session, complaint, ComplaintAction.reopened, actor, now, before, reason=reason)
    return complaint


def bring_up_to_date(session: Session, rules: Rules, now: datetime) -> int | None:
    """The tally job's step for complaints: the stored answer deadlines worked out again when the
    time zone or the working days changed, then every complaint's settles_at and every vendor's
    rollup of its settled complaints, through `now`. Returns how many deadlines changed; None while
    the score sums, whose state row the cache shares, are not built. The caller commits."""
    state = responsiveness.cache_state(session)
    if state is None:
        return None
    changed = 0 if responsiveness.deadlines_alike(state.rules, rules) else rework_deadlines(session, rules)
    responsiveness.rebuild(session, rules, now)
    return changed


def rework_deadlines(session: Session, rules: Rules) -> int:
    """Every stored answer deadline worked out again, after the time zone or the working days changed."""
    changed = 0
    for complaint_id, raised_at, stored in session.execute(
        sa.select(Complaint.id, Complaint.raised_at, Complaint.answer_due_at)
    ):
        deadline = answer_deadline(raised_at, rules)
        if deadline != stored:
            session.execute(
                sa.update(Complaint).where(Complaint.id == complaint_id).values(answer_due_at=deadline)
            )
            changed += 1
    return changed
