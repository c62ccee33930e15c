"""Vendors, contacts, commitments and events as rows for CSV and JSON downloads, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vendortrack.csvsafe import spreadsheet_safe
from vendortrack.models import Commitment, Contact, LedgerEvent, User, Vendor

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
)
EVENT_COLUMNS = (
    "id",
    "commitment_id",
    "vendor_id",
    "vendor",
    "actor_email",
    "at",
    "action",
    "before",
    "after",
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
        )
        .join(Vendor, Vendor.id == c.vendor_id)
        .outerjoin(Contact, Contact.id == c.contact_id)
        .join(User, User.id == c.owner_id)
        .order_by(c.id),
    )


def events(session: Session) -> Iterator[dict[str, Any]]:
    e, actor = LedgerEvent, aliased(User)
    return _stream(
        session,
        sa.select(
            e.id,
            e.commitment_id,
            e.vendor_id,
            Vendor.name.label("vendor"),
            actor.email.label("actor_email"),
            e.at,
            e.action,
            e.before,
            e.after,
        )
        .join(Vendor, Vendor.id == e.vendor_id)
        .outerjoin(actor, actor.id == e.actor_id)
        .order_by(e.id),
    )


# What a download holds: its rows, and the CSV's columns.
Download = tuple[Callable[[Session], Iterator[dict[str, Any]]], tuple[str, ...]]

# Each download by the name in its URL.
SETS: dict[str, Download] = {
    "vendors": (vendors, VENDOR_COLUMNS),
    "contacts": (contacts, CONTACT_COLUMNS),
    "commitments": (commitments, COMMITMENT_COLUMNS),
    "events": (events, EVENT_COLUMNS),
}
EVENT_LOG = "events"  # the set that is the whole event log, for those who read it (permissions.py)


def sets_for(*, reads_event_log: bool) -> dict[str, Download]:
    """The sets one reader may take: every one, the event log only for those who read it."""
    return {name: value for name, value in SETS.items() if reads_event_log or name != EVENT_LOG}


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
