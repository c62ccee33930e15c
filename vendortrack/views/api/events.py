"""API for admins: the event log of the whole ledger, filtered, newest first, a keyset page at a time."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from vendortrack import audit
from vendortrack.extensions import db
from vendortrack.models import EventAction
from vendortrack.permissions import reads_event_log
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented
from vendortrack.views.api.schemas import PER_PAGE_MAX, ByContactSchema, UTCDateTime, row_id

bp = ApiBlueprint(
    "api_events", __name__, url_prefix="/api/v1/events", description="Every ledger event, for admins."
)


@bp.before_request
def admin_only() -> None:
    # Runs after `authenticate`: the log names who did what to every vendor.
    if not reads_event_log(current_api_user()):
        abort(403, message=_("Only an admin may read the event log."))


class EventLogQuerySchema(Schema):
    user_id = fields.String(
        validate=validate.Regexp(rf"^([0-9]{{1,{audit.MAX_ID_DIGITS}}}|{audit.SCHEDULER})$"),
        metadata={"description": "A user's id, or 'scheduler' for the events no person made."},
    )
    vendor_id = row_id()
    since = UTCDateTime(metadata={"description": "Events at or after this moment."})
    until = UTCDateTime(metadata={"description": "Events before this moment."})
    before = row_id(metadata={"description": "The page older than this event (a page's `older`)."})
    after = row_id(metadata={"description": "The page newer than this event (a page's `newer`)."})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PER_PAGE_MAX))

    @validates_schema
    def one_cursor(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "before" in data and "after" in data:
            raise ValidationError(_("Ask for older or newer events, not both."), "after")

    @post_load
    def user_as_id(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("user_id", audit.SCHEDULER) != audit.SCHEDULER:
            data["user_id"] = int(data["user_id"])
        return data


class LogEventSchema(ByContactSchema):
    id = fields.Integer()
    at = UTCDateTime()
    action = fields.Enum(EventAction)
    actor_id = fields.Integer(
        allow_none=True,
        metadata={"description": "null: the scheduler, or the vendor's contact (actor_contact_id)."},
    )
    vendor_id = fields.Integer()
    commitment_id = fields.Integer()
    before = fields.Dict()
    after = fields.Dict()


class EventLogPageSchema(Schema):
    items = fields.List(fields.Nested(LogEventSchema), required=True)
    older = fields.Integer(
        required=True, allow_none=True, metadata={"description": "?before= for the page back in time."}
    )
    newer = fields.Integer(
        required=True, allow_none=True, metadata={"description": "?after= for the page before this one."}
    )


@bp.route("", endpoint="events")
@documented(bp, finds=False)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.arguments(EventLogQuerySchema, location="query")
@bp.response(200, EventLogPageSchema)
def events(args: dict[str, Any]):
    """The ledger's events, newest first; filter by user, vendor and time, page with `before`/`after`."""
    for cursor in ("before", "after"):
        if cursor in args:
            where = audit.position(db.session, args[cursor])
            if where is None:
                message = _("There is no event #%(id)d.", id=args[cursor])
                abort(422, message=message, fields={cursor: [message]})
            args[cursor] = where
    page = audit.events(db.session, **args)
    return {"items": [line.event for line in page.lines], "older": page.older, "newer": page.newer}
