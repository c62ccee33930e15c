"""Downloads for anyone signed in: every vendor, contact, commitment and event as CSV, or all as JSON."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, stream_with_context
from flask_login import login_required

from vendortrack import export
from vendortrack.extensions import db
from vendortrack.timeutil import utcnow

bp = Blueprint("exports", __name__, url_prefix="/export")


def attachment(response: Response, name: str, suffix: str) -> Response:
    filename = f"vendortrack-{name}-{utcnow():%Y-%m-%d}.{suffix}"
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@bp.route("/")
@login_required
def index():
    return render_template("exports/index.html", sets=list(export.SETS))


@bp.route("/<any(vendors, contacts, commitments, events):name>.csv")
@login_required
def csv_file(name: str):
    if name not in export.SETS:
        abort(404)
    rows, columns = export.SETS[name]
    body = stream_with_context(export.csv_chunks(columns, rows(db.session)))
    return attachment(Response(body, content_type="text/csv; charset=utf-8"), name, "csv")


@bp.route("/ledger.json")
@login_required
def ledger_json():
    body = stream_with_context(export.ledger_json(db.session, utcnow()))
    return attachment(Response(body, mimetype="application/json"), "ledger", "json")
