"""API for vendors and their contacts: list and search, create, edit, archive."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort

from vendortrack import vendors
from vendortrack.extensions import db
from vendortrack.models import Contact, Vendor
from vendortrack.models.vendor import name_key
from vendortrack.views.api import schemas
from vendortrack.views.api.guard import ApiBlueprint, documented, request_now
from vendortrack.views.api.rows import get_or_404, ledger_write, paginate

bp = ApiBlueprint(
    "api_vendors",
    __name__,
    url_prefix="/api/v1/vendors",
    description="Vendors and the people who speak for them.",
)


@bp.route("")
class Vendors(MethodView):
    @documented(bp, finds=False)
    @bp.arguments(schemas.VendorQuerySchema, location="query")
    @bp.response(200, schemas.VendorPageSchema)
    def get(self, args: dict[str, Any]):
        """List vendors, by name; archived ones only when asked."""
        statement = sa.select(Vendor).order_by(Vendor.name_key, Vendor.id)
        if args.get("q"):
            statement = statement.where(Vendor.name_key.contains(name_key(args["q"]), autoescape=True))
        if args.get("category"):
            statement = statement.where(Vendor.category == args["category"])
        if args["archived"] == "false":
            statement = statement.where(Vendor.archived_at.is_(None))
        elif args["archived"] == "true":
            statement = statement.where(Vendor.archived_at.is_not(None))
        return paginate(statement, args)

    @documented(bp, write=True, finds=False)
    @bp.arguments(schemas.VendorCreateSchema)
    @bp.response(201, schemas.VendorSchema)
    def post(self, values: dict[str, Any]):
        """Add a vendor; its name must differ from every other vendor's in more than case."""
        with ledger_write():
            vendor = vendors.create_vendor(db.session, now=request_now(), **values)
        return vendor


@bp.route("/<id:vendor_id>")
class VendorItem(MethodView):
    @documented(bp)
    @bp.response(200, schemas.VendorSchema)
    def get(self, vendor_id: int):
        """One vendor, archived or not."""
        return get_or_404(Vendor, vendor_id)

    @documented(bp, write=True)
    @bp.arguments(schemas.VendorPatchSchema)
    @bp.response(200, schemas.VendorSchema)
    def patch(self, values: dict[str, Any], vendor_id: int):
        """Change some of a vendor's details."""
        vendor = get_or_404(Vendor, vendor_id)
        with ledger_write():
            vendors.update_vendor(db.session, vendor, **values)
        return vendor


@bp.route("/<id:vendor_id>/archive", methods=["POST"])
@documented(bp, write=True)
@bp.response(200, schemas.VendorSchema)
def archive(vendor_id: int):
    """Hide a vendor from lists and new work; its commitments and their history stay readable."""
    vendor = get_or_404(Vendor, vendor_id)
    with ledger_write():
        vendors.archive_vendor(vendor, now=request_now())
    return vendor


@bp.route("/<id:vendor_id>/unarchive", methods=["POST"])
@documented(bp, write=True)
@bp.response(200, schemas.VendorSchema)
def unarchive(vendor_id: int):
    """Bring an archived vendor back."""
    vendor = get_or_404(Vendor, vendor_id)
    with ledger_write():
        vendors.unarchive_vendor(vendor)
    return vendor


@bp.route("/<id:vendor_id>/contacts")
class Contacts(MethodView):
    @documented(bp)
    @bp.arguments(schemas.PageArgsSchema, location="query")
    @bp.response(200, schemas.ContactPageSchema)
    def get(self, args: dict[str, Any], vendor_id: int):
        """The vendor's contacts, by name."""
        vendor = get_or_404(Vendor, vendor_id)
        statement = (
            sa.select(Contact).where(Contact.vendor_id == vendor.id).order_by(Contact.name, Contact.id)
        )
        return paginate(statement, args)

    @documented(bp, write=True)
    @bp.arguments(schemas.ContactCreateSchema)
    @bp.response(201, schemas.ContactSchema)
    def post(self, values: dict[str, Any], vendor_id: int):
        """Add a person who speaks for the vendor."""
        vendor = get_or_404(Vendor, vendor_id)
        with ledger_write():
            contact = vendors.add_contact(db.session, vendor, now=request_now(), **values)
        return contact


@bp.route("/<id:vendor_id>/contacts/<id:contact_id>", methods=["PATCH"])
@documented(bp, write=True)
@bp.arguments(schemas.ContactPatchSchema)
@bp.response(200, schemas.ContactSchema)
def patch_contact(values: dict[str, Any], vendor_id: int, contact_id: int):
    """Change some of a contact's details; the contact must be one of this vendor's."""
    vendor = get_or_404(Vendor, vendor_id)
    contact = get_or_404(Contact, contact_id)
    if contact.vendor_id != vendor.id:
        abort(404, message=_("There is no contact #%(id)d.", id=contact_id))
    with ledger_write():
        vendors.update_contact(db.session, contact, **values)
    return contact
