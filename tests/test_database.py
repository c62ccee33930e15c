"""The database as the app uses it: schema without drift, SQLite's settings, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.extensions import db
from vendortrack.models import Commitment, Kind


def test_the_migrations_build_exactly_the_models_schema(app):
    """What `flask db check` checks, on each database the suite runs on."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_foreign_key_to_nothing_is_refused(app, session):
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(
            sa.text(
                "INSERT INTO contact (vendor_id, name, role, email, phone, created_at) "
                "VALUES (424242, 'Ghost', '', '', '', :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        session.flush()
    session.rollback()


def test_times_round_trip_aware_in_utc_from_any_offset(session, make_vendor, editor):
    tokyo = timezone(timedelta(hours=9))
    due = datetime(2026, 1, 15, 9, 30, tzinfo=tokyo)
    c = ledger.log_commitment(
        session, vendor=make_vendor(), kind=Kind.deadline, title="Invoice", due_at=due, actor=editor, now=NOW
    )
    session.commit()
    session.expire_all()
    stored = session.get(Commitment, c.id)
    assert stored.due_at == datetime(2026, 1, 15, 0, 30, tzinfo=UTC)
    assert stored.due_at.tzinfo is UTC
    # ... and comparisons in SQL agree with Python's.
    assert (
        session.scalar(sa.select(sa.func.count()).where(Commitment.due_at < due + timedelta(seconds=1))) == 1
    )
    assert session.scalar(sa.select(sa.func.count()).where(Commitment.due_at > due)) == 0


def test_a_naive_time_never_reaches_the_database(session, make_vendor, editor):
    vendor = make_vendor()
    c = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.deadline, title="Invoice", due_at=NOW, actor=editor, now=NOW
    )
    c.due_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.flush()
    session.rollback()
