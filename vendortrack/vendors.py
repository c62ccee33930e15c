"""The writes to vendors and their contacts: create, edit, archive; names unique without case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack.i18n import LANGUAGES
from vendortrack.models import Contact, Vendor
from vendortrack.models.vendor import name_key
from vendortrack.timeutil import is_timezone
from vendortrack.validation import InvalidInput

VENDOR_FIELDS = ("name", "category", "website", "email", "phone", "notes", "ask_to_confirm")
CONTACT_FIELDS = ("name", "role", "email", "phone", "language", "timezone")


def _clean(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], _l("Unknown field."))
    return {k: cleaned(k, v) for k, v in values.items()}


def cleaned(field: str, value: Any) -> Any:
    """A field's value as stored: text stripped; a flag; a contact's language and zone, or None
    when not set (then the installation's defaults apply)."""
    if field == "ask_to_confirm":
        return bool(value)
    if field == "language":
        if value and value not in LANGUAGES:
            raise InvalidInput("language", _l("Choose one of the languages offered."))
        return value or None
    if field == "timezone":
        if value and not is_timezone(value):
            raise InvalidInput("timezone", _l("Choose one of the time zones offered."))
        return value or None
    return (value or "").strip()


def _check_name_free(session: Session, name: str, except_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("name", _l("Give the vendor a name."))
    clash = session.scalar(
        sa.select(Vendor.id).where(Vendor.name_key == name_key(name), Vendor.id != (except_id or 0))
    )
    if clash is not None:
        raise InvalidInput("name", _l("A vendor with this name already exists."))
    return name


def create_vendor(session: Session, *, now: datetime, **values: Any) -> Vendor:
    values = _clean(values, VENDOR_FIELDS)
    values["name"] = _check_name_free(session, values.get("name", ""))
    vendor = Vendor(**values, name_key=name_key(values["name"]), created_at=now)
    session.add(vendor)
    session.flush()
    return vendor


def update_vendor(session: Session, vendor: Vendor, **values: Any) -> Vendor:
    values = _clean(values, VENDOR_FIELDS)
    if "name" in values:
        values["name"] = _check_name_free(session, values["name"], except_id=vendor.id)
        vendor.name_key = name_key(values["name"])
    for field, value in values.items():
        setattr(vendor, field, value)
    session.flush()
    return vendor


def archive_vendor(vendor: Vendor, *, now: datetime) -> Vendor:
    """Hide a vendor from lists and new work; its commitments and their history stay."""
    if vendor.archived_at is None:
        vendor.archived_at = now
    return vendor


def unarchive_vendor(vendor: Vendor) -> Vendor:
    vendor.archived_at = None
    return vendor


def add_contact(session: Session, vendor: Vendor, *, now: datetime, **values: Any) -> Contact:
    values = _clean(values, CONTACT_FIELDS)
    if not values.get("name"):
        raise InvalidInput("name", _l("Give the contact a name."))
    contact = Contact(vendor=vendor, created_at=now, **values)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session: Session, contact: Contact, **values: Any) -> Contact:
    values = _clean(values, CONTACT_FIELDS)
    if "name" in values and not values["name"]:
        raise InvalidInput("name", _l("Give the contact a name."))
    for field, value in values.items():
        setattr(contact, field, value)
    session.flush()
    return contact
