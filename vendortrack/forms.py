"""The forms behind vendor and commitment pages; dates are entered in the user's time zone."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import format_date
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
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import URL, DataRequired, Email, InputRequired, Length, Optional, ValidationError

from vendortrack.i18n import LANGUAGES
from vendortrack.ledger import OUT_OF_RANGE, TITLE_MAX, default_done_at
from vendortrack.models import ExcuseCategory, Resolution, Status
from vendortrack.templating import CHANNEL_LABELS, EXCUSE_LABELS, KIND_LABELS, SEVERITY_LABELS, STATUS_LABELS
from vendortrack.timeutil import TIMEZONES, in_zone, local_moment
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
    ask_to_confirm = BooleanField(
        _l("Ask the contact to confirm each new commitment by email"),
        description=_l(
            "When a commitment is logged, the contact who made it gets an email with a link to confirm "
            "it, propose another time, or say it is done; only a contact with an email address."
        ),
    )


class ContactForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = StringField(_l("Role"), validators=[Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254), Email()])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])
    # What their link's page and our emails to them are written in; "" is not set (English, our zone).
    language = SelectField(_l("Language"), filters=[lambda value: value or ""])
    timezone = SelectField(_l("Time zone"), filters=[lambda value: value or ""])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [("", _l("Not set (English)")), *LANGUAGES.items()]
        ours = current_app.config["VENDORTRACK_TIMEZONE"]
        self.timezone.choices = [
            ("", _l("Not set (ours: %(zone)s)", zone=ours)),
            *((z, z) for z in TIMEZONES),
        ]


def past_moment(day_field: DateField, time_field: TimeField, tz: str, now: datetime) -> datetime | None:
    """A moment that has happened: a date alone means the end of that day, or now if that is later
    than now (today, without a time, is "today, by now"); the ledger refuses a future one."""
    moment = _moment(day_field, time_field, tz)
    if moment is not None and time_field.data is None and day_field.data == in_zone(now, tz).date():
        moment = min(moment, now)
    return moment


def show_moment(day_field: DateField, time_field: TimeField, moment: datetime | None, tz: str) -> None:
    """Pre-fill a date and time pair with a stored moment, in the user's time zone, to the minute."""
    if moment is None:
        day_field.data = time_field.data = None
        return
    local = in_zone(moment, tz)
    day_field.data, time_field.data = local.date(), local.time().replace(second=0, microsecond=0)


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
    notified_date = DateField(_l("When did the vendor tell us?"), validators=[Optional()])
    notified_time = TimeField(_l("Told at"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        moved_to = self.new_due_date
        if self.status.data == Status.rescheduled and moved_to.data is None and not moved_to.errors:
            moved_to.errors = [*moved_to.errors, _l("Give the new due date.")]
            valid = False
        return valid

    def outcome(self, tz: str, now: datetime) -> dict:
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
                "notified_at": past_moment(self.notified_date, self.notified_time, tz, now),
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
    notified_date = DateField(_l("When did the vendor tell us?"), validators=[Optional()])
    notified_time = TimeField(_l("Told at"), validators=[Optional()])
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

    def notified_at(self, tz: str, now: datetime) -> datetime | None:
        return past_moment(self.notified_date, self.notified_time, tz, now)

    def show_default_done(self, due_at: datetime, now: datetime, tz: str) -> None:
        """Pre-fill "kept" with the ledger's default: on time when the due time is past, else now."""
        local = in_zone(default_done_at(due_at, now), tz)
        self.done_date.data = self.done_date.data or local.date()
        self.done_time.data = self.done_time.data or local.time().replace(second=0, microsecond=0)


# -- complaints ---------------------------------------------------------------------------------

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class ComplaintForm(Form):
    """Logging a complaint; the edit form adds the later steps' fields."""

    title = StringField(_l("What went wrong"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    details = TextAreaField(_l("Details"), validators=[Length(max=10000)])
    contact_id = SelectField(_l("Raised with"), coerce=int, validators=[Optional()])
    severity = SelectField(
        _l("Severity"), choices=[(s.value, label) for s, label in SEVERITY_LABELS.items()], default="major"
    )
    channel = SelectField(
        _l("How it was raised"), choices=[(c.value, label) for c, label in CHANNEL_LABELS.items()]
    )
    raised_date = DateField(_l("When was the vendor told?"), validators=[InputRequired()])
    raised_time = TimeField(_l("Time"), validators=[Optional()])
    owner_id = SelectField(_l("Owner (follows up)"), coerce=int)
    commitment_ids = SelectMultipleField(
        _l("Commitments it concerns"),
        coerce=int,
        validators=[Optional()],
        description=_l("Optional; on a computer, hold Ctrl (or ⌘) to pick more than one."),
    )

    def set_choices(self, contacts, owners, commitments) -> None:
        self.contact_id.choices = [(0, "—")] + [(c.id, c.name) for c in contacts]
        self.owner_id.choices = [(u.id, u.display_name) for u in owners]
        # Titles repeat ("Copier lease offer" moved twice): the date and outcome tell them apart.
        self.commitment_ids.choices = [
            (c.id, f"#{c.id} {c.title} · {format_date(c.due_at, 'short')} · {STATUS_LABELS[c.status]}")
            for c in commitments
        ]


class ComplaintEditForm(ComplaintForm):
    """Every field of every step; a step not reached yet has its fields left out (`drop_steps`)."""

    acknowledged_date = DateField(
        _l("Answered on"), validators=[Optional()], description=_l("Empty: the vendor has not answered.")
    )
    acknowledged_time = TimeField(_l("at"), validators=[Optional()])
    case_owner_contact_id = SelectField(
        _l("Who at the vendor owns the case"), coerce=int, validators=[Optional()]
    )
    case_owner_name = StringField(_l("Or their name"), validators=[Length(max=200)])
    apologised = BooleanField(_l("They apologised"))
    dated_answer_date = DateField(_l("Dated answer given on"), validators=[InputRequired()])
    dated_answer_time = TimeField(_l("at"), validators=[Optional()])
    resolved_date = DateField(_l("Resolved on"), validators=[InputRequired()])
    resolved_time = TimeField(_l("at"), validators=[Optional()])
    satisfied = RadioField(_l("Were we satisfied?"), choices=YES_NO, validators=[Optional()])

    def set_choices(self, contacts, owners, commitments) -> None:
        super().set_choices(contacts, owners, commitments)
        self.case_owner_contact_id.choices = [(0, "—")] + [(c.id, c.name) for c in contacts]

    def drop_steps(self, *, dated: bool, resolved: bool, withdrawn: bool) -> None:
        """Leave out what the complaint has not reached: a dated answer, a resolution."""
        if not dated:
            del self.dated_answer_date, self.dated_answer_time
        if not resolved:
            del self.resolved_date, self.resolved_time
        if not resolved or withdrawn:
            del self.satisfied


class ComplaintAnswerForm(Form):
    """The vendor took the case up; with its dated answer, if it gave one at once."""

    acknowledged_date = DateField(_l("When did the vendor answer?"), validators=[InputRequired()])
    acknowledged_time = TimeField(_l("at"), validators=[Optional()])
    case_owner_contact_id = SelectField(
        _l("Who at the vendor owns the case"), coerce=int, validators=[Optional()]
    )
    case_owner_name = StringField(
        _l("Or their name"),
        validators=[Length(max=200)],
        description=_l("If they are not one of the contacts."),
    )
    apologised = BooleanField(_l("They apologised"))
    due_date = DateField(
        _l("They promised a full answer by"),
        validators=[Optional()],
        description=_l("Optional: the date they committed to, which becomes a promise in the ledger."),
    )
    due_time = TimeField(_l("Time"), validators=[Optional()])

    # The dated answer is given at the moment of the answer: its refusal belongs under the answer's date.
    REFUSAL_FIELDS = {"acknowledged_at": "acknowledged_date", "at": "acknowledged_date"}

    def set_choices(self, contacts) -> None:
        self.case_owner_contact_id.choices = [(0, "—")] + [(c.id, c.name) for c in contacts]

    def due_at(self, tz: str) -> datetime | None:
        return _moment(self.due_date, self.due_time, tz)


class DatedAnswerForm(Form):
    """The vendor committed to an answer by a date, after its first answer."""

    due_date = DateField(_l("They promised a full answer by"), validators=[InputRequired()])
    due_time = TimeField(_l("Time"), validators=[Optional()])
    given_date = DateField(_l("When did they say so?"), validators=[InputRequired()])
    given_time = TimeField(_l("at"), validators=[Optional()])

    REFUSAL_FIELDS = {"at": "given_date"}

    def due_at(self, tz: str) -> datetime | None:
        return _moment(self.due_date, self.due_time, tz)


class ComplaintResolveForm(Form):
    """Fixed, compensated or declined by the vendor; or withdrawn by us (the Withdraw form)."""

    resolution = RadioField(
        _l("How did it end?"),
        choices=[
            (Resolution.fixed.value, _l("Fixed")),
            (Resolution.compensated.value, _l("Compensated")),
            (Resolution.declined.value, _l("Declined by the vendor")),
            (Resolution.withdrawn.value, _l("Withdrawn by us")),
        ],
        validators=[InputRequired(message=_l("Choose how it ended."))],
    )
    resolved_date = DateField(_l("When?"), validators=[InputRequired()])
    resolved_time = TimeField(_l("at"), validators=[Optional()])
    satisfied = RadioField(_l("Were we satisfied?"), choices=YES_NO, validators=[Optional()])

    REFUSAL_FIELDS = {"resolved_at": "resolved_date"}


class ComplaintReopenForm(Form):
    reason = TextAreaField(_l("Why is it reopened?"), validators=[Length(max=2000)])


# -- the vendor's own page (views/vendor_link.py) -----------------------------------------------


class VendorPageForm(Form):
    """A form on a vendor's link page. Its token is the page's own, bound to the link
    (views/vendor_link.py), not Flask-WTF's: that one lives in a session, and a vendor gets no cookie.
    Lengths are the service's to refuse (vendor_links), so the page and the rule say the same."""

    class Meta:
        csrf = False


class ConfirmForm(VendorPageForm):
    """ "I'll be there": nothing to fill in."""


class ProposeForm(VendorPageForm):
    proposed_date = DateField(_l("New date"), validators=[InputRequired()])
    proposed_time = TimeField(
        _l("Time"), validators=[Optional()], description=_l("Leave empty for the end of the day.")
    )
    message = TextAreaField(_l("Why it has to move"))

    REFUSAL_FIELDS = {"proposed_due_at": "proposed_date"}

    def proposed_at(self, tz: str) -> datetime | None:
        return _moment(self.proposed_date, self.proposed_time, tz)


class DoneForm(VendorPageForm):
    done_date = DateField(_l("Done on"), validators=[Optional()])
    done_time = TimeField(_l("at"), validators=[Optional()])
    message = TextAreaField(_l("A note (optional)"))


class CannotForm(VendorPageForm):
    message = TextAreaField(_l("Why it cannot be done"))


class TakeUpForm(VendorPageForm):
    """The contact answers a complaint: who owns it, an apology or not, a message, and perhaps the
    date of their full answer, in one save."""

    case_owner_name = StringField(_l("Who owns it at your end"))
    # No answer chosen for them: an apology, or its absence, is theirs to say (it is on their record).
    apologised = RadioField(
        _l("Do you apologise?"), choices=YES_NO, validators=[InputRequired(_l("Choose yes or no."))]
    )
    message = TextAreaField(_l("Your message (optional)"))
    answer_by_date = DateField(
        _l("You will have our full answer by"),
        validators=[Optional()],
        description=_l("Optional: we count it as your promise."),
    )
    answer_by_time = TimeField(_l("Time"), validators=[Optional()])

    REFUSAL_FIELDS = {"answer_by": "answer_by_date"}

    def answer_by(self, tz: str) -> datetime | None:
        return _moment(self.answer_by_date, self.answer_by_time, tz)


class AnswerDateForm(VendorPageForm):
    answer_by_date = DateField(
        _l("You will have our full answer by"),
        validators=[InputRequired()],
        description=_l("We count it as your promise."),
    )
    answer_by_time = TimeField(_l("Time"), validators=[Optional()])

    REFUSAL_FIELDS = {"answer_by": "answer_by_date"}

    def answer_by(self, tz: str) -> datetime | None:
        return _moment(self.answer_by_date, self.answer_by_time, tz)


class ReplyForm(VendorPageForm):
    message = TextAreaField(_l("Your answer"))


class PreferencesForm(VendorPageForm):
    language = SelectField(_l("Language"), choices=list(LANGUAGES.items()))
    timezone = SelectField(_l("Time zone"), choices=[(zone, zone) for zone in TIMEZONES])
