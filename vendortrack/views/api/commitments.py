"""API for commitments: log, list and filter, correct, resolve, reopen, and read their history."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import selectinload

from vendortrack import ledger, vendor_links
from vendortrack.extensions import db
from vendortrack.models import Commitment, Contact, LedgerEvent, User, Vendor
from vendortrack.views.api import schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now
from vendortrack.views.api.rows import get_or_404, ledger_write, paginate, with_references

bp = ApiBlueprint(
    "api_commitments",
    __name__,
    url_prefix="/api/v1",
    description="What vendors promised, and what became of it.",
)

# Every write here goes through the ledger, which guards its own changes against a stale read:
# `ledger_write(reread=False)` spares the rows read before the write lock a second reading under it.
# (A vendor archived, or an owner disabled, in the millisecond between is as if the log came first.)

# The body's ids, as the ledger functions' keyword arguments and the models they name.
REFERENCES = {"contact_id": ("contact", Contact), "owner_id": ("owner", User)}


@bp.route("/commitments")
@documented(bp, finds=False)
@bp.arguments(schemas.CommitmentQuerySchema, location="query")
@bp.response(200, schemas.CommitmentPageSchema)
def list_commitments(args: dict[str, Any]):
    """Commitments by due time, filtered by vendor, status, kind, owner and a due window."""
    statement = sa.select(Commitment).order_by(Commitment.due_at, Commitment.id)
    for field, column in (
        ("vendor_id", Commitment.vendor_id),
        ("status", Commitment.status),
        ("kind", Commitment.kind),
        ("owner_id", Commitment.owner_id),
    ):
        if field in args:
            statement = statement.where(column == args[field])
    if "due_from" in args:
        statement = statement.where(Commitment.due_at >= args["due_from"])
    if "due_to" in args:
        statement = statement.where(Commitment.due_at <= args["due_to"])
    return paginate(statement, args)


@bp.route("/vendors/<id:vendor_id>/commitments", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(schemas.CommitmentCreateSchema)
@bp.response(201, schemas.CommitmentSchema)
def log_commitment(values: dict[str, Any], vendor_id: int):
    """Log what the vendor committed to; it is owned by the caller unless owner_id says otherwise.

    Logged after its due time, it can carry what already happened (status and that outcome's
    fields, as in resolve): both are written in one transaction, or neither. A rescheduled one
    answers with `rescheduled_to` set. Logged open for a vendor that asks for confirmations, its
    contact is emailed a link to confirm it (GET /api/v1/vendor-links?commitment_id=).
    """
    vendor = get_or_404(Vendor, vendor_id)
    values = with_references(values, REFERENCES)
    with ledger_write(reread=False):
        actor, now = current_api_user(), request_now()
        commitment = ledger.log_what_happened(db.session, vendor=vendor, actor=actor, now=now, **values)
        rules = vendor_links.LinkRules.from_config(current_app.config)
        vendor_links.ask_on_logging(db.session, commitment, actor=actor, now=now, rules=rules)
    return commitment


@bp.route("/commitments/<id:commitment_id>")
class CommitmentItem(MethodView):
    @documented(bp)
    @bp.response(200, schemas.CommitmentSchema)
    def get(self, commitment_id: int):
        """One commitment, with its place in a reschedule chain."""
        return get_or_404(Commitment, commitment_id)

    @documented(bp, write=True)
    @bp.arguments(schemas.CommitmentPatchSchema)
    @bp.response(200, schemas.CommitmentSchema)
    def patch(self, values: dict[str, Any], commitment_id: int):
        """Correct what was logged; a date the vendor moved is a reschedule, through resolve."""
        commitment = get_or_404(Commitment, commitment_id)
        values = with_references(values, REFERENCES)
        with ledger_write(reread=False):
            ledger.edit_commitment(
                db.session, commitment, actor=current_api_user(), now=request_now(), **values
            )
        return commitment


@bp.route("/commitments/<id:commitment_id>/resolve", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(schemas.ResolveSchema)
@bp.response(200, schemas.CommitmentSchema)
def resolve(values: dict[str, Any], commitment_id: int):
    """Record what happened. A reschedule closes this one and answers with `rescheduled_to` set."""
    commitment = get_or_404(Commitment, commitment_id)
    with ledger_write(reread=False):
        ledger.resolve(
            db.session,
            commitment,
            values.pop("status"),
            actor=current_api_user(),
            now=request_now(),
            **values,
        )
    return commitment


@bp.route("/commitments/<id:commitment_id>/reopen", methods=["POST"])
@documented(bp, write=True)
@bp.response(200, schemas.CommitmentSchema)
def reopen(commitment_id: int):
    """Undo an outcome logged by mistake; a reschedule's open follow-up is cancelled with it."""
    commitment = get_or_404(Commitment, commitment_id)
    with ledger_write(reread=False):
        ledger.reopen(db.session, commitment, actor=current_api_user(), now=request_now())
    return commitment


@bp.route("/commitments/<id:commitment_id>/history")
@documented(bp)
@bp.response(200, schemas.EventListSchema)
def history(commitment_id: int):
    """Every change to the commitment, oldest first, with who made it and what it was before."""
    commitment = get_or_404(Commitment, commitment_id)
    events = db.session.scalars(
        sa.select(LedgerEvent)
        .where(LedgerEvent.commitment_id == commitment.id)
        .options(selectinload(LedgerEvent.actor), selectinload(LedgerEvent.actor_contact))
        .order_by(LedgerEvent.at, LedgerEvent.id)
    ).all()
    return {"items": events}
