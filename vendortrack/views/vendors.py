"""Vendor pages: the list with search and filters, a vendor's page, create, edit, archive, contacts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from vendortrack import agenda, vendors
from vendortrack.extensions import db
from vendortrack.forms import ContactForm, VendorForm
from vendortrack.models import Contact, Vendor
from vendortrack.permissions import editor_required
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing
from vendortrack.views import complaints as vendor_complaints
from vendortrack.views import scorecards
from vendortrack.views.paging import paginate, text_arg
from vendortrack.views.saving import save, status_for

bp = Blueprint("vendors", __name__, url_prefix="/vendors")


def get_vendor(vendor_id: int) -> Vendor:
    return db.get_or_404(Vendor, vendor_id)


def get_contact(vendor: Vendor, contact_id: int) -> Contact:
    contact = db.get_or_404(Contact, contact_id)
    if contact.vendor_id != vendor.id:
        abort(404)
    return contact


@login_required
def home():
    return redirect(url_for("vendors.index"))


@bp.route("/")
@login_required
def index():
    q, category = text_arg("q", 200), text_arg("category", 80)
    show_archived = request.args.get("archived") == "1"
    query = sa.select(Vendor).order_by(Vendor.name_key)
    if q:
        query = query.where(Vendor.name_key.contains(" ".join(q.split()).casefold(), autoescape=True))
    if category:
        query = query.where(Vendor.category == category)
    if not show_archived:
        query = query.where(Vendor.archived_at.is_(None))
    page = paginate(query)
    counts = {
        row.vendor_id: row
        for row in db.session.execute(
            agenda.counts_by_vendor(
                [v.id for v in page.items], now=utcnow(), rules=current_app.config["VENDORTRACK_RULES"]
            )
        )
    }
    categories = db.session.scalars(
        sa.select(Vendor.category).where(Vendor.category != "").distinct().order_by(Vendor.category)
    ).all()
    return render_template(
        "vendors/index.html",
        page=page,
        counts=counts,
        q=q,
        category=category,
        categories=categories,
        show_archived=show_archived,
    )


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def create():
    form = VendorForm()
    if form.validate_on_submit() and (
        vendor := save(form, lambda: vendors.create_vendor(db.session, now=utcnow(), **_vendor_values(form)))
    ):
        flash(_("Vendor %(name)s added.", name=vendor.name), "success")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    return render_template("vendors/form.html", form=form, vendor=None), status_for(form)


def _vendor_values(form: VendorForm) -> dict[str, str]:
    return {name: getattr(form, name).data or "" for name in vendors.VENDOR_FIELDS}


@bp.route("/<id:vendor_id>")
@login_required
def detail(vendor_id: int):
    vendor = get_vendor(vendor_id)
    now, rules = utcnow(), current_app.config["VENDORTRACK_RULES"]
    lists = {
        view: db.session.scalars(
            agenda.commitments(view, now=now, rules=rules, vendor_id=vendor.id).limit(100)
        ).all()
        for view in agenda.View
    }
    section = scorecards.vendor_section(vendor, now)
    return render_template(
        "vendors/detail.html",
        vendor=vendor,
        lists=lists,
        now=now,
        section=section,
        contact_form=ContactForm(),
        complaints=vendor_complaints.vendor_lists(vendor),
        answering=vendor_complaints.responsiveness_panel(section["report"]),
        **vendor_complaints.judged(now),
    )


@bp.route("/<id:vendor_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(vendor_id: int):
    vendor = get_vendor(vendor_id)
    form = VendorForm(obj=vendor)
    if form.validate_on_submit() and save(
        form, lambda: vendors.update_vendor(db.session, vendor, **_vendor_values(form))
    ):
        flash(_("Vendor saved."), "success")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    return render_template("vendors/form.html", form=form, vendor=vendor), status_for(form)


@bp.route("/<id:vendor_id>/archive", methods=["POST"])
@editor_required
def archive(vendor_id: int):
    vendor = get_vendor(vendor_id)
    with writing(db.session):
        vendors.archive_vendor(vendor, now=utcnow())
    flash(_("%(name)s is archived. Its history stays; unarchive it to log more.", name=vendor.name), "info")
    return redirect(url_for("vendors.detail", vendor_id=vendor.id))


@bp.route("/<id:vendor_id>/unarchive", methods=["POST"])
@editor_required
def unarchive(vendor_id: int):
    vendor = get_vendor(vendor_id)
    with writing(db.session):
        vendors.unarchive_vendor(vendor)
    flash(_("%(name)s is active again.", name=vendor.name), "success")
    return redirect(url_for("vendors.detail", vendor_id=vendor.id))


@bp.route("/<id:vendor_id>/contacts/new", methods=["GET", "POST"])
@editor_required
def add_contact(vendor_id: int):
    vendor = get_vendor(vendor_id)
    form = ContactForm()
    if form.validate_on_submit() and (
        contact := save(
            form, lambda: vendors.add_contact(db.session, vendor, now=utcnow(), **_contact_values(form))
        )
    ):
        flash(_("Contact %(name)s added.", name=contact.name), "success")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    page = render_template("vendors/contact_form.html", form=form, vendor=vendor, contact=None)
    return page, status_for(form)


@bp.route("/<id:vendor_id>/contacts/<id:contact_id>/edit", methods=["GET", "POST"])
@editor_required
def edit_contact(vendor_id: int, contact_id: int):
    vendor = get_vendor(vendor_id)
    contact = get_contact(vendor, contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit() and save(
        form, lambda: vendors.update_contact(db.session, contact, **_contact_values(form))
    ):
        flash(_("Contact saved."), "success")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    page = render_template("vendors/contact_form.html", form=form, vendor=vendor, contact=contact)
    return page, status_for(form)


def _contact_values(form: ContactForm) -> dict[str, str]:
    return {name: getattr(form, name).data or "" for name in vendors.CONTACT_FIELDS}
