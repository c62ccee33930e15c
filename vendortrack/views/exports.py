"""Downloads for anyone signed in: every vendor, contact, commitment, complaint, vendor's link and answer
as CSV, or all as JSON; the event log's events (the ledger's and the complaints') too for those who read
it (permissions.reads_event_log)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, stream_with_context
from flask_login import current_user, login_required

from vendortrack import export
from vendortrack.extensions import db
from vendortrack.permissions import reads_event_log
from vendortrack.timeutil import utcnow

bp = Blueprint("exports", __name__, url_prefix="/export")


def attachment(response: Response, name: str, suffix: str) -> Response:
    filename = f"vendortrack-{name}-{utcnow():%Y-%m-%d}.{suffix}"
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def readable_sets() -> dict[str, export.Download]:
    return export.sets_for(reads_event_log=reads_event_log(current_user))


@bp.route("/")
@login_required
def index():
    return render_template("exports/index.html", sets=list(readable_sets()))


@bp.route(
    "/<any(vendors, contacts, commitments, complaints, events, complaint_events, vendor_links, "
    "vendor_answers):name>.csv"
)
@login_required
def csv_file(name: str):
    sets = readable_sets()
    if name not in sets:
        abort(403)
    rows, columns = sets[name]
    body = stream_with_context(export.csv_chunks(columns, rows(db.session)))
    return attachment(Response(body, content_type="text/csv; charset=utf-8"), name, "csv")


@bp.route("/ledger.json")
@login_required
def ledger_json():
    body = stream_with_context(export.ledger_json(db.session, utcnow(), readable_sets()))
    return attachment(Response(body, mimetype="application/json"), "ledger", "json")
