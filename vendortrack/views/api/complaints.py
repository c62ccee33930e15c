"""API for complaints: raise, list and filter, correct, answer, dated answer, resolve, reopen, history."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import selectinload

from vendortrack import complaints
from vendortrack.extensions import db
from vendortrack.models import Commitment, Complaint, ComplaintEvent, Contact, User, Vendor
from vendortrack.views.api import complaint_schemas as shapes
from vendortrack.views.api import schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now
from vendortrack.views.api.rows import get_or_404, get_or_422, ledger_write, paginate, with_references

bp = ApiBlueprint(
    "api_complaints",
    __name__,
    url_prefix="/api/v1",
    description="Complaints we raised with vendors, and how each vendor answered (SCORING.md §10).",
)

# The body's ids, as complaints.py's keyword arguments and the models they name.
REFERENCES = {
    "contact_id": ("contact", Contact),
    "owner_id": ("owner", User),
    "case_owner_contact_id": ("case_owner_contact", Contact),
}
# What the JSON of a page of complaints reads beside each row: loaded in one statement each, not per row.
LOADED_WITH = (selectinload(Complaint.commitments), selectinload(Complaint.answer_promises))


def _with_references(values: dict[str, Any]) -> dict[str, Any]:
    """Swap the body's ids for the rows they name; an unknown id is a 422 on that field."""
    values = with_references(values, REFERENCES)
    if "commitment_ids" in values:
        values["commitments"] = [
            get_or_422(Commitment, commitment_id, "commitment_ids")
            for commitment_id in values.pop("commitment_ids")
        ]
    return values


def _rules():
    return current_app.config["VENDORTRACK_RULES"]


def _listed(args: dict[str, Any], vendor_id: int | None) -> dict[str, Any]:
    """Complaints oldest first (the longest waiting on top), filtered as the query asks."""
    statement = sa.select(Complaint).options(*LOADED_WITH).order_by(Complaint.raised_at, Complaint.id)
    if vendor_id is not None:
        statement = statement.where(Complaint.vendor_id == vendor_id)
    if "status" in args:
        statement = statement.where(Complaint.status == args["status"])
    if "raised_from" in args:
        statement = statement.where(Complaint.raised_at >= args["raised_from"])
    if "raised_to" in args:
        statement = statement.where(Complaint.raised_at <= args["raised_to"])
    return paginate(statement, args)


@bp.route("/complaints")
@documented(bp, finds=False)
@bp.arguments(shapes.ComplaintQuerySchema, location="query")
@bp.response(200, shapes.ComplaintPageSchema)
def list_complaints(args: dict[str, Any]):
    """Complaints across vendors, oldest first, filtered by vendor, status and when they were raised."""
    return _listed(args, args.get("vendor_id"))


@bp.route("/vendors/<id:vendor_id>/complaints")
class VendorComplaints(MethodView):
    @documented(bp)
    @bp.arguments(shapes.VendorComplaintQuerySchema, location="query")
    @bp.response(200, shapes.ComplaintPageSchema)
    def get(self, args: dict[str, Any], vendor_id: int):
        """The vendor's complaints, oldest first, filtered by status and when they were raised."""
        return _listed(args, get_or_404(Vendor, vendor_id).id)

    @documented(bp, write=True)
    @bp.arguments(shapes.ComplaintCreateSchema)
    @bp.response(201, shapes.ComplaintSchema)
    def post(self, values: dict[str, Any], vendor_id: int):
        """Log a complaint raised with the vendor; it is followed up by the caller unless owner_id says
        otherwise. Its answer deadline is worked out from raised_at."""
        vendor = get_or_404(Vendor, vendor_id)
        values = _with_references(values)
        with ledger_write():
            complaint = complaints.raise_complaint(
                db.session,
                vendor=vendor,
                raised_at=values.pop("raised_at", None),
                actor=current_api_user(),
                now=request_now(),
                rules=_rules(),
                **values,
            )
        return complaint


@bp.route("/complaints/<id:complaint_id>")
class ComplaintItem(MethodView):
    @documented(bp)
    @bp.response(200, shapes.ComplaintSchema)
    def get(self, complaint_id: int):
        """One complaint, with its answer deadline, its status and the promise of its dated answer."""
        return get_or_404(Complaint, complaint_id)

    @documented(bp, write=True)
    @bp.arguments(shapes.ComplaintPatchSchema)
    @bp.response(200, shapes.ComplaintSchema)
    def patch(self, values: dict[str, Any], complaint_id: int):
        """Correct any fact at any step; the history keeps what it was. Its moments stay in order."""
        complaint = get_or_404(Complaint, complaint_id)
        values = _with_references(values)
        with ledger_write():
            complaints.edit_complaint(
                db.session, complaint, actor=current_api_user(), now=request_now(), rules=_rules(), **values
            )
        return complaint


@bp.route("/complaints/<id:complaint_id>/answer", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.AnswerSchema)
@bp.response(200, shapes.ComplaintSchema)
def answer(values: dict[str, Any], complaint_id: int):
    """The vendor took the case up: when, who at the vendor owns it, whether they apologised."""
    complaint = get_or_404(Complaint, complaint_id)
    case_owner_contact = get_or_422(Contact, values.get("owner_contact_id"), "owner_contact_id")
    with ledger_write(fields={"acknowledged_at": "at", "case_owner_contact_id": "owner_contact_id"}):
        complaints.answer(
            db.session,
            complaint,
            at=values.get("at"),
            case_owner_name=values.get("owner_name", ""),
            case_owner_contact=case_owner_contact,
            apologised=values["apologised"],
            actor=current_api_user(),
            now=request_now(),
        )
    return complaint


@bp.route("/complaints/<id:complaint_id>/dated-answer", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.DatedAnswerSchema)
@bp.response(201, schemas.CommitmentSchema)
def dated_answer(values: dict[str, Any], complaint_id: int):
    """The vendor commits to an answer by due_at: answers the promise logged for it in the ledger,
    scored and resolved like every promise. A date the vendor moves is a reschedule of that promise."""
    complaint = get_or_404(Complaint, complaint_id)
    with ledger_write():
        promise = complaints.give_dated_answer(
            db.session, complaint, actor=current_api_user(), now=request_now(), **values
        )
    return promise


@bp.route("/complaints/<id:complaint_id>/resolve", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.ComplaintResolveSchema)
@bp.response(200, shapes.ComplaintSchema)
def resolve(values: dict[str, Any], complaint_id: int):
    """Fixed, compensated or declined by the vendor, or withdrawn by us (then no longer counted)."""
    complaint = get_or_404(Complaint, complaint_id)
    with ledger_write(fields={"resolved_at": "at"}):
        complaints.resolve(
            db.session,
            complaint,
            values.pop("resolution"),
            actor=current_api_user(),
            now=request_now(),
            **values,
        )
    return complaint


@bp.route("/complaints/<id:complaint_id>/reopen", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.ReopenSchema)
@bp.response(200, shapes.ComplaintSchema)
def reopen(values: dict[str, Any], complaint_id: int):
    """Open a closed complaint again (answered or waiting, as its answer says), saying why."""
    complaint = get_or_404(Complaint, complaint_id)
    with ledger_write():
        complaints.reopen(
            db.session, complaint, reason=values["reason"], actor=current_api_user(), now=request_now()
        )
    return complaint


@bp.route("/complaints/<id:complaint_id>/history")
@documented(bp)
@bp.response(200, shapes.ComplaintEventListSchema)
def history(complaint_id: int):
    """Every step of the complaint, oldest first, with who took it and what it was before."""
    complaint = get_or_404(Complaint, complaint_id)
    events = db.session.scalars(
        sa.select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .options(selectinload(ComplaintEvent.actor), selectinload(ComplaintEvent.actor_contact))
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    ).all()
    return {"items": events}
