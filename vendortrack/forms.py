"""The forms behind vendor and commitment pages; dates are entered in the user's time zone."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import URL, DataRequired, Email, InputRequired, Length, Optional, ValidationError

from vendortrack.ledger import OUT_OF_RANGE, TITLE_MAX, default_done_at
from vendortrack.models import ExcuseCategory, Status
from vendortrack.templating import EXCUSE_LABELS, KIND_LABELS
from vendortrack.timeutil import in_zone, local_moment
from vendortrack.validation import InvalidInput, check_plain_text


def without_nul(value):
    """Text without NUL, which PostgreSQL refuses to store and no one means to type (as text_arg)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class PlainText:
    """A text field's value holds no control character it may not (validation.check_plain_text)."""

    def __init__(self, *, multiline: bool):
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        try:
            check_plain_text(field.name, field.data, multiline=self.multiline)
        except InvalidInput as error:
            raise ValidationError(str(error.message)) from None


def _typed_text(field_class: type) -> bool:
    """A field a person types text into; a password is never shown, a hidden field never typed."""
    return issubclass(field_class, StringField) and not issubclass(field_class, (PasswordField, HiddenField))


class Form(FlaskForm):
    """The app's forms: typed text is refused with a control character in it (a text area keeps
    tabs and line breaks); any other field's text arrives without NUL characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if _typed_text(unbound_field.field_class):
                field = unbound_field.bind(form=form, **options)
                multiline = issubclass(unbound_field.field_class, TextAreaField)
                field.validators = [*field.validators, PlainText(multiline=multiline)]
                return field
            filters = [*unbound_field.kwargs.get("filters", ()), without_nul]
            return unbound_field.bind(form=form, filters=filters, **options)


class VendorForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    category = StringField(
        _l("Category"),
        validators=[Length(max=80)],
        description=_l("For example: IT, accounting, printing, construction"),
    )
    website = StringField(
        _l("Website"),
        validators=[Optional(), Length(max=300), URL(message=_l("Enter a full address, https://…"))],
    )
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254), Email()])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)])


class ContactForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = StringField(_l("Role"), validators=[Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254), Email()])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])


def _moment(day_field: DateField, time_field: TimeField, tz: str) -> datetime | None:
    """The date and time as the user meant them, in UTC; one the ledger cannot hold is refused as it is."""
    if day_field.data is None:
        return None
    try:
        return local_moment(day_field.data, time_field.data, tz)
    except OverflowError:  # year 1 or 9999 moved across midnight UTC: far outside the ledger's years
        raise InvalidInput(day_field.name, OUT_OF_RANGE) from None


class CommitmentForm(Form):
    kind = SelectField(
        _l("Kind"),
        choices=[(k.value, label) for k, label in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    title = StringField(_l("What was promised"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    contact_id = SelectField(_l("Who promised it"), coerce=int, validators=[Optional()])
    # InputRequired, not DataRequired: "not a date" must say so, not "required".
    due_date = DateField(_l("Due date"), validators=[InputRequired()])
    due_time = TimeField(
        _l("Time"), validators=[Optional()], description=_l("Leave empty for the end of the day.")
    )
    owner_id = SelectField(_l("Owner (follows up)"), coerce=int)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)])

    def set_choices(self, contacts, owners) -> None:
        self.contact_id.choices = [(0, "—")] + [(c.id, c.name) for c in contacts]
        self.owner_id.choices = [(u.id, u.display_name) for u in owners]

    def due_at(self, tz: str) -> datetime | None:
        return _moment(self.due_date, self.due_time, tz)

    def show_due(self, moment: datetime, tz: str) -> None:
        local = in_zone(moment, tz)
        self.due_date.data, self.due_time.data = local.date(), local.time().replace(microsecond=0)


CONFIRM_PAST = _l("Yes, it was moved into the past or to an earlier time")


class ExcuseFields(Form):
    """What the vendor said when it broke or moved a commitment: on the log and the resolve forms."""

    excuse_category = SelectField(
        _l("Excuse"),
        choices=[(c.value, label) for c, label in EXCUSE_LABELS.items()],
        default=ExcuseCategory.none_given.value,
    )
    excuse = TextAreaField(_l("What they said"), validators=[Length(max=2000)])


class LogForm(CommitmentForm, ExcuseFields):
    """Logging, with what already happened when the due time has passed: one form, one save."""

    status = RadioField(
        _l("It already happened:"),
        default=Status.open.value,
        choices=[
            (Status.open.value, _l("Still open")),
            (Status.kept.value, _l("Kept")),
            (Status.broken.value, _l("Broken")),
            (Status.rescheduled.value, _l("Moved by the vendor")),
        ],
    )
    done_date = DateField(
        _l("Kept on"), validators=[Optional()], description=_l("Leave empty if it was kept on time.")
    )
    done_time = TimeField(_l("at"), validators=[Optional()])
    new_due_date = DateField(_l("Moved to"), validators=[Optional()])
    new_due_time = TimeField(_l("New time"), validators=[Optional()])  # not "Time": that is the due time's
    confirm_past = BooleanField(CONFIRM_PAST)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        moved_to = self.new_due_date
        if self.status.data == Status.rescheduled and moved_to.data is None and not moved_to.errors:
            moved_to.errors = [*moved_to.errors, _l("Give the new due date.")]
            valid = False
        return valid

    def outcome(self, tz: str) -> dict:
        """What happened, as the ledger's log_what_happened takes it; only the chosen outcome's fields."""
        status = Status(self.status.data)
        fields: dict = {"status": status}
        if status == Status.kept:
            fields["done_at"] = _moment(self.done_date, self.done_time, tz)
        if status in (Status.broken, Status.rescheduled):
            fields |= {"excuse_category": self.excuse_category.data, "excuse": self.excuse.data or ""}
        if status == Status.rescheduled:
            fields |= {
                "new_due_at": _moment(self.new_due_date, self.new_due_time, tz),
                "confirm_past": self.confirm_past.data,
            }
        return fields


OUTCOMES = (Status.kept, Status.broken, Status.rescheduled, Status.cancelled)


class ResolveForm(ExcuseFields):
    """One form for the four outcomes; which fields count depends on the chosen status."""

    status = SelectField(_l("Outcome"), choices=[(s.value, s.value) for s in OUTCOMES])
    done_date = DateField(_l("Done on"), validators=[Optional()])
    done_time = TimeField(_l("at"), validators=[Optional()])
    new_due_date = DateField(_l("New due date"), validators=[Optional()])
    new_due_time = TimeField(_l("Time"), validators=[Optional()])
    confirm_past = BooleanField(CONFIRM_PAST)
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])

    # Which date each outcome needs; Optional() on the fields would stop inline validators.
    REQUIRED_DATES = {
        Status.kept: ("done_date", _l("When was it done?")),
        Status.rescheduled: ("new_due_date", _l("Give the new due date.")),
    }

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        required = self.REQUIRED_DATES.get(self.status.data)
        if required:
            field = getattr(self, required[0])
            if field.data is None and not field.errors:
                field.errors = [*field.errors, required[1]]
                valid = False
        return valid

    def done_at(self, tz: str) -> datetime | None:
        return _moment(self.done_date, self.done_time, tz)

    def new_due_at(self, tz: str) -> datetime | None:
        return _moment(self.new_due_date, self.new_due_time, tz)

    def show_default_done(self, due_at: datetime, now: datetime, tz: str) -> None:
        """Pre-fill "kept" with the ledger's default: on time when the due time is past, else now."""
        local = in_zone(default_done_at(due_at, now), tz)
        self.done_date.data = self.done_date.data or local.date()
        self.done_time.data = self.done_time.data or local.time().replace(second=0, microsecond=0)
