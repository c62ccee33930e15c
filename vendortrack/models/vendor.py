"""Vendors and the people who speak for them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vendortrack.extensions import db


def name_key(name: str) -> str:
    """The form two vendor names are compared in: 'ACME sp. z o.o.' equals 'acme SP. Z O.O.'."""
    return " ".join(name.split()).casefold()


class Vendor(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # casefold() in Python, not lower() in SQL: SQLite's lower() leaves Ł and Ő as they are.
    name_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    category: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Ask the commitment's contact to confirm, through their link, whenever one is logged.
    ask_to_confirm: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]

    contacts: Mapped[list[Contact]] = relationship(back_populates="vendor", order_by="Contact.name")

    def __repr__(self) -> str:
        return f"<Vendor {self.id} {self.name}>"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Contact(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(120), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    # What their link's page and our emails to them are written in; None: English, and the
    # installation's zone. Set by us, or picked by the contact on their link's page and remembered.
    language: Mapped[str | None] = mapped_column(sa.String(16))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]

    vendor: Mapped[Vendor] = relationship(back_populates="contacts")

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.name}>"

    @property
    def locale(self) -> str | None:
        """As a user's: what i18n.speaking writes to them in."""
        return self.language
