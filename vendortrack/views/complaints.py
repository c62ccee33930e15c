"""Complaint pages: the lists across vendors, logging one, its page with each step's form, edit.

Every write goes through `complaints.py` in one unit of work; a refusal shows under its field and
saves nothing. The figures the vendor page shows (§10 responsiveness, §11 notice) come from the score
report as the rules compute them: this module only shapes them for the page.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from vendortrack import agenda, charts, complaints
from vendortrack.extensions import db
from vendortrack.forms import (
    ComplaintAnswerForm,
    ComplaintEditForm,
    ComplaintForm,
    ComplaintReopenForm,
    ComplaintResolveForm,
    DatedAnswerForm,
    past_moment,
    show_moment,
    yes_no,
)
from vendortrack.models import (
    WRITERS,
    Commitment,
    Complaint,
    ComplaintStatus,
    Contact,
    Resolution,
    Severity,
    User,
    Vendor,
)
from vendortrack.permissions import editor_required
from vendortrack.scores.rules import Rules, VendorScore, is_answered_in_time, is_unanswered_by
from vendortrack.timeutil import utcnow
from vendortrack.views import link_panel
from vendortrack.views.locale import current_timezone
from vendortrack.views.paging import paginate
from vendortrack.views.saving import save, status_for

bp = Blueprint("complaints", __name__, url_prefix="/complaints")

COMMITMENTS_OFFERED = 200  # the newest of a vendor's commitments a complaint can be tied to on the form
EXPLAIN_SHOWN = 200


def rules() -> Rules:
    return current_app.config["VENDORTRACK_RULES"]


def get_vendor(vendor_id: int) -> Vendor:
    return db.get_or_404(Vendor, vendor_id)  # as views.vendors' (which imports this module)


def get_complaint(complaint_id: int) -> Complaint:
    return db.get_or_404(Complaint, complaint_id)


def _owners(current: int | None = None) -> list[User]:
    """Who can follow a complaint up: active editors and admins (the current owner stays a choice)."""
    can_act = sa.and_(User.disabled_at.is_(None), User.role.in_(WRITERS))
    if current is not None:
        can_act = sa.or_(can_act, User.id == current)
    return db.session.scalars(sa.select(User).where(can_act).order_by(User.name, User.email)).all()


def _offered_commitments(vendor: Vendor, chosen: list[Commitment] = ()) -> list[Commitment]:
    """The vendor's commitments, newest first, and those already chosen even if older."""
    newest = db.session.scalars(
        sa.select(Commitment)
        .where(Commitment.vendor_id == vendor.id)
        .order_by(Commitment.created_at.desc(), Commitment.id.desc())
        .limit(COMMITMENTS_OFFERED)
    ).all()
    return list(dict.fromkeys([*newest, *chosen]))


def _contact(vendor: Vendor, contact_id: int | None) -> Contact | None:
    """A contact chosen on a form: the choice lists hold only the vendor's, so anything else is none."""
    contact = db.session.get(Contact, contact_id) if contact_id else None
    return contact if contact is not None and contact.vendor_id == vendor.id else None


def _commitments(vendor: Vendor, ids: list[int]) -> list[Commitment]:
    if not ids:
        return []
    return db.session.scalars(
        sa.select(Commitment).where(Commitment.vendor_id == vendor.id, Commitment.id.in_(ids))
    ).all()


def _complaint_form(vendor: Vendor, complaint: Complaint | None = None) -> ComplaintForm:
    tz = current_timezone()
    if complaint is None:
        form = ComplaintForm()
    else:
        form = ComplaintEditForm(obj=complaint)
        form.drop_steps(
            dated=complaint.dated_answer_at is not None,
            resolved=complaint.resolution is not None,
            withdrawn=complaint.resolution == Resolution.withdrawn,
        )
    chosen = list(complaint.commitments) if complaint else []
    form.set_choices(
        vendor.contacts,
        _owners(complaint.owner_id if complaint else None),
        _offered_commitments(vendor, chosen),
    )
    if request.method == "GET":
        if complaint is None:
            form.owner_id.data = current_user.id
            show_moment(form.raised_date, form.raised_time, utcnow(), tz)
            if len(vendor.contacts) == 1:
                form.contact_id.data = vendor.contacts[0].id
        else:
            form.contact_id.data = complaint.contact_id or 0
            form.commitment_ids.data = [c.id for c in chosen]
            form.severity.data, form.channel.data = complaint.severity.value, complaint.channel.value
            show_moment(form.raised_date, form.raised_time, complaint.raised_at, tz)
            show_moment(form.acknowledged_date, form.acknowledged_time, complaint.acknowledged_at, tz)
            form.case_owner_contact_id.data = complaint.case_owner_contact_id or 0
            if "dated_answer_date" in form:
                show_moment(form.dated_answer_date, form.dated_answer_time, complaint.dated_answer_at, tz)
            if "resolved_date" in form:
                show_moment(form.resolved_date, form.resolved_time, complaint.resolved_at, tz)
            if "satisfied" in form:
                form.satisfied.data = {True: "yes", False: "no"}.get(complaint.satisfied)
    return form


def _logged(form: ComplaintForm, vendor: Vendor, now: datetime) -> dict:
    """The log form's choices as the objects complaints.py takes."""
    return {
        "title": form.title.data,
        "details": form.details.data or "",
        "severity": form.severity.data,
        "channel": form.channel.data,
        "raised_at": past_moment(form.raised_date, form.raised_time, current_timezone(), now),
        "contact": _contact(vendor, form.contact_id.data),
        "owner": db.session.get(User, form.owner_id.data),
        "commitments": _commitments(vendor, form.commitment_ids.data or []),
    }


def _edited(form: ComplaintEditForm, complaint: Complaint, now: datetime) -> dict:
    """Every field the edit form holds, as edit_complaint takes them; it records only what changed."""
    tz = current_timezone()
    vendor = complaint.vendor
    changes = _logged(form, vendor, now)
    answered_at = past_moment(form.acknowledged_date, form.acknowledged_time, tz, now)
    owner_contact = _contact(vendor, form.case_owner_contact_id.data)
    changes |= {
        "acknowledged_at": answered_at,
        "case_owner_contact": owner_contact,
        # One owner at the vendor: a contact chosen, or else the name typed.
        "case_owner_name": "" if owner_contact is not None else form.case_owner_name.data or "",
        "apologised": form.apologised.data,
    }
    if "dated_answer_date" in form:
        changes["dated_answer_at"] = past_moment(form.dated_answer_date, form.dated_answer_time, tz, now)
    if "resolved_date" in form:
        changes["resolved_at"] = past_moment(form.resolved_date, form.resolved_time, tz, now)
    if "satisfied" in form:
        changes["satisfied"] = yes_no(form.satisfied.data)
    return changes


def answer_overdue(complaint: Complaint, now: datetime) -> bool:
    """Still open, no answer, and its answer deadline passed: what the sweep flags."""
    return complaint.resolution is None and bool(
        is_unanswered_by(complaint.acknowledged_at, complaint.answer_due_at, now)
    )


def answered_late(complaint: Complaint) -> bool:
    return complaint.acknowledged_at is not None and not is_answered_in_time(
        complaint.acknowledged_at, complaint.answer_due_at
    )


def judged(now: datetime) -> dict:
    """What the complaint templates ask of each complaint, as of the page's moment."""
    return {"answer_overdue": lambda c: answer_overdue(c, now), "answered_late": answered_late}


# --- the lists ------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    status = request.args.get("status")
    status = ComplaintStatus(status) if status in set(ComplaintStatus) else None
    try:
        view = agenda.ComplaintView(request.args.get("view", agenda.ComplaintView.open))
    except ValueError:
        view = agenda.ComplaintView.open
    view = agenda.complaint_view(status, view)
    severity = request.args.get("severity") if request.args.get("severity") in set(Severity) else None
    vendor_id = request.args.get("vendor", type=int)
    vendor = db.session.get(Vendor, vendor_id) if vendor_id and 0 < vendor_id < 2**31 else None
    query = agenda.complaints(view, vendor_id=vendor.id if vendor else None, status=status, severity=severity)
    vendors = db.session.scalars(
        sa.select(Vendor).where(Vendor.id.in_(sa.select(Complaint.vendor_id))).order_by(Vendor.name_key)
    ).all()
    now = utcnow()
    return render_template(
        "complaints/index.html",
        page=paginate(query),
        view=view,
        status=status,
        severity=severity,
        vendor=vendor,
        vendors=vendors,
        now=now,
        **judged(now),
    )


def vendor_lists(vendor: Vendor) -> list[Complaint]:
    """The vendor page's complaints: the open ones first, oldest first, then the closed, newest first."""
    return [
        *db.session.scalars(agenda.complaints(agenda.ComplaintView.open, vendor_id=vendor.id).limit(100)),
        *db.session.scalars(agenda.complaints(agenda.ComplaintView.resolved, vendor_id=vendor.id).limit(100)),
    ]


def responsiveness_panel(report: VendorScore) -> dict:
    """What the vendor page's responsiveness panel shows, from the score report (§10, §11)."""
    figures = report.responsiveness
    explain = sorted(figures.explain, key=lambda c: (c.fact.raised_at, c.fact.id), reverse=True)
    return {
        "as_of": report.as_of,
        "figures": figures,
        "band": charts.band(*figures.band, figures.value),
        "explain": explain[:EXPLAIN_SHOWN],
        "sums": {
            "weight": sum(c.weight for c in figures.explain),
            "credit": sum(c.weight * c.a for c in figures.explain),
        },
        "contacts": [c for c in report.contacts if c["responsiveness"]["counted"]],
        "notice": report.notice,
    }


# --- logging and a complaint's page ---------------------------------------------------------


@bp.route("/new/<id:vendor_id>", methods=["GET", "POST"])
@editor_required
def create(vendor_id: int):
    vendor = get_vendor(vendor_id)
    form = _complaint_form(vendor)
    now = utcnow()
    if form.validate_on_submit() and (
        complaint := save(
            form,
            lambda: complaints.raise_complaint(
                db.session,
                vendor=vendor,
                actor=current_user,
                now=now,
                rules=rules(),
                **_logged(form, vendor, now),
            ),
        )
    ):
        flash(_("Complaint logged: %(title)s.", title=complaint.title), "success")
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return render_template("complaints/form.html", form=form, vendor=vendor, complaint=None), status_for(form)


def _step_forms(complaint: Complaint) -> dict:
    """Each step's form, pre-filled with now (or the complaint's facts) in the user's time zone."""
    tz, now = current_timezone(), utcnow()
    answer = ComplaintAnswerForm(formdata=None)
    answer.set_choices(complaint.vendor.contacts)
    show_moment(answer.acknowledged_date, answer.acknowledged_time, now, tz)
    dated = DatedAnswerForm(formdata=None)
    show_moment(dated.given_date, dated.given_time, now, tz)
    resolve = ComplaintResolveForm(formdata=None)
    show_moment(resolve.resolved_date, resolve.resolved_time, now, tz)
    return {
        "answer": answer,
        "dated": dated,
        "resolve": resolve,
        "reopen": ComplaintReopenForm(formdata=None),
    }


def detail_page(
    complaint: Complaint,
    failed: str | None = None,
    form=None,
    status: int = 200,
    refused: link_panel.Refused | None = None,
):
    """The page, with a refused form shown again: a step's (`failed`, `form`), or one of the
    vendor's link's (`refused`, views/asking.py)."""
    forms = _step_forms(complaint)
    if failed is not None:
        forms[failed] = form
    now = utcnow()
    return render_template(
        "complaints/detail.html",
        complaint=complaint,
        forms=forms,
        failed=failed,
        now=now,
        asking=link_panel.panel(complaint, now, refused=refused),
        **judged(now),
    ), status


@bp.route("/<id:complaint_id>")
@login_required
def detail(complaint_id: int):
    return detail_page(get_complaint(complaint_id))


def _after_step(complaint: Complaint, message: str):
    flash(message, "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


@bp.route("/<id:complaint_id>/answer", methods=["POST"])
@editor_required
def answer(complaint_id: int):
    complaint = get_complaint(complaint_id)
    form = ComplaintAnswerForm()
    form.set_choices(complaint.vendor.contacts)
    tz, now = current_timezone(), utcnow()

    def write():
        at = past_moment(form.acknowledged_date, form.acknowledged_time, tz, now)
        complaints.answer(
            db.session,
            complaint,
            at=at,
            actor=current_user,
            now=now,
            case_owner_name=form.case_owner_name.data or "",
            case_owner_contact=_contact(complaint.vendor, form.case_owner_contact_id.data),
            apologised=form.apologised.data,
        )
        if form.due_date.data is not None:  # the dated answer, in the same unit of work
            complaints.give_dated_answer(
                db.session, complaint, due_at=form.due_at(tz), at=at, actor=current_user, now=now
            )
        return complaint

    if form.validate_on_submit() and save(form, write):
        return _after_step(complaint, _("The vendor's answer is recorded."))
    return detail_page(complaint, "answer", form, 400)


@bp.route("/<id:complaint_id>/dated-answer", methods=["POST"])
@editor_required
def dated_answer(complaint_id: int):
    complaint = get_complaint(complaint_id)
    form = DatedAnswerForm()
    tz, now = current_timezone(), utcnow()
    if form.validate_on_submit() and save(
        form,
        lambda: complaints.give_dated_answer(
            db.session,
            complaint,
            due_at=form.due_at(tz),
            at=past_moment(form.given_date, form.given_time, tz, now),
            actor=current_user,
            now=now,
        ),
    ):
        return _after_step(complaint, _("The dated answer is recorded as a promise."))
    return detail_page(complaint, "dated", form, 400)


@bp.route("/<id:complaint_id>/resolve", methods=["POST"])
@editor_required
def resolve(complaint_id: int):
    complaint = get_complaint(complaint_id)
    form = ComplaintResolveForm()
    tz, now = current_timezone(), utcnow()
    if form.validate_on_submit() and save(
        form,
        lambda: complaints.resolve(
            db.session,
            complaint,
            form.resolution.data,
            at=past_moment(form.resolved_date, form.resolved_time, tz, now),
            satisfied=yes_no(form.satisfied.data),
            actor=current_user,
            now=now,
        ),
    ):
        if complaint.resolution == Resolution.withdrawn:
            return _after_step(complaint, _("Withdrawn: the complaint no longer counts."))
        return _after_step(complaint, _("The complaint is resolved."))
    failed = "withdraw" if form.resolution.data == Resolution.withdrawn else "resolve"
    return detail_page(complaint, failed, form, 400)


@bp.route("/<id:complaint_id>/reopen", methods=["POST"])
@editor_required
def reopen(complaint_id: int):
    complaint = get_complaint(complaint_id)
    form = ComplaintReopenForm()
    if form.validate_on_submit() and save(
        form,
        lambda: complaints.reopen(
            db.session, complaint, reason=form.reason.data or "", actor=current_user, now=utcnow()
        ),
    ):
        return _after_step(complaint, _("Reopened."))
    return detail_page(complaint, "reopen", form, 400)


@bp.route("/<id:complaint_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(complaint_id: int):
    complaint = get_complaint(complaint_id)
    form = _complaint_form(complaint.vendor, complaint)
    now = utcnow()
    if form.validate_on_submit() and save(
        form,
        lambda: complaints.edit_complaint(
            db.session, complaint, actor=current_user, now=now, rules=rules(), **_edited(form, complaint, now)
        ),
    ):
        flash(_("Saved."), "success")
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    if form.errors or form.form_errors:
        complaint = get_complaint(complaint_id)
    return render_template(
        "complaints/form.html", form=form, vendor=complaint.vendor, complaint=complaint
    ), status_for(form)
