"""Commitments a vendor made, what became of them, and the ledger of every change."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, column_property, mapped_column, object_session, relationship

from vendortrack.extensions import db
from vendortrack.models.user import User
from vendortrack.models.vendor import Contact, Vendor


class Kind(StrEnum):
    meeting = "meeting"
    promise = "promise"
    deadline = "deadline"


class Status(StrEnum):
    open = "open"
    kept = "kept"
    broken = "broken"
    rescheduled = "rescheduled"
    cancelled = "cancelled"


class ExcuseCategory(StrEnum):
    force_majeure = "force_majeure"
    personal = "personal"
    oversight = "oversight"
    third_party = "third_party"
    plot_twist = "plot_twist"
    none_given = "none_given"
    other = "other"


class Commitment(db.Model):
    __table_args__ = (
        sa.Index("ix_commitment_vendor_id_due_at", "vendor_id", "due_at"),
        # Covering for the scorecard's moving months: it reads the index alone, never the table.
        sa.Index("ix_commitment_status_due_at", "status", "due_at", "vendor_id", "kind", "lateness_us"),
        sa.Index("ix_commitment_owner_id_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"))
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[Kind]
    title: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    due_at: Mapped[datetime]
    # The first date of a reschedule chain, so a promise moved three times still shows its origin.
    original_due_at: Mapped[datetime]
    status: Mapped[Status] = mapped_column(default=Status.open)
    done_at: Mapped[datetime | None]
    # done_at - due_at in microseconds when kept: lets SQL judge "on time" exactly on both databases.
    lateness_us: Mapped[int | None] = mapped_column(sa.BigInteger)
    excuse_category: Mapped[ExcuseCategory | None]
    excuse: Mapped[str] = mapped_column(sa.Text, default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    rescheduled_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commitment.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set once by the scheduled jobs, by a conditional UPDATE: a second scheduler finds them taken.
    flagged_overdue_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # When the vendor warned us of a move (SCORING.md §11); set on rescheduled ones only.
    notified_at: Mapped[datetime | None]
    # The complaint this promise is the vendor's dated answer to (its follow-ups carry it on).
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"), index=True)

    vendor: Mapped[Vendor] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    rescheduled_from: Mapped[Commitment | None] = relationship(remote_side=[id], back_populates="successors")
    # Usually one; a reopened-then-rescheduled-again commitment keeps its cancelled first follow-up.
    successors: Mapped[list[Commitment]] = relationship(
        back_populates="rescheduled_from", order_by="Commitment.id"
    )
    events: Mapped[list[LedgerEvent]] = relationship(back_populates="commitment", order_by="LedgerEvent.id")

    def __repr__(self) -> str:
        return f"<Commitment {self.id} {self.kind} {self.status} due {self.due_at:%Y-%m-%d %H:%M}>"

    @property
    def rescheduled_to(self) -> Commitment | None:
        """The live follow-up, or the cancelled one a reopened move leaves (`rescheduled_to_id`)."""
        if self.rescheduled_to_id is None:
            return None
        return object_session(self).get(Commitment, self.rescheduled_to_id)

    def lateness(self) -> timedelta | None:
        if self.status != Status.kept or self.done_at is None:
            return None
        return max(self.done_at - self.due_at, timedelta(0))


class EventAction(StrEnum):
    created = "created"
    edited = "edited"
    resolved = "resolved"
    rescheduled = "rescheduled"
    flagged_overdue = "flagged_overdue"
    reopened = "reopened"
    vendor_answered = "vendor_answered"  # through the vendor's link: its actor is the contact


class LedgerEvent(db.Model):
    """One change to a commitment: who, when, what it was before and after. Append-only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(sa.ForeignKey("commitment.id"), index=True)
    # Denormalised so the admin's event log filters by vendor without a join.
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # The vendor's contact, when they acted themselves through their link (then actor_id is None).
    actor_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[EventAction]
    before: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    commitment: Mapped[Commitment] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    actor_contact: Mapped[Contact | None] = relationship()


_successor = aliased(Commitment)
# The follow-up's id, read with the row itself: the live successor, else the newest (cancelled)
# one. The API answers it with every commitment, which then needs no statement of its own for it.
Commitment.rescheduled_to_id = column_property(
    sa.select(_successor.id)
    .where(_successor.rescheduled_from_id == Commitment.id)
    .order_by(sa.case((_successor.status == Status.cancelled, 1), else_=0), _successor.id.desc())
    .limit(1)
    .correlate_except(_successor)
    .scalar_subquery()
)
