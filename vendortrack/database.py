"""How vendortrack talks to its database: the declarative base, UTC datetimes, SQLite locking."""

from __future__ import annotations

import enum
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, registry


class UTCDateTime(sa.types.TypeDecorator):
    """Stores UTC and hands back aware datetimes, on SQLite (which drops offsets) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # One registry carrying both: Flask-SQLAlchemy on SQLAlchemy 2.1 refuses them side by side.
    registry = registry(
        metadata=sa.MetaData(
            naming_convention={
                "ix": "ix_%(column_0_label)s",
                "uq": "uq_%(table_name)s_%(column_0_name)s",
                "ck": "ck_%(table_name)s_%(constraint_name)s",
                "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                "pk": "pk_%(table_name)s",
            }
        ),
        type_annotation_map={
            datetime: UTCDateTime(),
            # Enums as plain strings: no PostgreSQL enum types to migrate when one is added.
            enum.Enum: sa.Enum(enum.Enum, native_enum=False, length=32),
        },
    )


# Whether the current unit of work will write. Web requests set it from the HTTP method;
# CLI commands and jobs keep the default and always take SQLite's write lock up front.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_sqlite(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for transactions that will write.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    whatever the busy timeout, so writers take the lock when they begin (SQLAlchemy's recipe:
    let the driver stop issuing BEGIN, and emit our own).
    """

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
