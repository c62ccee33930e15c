"""The one way a request writes: read without SQLite's write lock, then write in one short transaction.

A request reads (its user, the rows it names, its form or body checked) in a transaction that takes
no write lock; `writing` ends that transaction, takes the write intent (on SQLite, BEGIN IMMEDIATE
in the WriterQueue), runs the block, and flushes and commits inside the intent, so writers queue for
the write alone, never for a whole request. Commands, jobs and test code keep `write_intent`'s
default and take the lock whenever they begin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy.orm import Session, scoped_session

from vendortrack.database import write_intent


@contextmanager
def writing(session: Session | scoped_session, *, reread: bool = True) -> Iterator[None]:
    """Commit what the block writes, or on any exception roll it all back and raise it again.

    The rows read before come back expired and are read again inside the write; or, with
    reread=False, keep their values: for the ledger's writes, whose every change to a commitment is
    conditional on the row being as it was read (`ledger._update`) and refused if not. What was
    written stays in memory after the commit, so an answer that shows it reads nothing back.
    """
    if isinstance(session, scoped_session):
        session = session()  # the request's own Session: its expire_on_commit is set below
    if _has_changes(session):
        # They would be flushed by the commit below, in the reading transaction, outside the intent:
        # on SQLite a deferred transaction that writes fails with "database is locked" under load.
        raise RuntimeError("changes made before `writing` began; make them inside its block")
    _commit(session, expire=reread)
    intent = write_intent.set(True)
    try:
        yield
        _commit(session, expire=False)  # flushes first: the write's statements begin inside the intent
    except BaseException:
        session.rollback()
        raise
    finally:
        write_intent.reset(intent)


def _has_changes(session: Session) -> bool:
    return bool(session.new or session.deleted or any(session.is_modified(row) for row in session.dirty))


def _commit(session: Session, *, expire: bool) -> None:
    session.expire_on_commit = expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def register(app: Flask) -> None:
    @app.before_request
    def read_until_writing() -> None:
        # Not from the thread's last request, nor from the test code that sent this one.
        write_intent.set(False)
