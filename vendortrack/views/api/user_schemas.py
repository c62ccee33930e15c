"""The shapes of users, their tokens and the ledger export in the API; never a hash or a secret."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from vendortrack import export
from vendortrack.i18n import LANGUAGES
from vendortrack.models import Role
from vendortrack.views.api.schemas import (
    PageSchema,
    StrictBoolean,
    UTCDateTime,
    known_language,
    line,
    name,
    timezone_field,
)

ROLES = [role.value for role in Role]


# --- users --------------------------------------------------------------------------------------


class UserSchema(Schema):
    """A user as an admin sees them: no password hash, session token, calendar secret or token hash."""

    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    timezone = fields.String(allow_none=True)
    created_at = UTCDateTime()
    disabled_at = UTCDateTime(allow_none=True)
    is_active = fields.Boolean()


class UserPageSchema(PageSchema):
    items = fields.List(fields.Nested(UserSchema), required=True)


class UserPatchSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    name = line(120)
    timezone = timezone_field()


class MePatchSchema(Schema):
    """What anyone may change about themselves, as on the profile page; the password stays a page's job."""

    name = line(120)
    timezone = timezone_field()
    locale = fields.String(
        allow_none=True,
        validate=known_language,
        metadata={"enum": [*LANGUAGES, None], "description": "null: as the client's Accept-Language asks."},
    )
    digest_enabled = StrictBoolean(metadata={"description": "Whether the weekly digest is emailed."})


class UserCreateSchema(Schema):
    email = name(254, required=True)
    name = line(120)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=1000),
        metadata={
            "description": (
                "The initial password: at least VENDORTRACK_PASSWORD_MIN_LENGTH characters (10 unless set) "
                "and hard to guess; a refusal says why."
            )
        },
    )
    timezone = timezone_field()


class ApiTokenSchema(Schema):
    """A token as an admin sees it: when it was made, last used and revoked; never its secret or hash."""

    id = fields.Integer()
    user_id = fields.Integer()
    created_at = UTCDateTime()
    last_used_at = UTCDateTime(allow_none=True)
    revoked_at = UTCDateTime(allow_none=True)
    is_revoked = fields.Function(lambda token: token.revoked_at is not None, metadata={"type": "boolean"})


class ApiTokenPageSchema(PageSchema):
    items = fields.List(fields.Nested(ApiTokenSchema), required=True)


class IssuedTokenSchema(Schema):
    user_id = fields.Integer(required=True)
    token = fields.String(required=True, metadata={"description": "Shown this once: only its hash is kept."})


# --- export -------------------------------------------------------------------------------------


def _rows(set_name: str, columns: tuple[str, ...], **kwargs) -> fields.List:
    # Columns typed loosely on purpose: they carry what export.py writes (ISO times, enum values, JSON).
    row = Schema.from_dict(
        {column: fields.Raw(required=True, allow_none=True) for column in columns},
        name=f"Export{set_name.title().replace('_', '')}Row",
    )
    return fields.List(fields.Nested(row), **{"required": True, **kwargs})


class LedgerExportSchema(Schema):
    """Every vendor, contact, commitment, complaint, vendor's link and answer, and (for an admin) event,
    as the JSON download holds them."""

    exported_at = UTCDateTime(required=True)
    vendors = _rows("vendors", export.VENDOR_COLUMNS)
    contacts = _rows("contacts", export.CONTACT_COLUMNS)
    commitments = _rows("commitments", export.COMMITMENT_COLUMNS)
    complaints = _rows("complaints", export.COMPLAINT_COLUMNS)
    events = _rows(
        "events",
        export.EVENT_COLUMNS,
        required=False,
        metadata={"description": "The event log: in an admin's export only."},
    )
    complaint_events = _rows(
        "complaint_events",
        export.COMPLAINT_EVENT_COLUMNS,
        required=False,
        metadata={
            "description": "Every step of every complaint, the event log's: in an admin's export only."
        },
    )
    vendor_links = _rows(
        "vendor_links",
        export.VENDOR_LINK_COLUMNS,
        metadata={"description": "The links we sent vendors' contacts; never their secret."},
    )
    vendor_answers = _rows(
        "vendor_answers",
        export.VENDOR_ANSWER_COLUMNS,
        metadata={"description": "What the contacts answered through their links, and our decisions."},
    )
