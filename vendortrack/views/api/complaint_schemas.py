"""The API's shapes for complaints: what a client may send at each step, and what it reads back."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from vendortrack.complaints import TITLE_MAX
from vendortrack.models import Channel, ComplaintAction, ComplaintStatus, Resolution, Severity
from vendortrack.scores.rules import is_unanswered_by
from vendortrack.views.api.guard import request_now
from vendortrack.views.api.schemas import (
    TEXT_MAX,
    ByContactSchema,
    PageArgsSchema,
    PageSchema,
    StrictBoolean,
    UserRefSchema,
    UTCDateTime,
    line,
    name,
    row_id,
    text,
)

COMMITMENTS_MAX = 200  # more than any complaint concerns; a longer list is a client's mistake


def _is_unanswered(complaint) -> bool:
    # Still open: a complaint closed without an answer is no longer waiting for one.
    waiting = complaint.status == ComplaintStatus.waiting
    return waiting and bool(
        is_unanswered_by(complaint.acknowledged_at, complaint.answer_due_at, request_now())
    )


def _answer_promise_id(complaint) -> int | None:
    promise = complaint.answer_promise
    return promise.id if promise is not None else None


class ComplaintSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    contact_id = fields.Integer(
        allow_none=True, metadata={"description": "The vendor's person it was raised with."}
    )
    owner_id = fields.Integer(metadata={"description": "Ours: who follows the complaint up."})
    created_by_id = fields.Integer(allow_none=True)
    title = fields.String()
    details = fields.String()
    severity = fields.Enum(Severity)
    channel = fields.Enum(Channel, metadata={"description": "How it reached the vendor."})
    raised_at = UTCDateTime(metadata={"description": "When the vendor was told."})
    status = fields.Enum(ComplaintStatus, metadata={"description": "Where it stands, from the facts below."})
    answer_due_at = UTCDateTime(
        metadata={"description": "The answer deadline: the end of the k-th working day after it was raised."}
    )
    is_unanswered = fields.Function(
        _is_unanswered,
        metadata={
            "type": "boolean",
            "description": "Still open with no answer, and the answer deadline has passed.",
        },
    )
    acknowledged_at = UTCDateTime(
        allow_none=True, metadata={"description": "The vendor's first answer taking the case up."}
    )
    case_owner_name = fields.String(metadata={"description": "Who at the vendor owns the case, by name."})
    case_owner_contact_id = fields.Integer(
        allow_none=True, metadata={"description": "Who at the vendor owns the case, as one of its contacts."}
    )
    owner_named = fields.Boolean(metadata={"description": "The vendor named who owns the case."})
    apologised = fields.Boolean()
    dated_answer_at = UTCDateTime(
        allow_none=True, metadata={"description": "When the vendor committed to answer by a date."}
    )
    answer_promise_id = fields.Function(
        _answer_promise_id,
        metadata={
            "type": "integer",
            "nullable": True,
            "description": "The dated answer's promise in the ledger, the newest of its chain if moved.",
        },
    )
    resolution = fields.Enum(Resolution, allow_none=True)
    resolved_at = UTCDateTime(allow_none=True)
    satisfied = fields.Boolean(allow_none=True)
    commitment_ids = fields.Function(
        lambda complaint: [c.id for c in complaint.commitments],
        metadata={
            "type": "array",
            "items": {"type": "integer"},
            "description": "The commitments it concerns.",
        },
    )
    flagged_unanswered_at = UTCDateTime(
        allow_none=True, metadata={"description": "When the sweep flagged it unanswered past its deadline."}
    )
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class ComplaintPageSchema(PageSchema):
    items = fields.List(fields.Nested(ComplaintSchema), required=True)


class VendorComplaintQuerySchema(PageArgsSchema):
    status = fields.Enum(ComplaintStatus)
    raised_from = UTCDateTime(metadata={"description": "Raised at or after this moment."})
    raised_to = UTCDateTime(metadata={"description": "Raised at or before this moment."})


class ComplaintQuerySchema(VendorComplaintQuerySchema):
    vendor_id = row_id()


def commitment_ids() -> fields.List:
    return fields.List(
        row_id(),
        validate=validate.Length(max=COMMITMENTS_MAX),
        metadata={"description": "The vendor's commitments the complaint concerns."},
    )


class ComplaintCreateSchema(Schema):
    title = name(TITLE_MAX, required=True)
    details = text(TEXT_MAX)
    severity = fields.Enum(Severity, required=True)
    channel = fields.Enum(Channel, required=True)
    raised_at = UTCDateTime(
        metadata={"description": "When the vendor was told; now when left out. Not in the future."}
    )
    contact_id = row_id(allow_none=True)
    owner_id = row_id(
        metadata={"description": "Who follows it up, an editor or an admin; the caller when left out."}
    )
    commitment_ids = commitment_ids()


class ComplaintPatchSchema(Schema):
    """Any fact, corrected at any step; the resolution itself changes by resolve and reopen."""

    title = name(TITLE_MAX)
    details = text(TEXT_MAX)
    severity = fields.Enum(Severity)
    channel = fields.Enum(Channel)
    raised_at = UTCDateTime(metadata={"description": "Moves the answer deadline with it."})
    contact_id = row_id(allow_none=True)
    owner_id = row_id()
    commitment_ids = commitment_ids()
    acknowledged_at = UTCDateTime(allow_none=True, metadata={"description": "null: not answered after all."})
    case_owner_name = line(200)
    case_owner_contact_id = row_id(allow_none=True)
    apologised = StrictBoolean()
    dated_answer_at = UTCDateTime(allow_none=True)
    resolved_at = UTCDateTime(metadata={"description": "Only for a resolved or withdrawn complaint."})
    satisfied = StrictBoolean(allow_none=True)


class AnswerSchema(Schema):
    at = UTCDateTime(
        metadata={
            "description": "When the vendor took the case up (not an automatic reply); now when left out."
        }
    )
    owner_name = line(200, metadata={"description": "Who at the vendor owns the case, by name."})
    owner_contact_id = row_id(
        metadata={"description": "Who at the vendor owns the case, as one of its contacts."}
    )
    apologised = StrictBoolean(load_default=False)

    @validates_schema
    def one_owner(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("owner_name") and data.get("owner_contact_id") is not None:
            message = _("Name the vendor's case owner or choose one of its contacts, not both.")
            raise ValidationError({"owner_name": [message]})


class DatedAnswerSchema(Schema):
    due_at = UTCDateTime(required=True, metadata={"description": "The moment the vendor will answer by."})
    at = UTCDateTime(metadata={"description": "When the vendor committed to it; now when left out."})


class ComplaintResolveSchema(Schema):
    resolution = fields.Enum(
        Resolution,
        required=True,
        metadata={
            "description": "fixed, compensated or declined by the vendor; withdrawn by us (not counted)."
        },
    )
    at = UTCDateTime(metadata={"description": "When it was resolved; now when left out."})
    satisfied = StrictBoolean(
        allow_none=True, metadata={"description": "Whether we were satisfied; not kept for a withdrawn one."}
    )


class ReopenSchema(Schema):
    reason = text(TEXT_MAX, required=True, metadata={"description": "Why it is open again."})


class ComplaintEventSchema(ByContactSchema):
    id = fields.Integer()
    at = UTCDateTime()
    action = fields.Enum(ComplaintAction)
    actor = fields.Nested(UserRefSchema, allow_none=True)
    before = fields.Dict()
    after = fields.Dict()
    reason = fields.String()


class ComplaintEventListSchema(Schema):
    items = fields.List(fields.Nested(ComplaintEventSchema), required=True)
