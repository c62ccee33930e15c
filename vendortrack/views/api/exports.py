"""API for taking the ledger away: every vendor, contact, commitment, complaint, vendor's link and answer
as one JSON document, and every event for those who read the event log (permissions.reads_event_log)."""

from __future__ import annotations

from flask import Response, stream_with_context

from vendortrack import export
from vendortrack.extensions import db
from vendortrack.permissions import reads_event_log
from vendortrack.views.api import user_schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now

bp = ApiBlueprint(
    "api_exports",
    __name__,
    url_prefix="/api/v1/export",
    description="The whole ledger, for reports and safekeeping.",
)


@bp.route("/ledger")
@documented(bp, finds=False)
@bp.alt_response(
    200,
    schema=user_schemas.LedgerExportSchema,
    success=True,
    description="Every vendor, contact, commitment and complaint; every event too, for an admin.",
)
def ledger():
    """The JSON export, streamed a row at a time: the same document as the download page's. The events
    are the event log's, so only an admin's export holds them."""
    sets = export.sets_for(reads_event_log=reads_event_log(current_api_user()))
    body = stream_with_context(export.ledger_json(db.session, request_now(), sets))
    return Response(body, mimetype="application/json")
