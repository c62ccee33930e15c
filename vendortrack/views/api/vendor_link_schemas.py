"""The API's shapes for the vendor's own links: the ask, the link as our side reads it, the contact's
answers, and our decision on those that wait for one. A link's token is in none of them but the ask's
answer (VendorLinkCreatedSchema), once; its hash is in none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, missing, validate

from vendortrack import vendor_links
from vendortrack.models import AnswerKind, AnswerState, Commitment, ExcuseCategory
from vendortrack.views.api.guard import request_now
from vendortrack.views.api.schemas import (
    PageArgsSchema,
    PageSchema,
    StrictBoolean,
    UserRefSchema,
    UTCDateTime,
    row_id,
    text,
)


def link_rules() -> vendor_links.LinkRules:
    return vendor_links.LinkRules.from_config(current_app.config)


def _state(link) -> str:
    return vendor_links.link_state(link, request_now(), link_rules()).value


def _item(link) -> dict[str, Any]:
    item = vendor_links.item_of(link)
    kind = "commitment" if isinstance(item, Commitment) else "complaint"
    return {"type": kind, "id": item.id, "title": item.title}


class AskVendorSchema(Schema):
    contact_id = row_id(
        required=True, metadata={"description": "The vendor's contact to ask: one of this vendor's."}
    )
    send_email = StrictBoolean(
        required=True,
        metadata={
            "description": "true: email the ask to the contact (they need an address); false: only "
            "make the link, to send some other way."
        },
    )


class ContactRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class Derived(fields.Nested):
    """A nested object worked out from the row (`of`), not read from one of its attributes."""

    def __init__(self, nested: Any, of: Callable[[Any], Any], **kwargs: Any):
        super().__init__(nested, **kwargs)
        self.of = of

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return self.of(obj)


class ItemRefSchema(Schema):
    type = fields.String(validate=validate.OneOf(["commitment", "complaint"]))
    id = fields.Integer()
    title = fields.String()


class VendorLinkSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    contact = fields.Nested(ContactRefSchema, metadata={"description": "Who was asked."})
    item = Derived(
        ItemRefSchema,
        _item,
        metadata={
            "description": "What it asks about; a commitment as it stands, the link following its moves."
        },
    )
    commitment_id = fields.Integer(allow_none=True)
    complaint_id = fields.Integer(allow_none=True)
    asked_by = fields.Nested(UserRefSchema)
    asked_at = UTCDateTime()
    automatic = fields.Boolean(
        metadata={"description": "Sent when the commitment was logged: its vendor asks for confirmations."}
    )
    emailed_to = fields.String(
        metadata={"description": "Where the ask was emailed; empty when the link was only made."}
    )
    expires_at = UTCDateTime(metadata={"description": "It stops working then, whatever happens."})
    state = fields.Function(
        _state,
        metadata={
            "type": "string",
            "enum": [state.value for state in vendor_links.LinkState],
            "description": "open; revoked; expired; closed: its item was resolved more than the "
            "grace period ago.",
        },
    )
    revoked_at = UTCDateTime(allow_none=True)
    revoked_by = fields.Nested(UserRefSchema, allow_none=True)
    first_opened_at = UTCDateTime(allow_none=True)
    last_opened_at = UTCDateTime(allow_none=True)
    opens = fields.Integer(metadata={"description": "How often the contact opened its page."})
    first_answered_at = UTCDateTime(
        allow_none=True, metadata={"description": "The contact's first answer, at the server's clock."}
    )


class VendorLinkCreatedSchema(VendorLinkSchema):
    url = fields.String(
        required=True,
        metadata={
            "description": "The contact's page, with the link's secret in it. Shown here only: only its "
            "hash is kept, so no other answer can give it again."
        },
    )


class VendorLinkPageSchema(PageSchema):
    items = fields.List(fields.Nested(VendorLinkSchema), required=True)


class VendorLinkQuerySchema(PageArgsSchema):
    vendor_id = row_id()
    contact_id = row_id()
    commitment_id = row_id(
        metadata={"description": "The commitment as it stands (a link follows its moves)."}
    )
    complaint_id = row_id()
    state = fields.Enum(vendor_links.LinkState)


class VendorAnswerSchema(Schema):
    id = fields.Integer()
    link_id = fields.Integer()
    vendor_id = fields.Integer()
    contact_id = fields.Integer(metadata={"description": "The link's contact, who answered."})
    commitment_id = fields.Integer(
        allow_none=True, metadata={"description": "The commitment as it stood when they answered."}
    )
    complaint_id = fields.Integer(allow_none=True)
    kind = fields.Enum(
        AnswerKind,
        metadata={
            "description": "About a commitment: confirmed, proposed (another time), done, cannot. About a "
            "complaint: answered (took it up), dated_answer, reply (the answer itself)."
        },
    )
    at = UTCDateTime(metadata={"description": "When it came, at the server's clock."})
    state = fields.Enum(
        AnswerState,
        metadata={
            "description": "recorded: nothing for us to decide; waiting: for accept or decline; "
            "accepted; declined; superseded: the contact sent a newer one before we decided; "
            "overtaken: its commitment was settled or moved some other way before we decided."
        },
    )
    message = fields.String(metadata={"description": "The contact's reason, note or answer, as written."})
    proposed_due_at = UTCDateTime(allow_none=True, metadata={"description": "proposed: the time proposed."})
    done_at = UTCDateTime(allow_none=True, metadata={"description": "done, reply: when, as reported."})
    answer_due_at = UTCDateTime(
        allow_none=True, metadata={"description": "dated_answer: the date the vendor will answer by."}
    )
    case_owner_name = fields.String(metadata={"description": "answered: who owns the case at the vendor."})
    apologised = fields.Boolean(allow_none=True)
    decided_at = UTCDateTime(allow_none=True)
    decided_by = fields.Nested(UserRefSchema, allow_none=True)
    decision_note = fields.String()


class VendorLinkDetailSchema(VendorLinkSchema):
    answers = fields.List(
        fields.Nested(VendorAnswerSchema),
        metadata={"description": "Everything answered through it, oldest first."},
    )


class VendorAnswerPageSchema(PageSchema):
    items = fields.List(fields.Nested(VendorAnswerSchema), required=True)


class VendorAnswerQuerySchema(PageArgsSchema):
    vendor_id = row_id()
    link_id = row_id()
    state = fields.Enum(AnswerState)
    kind = fields.Enum(AnswerKind)


class AcceptSchema(Schema):
    excuse_category = fields.Enum(
        ExcuseCategory,
        allow_none=True,
        metadata={
            "description": "For a proposal (the reschedule's) or a cannot (the breach's); other, when left "
            "out. The excuse itself is the vendor's reason. Other answers take none."
        },
    )


class DeclineSchema(Schema):
    note = text(
        vendor_links.MESSAGE_MAX, metadata={"description": "Emailed to the contact with our decision."}
    )
