"""How a page view writes a form: through `unit_of_work.writing`, or its refusal shown on the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm

from vendortrack.extensions import db
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput

T = TypeVar("T")

# The ledger names its fields; some are entered on the forms as a date and a time.
FORM_FIELDS = {
    "due_at": "due_date",
    "done_at": "done_date",
    "new_due_at": "new_due_date",
    "notified_at": "notified_date",
    "raised_at": "raised_date",
    "acknowledged_at": "acknowledged_date",
    "dated_answer_at": "dated_answer_date",
    "resolved_at": "resolved_date",
}


def show_refusal(form: FlaskForm, error: InvalidInput) -> None:
    """Put a ledger refusal under the field it names, or at the top of the form; a form's own
    REFUSAL_FIELDS say where a name means something else on it."""
    names = FORM_FIELDS | getattr(form, "REFUSAL_FIELDS", {})
    field = form._fields.get(names.get(error.field, error.field))
    if field is not None and field.type not in ("HiddenField", "CSRFTokenField"):
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def save(form: FlaskForm, write: Callable[[], T]) -> T | None:
    """Write what `write` does in one short write and return its result; a refusal changes nothing
    and is shown on the form, and None returned."""
    try:
        with writing(db.session):
            return write()
    except InvalidInput as error:
        show_refusal(form, error)
        return None


def status_for(form: FlaskForm) -> int:
    """A page that shows a refused form answers 400, so scripts and tests can tell."""
    return 400 if form.errors or form.form_errors else 200
