"""How vendortrack talks to its database: the declarative base, UTC datetimes, Core rows, SQLite locking."""

from __future__ import annotations

import enum
import fcntl
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import MANYTOONE, DeclarativeBase, Session, registry


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


def core(session: Session) -> sa.Connection:
    """The session's connection, inside its transaction, for Core statements that load no objects.

    Session.execute puts every statement through the ORM's steps (autoflush, compile state, result
    wrapping): 0.04–0.07 ms a statement over the connection's own, or a tenth of a ledger write with
    its half-dozen statements. What the session holds unflushed is flushed first, as it would be.
    """
    session.flush()
    return session.connection()


def new_row_values(table: sa.Table) -> dict[str, Any]:
    """What a new row holds in the columns its writer may leave out, as the table declares it.

    A column's scalar default, or None for a nullable column with no default at all; a column whose
    default is computed (a callable, the server's) is left to the database, and an object built from
    these values reads it back when first used. Built from the table, so a new column is never missed.
    """
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key:
            continue
        if column.default is not None:
            if column.default.is_scalar:
                values[column.key] = column.default.arg
        elif column.server_default is None and column.nullable:
            values[column.key] = None
    return values


def relationships_behind(model: type) -> dict[str, tuple[str, ...]]:
    """The many-to-one relationships each foreign key column stands behind: {"owner_id": ("owner",)}."""
    behind: dict[str, tuple[str, ...]] = {}
    for relationship in sa.inspect(model).relationships:
        if relationship.direction is MANYTOONE:
            for column in relationship.local_columns:
                behind[column.key] = (*behind.get(column.key, ()), relationship.key)
    return behind


# Whether the current transaction will write. A request reads without it until it writes through
# `unit_of_work.writing`, which alone sets it; CLI commands, jobs and test code keep the default
# and always take SQLite's write lock up front.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_sqlite(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for transactions that will write.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    whatever the busy timeout, so writers take the lock when they begin (SQLAlchemy's recipe:
    let the driver stop issuing BEGIN, and emit our own).
    """

    queue = WriterQueue(engine.url.database)

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
        if write_intent.get():
            queue.wait_turn(connection.connection.dbapi_connection)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    @sa.event.listens_for(engine, "commit")
    def on_commit(connection):
        # Commit here rather than after this hook, so the next writer is let in only once it is done;
        # the driver's own commit then finds no transaction and does nothing.
        dbapi_connection = connection.connection.dbapi_connection
        if queue.holds(dbapi_connection):
            connection.exec_driver_sql("COMMIT")
            queue.done(dbapi_connection)

    @sa.event.listens_for(engine, "rollback")
    def on_rollback(connection):
        # A connection dropped mid-statement (errors.drop_interrupted_connection) has no DBAPI
        # connection left to ask for; closing it gave up its turn (on_close).
        if not connection.invalidated:
            queue.done(connection.connection.dbapi_connection)

    @sa.event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, _record):
        queue.done(dbapi_connection)  # a connection handed back mid-transaction holds no turn

    @sa.event.listens_for(engine, "close")
    def on_close(dbapi_connection, _record):
        queue.forget(dbapi_connection)


class WriterQueue:
    """SQLite's writers take turns in the kernel's queue of a lock file, not in SQLite's busy handler.

    SQLite lets one writer in at a time, and one that finds the lock taken sleeps and retries
    (1, 2, 5, 10, 15, 20, 25... ms), however soon the lock is free. Under load the sleeps, not the
    work, make the latency, and leave the CPU idle. An exclusive flock on a file beside the database
    is handed to the next waiter the moment it is released, by every process and thread alike (each
    connection opens the file itself, and flock locks belong to the open file).
    """

    def __init__(self, database: str | None):
        self.path = f"{database}-writers.lock" if database and database != ":memory:" else None
        self._files: dict[int, Any] = {}  # id(dbapi connection) -> its open lock file
        self._held: set[int] = set()

    def wait_turn(self, dbapi_connection) -> None:
        if self.path is None:
            return
        key = id(dbapi_connection)
        if key not in self._files:
            self._files[key] = open(self.path, "a+b")  # noqa: SIM115 (kept open with the connection)
        fcntl.flock(self._files[key], fcntl.LOCK_EX)
        self._held.add(key)

    def holds(self, dbapi_connection) -> bool:
        return id(dbapi_connection) in self._held

    def done(self, dbapi_connection) -> None:
        key = id(dbapi_connection)
        if key in self._held:
            self._held.discard(key)
            fcntl.flock(self._files[key], fcntl.LOCK_UN)

    def forget(self, dbapi_connection) -> None:
        self.done(dbapi_connection)
        lock_file = self._files.pop(id(dbapi_connection), None)
        if lock_file is not None:
            lock_file.close()
