"""API for scores: one vendor's full report, and every vendor ranked (SCORING.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify
from flask_babel import gettext as _
from flask_smorest import abort

from vendortrack.extensions import db
from vendortrack.models import Contact, Vendor
from vendortrack.scores import scorecard
from vendortrack.scores.asks import NO_ASKS
from vendortrack.scores.rules import VendorScore
from vendortrack.views.api import score_schemas
from vendortrack.views.api.guard import ApiBlueprint, documented, request_now
from vendortrack.views.api.rows import get_or_404, get_or_422

bp = ApiBlueprint(
    "api_scores",
    __name__,
    url_prefix="/api/v1",
    description="Reliability and punctuality, as SCORING.md defines them.",
)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def score_payload(vendor_id: int, contact_id: int | None, report: VendorScore) -> dict[str, Any]:
    """The report as JSON: unrounded floats, so anyone can redo the arithmetic."""
    return {
        "vendor_id": vendor_id,
        "contact_id": contact_id,
        "as_of": _utc(report.as_of),
        **report.figures.as_dict(),
        "counts": report.counts,
        "median_late_minutes_meetings": report.median_late_minutes_meetings,
        "median_late_hours_other": report.median_late_hours_other,
        "excuses": report.excuses,
        "longest_reschedule_chain": report.longest_reschedule_chain,
        "contacts": [
            contact | {"asks": report.contact_asks.get(contact["contact_id"], NO_ASKS).as_dict()}
            for contact in report.contacts
        ],
        "trend": [
            {"as_of": _utc(p["as_of"]), "score": p["score"], "standing": p["standing"]} for p in report.trend
        ],
        "explain": [
            {
                "commitment_id": c.fact.id,
                "title": c.fact.title,
                "kind": c.fact.kind,
                "due_at": _utc(c.fact.due_at),
                "outcome": c.outcome.value,
                "weight": c.weight,
                "f": c.f,
                "p": c.p,
            }
            for c in report.explain
        ],
        "responsiveness": report.responsiveness.as_dict(),
        "notice": report.notice.as_dict(),
        "asks": report.asks.as_dict(),
        "explain_complaints": [
            {
                "complaint_id": c.fact.id,
                "title": c.fact.title,
                "raised_at": _utc(c.fact.raised_at),
                "deadline": _utc(c.deadline),
                "weight": c.weight,
                "a": c.a,
            }
            for c in report.responsiveness.explain
        ],
    }


@bp.route("/vendors/<id:vendor_id>/score")
@documented(bp)
@bp.arguments(score_schemas.ScoreArgsSchema, location="query")
@bp.alt_response(200, schema=score_schemas.ScoreSchema, success=True, description="The vendor's score.")
def vendor_score(args: dict[str, Any], vendor_id: int):
    """A vendor's score with bands, counts, excuses, chains, contacts, trend and the explanation; its
    responsiveness to complaints, the notice of its moves and its answers to our asks through its links
    beside it, with the complaints counted. With contact_id, the contact's own."""
    vendor = get_or_404(Vendor, vendor_id)
    contact_id = args.get("contact_id")
    if contact_id is not None and get_or_422(Contact, contact_id, "contact_id").vendor_id != vendor.id:
        message = _("Contact #%(id)d works for another vendor.", id=contact_id)
        abort(422, message=message, fields={"contact_id": [message]})
    rules = current_app.config["VENDORTRACK_RULES"]
    report = scorecard.vendor_score(
        db.session, vendor, rules, args.get("as_of") or request_now(), contact_id=contact_id
    )
    return jsonify(score_payload(vendor.id, contact_id, report))


@bp.route("/scorecard")
@documented(bp, finds=False)
@bp.arguments(score_schemas.ScorecardArgsSchema, location="query")
@bp.alt_response(200, schema=score_schemas.ScorecardSchema, success=True, description="Every active vendor.")
def ranked(args: dict[str, Any]):
    """Every active vendor with its headline figures, responsiveness, notice of moves and answers to our
    asks, best (or worst) first by the ranking key of its score, or of its responsiveness with
    order_by=responsiveness."""
    rules = current_app.config["VENDORTRACK_RULES"]
    as_of = args.get("as_of") or request_now()
    lines = scorecard.ranked(
        db.session,
        rules,
        as_of,
        category=args.get("category"),
        standing=args.get("standing"),
        worst_first=args["order"] == "worst",
        by=args["order_by"],
        responsiveness_standing=args.get("responsiveness_standing"),
    )
    items = [
        {
            "vendor_id": line.vendor_id,
            "name": line.name,
            "category": line.category,
            **line.figures.as_dict(),
            "counts": line.counts,
            "responsiveness": line.responsiveness.as_dict(),
            "notice": line.notice.as_dict(),
            "asks": line.asks.as_dict(),
        }
        for line in lines
    ]
    return jsonify(
        {"as_of": _utc(as_of), "order": args["order"], "order_by": args["order_by"], "items": items}
    )
