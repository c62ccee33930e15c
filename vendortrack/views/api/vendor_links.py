"""API for the vendor's own link: ask a contact about a commitment or a complaint, list and revoke the
links, and accept or decline the answers that wait for us. The contact's answers themselves are the
link page's forms, not API calls; every write here is vendortrack.vendor_links'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy.orm import selectinload

from vendortrack import vendor_links
from vendortrack.extensions import db
from vendortrack.models import AnswerKind, Commitment, Complaint, Contact, VendorAnswer, VendorLink
from vendortrack.views.api import vendor_link_schemas as shapes
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now
from vendortrack.views.api.rows import get_or_404, get_or_422, ledger_write, paginate

bp = ApiBlueprint(
    "api_vendor_links",
    __name__,
    url_prefix="/api/v1",
    description="The vendor's own link: a contact asked about one commitment or complaint answers "
    "through it, with no account; we accept or decline what waits for us.",
)

# What a link's JSON reads beside it: loaded in one statement each for a page, not per row.
LINK_LOADED_WITH = (
    selectinload(VendorLink.contact),
    selectinload(VendorLink.commitment),
    selectinload(VendorLink.complaint),
    selectinload(VendorLink.asked_by),
    selectinload(VendorLink.revoked_by),
)
# The answers an excuse category means something for: the reschedule's, or the breach's.
TAKES_EXCUSE = frozenset({AnswerKind.proposed, AnswerKind.cannot})


@dataclass(frozen=True)
class Asked:
    """A link just made, with its page's address: the one answer that carries the token."""

    link: VendorLink
    url: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.link, name)


def _ask(item: Commitment | Complaint, values: dict[str, Any]) -> Asked:
    contact = get_or_422(Contact, values["contact_id"], "contact_id")
    with ledger_write():
        link, token = vendor_links.ask(
            db.session,
            item,
            contact=contact,
            actor=current_api_user(),
            now=request_now(),
            rules=shapes.link_rules(),
            send_email=values["send_email"],
        )
    return Asked(link, vendor_links.link_url(token))


@bp.route("/commitments/<id:commitment_id>/ask-vendor", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.AskVendorSchema)
@bp.response(201, shapes.VendorLinkCreatedSchema)
def ask_about_commitment(values: dict[str, Any], commitment_id: int):
    """Ask the vendor's contact to confirm an open commitment, or answer it otherwise, through a link
    of their own: emailed to them, or only made. Its url is in this answer alone.

    Refused (422) naming contact_id for another vendor's contact, or one without an email address
    when send_email is true; naming status when the commitment is already resolved.
    """
    return _ask(get_or_404(Commitment, commitment_id), values)


@bp.route("/complaints/<id:complaint_id>/ask-vendor", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.AskVendorSchema)
@bp.response(201, shapes.VendorLinkCreatedSchema)
def ask_about_complaint(values: dict[str, Any], complaint_id: int):
    """Ask the vendor's contact to answer an open complaint (who owns it, the date of their answer,
    the answer) through a link of their own. Its url is in this answer alone.

    Refused (422) naming contact_id for another vendor's contact, or one without an email address
    when send_email is true; naming status when the complaint is already resolved.
    """
    return _ask(get_or_404(Complaint, complaint_id), values)


@bp.route("/vendor-links")
@documented(bp, finds=False)
@bp.arguments(shapes.VendorLinkQuerySchema, location="query")
@bp.response(200, shapes.VendorLinkPageSchema)
def list_links(args: dict[str, Any]):
    """The links we made, newest first, filtered by vendor, contact, item and state."""
    statement = sa.select(VendorLink).options(*LINK_LOADED_WITH)
    for field, column in (
        ("vendor_id", VendorLink.vendor_id),
        ("contact_id", VendorLink.contact_id),
        ("commitment_id", VendorLink.commitment_id),
        ("complaint_id", VendorLink.complaint_id),
    ):
        if field in args:
            statement = statement.where(column == args[field])
    if "state" in args:
        # The rule each row's state is shown by, as SQL: the filter and the rows never disagree.
        state = vendor_links.state_sql(request_now(), shapes.link_rules())
        statement = statement.where(state == args["state"].value)
    return paginate(statement.order_by(VendorLink.asked_at.desc(), VendorLink.id.desc()), args)


@bp.route("/vendor-links/<id:link_id>")
@documented(bp)
@bp.response(200, shapes.VendorLinkDetailSchema)
def link(link_id: int):
    """One link: whom it asks about what, whether it was opened, its state, and every answer."""
    return get_or_404(VendorLink, link_id)


@bp.route("/vendor-links/<id:link_id>/revoke", methods=["POST"])
@documented(bp, write=True)
@bp.response(200, shapes.VendorLinkSchema)
def revoke(link_id: int):
    """The link stops working at once; its answers stay. One already revoked is refused (422, link)."""
    link = get_or_404(VendorLink, link_id)
    with ledger_write():
        vendor_links.revoke(db.session, link, actor=current_api_user(), now=request_now())
    return link


# -- the answers, and our decision on those that wait ---------------------------------------------


@bp.route("/vendor-answers")
@documented(bp, finds=False)
@bp.arguments(shapes.VendorAnswerQuerySchema, location="query")
@bp.response(200, shapes.VendorAnswerPageSchema)
def list_answers(args: dict[str, Any]):
    """What contacts answered through their links, newest first; `state=waiting` is what waits for us."""
    statement = sa.select(VendorAnswer).options(selectinload(VendorAnswer.decided_by))
    for field, column in (
        ("vendor_id", VendorAnswer.vendor_id),
        ("link_id", VendorAnswer.link_id),
        ("state", VendorAnswer.state),
        ("kind", VendorAnswer.kind),
    ):
        if field in args:
            statement = statement.where(column == args[field])
    return paginate(statement.order_by(VendorAnswer.at.desc(), VendorAnswer.id.desc()), args)


@bp.route("/vendor-answers/<id:answer_id>")
@documented(bp)
@bp.response(200, shapes.VendorAnswerSchema)
def answer(answer_id: int):
    """One answer through a link."""
    return get_or_404(VendorAnswer, answer_id)


def _accept(answer: VendorAnswer, excuse_category: Any = None) -> VendorAnswer:
    if excuse_category is not None and answer.kind not in TAKES_EXCUSE:
        message = _("Only a proposal or a cannot takes an excuse category.")
        abort(422, message=message, fields={"excuse_category": [message]})
    with ledger_write():
        vendor_links.accept(
            db.session,
            answer,
            actor=current_api_user(),
            now=request_now(),
            excuse_category=excuse_category,
            rules=vendor_links.LinkRules.from_config(current_app.config),
        )
    return answer


def _decline(answer: VendorAnswer, note: str) -> VendorAnswer:
    with ledger_write(fields={"decision_note": "note"}):
        vendor_links.decline(
            db.session,
            answer,
            actor=current_api_user(),
            now=request_now(),
            note=note,
            rules=vendor_links.LinkRules.from_config(current_app.config),
        )
    return answer


@bp.route("/vendor-answers/<id:answer_id>/accept", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.AcceptSchema)
@bp.response(200, shapes.VendorAnswerSchema)
def accept(values: dict[str, Any], answer_id: int):
    """Agree to an answer that waits for us (else 422 naming state): a proposal reschedules the
    commitment to the proposed time, the vendor's reason its excuse and the moment it was proposed its
    notice (SCORING.md §11); a report of done keeps it at the reported time; a cannot records it
    broken with the vendor's reason; a reply keeps the complaint's dated answer when it came. The
    contact is emailed our decision."""
    return _accept(get_or_404(VendorAnswer, answer_id), values.get("excuse_category"))


@bp.route("/vendor-answers/<id:answer_id>/decline", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.DeclineSchema)
@bp.response(200, shapes.VendorAnswerSchema)
def decline(values: dict[str, Any], answer_id: int):
    """Do not agree to an answer that waits for us (else 422 naming state): nothing in the ledger
    changes. The contact is emailed our decision, with the note."""
    return _decline(get_or_404(VendorAnswer, answer_id), values.get("note", ""))


# The names for the two decisions asked most: each one kind of answer, any other id a 404.


def _answer_of_kind(answer_id: int, kind: AnswerKind) -> VendorAnswer:
    answer = db.session.get(VendorAnswer, answer_id)
    if answer is None or answer.kind != kind:
        if kind == AnswerKind.proposed:
            abort(404, message=_("There is no proposal #%(id)d.", id=answer_id))
        abort(404, message=_("There is no report of done #%(id)d.", id=answer_id))
    return answer


@bp.route("/proposals/<id:answer_id>/accept", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.AcceptSchema)
@bp.response(200, shapes.VendorAnswerSchema)
def accept_proposal(values: dict[str, Any], answer_id: int):
    """Accept the vendor's proposal of another time (an answer of kind proposed): the commitment is
    rescheduled to it, told at the moment it was proposed. As /vendor-answers/{id}/accept."""
    return _accept(_answer_of_kind(answer_id, AnswerKind.proposed), values.get("excuse_category"))


@bp.route("/proposals/<id:answer_id>/decline", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.DeclineSchema)
@bp.response(200, shapes.VendorAnswerSchema)
def decline_proposal(values: dict[str, Any], answer_id: int):
    """Decline the vendor's proposal: the commitment keeps its time. As /vendor-answers/{id}/decline."""
    return _decline(_answer_of_kind(answer_id, AnswerKind.proposed), values.get("note", ""))


@bp.route("/done-reports/<id:answer_id>/confirm", methods=["POST"])
@documented(bp, write=True)
@bp.response(200, shapes.VendorAnswerSchema)
def confirm_done(answer_id: int):
    """Confirm the vendor's report that it is done (an answer of kind done): the commitment is kept at
    the reported time. As /vendor-answers/{id}/accept."""
    return _accept(_answer_of_kind(answer_id, AnswerKind.done))


@bp.route("/done-reports/<id:answer_id>/dispute", methods=["POST"])
@documented(bp, write=True)
@bp.arguments(shapes.DeclineSchema)
@bp.response(200, shapes.VendorAnswerSchema)
def dispute_done(values: dict[str, Any], answer_id: int):
    """Dispute the vendor's report that it is done: the commitment stays open. As
    /vendor-answers/{id}/decline."""
    return _decline(_answer_of_kind(answer_id, AnswerKind.done), values.get("note", ""))
