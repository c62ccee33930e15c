"""Commitment pages: the lists across vendors, logging, a commitment's page, resolve, edit, reopen."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from vendortrack import agenda, ledger, vendor_links
from vendortrack.extensions import db
from vendortrack.forms import CommitmentForm, LogForm, ResolveForm, show_moment
from vendortrack.models import WRITERS, Commitment, Contact, Kind, Status, User
from vendortrack.permissions import editor_required
from vendortrack.templating import STANDING_LABELS, decimal
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views import link_panel, scorecards
from vendortrack.views.locale import current_timezone
from vendortrack.views.paging import paginate
from vendortrack.views.saving import save, status_for
from vendortrack.views.vendors import get_vendor

bp = Blueprint("commitments", __name__, url_prefix="/commitments")


def get_commitment(commitment_id: int) -> Commitment:
    return db.get_or_404(Commitment, commitment_id)


def _owners(current: int | None = None) -> list[User]:
    """Who can own a commitment: active editors and admins, who can record what happened.

    On an edit the current owner stays a choice even if since made a viewer, so saving a
    corrected title does not force a new owner.
    """
    can_act = sa.and_(User.disabled_at.is_(None), User.role.in_(WRITERS))
    if current is not None:
        can_act = sa.or_(can_act, User.id == current)
    return db.session.scalars(sa.select(User).where(can_act).order_by(User.name, User.email)).all()


def _commitment_form(vendor, commitment: Commitment | None = None) -> CommitmentForm:
    form = (LogForm if commitment is None else CommitmentForm)(obj=commitment)
    form.set_choices(vendor.contacts, _owners(commitment.owner_id if commitment else None))
    if request.method == "GET":
        if commitment is None:
            form.owner_id.data = current_user.id
            show_moment(form.notified_date, form.notified_time, utcnow(), current_timezone())
            if len(vendor.contacts) == 1:
                form.contact_id.data = vendor.contacts[0].id  # the only person there who could promise it
        else:
            form.show_due(commitment.due_at, current_timezone())
            form.contact_id.data = commitment.contact_id or 0
    return form


def _chosen(form: CommitmentForm) -> dict:
    """The form's choices as the objects the ledger takes; ids come from the choice lists."""
    return {
        "kind": Kind(form.kind.data),
        "title": form.title.data,
        "due_at": form.due_at(current_timezone()),
        "contact": db.session.get(Contact, form.contact_id.data) if form.contact_id.data else None,
        "owner": db.session.get(User, form.owner_id.data),
        "notes": form.notes.data or "",
    }


@bp.route("/")
@login_required
def index():
    try:
        view = agenda.View(request.args.get("view", agenda.View.upcoming))
    except ValueError:
        view = agenda.View.upcoming
    kind = request.args.get("kind") if request.args.get("kind") in set(Kind) else None
    mine = request.args.get("mine") == "1"
    query = agenda.commitments(
        view,
        now=utcnow(),
        rules=current_app.config["VENDORTRACK_RULES"],
        owner_id=current_user.id if mine else None,
        kind=kind,
    )
    page = paginate(query)
    return render_template("commitments/index.html", page=page, view=view, kind=kind, mine=mine)


@bp.route("/new/<id:vendor_id>", methods=["GET", "POST"])
@editor_required
def create(vendor_id: int):
    vendor = get_vendor(vendor_id)
    form = _commitment_form(vendor)
    now = utcnow()

    def log():
        logged = ledger.log_what_happened(
            db.session,
            vendor=vendor,
            actor=current_user,
            now=now,
            **_chosen(form),
            **form.outcome(current_timezone(), now),
        )
        # A vendor that asks for confirmations is asked in the same write: both or neither.
        asked = vendor_links.ask_on_logging(
            db.session, _live(logged), actor=current_user, now=now, rules=link_panel.rules()
        )
        return logged, asked

    if form.validate_on_submit() and (saved := save(form, log)):
        commitment, asked = saved
        flash(_("Logged: %(title)s.", title=commitment.title), "success")
        if asked is not None:
            flash(_("Asked %(name)s to confirm.", name=asked.contact.name), "info")
        # The standing with what was just logged (a backfilled broken promise moves it), not as
        # the form showed it before.
        if (warning := scorecards.standing_warning(vendor, utcnow())) is not None:
            figures = warning.report.figures
            flash(
                _(
                    "Keep an eye on it: %(name)s stands at %(standing)s, score %(score)s.",
                    name=vendor.name,
                    standing=STANDING_LABELS[figures.standing],
                    score=decimal(figures.score),
                ),
                "warning",
            )
        return redirect(_next_action(commitment))
    warning = scorecards.standing_warning(vendor, utcnow())
    return render_template(
        "commitments/form.html", form=form, vendor=vendor, commitment=None, warning=warning
    ), status_for(form)


def _live(logged: Commitment) -> Commitment:
    """What was logged as it stands: the follow-up, when it was logged as already moved."""
    return logged.rescheduled_to if logged.status == Status.rescheduled else logged


def _next_action(logged: Commitment) -> str:
    """Where to go after logging: the commitment if it is open and due (what happened?), else its vendor."""
    live = _live(logged)
    if live.status == Status.open and live.due_at <= utcnow():
        return url_for("commitments.detail", commitment_id=live.id)
    return url_for("vendors.detail", vendor_id=logged.vendor_id)


@bp.route("/<id:commitment_id>")
@login_required
def detail(commitment_id: int):
    return detail_page(get_commitment(commitment_id))


def _resolve_form(commitment: Commitment) -> ResolveForm:
    """The outcome forms as a page first shows them: kept at the ledger's default, told now."""
    form = ResolveForm(formdata=None)
    form.show_default_done(commitment.due_at, utcnow(), current_timezone())
    show_moment(form.notified_date, form.notified_time, utcnow(), current_timezone())
    return form


def detail_page(
    commitment: Commitment,
    form: ResolveForm | None = None,
    status: int = 200,
    refused: link_panel.Refused | None = None,
):
    """The page, with a refused form shown again: an outcome's (`form`), or one of the vendor's
    link's (`refused`, views/asking.py)."""
    now = utcnow()
    chain = agenda.chain(commitment)
    return render_template(
        "commitments/detail.html",
        commitment=commitment,
        form=form or _resolve_form(commitment),
        chain=chain,
        overdue=current_app.config["VENDORTRACK_RULES"].is_overdue(commitment.status, commitment.due_at, now),
        asking=link_panel.panel(commitment, now, chain=chain, refused=refused),
    ), status


@bp.route("/<id:commitment_id>/resolve", methods=["POST"])
@editor_required
def resolve(commitment_id: int):
    commitment = get_commitment(commitment_id)
    form = ResolveForm()
    tz = current_timezone()
    if form.validate_on_submit() and save(
        form,
        lambda: ledger.resolve(
            db.session,
            commitment,
            form.status.data,
            actor=current_user,
            now=utcnow(),
            done_at=form.done_at(tz),
            excuse_category=form.excuse_category.data,
            excuse=form.excuse.data or "",
            new_due_at=form.new_due_at(tz),
            reason=form.reason.data or "",
            confirm_past=form.confirm_past.data,
            notified_at=form.notified_at(tz, utcnow()),
        ),
    ):
        flash(_("Outcome recorded."), "success")
        return redirect(url_for("commitments.detail", commitment_id=commitment.id))
    return detail_page(commitment, form, status=400)


@bp.route("/<id:commitment_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(commitment_id: int):
    commitment = get_commitment(commitment_id)
    form = _commitment_form(commitment.vendor, commitment)
    if form.validate_on_submit() and save(
        form,
        lambda: ledger.edit_commitment(
            db.session, commitment, actor=current_user, now=utcnow(), **_chosen(form)
        ),
    ):
        flash(_("Saved."), "success")
        return redirect(url_for("commitments.detail", commitment_id=commitment.id))
    return render_template(
        "commitments/form.html", form=form, vendor=commitment.vendor, commitment=commitment
    ), status_for(form)


@bp.route("/<id:commitment_id>/reopen", methods=["POST"])
@editor_required
def reopen(commitment_id: int):
    commitment = get_commitment(commitment_id)
    try:
        with writing(db.session):
            ledger.reopen(db.session, commitment, actor=current_user, now=utcnow())
    except InvalidInput as error:
        flash(str(error.message), "danger")
    else:
        flash(_("Reopened: log what really happened."), "info")
    return redirect(url_for("commitments.detail", commitment_id=commitment.id))
