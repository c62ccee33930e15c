"""Rows by id for the API views (404 when absent) and the commit-or-refuse around every write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_smorest import abort

from vendortrack.extensions import db
from vendortrack.models import Commitment, Complaint, Contact, User, Vendor, VendorAnswer, VendorLink
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput

Model = TypeVar("Model")


def _missing(model: type, row_id: int) -> str:
    messages = {
        Vendor: _("There is no vendor #%(id)d.", id=row_id),
        Contact: _("There is no contact #%(id)d.", id=row_id),
        Commitment: _("There is no commitment #%(id)d.", id=row_id),
        Complaint: _("There is no complaint #%(id)d.", id=row_id),
        User: _("There is no user #%(id)d.", id=row_id),
        VendorLink: _("There is no vendor link #%(id)d.", id=row_id),
        VendorAnswer: _("There is no answer #%(id)d.", id=row_id),
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


def with_references(values: dict[str, Any], references: dict[str, tuple[str, type[Model]]]) -> dict[str, Any]:
    """Swap a body's ids (`contact_id`) for the rows they name (`contact`); an unknown id is a 422 on
    that field. `references` maps each id field to the argument and the model it names."""
    for field, (argument, model) in references.items():
        if field in values:
            values[argument] = get_or_422(model, values.pop(field), field)
    return values


@contextmanager
def ledger_write(*, reread: bool = True, fields: dict[str, str] | None = None) -> Iterator[None]:
    """Write what the block does in one short write (`unit_of_work.writing`); an InvalidInput rolls
    it all back and answers 422 naming the field.

    The request's reads (its token, the rows it names, its body checked) came before and hold no
    write lock; reread=False keeps those rows as read, for the ledger's conditional writes.
    `fields` renames the domain's field to the one the body calls it (acknowledged_at → at).
    """
    try:
        with writing(db.session, reread=reread):
            yield
    except InvalidInput as error:
        field = (fields or {}).get(error.field, error.field)
        abort(422, message=str(error), fields={field: [str(error)]})


def paginate(statement: sa.Select, args: dict[str, Any]) -> dict[str, Any]:
    page = db.paginate(statement, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total}
