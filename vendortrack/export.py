"""Vendors, contacts, commitments, complaints, events and the vendors' links and answers as rows for CSV
and JSON downloads, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from enum import Enum
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vendortrack.csvsafe import spreadsheet_safe
from vendortrack.models import (
    Commitment,
    Complaint,
    ComplaintEvent,
    Contact,
    LedgerEvent,
    User,
    Vendor,
    VendorAnswer,
    VendorLink,
    complaint_commitment,
)
from vendortrack.models.complaint import status_of

BATCH = 1000

VENDOR_COLUMNS = ("id", "name", "category", "website", "email", "phone", "notes", "created_at", "archived_at")
CONTACT_COLUMNS = ("id", "vendor_id", "vendor", "name", "role", "email", "phone", "created_at")
COMMITMENT_COLUMNS = (
    "id",
    "vendor_id",
    "vendor",
    "contact",
    "owner_email",
    "kind",
    "title",
    "due_at",
    "original_due_at",
    "status",
    "done_at",
    "excuse_category",
    "excuse",
    "reason",
    "rescheduled_from_id",
    "notified_at",
    "complaint_id",  # the complaint this promise is the vendor's dated answer to
)
COMPLAINT_COLUMNS = (
    "id",
    "vendor_id",
    "vendor",
    "contact",
    "owner_email",
    "title",
    "details",
    "severity",
    "channel",
    "raised_at",
    "answer_due_at",
    "status",
    "acknowledged_at",
    "case_owner_contact",
    "case_owner_name",
    "apologised",
    "dated_answer_at",
    "resolution",
    "resolved_at",
    "satisfied",
    "flagged_unanswered_at",
    "commitment_ids",  # the commitments it concerns
    "created_at",
    "updated_at",
)
COMPLAINT_EVENT_COLUMNS = (
    "id",
    "complaint_id",
    "vendor_id",
    "vendor",
    "actor_email",
    "actor_contact_id",  # the vendor's contact, when they acted through their link (no actor_email)
    "actor_contact",
    "at",
    "action",
    "before",
    "after",
    "reason",
)
EVENT_COLUMNS = (
    "id",
    "commitment_id",
    "vendor_id",
    "vendor",
    "actor_email",
    "actor_contact_id",
    "actor_contact",
    "at",
    "action",
    "before",
    "after",
)
# A link's token is never exported: only its hash is kept, and that stays in the backup alone.
VENDOR_LINK_COLUMNS = (
    "id",
    "vendor_id",
    "vendor",
    "contact_id",
    "contact",
    "commitment_id",  # the commitment as it stands: the link follows its moves
    "complaint_id",
    "asked_by_email",
    "asked_at",
    "automatic",
    "emailed_to",
    "expires_at",
    "revoked_at",
    "revoked_by_email",
    "first_opened_at",
    "last_opened_at",
    "opens",
    "first_answered_at",
)
VENDOR_ANSWER_COLUMNS = (
    "id",
    "link_id",
    "vendor_id",
    "vendor",
    "contact_id",
    "contact",
    "commitment_id",
    "complaint_id",
    "kind",
    "at",
    "state",
    "message",
    "proposed_due_at",
    "done_at",
    "answer_due_at",
    "case_owner_name",
    "apologised",
    "decided_at",
    "decided_by_email",
    "decision_note",
)


def plain(value: Any) -> Any:
    """A value as JSON and CSV carry it: times in ISO 8601 UTC, enums as their value."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _stream(session: Session, query: sa.Select) -> Iterator[dict[str, Any]]:
    # yield_per: a server-side cursor on PostgreSQL, so a million rows never sit in memory at once.
    for row in session.execute(query.execution_options(yield_per=BATCH)).mappings():
        yield {key: plain(value) for key, value in row.items()}


def vendors(session: Session) -> Iterator[dict[str, Any]]:
    return _stream(session, sa.select(*(getattr(Vendor, c) for c in VENDOR_COLUMNS)).order_by(Vendor.id))


def contacts(session: Session) -> Iterator[dict[str, Any]]:
    return _stream(
        session,
        sa.select(
            Contact.id,
            Contact.vendor_id,
            Vendor.name.label("vendor"),
            Contact.name,
            Contact.role,
            Contact.email,
            Contact.phone,
            Contact.created_at,
        )
        .join(Vendor, Vendor.id == Contact.vendor_id)
        .order_by(Contact.id),
    )


def commitments(session: Session) -> Iterator[dict[str, Any]]:
    c = Commitment
    return _stream(
        session,
        sa.select(
            c.id,
            c.vendor_id,
            Vendor.name.label("vendor"),
            Contact.name.label("contact"),
            User.email.label("owner_email"),
            c.kind,
            c.title,
            c.due_at,
            c.original_due_at,
            c.status,
            c.done_at,
            c.excuse_category,
            c.excuse,
            c.reason,
            c.rescheduled_from_id,
            c.notified_at,
            c.complaint_id,
        )
        .join(Vendor, Vendor.id == c.vendor_id)
        .outerjoin(Contact, Contact.id == c.contact_id)
        .join(User, User.id == c.owner_id)
        .order_by(c.id),
    )


def _events_of(session: Session, event, subject, *extra) -> Iterator[dict[str, Any]]:
    """An event log's rows (the ledger's, or the complaints'), each with its vendor and actor: one of
    us, or the vendor's contact acting through their link."""
    actor, contact = aliased(User), aliased(Contact)
    return _stream(
        session,
        sa.select(
            event.id,
            subject,
            event.vendor_id,
            Vendor.name.label("vendor"),
            actor.email.label("actor_email"),
            event.actor_contact_id,
            contact.name.label("actor_contact"),
            event.at,
            event.action,
            event.before,
            event.after,
            *extra,
        )
        .join(Vendor, Vendor.id == event.vendor_id)
        .outerjoin(actor, actor.id == event.actor_id)
        .outerjoin(contact, contact.id == event.actor_contact_id)
        .order_by(event.id),
    )


def events(session: Session) -> Iterator[dict[str, Any]]:
    return _events_of(session, LedgerEvent, LedgerEvent.commitment_id)


def complaints(session: Session) -> Iterator[dict[str, Any]]:
    c, contact, case_owner = Complaint, aliased(Contact), aliased(Contact)
    query = (
        sa.select(
            c.id,
            c.vendor_id,
            Vendor.name.label("vendor"),
            contact.name.label("contact"),
            User.email.label("owner_email"),
            c.title,
            c.details,
            c.severity,
            c.channel,
            c.raised_at,
            c.answer_due_at,
            c.acknowledged_at,
            case_owner.name.label("case_owner_contact"),
            c.case_owner_name,
            c.apologised,
            c.dated_answer_at,
            c.resolution,
            c.resolved_at,
            c.satisfied,
            c.flagged_unanswered_at,
            c.created_at,
            c.updated_at,
        )
        .join(Vendor, Vendor.id == c.vendor_id)
        .outerjoin(contact, contact.id == c.contact_id)
        .outerjoin(case_owner, case_owner.id == c.case_owner_contact_id)
        .join(User, User.id == c.owner_id)
        .order_by(c.id)
    )
    rows = iter(session.execute(query.execution_options(yield_per=BATCH)))
    # The concerned commitments a batch at a time: one statement per thousand complaints, not per one.
    while batch := list(islice(rows, BATCH)):
        concerned: dict[int, list[int]] = {row.id: [] for row in batch}
        for complaint_id, commitment_id in session.execute(
            sa.select(complaint_commitment.c.complaint_id, complaint_commitment.c.commitment_id)
            .where(complaint_commitment.c.complaint_id.in_(list(concerned)))
            .order_by(complaint_commitment.c.complaint_id, complaint_commitment.c.commitment_id)
        ):
            concerned[complaint_id].append(commitment_id)
        for row in batch:
            values = {key: plain(value) for key, value in row._mapping.items()}
            values["status"] = status_of(row.resolution, row.acknowledged_at).value
            values["commitment_ids"] = concerned[row.id]
            yield {column: values[column] for column in COMPLAINT_COLUMNS}


def complaint_events(session: Session) -> Iterator[dict[str, Any]]:
    return _events_of(session, ComplaintEvent, ComplaintEvent.complaint_id, ComplaintEvent.reason)


def vendor_links(session: Session) -> Iterator[dict[str, Any]]:
    link, asked_by, revoked_by = VendorLink, aliased(User), aliased(User)
    return _stream(
        session,
        sa.select(
            link.id,
            link.vendor_id,
            Vendor.name.label("vendor"),
            link.contact_id,
            Contact.name.label("contact"),
            link.commitment_id,
            link.complaint_id,
            asked_by.email.label("asked_by_email"),
            link.asked_at,
            link.automatic,
            link.emailed_to,
            link.expires_at,
            link.revoked_at,
            revoked_by.email.label("revoked_by_email"),
            link.first_opened_at,
            link.last_opened_at,
            link.opens,
            link.first_answered_at,
        )
        .join(Vendor, Vendor.id == link.vendor_id)
        .join(Contact, Contact.id == link.contact_id)
        .join(asked_by, asked_by.id == link.asked_by_id)
        .outerjoin(revoked_by, revoked_by.id == link.revoked_by_id)
        .order_by(link.id),
    )


def vendor_answers(session: Session) -> Iterator[dict[str, Any]]:
    """What contacts answered through their links, their own words as they wrote them (the CSV makes
    each cell formula-safe); the address each came from is kept for the rate limit only."""
    answer = VendorAnswer
    return _stream(
        session,
        sa.select(
            answer.id,
            answer.link_id,
            answer.vendor_id,
            Vendor.name.label("vendor"),
            answer.contact_id,
            Contact.name.label("contact"),
            answer.commitment_id,
            answer.complaint_id,
            answer.kind,
            answer.at,
            answer.state,
            answer.message,
            answer.proposed_due_at,
            answer.done_at,
            answer.answer_due_at,
            answer.case_owner_name,
            answer.apologised,
            answer.decided_at,
            User.email.label("decided_by_email"),
            answer.decision_note,
        )
        .join(Vendor, Vendor.id == answer.vendor_id)
        .join(Contact, Contact.id == answer.contact_id)
        .outerjoin(User, User.id == answer.decided_by_id)
        .order_by(answer.id),
    )


# What a download holds: its rows, and the CSV's columns.
Download = tuple[Callable[[Session], Iterator[dict[str, Any]]], tuple[str, ...]]

# Each download by the name in its URL.
SETS: dict[str, Download] = {
    "vendors": (vendors, VENDOR_COLUMNS),
    "contacts": (contacts, CONTACT_COLUMNS),
    "commitments": (commitments, COMMITMENT_COLUMNS),
    "complaints": (complaints, COMPLAINT_COLUMNS),
    "events": (events, EVENT_COLUMNS),
    "complaint_events": (complaint_events, COMPLAINT_EVENT_COLUMNS),
    "vendor_links": (vendor_links, VENDOR_LINK_COLUMNS),
    "vendor_answers": (vendor_answers, VENDOR_ANSWER_COLUMNS),
}
# The sets that are the event log, every change and who made it, for those who read it (permissions.py).
EVENT_LOG = frozenset({"events", "complaint_events"})


def sets_for(*, reads_event_log: bool) -> dict[str, Download]:
    """The sets one reader may take: every one, the event log only for those who read it."""
    return {name: value for name, value in SETS.items() if reads_event_log or name not in EVENT_LOG}


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return spreadsheet_safe(value)


def csv_chunks(columns: Iterable[str], rows: Iterable[dict[str, Any]], lines: int = 200) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (so Excel reads Łódź right), every cell formula-safe, in chunks."""
    columns = tuple(columns)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(row[column]) for column in columns])
        if count % lines == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def ledger_json(session: Session, now: datetime, sets: dict[str, Download] = SETS) -> Iterator[str]:
    """The sets as one JSON document, {"exported_at", "vendors": [...], ...}, a row at a time."""
    yield json.dumps({"exported_at": plain(now)})[:-1]
    for name, (rows, _columns) in sets.items():
        yield f', "{name}": ['
        for number, row in enumerate(rows(session)):
            yield ("," if number else "") + "\n" + json.dumps(row, ensure_ascii=False)
        yield "]"
    yield "}\n"
