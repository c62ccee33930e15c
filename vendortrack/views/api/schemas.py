"""The API's shapes: what a client may send (checked field by field) and what it gets back."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import current_app
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from vendortrack.i18n import LANGUAGES
from vendortrack.ledger import LOGGED_OUTCOMES, OUT_OF_RANGE, TITLE_MAX, in_range
from vendortrack.models import EventAction, ExcuseCategory, Kind, Status
from vendortrack.timeutil import is_timezone
from vendortrack.validation import InvalidInput, check_plain_text, plain_text_pattern
from vendortrack.views.api.guard import request_now

ROW_ID_MAX = 2**31 - 1  # PostgreSQL's integer; a larger id cannot exist and must not reach the driver
PAGE_MAX = 100_000
PER_PAGE_MAX = 200
TEXT_MAX = 10_000


class UTCDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset in (a naive time is refused, naming the field), UTC out.

    Every moment the API takes is one the ledger could hold (ledger.in_range): a filter or an as_of
    past them means nothing, and at the calendar's ends moving it to UTC or back by the grace fails.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not in_range(moment):
            raise ValidationError(str(OUT_OF_RANGE))
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value and value.astimezone(UTC), attr, obj, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false, as the document says; marshmallow's Boolean also takes 1, "yes" and "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def row_id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=ROW_ID_MAX), **kwargs)


class PlainText(validate.Validator):
    """validation.check_plain_text's rule, with its pattern in the document."""

    def __init__(self, *, multiline: bool):
        self.multiline = multiline

    def __call__(self, value: str) -> str:
        try:
            return check_plain_text("", value, multiline=self.multiline)
        except InvalidInput as error:
            raise ValidationError(str(error.message)) from None


def _plain_text(length: validate.Length, multiline: bool, kwargs: dict[str, Any]) -> fields.String:
    metadata = {"pattern": plain_text_pattern(multiline=multiline), **kwargs.pop("metadata", {})}
    return fields.String(validate=[length, PlainText(multiline=multiline)], metadata=metadata, **kwargs)


def text(max_length: int, **kwargs: Any) -> fields.String:
    """Text that may run over several lines (tab and line breaks kept): notes, an excuse."""
    return _plain_text(validate.Length(max=max_length), True, kwargs)


def line(max_length: int, **kwargs: Any) -> fields.String:
    """One line of text: a category, an address, a phone number."""
    return _plain_text(validate.Length(max=max_length), False, kwargs)


def name(max_length: int, **kwargs: Any) -> fields.String:
    return _plain_text(validate.Length(min=1, max=max_length), False, kwargs)


# --- errors -------------------------------------------------------------------------------------


class ErrorDetailSchema(Schema):
    code = fields.String(metadata={"example": "validation_error"})
    message = fields.String()
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "What was wrong with each field of the request, by field name."},
    )


class ErrorSchema(Schema):
    """Every error the API answers with: {"error": {"code", "message", "fields"}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# --- paging -------------------------------------------------------------------------------------


def _default_per_page() -> int:
    return min(current_app.config["VENDORTRACK_PAGE_SIZE"], PER_PAGE_MAX)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=PAGE_MAX))
    per_page = fields.Integer(
        load_default=_default_per_page,
        validate=validate.Range(min=1, max=PER_PAGE_MAX),
        metadata={"description": "Items per page; the installation's page size when left out."},
    )


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


# --- people -------------------------------------------------------------------------------------


class UserRefSchema(Schema):
    id = fields.Integer()
    email = fields.String()


class MeSchema(UserRefSchema):
    name = fields.String()
    role = fields.String()
    timezone = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    digest_enabled = fields.Boolean()


# --- vendors and contacts -----------------------------------------------------------------------


def known_timezone(value: str | None) -> None:
    if value is not None and not is_timezone(value):
        raise ValidationError(_("Choose an IANA time zone, such as Europe/Warsaw."))


def timezone_field(**kwargs) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=known_timezone,
        metadata={"description": "An IANA time zone; null for the installation's default."},
        **kwargs,
    )


def known_language(value: str | None) -> None:
    if value is not None and value not in LANGUAGES:
        raise ValidationError(_("Choose one of the languages offered."))


class VendorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    website = fields.String()
    email = fields.String()
    phone = fields.String()
    notes = fields.String()
    created_at = UTCDateTime()
    archived_at = UTCDateTime(allow_none=True)
    is_archived = fields.Boolean()
    ask_to_confirm = fields.Boolean(
        metadata={"description": "Each new commitment's contact is asked to confirm it through their link."}
    )


class VendorPageSchema(PageSchema):
    items = fields.List(fields.Nested(VendorSchema), required=True)


class VendorQuerySchema(PageArgsSchema):
    q = text(200, metadata={"description": "Part of the name, in any case."})
    category = text(80)
    archived = fields.String(load_default="false", validate=validate.OneOf(["false", "true", "all"]))


class VendorPatchSchema(Schema):
    name = name(200)
    category = line(80)
    website = line(300)
    email = line(254)
    phone = line(50)
    notes = text(TEXT_MAX)
    ask_to_confirm = StrictBoolean()


class VendorCreateSchema(VendorPatchSchema):
    name = name(200, required=True)


class ContactSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    email = fields.String()
    phone = fields.String()
    language = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    created_at = UTCDateTime()


class ContactPageSchema(PageSchema):
    items = fields.List(fields.Nested(ContactSchema), required=True)


class ContactPatchSchema(Schema):
    name = name(200)
    role = line(120)
    email = line(254)
    phone = line(50)
    language = fields.String(
        allow_none=True,
        validate=known_language,
        metadata={"enum": [*LANGUAGES, None], "description": "What their link's page and our emails are in."},
    )
    timezone = timezone_field()


class ContactCreateSchema(ContactPatchSchema):
    name = name(200, required=True)


# --- commitments --------------------------------------------------------------------------------


def _is_overdue(commitment) -> bool:
    return current_app.config["VENDORTRACK_RULES"].is_overdue(
        commitment.status, commitment.due_at, request_now()
    )


class CommitmentSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    contact_id = fields.Integer(allow_none=True)
    owner_id = fields.Integer()
    kind = fields.Enum(Kind)
    title = fields.String()
    notes = fields.String()
    due_at = UTCDateTime()
    original_due_at = UTCDateTime(metadata={"description": "The first due date of a reschedule chain."})
    status = fields.Enum(Status)
    is_overdue = fields.Function(
        _is_overdue, metadata={"type": "boolean", "description": "Open past its due time plus grace."}
    )
    done_at = UTCDateTime(allow_none=True)
    excuse_category = fields.Enum(ExcuseCategory, allow_none=True)
    excuse = fields.String()
    reason = fields.String()
    resolved_at = UTCDateTime(allow_none=True)
    rescheduled_from = fields.Integer(attribute="rescheduled_from_id", allow_none=True)
    rescheduled_to = fields.Integer(attribute="rescheduled_to_id", allow_none=True)
    notified_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "When the vendor warned of the move; rescheduled ones only."},
    )
    complaint_id = fields.Integer(
        allow_none=True, metadata={"description": "The complaint this promise is the dated answer to."}
    )
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class CommitmentPageSchema(PageSchema):
    items = fields.List(fields.Nested(CommitmentSchema), required=True)


class CommitmentQuerySchema(PageArgsSchema):
    vendor_id = row_id()
    status = fields.Enum(Status)
    kind = fields.Enum(Kind)
    due_from = UTCDateTime(metadata={"description": "Due at or after this moment."})
    due_to = UTCDateTime(metadata={"description": "Due at or before this moment."})
    owner_id = row_id()


class CommitmentPatchSchema(Schema):
    kind = fields.Enum(Kind)
    title = name(TITLE_MAX)
    notes = text(TEXT_MAX)
    due_at = UTCDateTime()
    contact_id = row_id(allow_none=True)
    owner_id = row_id()
    notified_at = UTCDateTime(
        metadata={"description": "When the vendor warned of the move; rescheduled ones only."}
    )


# Which optional fields each outcome takes; any other is a client's mistake worth naming.
OUTCOME_FIELDS = {
    Status.open: set(),
    Status.kept: {"done_at"},
    Status.broken: {"excuse_category", "excuse"},
    Status.rescheduled: {"new_due_at", "excuse_category", "excuse", "confirm_past", "notified_at"},
    Status.cancelled: {"reason"},
}
RESOLVED = [str(s) for s in OUTCOME_FIELDS if s != Status.open]
OUTCOME_ARGUMENTS = {"status"} | set().union(*OUTCOME_FIELDS.values())
DONE_AT = (
    "When it was kept. Left out: the due time if that has passed (kept on time), "
    "else the moment of the request."
)
NEW_DUE_AT = (
    "Required when rescheduled. A time already past, or earlier than the current due time, "
    "is refused (422 on new_due_at) unless confirm_past is true."
)
CONFIRM_PAST = "true: the new due time is meant to be in the past or earlier than the current one."
NOTIFIED_AT = (
    "When rescheduled: when the vendor warned us of the move (SCORING.md §11); the moment of the "
    "request when left out. A moment in the future is refused."
)


class OutcomeSchema(Schema):
    """An outcome's fields, each taken only with the status that uses it."""

    done_at = UTCDateTime(metadata={"description": DONE_AT})
    excuse_category = fields.Enum(ExcuseCategory, allow_none=True)
    excuse = text(TEXT_MAX)
    new_due_at = UTCDateTime(metadata={"description": NEW_DUE_AT})
    confirm_past = StrictBoolean(metadata={"description": CONFIRM_PAST})
    notified_at = UTCDateTime(metadata={"description": NOTIFIED_AT})

    @validates_schema
    def only_fields_of_the_outcome(self, data: dict[str, Any], **kwargs: Any) -> None:
        status = data.get("status", Status.open)
        extra = (set(data) & OUTCOME_ARGUMENTS) - {"status"} - OUTCOME_FIELDS[Status(status)]
        if extra:
            message = _("Not used when the status is %(status)s.", status=status)
            raise ValidationError({field: [message] for field in sorted(extra)})


class CommitmentCreateSchema(CommitmentPatchSchema, OutcomeSchema):
    """A commitment, and what already became of it when it is logged after its due time."""

    kind = fields.Enum(Kind, required=True)
    title = name(TITLE_MAX, required=True)
    due_at = UTCDateTime(required=True)
    notified_at = UTCDateTime(metadata={"description": NOTIFIED_AT})
    owner_id = row_id(
        metadata={"description": "Who follows it up, an editor or an admin; the caller when left out."}
    )
    status = fields.String(
        validate=validate.OneOf([str(s) for s in LOGGED_OUTCOMES]),
        metadata={
            "description": "What already happened to it; open when left out. Each outcome takes the "
            "fields it uses, as in resolve, in the same transaction."
        },
    )


class ResolveSchema(OutcomeSchema):
    status = fields.String(required=True, validate=validate.OneOf(RESOLVED))
    reason = text(TEXT_MAX)


def _actor_contact_name(event) -> str | None:
    return event.actor_contact.name if event.actor_contact is not None else None


class ByContactSchema(Schema):
    """An event's other actor: the vendor's contact, who acted themselves through their link."""

    actor_contact_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The vendor's contact who acted through their link; then no actor of ours."},
    )
    actor_contact_name = fields.Function(
        _actor_contact_name,
        metadata={"type": "string", "nullable": True, "description": "That contact's name."},
    )


class EventSchema(ByContactSchema):
    id = fields.Integer()
    at = UTCDateTime()
    action = fields.Enum(EventAction)
    actor = fields.Nested(UserRefSchema, allow_none=True)
    before = fields.Dict()
    after = fields.Dict()


class EventListSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)


# --- the document -------------------------------------------------------------------------------


class NullableAsGeneratorsRead(OpenAPIConverter):
    """What may be null, as OpenAPI 3.0 client generators read it: `nullable` beside `allOf: [$ref]`.

    apispec writes a nullable reference as `anyOf` of a bare nullable object and the schema, and a
    nullable enum with null among its values; openapi-python-client makes the first an empty class
    and the second three. A nullable enum becomes a named schema (its Python enum's name, else the
    field's), referred to the same way.
    """

    def field2nullable(self, field: fields.Field, ret: dict) -> dict:
        if not field.allow_none or self.openapi_version.major != 3 or self.openapi_version.minor >= 1:
            return super().field2nullable(field, ret)
        if "enum" in ret:
            ret["$ref"] = self._enum_schema(field, ret)
        if "$ref" in ret:
            return {"nullable": True, "allOf": [{"$ref": ret.pop("$ref")}]}
        return {"nullable": True}

    def _enum_schema(self, field: fields.Field, ret: dict) -> str:
        name = field.enum.__name__ if isinstance(field, fields.Enum) else field.name.title().replace("_", "")
        values = [value for value in ret.pop("enum") if value is not None]
        schema = {"type": ret.pop("type"), "enum": values}
        known = self.spec.components.schemas.get(name)
        if known is None:
            self.spec.components.schema(name, schema)
        elif known != schema:
            raise ValueError(f"Two enums named {name} in the API document: {known['enum']} and {values}")
        return f"#/components/schemas/{name}"


class DocumentPlugin(MarshmallowPlugin):
    Converter = NullableAsGeneratorsRead
