"""API for taking the ledger away: every vendor, contact, commitment and event as one JSON document."""

from __future__ import annotations

from flask import Response, stream_with_context

from vendortrack import export
from vendortrack.extensions import db
from vendortrack.views.api import user_schemas
from vendortrack.views.api.guard import ApiBlueprint, documented, request_now

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
    description="Every vendor, contact, commitment and event.",
)
def ledger():
    """The JSON export, streamed a row at a time: the same document as the download page's."""
    body = stream_with_context(export.ledger_json(db.session, request_now()))
    return Response(body, mimetype="application/json")
