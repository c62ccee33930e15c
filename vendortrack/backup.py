"""The whole ledger as one JSON document, and back into an empty database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack import complaints
from vendortrack.database import UTCDateTime
from vendortrack.extensions import db
from vendortrack.scores import tally
from vendortrack.scores.rules import Rules, default_notified_at

FORMAT = 1
# Sums of the ledger, not facts: rebuilt on restore rather than trusted from a file.
DERIVED = frozenset({"score_bucket", "score_rollup", "score_tally_state", "complaint_rollup"})
BATCH = 1000


class BackupError(Exception):
    """A backup that cannot be restored here; the message says why, naming the table."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = message


def tables() -> list[sa.Table]:
    """The tables a backup holds, parents before children."""
    return [table for table in db.metadata.sorted_tables if table.name not in DERIVED]


def revision(session: Session) -> str:
    """The database's migration revision, as alembic recorded it."""
    versions = []
    if sa.inspect(session.connection()).has_table("alembic_version"):
        versions = session.scalars(sa.text("SELECT version_num FROM alembic_version")).all()
    if not versions:
        raise BackupError(_l("The database is not migrated; run: flask --app wsgi db upgrade"))
    return ",".join(sorted(versions))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _rows(session: Session, table: sa.Table) -> Iterator[dict[str, Any]]:
    query = sa.select(table).order_by(*table.primary_key.columns).execution_options(yield_per=BATCH)
    for row in session.execute(query).mappings():
        yield {key: _encode(value) for key, value in row.items()}


def write_backup(session: Session, out: IO[str], now: datetime) -> dict[str, int]:
    """Write every row of every non-derived table to `out`, one row at a time; rows per table."""
    header = {"format": FORMAT, "revision": revision(session), "created_at": now.isoformat()}
    out.write(json.dumps(header)[:-1] + ', "tables": {')
    counts: dict[str, int] = {}
    for number, table in enumerate(tables()):
        out.write(("," if number else "") + f"\n{json.dumps(table.name)}: [")
        counts[table.name] = 0
        for row in _rows(session, table):
            out.write(("," if counts[table.name] else "") + "\n" + json.dumps(row, ensure_ascii=False))
            counts[table.name] += 1
        out.write("]")
    out.write("\n}}\n")
    return counts


# --- restore ---------------------------------------------------------------------------------


def read_backup(stream: IO[str]) -> dict[str, Any]:
    """The parsed document, or a BackupError saying what is wrong with it."""
    try:
        document = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BackupError(
            _l("The file is not a vendortrack backup: it is not valid JSON (%(error)s).", error=str(error))
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise BackupError(_l("The file is not a vendortrack backup: it has no tables."))
    if document.get("format") != FORMAT:
        raise BackupError(
            _l(
                "The backup's format %(found)s is not one this version reads (%(format)d).",
                found=document.get("format"),
                format=FORMAT,
            )
        )
    return document


def _decoder(table: sa.Table):
    """Turns one row of the file back into column values, or says which table and column are wrong."""
    columns = {column.name: column for column in table.columns}

    def decode(number: int, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict) or set(row) != set(columns):
            raise BackupError(
                _l(
                    "Table %(table)s, row %(row)d: the columns are not this database's.",
                    table=table.name,
                    row=number,
                )
            )
        values = {}
        for name, value in row.items():
            column_type = columns[name].type
            try:
                if value is not None and isinstance(column_type, UTCDateTime):
                    value = datetime.fromisoformat(value)
                    if value.utcoffset() is None:
                        raise ValueError("no offset")
                elif value is not None and getattr(column_type, "enum_class", None) is not None:
                    value = column_type.enum_class(value)
            except (TypeError, ValueError):
                raise BackupError(
                    _l(
                        "Table %(table)s, row %(row)d, column %(column)s: %(value)s is not valid.",
                        table=table.name,
                        row=number,
                        column=name,
                        value=json.dumps(value)[:60],
                    )
                ) from None
            values[name] = value
        return values

    return decode


# --- backups of older revisions ----------------------------------------------------------------


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _from_before_complaints(rows: dict[str, Any]) -> None:
    """A backup made before complaints (a303e0498a58): no complaint tables, and commitments without
    `complaint_id` and `notified_at`. Its moves take the notice a move logged then is given
    (rules.default_notified_at: the moment logged, unknown for history), as the migration 168ca2e8ebba
    gave the moves already in a database."""
    for row in rows.get("commitment", []):
        if isinstance(row, dict) and "notified_at" not in row and "complaint_id" not in row:
            row["complaint_id"] = None
            row["notified_at"] = None
            if row.get("status") == "rescheduled" and row.get("resolved_at"):
                logged = default_notified_at(_moment(row["due_at"]), _moment(row["resolved_at"]))
                row["notified_at"] = row["resolved_at"] if logged is not None else None


def _from_before_complaint_rollups(rows: dict[str, Any]) -> None:
    """A backup made before the complaint rollups (168ca2e8ebba): complaints without `settles_at`,
    which the restore works out again anyway (it is derived, as the rollups are)."""
    for row in rows.get("complaint", []):
        if isinstance(row, dict):
            row.setdefault("settles_at", None)


def _from_before_rollup_notices(rows: dict[str, Any]) -> None:
    """A backup made before the rollups held the notice of moves (bf3f94c5f069): the rollups are
    derived and never in a backup (DERIVED), so its rows hold as they are."""


def _from_before_vendor_links(rows: dict[str, Any]) -> None:
    """A backup made before the vendor's links (ce5d3f837e83): no link tables; contacts without a
    language or zone, vendors that do not ask for confirmations, every event by one of us."""
    for table, defaults in (
        ("contact", {"language": None, "timezone": None}),
        ("vendor", {"ask_to_confirm": False}),
        ("ledger_event", {"actor_contact_id": None}),
        ("complaint_event", {"actor_contact_id": None}),
    ):
        for row in rows.get(table, []):
            if isinstance(row, dict):
                for column, value in defaults.items():
                    row.setdefault(column, value)


# The revisions a backup may be of besides this database's own: each step brings the file's rows one
# revision on, as its migration brings a database's tables. A migration that adds a column or a table
# holding facts adds its step here, so that older backups still restore.
CATCH_UP = {
    "a303e0498a58": ("168ca2e8ebba", _from_before_complaints),
    "168ca2e8ebba": ("bf3f94c5f069", _from_before_complaint_rollups),
    "bf3f94c5f069": ("ce5d3f837e83", _from_before_rollup_notices),
    "ce5d3f837e83": ("c71e117113fe", _from_before_vendor_links),
}


def catch_up(document: dict[str, Any], ours: str) -> None:
    """Bring an older backup's rows to this database's revision, when the steps between are known."""
    theirs = document.get("revision")
    while theirs != ours and theirs in CATCH_UP:
        theirs, step = CATCH_UP[theirs]
        step(document["tables"])
        document["revision"] = theirs


def check_empty(session: Session) -> None:
    """Refuse a database that holds any row: a restore never merges into a live ledger."""
    for table in tables():
        if session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            raise BackupError(
                _l(
                    "The database is not empty: table %(table)s has rows. Restore into a new "
                    "database migrated to head.",
                    table=table.name,
                )
            )


def _move_sequences(session: Session) -> None:
    """PostgreSQL hands out ids from sequences the inserts did not advance: move them past the rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables():
        if "id" not in table.columns or not table.columns["id"].primary_key:
            continue
        quoted = session.get_bind().dialect.identifier_preparer.quote(table.name)
        sequence = sa.func.pg_get_serial_sequence(quoted, "id")
        session.execute(sa.select(sa.func.setval(sequence, sa.func.max(table.c.id))))


def restore(session: Session, document: dict[str, Any], rules: Rules, now: datetime) -> dict[str, int]:
    """Load a read backup into this empty database; rows per table. The caller commits (or rolls back)."""
    ours = revision(session)
    catch_up(document, ours)
    if document.get("revision") != ours:
        raise BackupError(
            _l(
                "The backup is of database revision %(theirs)s but this database is at "
                "%(ours)s; migrate one of them to match.",
                theirs=document.get("revision"),
                ours=ours,
            )
        )
    known = {table.name for table in tables()}
    unknown = sorted(set(document["tables"]) - known)
    if unknown:
        raise BackupError(_l("Table %(table)s is not one this database has.", table=unknown[0]))
    check_empty(session)
    counts: dict[str, int] = {}
    for table in tables():
        rows = document["tables"].get(table.name, [])
        if not isinstance(rows, list):
            raise BackupError(_l("Table %(table)s is not a list of rows.", table=table.name))
        decode = _decoder(table)
        values = [decode(number, row) for number, row in enumerate(rows, start=1)]
        # Id order: a rescheduled commitment comes before the successor that points back to it.
        keys = [column.name for column in table.primary_key.columns]
        values.sort(key=lambda row: tuple(row[key] for key in keys))
        try:
            for start in range(0, len(values), BATCH):
                session.execute(sa.insert(table), values[start : start + BATCH])
        except sa.exc.IntegrityError as error:
            first_line = str(error.orig).splitlines()[0]
            raise BackupError(
                _l(
                    "Table %(table)s: the database refused its rows (%(error)s).",
                    table=table.name,
                    error=first_line,
                )
            ) from None
        counts[table.name] = len(values)
    _move_sequences(session)
    # Answer deadlines follow this installation's zone and working days, which may not be the source's.
    complaints.rework_deadlines(session, rules)
    # The sums again; the complaint rollups wait for the tally job (the scorecard reads every complaint
    # until then), so that each complaint's settles_at stays as the backup holds it.
    tally.rebuild(session, rules, now)
    return counts
