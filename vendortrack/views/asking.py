"""Our side of the vendor's link, from a commitment's or a complaint's page: ask a contact (by email,
or a link to copy), revoke a link, accept or decline what the vendor answered.

Every write is vendor_links', in one unit of work; a refusal shows on the item's page under the form
that was sent, as the page's own forms do. A copied link's token is shown once, on the answer to the
POST that made it: never in a redirect, a flash or the session cookie, and never again.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vendortrack import vendor_links
from vendortrack.extensions import db
from vendortrack.models import AnswerKind, Commitment, Contact, VendorAnswer, VendorLink
from vendortrack.permissions import editor_required
from vendortrack.templating import local
from vendortrack.timeutil import utcnow
from vendortrack.views import commitments, complaints, link_panel
from vendortrack.views.api.schemas import ROW_ID_MAX
from vendortrack.views.saving import save

bp = Blueprint("asking", __name__)

# The page that shows a token must not be kept by the browser or anything between.
SHOWN_ONCE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

Item = link_panel.Item


def item_url(item: Item) -> str:
    if isinstance(item, Commitment):
        return url_for("commitments.detail", commitment_id=item.id)
    return url_for("complaints.detail", complaint_id=item.id)


def _item_page(item: Item, refused: link_panel.Refused):
    """The item's page again, the refused form in place with its errors, answered 400."""
    if isinstance(item, Commitment):
        return commitments.detail_page(item, status=400, refused=refused)
    return complaints.detail_page(item, status=400, refused=refused)


def _current_item(link: VendorLink) -> Item:
    """The link's item as it stands now: a move carries a link on to the follow-up."""
    db.session.refresh(link)
    return vendor_links.item_of(link)


# -- asking -------------------------------------------------------------------------------------


@bp.post("/commitments/<id:commitment_id>/ask-vendor")
@editor_required
def ask_about_commitment(commitment_id: int):
    return _ask(commitments.get_commitment(commitment_id))


@bp.post("/complaints/<id:complaint_id>/ask-vendor")
@editor_required
def ask_about_complaint(complaint_id: int):
    return _ask(complaints.get_complaint(complaint_id))


def _ask(item: Item):
    form = link_panel.AskForm()
    form.set_choices(item.vendor.contacts)
    by_email = form.send.data == "email"
    asked = form.validate_on_submit() and save(
        form,
        lambda: vendor_links.ask(
            db.session,
            item,
            contact=_chosen_contact(form.contact_id.data),
            actor=current_user,
            now=utcnow(),
            rules=link_panel.rules(),
            send_email=by_email,
        ),
    )
    if not asked:
        return _item_page(item, link_panel.Refused("ask", None, form))
    link, token = asked
    if by_email:
        flash(_("Asked %(name)s by email.", name=link.contact.name), "success")
        return redirect(item_url(item))
    page = render_template(
        "asking/copy_link.html",
        link=link,
        item=item,
        is_complaint=not isinstance(item, Commitment),
        url=vendor_links.link_url(token),
        back=item_url(item),
    )
    return page, 200, SHOWN_ONCE


def _chosen_contact(contact_id: int | None) -> Contact | None:
    if contact_id is None or not 0 < contact_id <= ROW_ID_MAX:  # a number the database cannot hold is none
        return None
    return db.session.get(Contact, contact_id)


# -- revoking -----------------------------------------------------------------------------------


@bp.post("/vendor-links/<id:link_id>/revoke")
@editor_required
def revoke(link_id: int):
    link = db.get_or_404(VendorLink, link_id)
    form = link_panel.RevokeForm()
    if form.validate_on_submit() and save(
        form, lambda: vendor_links.revoke(db.session, link, actor=current_user, now=utcnow())
    ):
        flash(_("The link for %(name)s is revoked: it no longer opens.", name=link.contact.name), "success")
        return redirect(item_url(_current_item(link)))
    return _item_page(_current_item(link), link_panel.Refused("revoke", link.id, form))


# -- deciding on an answer ----------------------------------------------------------------------


@bp.post("/vendor-answers/<id:answer_id>/accept")
@editor_required
def accept(answer_id: int):
    answer = db.get_or_404(VendorAnswer, answer_id)
    form = link_panel.AcceptForm()
    excused = answer.kind in link_panel.EXCUSED
    if form.validate_on_submit() and save(
        form,
        lambda: vendor_links.accept(
            db.session,
            answer,
            actor=current_user,
            now=utcnow(),
            excuse_category=form.excuse_category.data if excused else None,
            rules=vendor_links.LinkRules.from_config(current_app.config),
        ),
    ):
        flash(_accepted(answer), "success")
        return redirect(item_url(_current_item(answer.link)))
    return _item_page(_current_item(answer.link), link_panel.Refused("accept", answer.id, form))


def _accepted(answer: VendorAnswer) -> str:
    match answer.kind:
        case AnswerKind.proposed:
            return _("Accepted: it is moved to %(when)s.", when=local(answer.proposed_due_at, "long"))
        case AnswerKind.done:
            return _("Recorded as kept at %(when)s.", when=local(answer.done_at, "long"))
        case AnswerKind.cannot:
            return _("Recorded as broken, with the vendor's reason.")
        case _:
            return _("The dated answer's promise is recorded as kept.")


@bp.post("/vendor-answers/<id:answer_id>/decline")
@editor_required
def decline(answer_id: int):
    answer = db.get_or_404(VendorAnswer, answer_id)
    form = link_panel.DeclineForm()
    if form.validate_on_submit() and save(
        form,
        lambda: vendor_links.decline(
            db.session,
            answer,
            actor=current_user,
            now=utcnow(),
            note=form.decision_note.data or "",
            rules=vendor_links.LinkRules.from_config(current_app.config),
        ),
    ):
        contact = answer.link.contact
        if contact.email:
            flash(_("Declined; %(name)s is told by email.", name=contact.name), "success")
        else:
            flash(
                _("Declined. %(name)s has no email address: tell them yourself.", name=contact.name), "info"
            )
        return redirect(item_url(_current_item(answer.link)))
    return _item_page(_current_item(answer.link), link_panel.Refused("decline", answer.id, form))
