"""Rows by id for the API views (404 when absent) and the commit-or-refuse around every write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_smorest import abort

from vendortrack.database import write_intent
from vendortrack.extensions import db
from vendortrack.models import Commitment, Contact, User, Vendor
from vendortrack.validation import InvalidInput

Model = TypeVar("Model")


def _missing(model: type, row_id: int) -> str:
    messages = {
        Vendor: _("There is no vendor #%(id)d.", id=row_id),
        Contact: _("There is no contact #%(id)d.", id=row_id),
        Commitment: _("There is no commitment #%(id)d.", id=row_id),
        User: _("There is no user #%(id)d.", id=row_id),
    }
    return messages[model]


def get_or_404(model: type[Model], row_id: int) -> Model:
    row = db.session.get(model, row_id)
    if row is None:
        abort(404, message=_missing(model, row_id))
    return row


def get_or_422(model: type[Model], row_id: int | None, field: str) -> Model | None:
    """An id inside a request body: absent is a mistake in that field, not a missing page."""
    if row_id is None:
        return None
    row = db.session.get(model, row_id)
    if row is None:
        message = _missing(model, row_id)
        abort(422, message=message, fields={field: [message]})
    return row


def begin_writing(*, reread: bool = True) -> None:
    """End the request's reading transaction and let the next statement take the write lock.

    An API request reads (its token, the rows it names, its body checked) without SQLite's write
    lock; only the write itself holds it, so writers queue for a millisecond, not for whole requests.
    The rows read before come back expired and are read again inside the write, as they are now;
    or, with reread=False, keep their values: for the ledger's writes, whose every change to a
    commitment is conditional on the row being as it was read (`ledger._update`) and refused if not.
    """
    _commit(expire=reread)
    write_intent.set(True)


def _commit(*, expire: bool) -> None:
    session = db.session()
    session.expire_on_commit = expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@contextmanager
def ledger_write(*, reread: bool = True) -> Iterator[None]:
    """Commit what the block wrote; a InvalidInput rolls it all back and answers 422 naming the field."""
    begin_writing(reread=reread)
    try:
        yield
    except InvalidInput as error:
        db.session.rollback()
        abort(422, message=str(error), fields={error.field: [str(error)]})
    finally:
        # The answer only reads the rows back: on SQLite without taking the write lock a second time.
        write_intent.set(False)
    # Keep what was just written in memory for the answer rather than reading every row back.
    _commit(expire=False)


def paginate(statement: sa.Select, args: dict[str, Any]) -> dict[str, Any]:
    page = db.paginate(statement, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total}
