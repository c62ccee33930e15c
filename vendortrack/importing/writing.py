"""Writing a checked import through the ledger, row by row, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vendortrack import complaints, ledger
from vendortrack.importing.checking import COMPLAINT_FIELD_COLUMNS, ComplaintPlan, Preview, RowPlan, preview
from vendortrack.importing.reading import VENDOR_EXTRAS, Sheet
from vendortrack.models import Commitment, Contact, Role, Status, User, Vendor
from vendortrack.models.vendor import name_key
from vendortrack.scores import tally
from vendortrack.scores.rules import Rules
from vendortrack.validation import InvalidInput
from vendortrack.vendors import add_contact, create_vendor, update_vendor

PROGRESS_EVERY = 50  # rows written between two progress reports


class ImportFailed(Exception):
    """The import could not be committed; nothing was written. `row` and `column` say where."""

    def __init__(self, row: int, column: str, message: Any):
        super().__init__(row, column, message)
        self.row, self.column, self.message = row, column, message

    def __str__(self) -> str:
        return str(self.message)


def default_actor(session: Session) -> User | None:
    """The first active admin: whose name the history records when nobody is named."""
    return session.scalar(
        sa.select(User).where(User.role == Role.admin, User.disabled_at.is_(None)).order_by(User.id).limit(1)
    )


def checked_plan(
    session: Session, sheet: Sheet, *, timezone: str, now: datetime, date_format: str = "auto"
) -> Preview:
    """The preview, or ImportFailed naming the first problem: only a clean file may be written."""
    plan = preview(session, sheet, timezone=timezone, now=now, date_format=date_format)
    if plan.problems:
        first = plan.problems[0]
        raise ImportFailed(first.row, first.column, first.message)
    return plan


def write_plan(
    session: Session,
    plan: Preview,
    *,
    actor: User,
    now: datetime,
    rules: Rules,
    every: int = PROGRESS_EVERY,
) -> Iterator[int]:
    """Write every row through the ledger, yielding how many are written every `every` rows and at the end.

    A failure rolls the session back and raises ImportFailed; the caller commits after the last yield.
    """
    row = 0
    try:
        # The score sums are recounted once per vendor and month, after the last row, not per row.
        with tally.batched(session):
            for done, row_plan in enumerate(plan.plans, start=1):
                row = row_plan.row
                _write_row(session, row_plan, actor=actor, now=now, rules=rules)
                if done % every == 0 and done < len(plan.plans):
                    yield done
    except InvalidInput as error:
        session.rollback()
        raise ImportFailed(row, error.field, error.message) from None
    except Exception:
        session.rollback()
        raise
    yield len(plan.plans)


def commit_import(
    session: Session,
    sheet: Sheet,
    *,
    actor: User,
    now: datetime,
    rules: Rules,
    timezone: str,
    date_format: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> Preview:
    """Write every row through the ledger, or nothing: the caller commits, a failure rolls back.

    `progress(done, total)` hears how far the writing got, every PROGRESS_EVERY rows and at the end.
    """
    plan = checked_plan(session, sheet, timezone=timezone, now=now, date_format=date_format)
    for done in write_plan(session, plan, actor=actor, now=now, rules=rules):
        if progress is not None:
            progress(done, len(plan.plans))
    return plan


def _write_row(session: Session, plan: RowPlan, *, actor: User, now: datetime, rules: Rules) -> None:
    values = plan.values
    key = name_key(plan.vendor)
    vendor = session.scalar(sa.select(Vendor).where(Vendor.name_key == key))
    extras = {name: values[name] for name in VENDOR_EXTRAS if values.get(name)}
    if vendor is None:
        vendor = create_vendor(session, now=now, name=plan.vendor, **extras)
    elif extras:
        update_vendor(session, vendor, **extras)
    contact = None
    if plan.contact:
        contact = next((c for c in vendor.contacts if c.name.casefold() == plan.contact.casefold()), None)
        if contact is None:
            contact = add_contact(
                session,
                vendor,
                now=now,
                name=plan.contact,
                role=values.get("contact_role", ""),
                email=values.get("contact_email", ""),
                phone=values.get("contact_phone", ""),
            )
    if plan.complaint is not None:
        try:
            _write_complaint(session, plan, vendor, contact, actor=actor, now=now, rules=rules)
        except InvalidInput as refused:  # named as the file names it
            raise InvalidInput(
                COMPLAINT_FIELD_COLUMNS.get(refused.field, refused.field), refused.message
            ) from None
        return
    if not plan.has_commitment:
        return
    commitment: Commitment = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=plan.kind,
        title=plan.title,
        due_at=plan.due_at,
        actor=actor,
        now=now,
        contact=contact,
        notes=values.get("notes", ""),
    )
    match plan.status:
        case Status.kept:
            ledger.resolve_kept(session, commitment, actor=actor, now=now, done_at=plan.done_at)
        case Status.broken:
            ledger.resolve_broken(
                session,
                commitment,
                actor=actor,
                now=now,
                excuse_category=plan.excuse_category,
                excuse=values.get("excuse", ""),
            )
        case Status.rescheduled:
            # A moved date in the file is history, confirmed by committing the previewed rows.
            ledger.reschedule(
                session,
                commitment,
                actor=actor,
                now=now,
                new_due_at=plan.new_due_at,
                excuse_category=plan.excuse_category,
                excuse=values.get("excuse", ""),
                confirm_past=True,
                notified_at=plan.notified_at,
            )
        case Status.cancelled:
            ledger.cancel(session, commitment, actor=actor, now=now, reason=values.get("reason", ""))


def _write_complaint(
    session: Session,
    plan: RowPlan,
    vendor: Vendor,
    contact: Contact | None,
    *,
    actor: User,
    now: datetime,
    rules: Rules,
) -> None:
    """Raise the complaint, then answer and resolve it as the row says, each step through complaints.py."""
    facts: ComplaintPlan = plan.complaint
    complaint = complaints.raise_complaint(
        session,
        vendor=vendor,
        title=plan.title,
        severity=facts.severity,
        channel=facts.channel,
        raised_at=facts.raised_at,
        actor=actor,
        now=now,
        rules=rules,
        details=plan.values.get("notes", ""),
        contact=contact,
    )
    if facts.answered_at is not None:
        # The vendor's person who owns the case: one of its contacts when the name is theirs.
        owner = next((c for c in vendor.contacts if c.name.casefold() == facts.case_owner.casefold()), None)
        complaints.answer(
            session,
            complaint,
            at=facts.answered_at,
            actor=actor,
            now=now,
            case_owner_name=facts.case_owner,
            case_owner_contact=owner if facts.case_owner else None,
            apologised=facts.apologised,
        )
    if facts.resolution is not None:
        complaints.resolve(
            session,
            complaint,
            facts.resolution,
            actor=actor,
            now=now,
            at=facts.resolved_at,
            satisfied=facts.satisfied,
        )
