"""Complaints we raised with a vendor, how the vendor answered them, and the history of each."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vendortrack.extensions import db
from vendortrack.models.commitment import Commitment
from vendortrack.models.user import User
from vendortrack.models.vendor import Contact, Vendor


class Severity(StrEnum):
    minor = "minor"
    major = "major"
    critical = "critical"


class Channel(StrEnum):
    """How the complaint reached the vendor."""

    email = "email"
    phone = "phone"
    meeting = "meeting"
    other = "other"


class Resolution(StrEnum):
    fixed = "fixed"
    compensated = "compensated"
    declined = "declined"  # the vendor refused
    withdrawn = "withdrawn"  # by us: the complaint no longer counts (SCORING.md §10)


class ComplaintStatus(StrEnum):
    """Where a complaint stands today, from its facts (never stored, so it cannot disagree with them)."""

    waiting = "waiting"  # raised, no answer from the vendor yet
    answered = "answered"  # the vendor took the case up, not resolved yet
    resolved = "resolved"
    withdrawn = "withdrawn"


def _status_steps(resolution: Any, acknowledged_at: Any) -> list[tuple[Any, ComplaintStatus]]:
    """The statuses in the order they are decided, each with its condition. Written with `==` and
    `!=`, the conditions read the same on plain values (a bool) and on columns (SQL), so the model,
    the exports and the lists' filter all decide a status by these steps."""
    return [
        (resolution == Resolution.withdrawn, ComplaintStatus.withdrawn),
        (resolution != None, ComplaintStatus.resolved),  # noqa: E711 - IS NOT NULL on columns
        (acknowledged_at != None, ComplaintStatus.answered),  # noqa: E711
    ]


def status_of(resolution: Resolution | None, acknowledged_at: datetime | None) -> ComplaintStatus:
    """Where a complaint stands from the two facts that decide it; for rows read without the model."""
    for holds, status in _status_steps(resolution, acknowledged_at):
        if holds:
            return status
    return ComplaintStatus.waiting


# The concerned commitments: a complaint may be about several, a commitment may draw several.
complaint_commitment = sa.Table(
    "complaint_commitment",
    db.metadata,
    sa.Column("complaint_id", sa.ForeignKey("complaint.id"), primary_key=True),
    sa.Column("commitment_id", sa.ForeignKey("commitment.id"), primary_key=True, index=True),
)


class Complaint(db.Model):
    __table_args__ = (
        sa.Index("ix_complaint_vendor_id_raised_at", "vendor_id", "raised_at"),
        # The sweep's question: which unanswered complaints' answer deadlines have passed.
        sa.Index("ix_complaint_answer_due_at", "answer_due_at"),
        # The scorecard's question: which complaints are not in their vendor's ComplaintRollup yet.
        sa.Index("ix_complaint_settles_at", "settles_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"))
    # The vendor's person it was raised with; responsiveness per contact counts these.
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    # Ours: who follows the case up, and is asked by the sweep whether the vendor has answered.
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    severity: Mapped[Severity]
    channel: Mapped[Channel]
    raised_at: Mapped[datetime]  # when the vendor was told
    # The end of the k-th working day after raised_at (SCORING.md §10), kept with the settings it
    # was worked out under (ScoreTallyState) and worked out again by the tally job when they change.
    answer_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]  # the vendor's first real answer, not an auto-reply
    # Who at the vendor owns the case: one of its contacts, or a name we were given.
    case_owner_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"))
    case_owner_name: Mapped[str] = mapped_column(sa.String(200), default="")
    apologised: Mapped[bool] = mapped_column(default=False)
    # When the vendor committed to answer by a date: that promise is in the ledger, its
    # complaint_id pointing here (and its follow-ups', if the vendor moves it).
    dated_answer_at: Mapped[datetime | None]
    resolution: Mapped[Resolution | None]
    resolved_at: Mapped[datetime | None]
    satisfied: Mapped[bool | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set once by the sweep, by a conditional UPDATE, when the answer deadline passed unanswered.
    flagged_unanswered_at: Mapped[datetime | None]
    # From this moment its figures no longer move (rules.complaint_settles_at): once it is at or
    # before ScoreTallyState.complaints_through, its vendor's ComplaintRollup holds it. Kept by
    # `scores.responsiveness.recount` on every write to the complaint or its dated answer's promise;
    # NULL (a row written some other way, until the tally job) reads as not settled.
    settles_at: Mapped[datetime | None]

    vendor: Mapped[Vendor] = relationship()
    contact: Mapped[Contact | None] = relationship(foreign_keys=[contact_id])
    case_owner_contact: Mapped[Contact | None] = relationship(foreign_keys=[case_owner_contact_id])
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    answer_promises: Mapped[list[Commitment]] = relationship(
        primaryjoin="Complaint.id == Commitment.complaint_id", order_by="Commitment.id", viewonly=True
    )
    commitments: Mapped[list[Commitment]] = relationship(
        secondary=complaint_commitment, order_by="Commitment.due_at"
    )
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id"
    )

    def __repr__(self) -> str:
        return f"<Complaint {self.id} {self.severity} raised {self.raised_at:%Y-%m-%d %H:%M}>"

    @hybrid_property
    def status(self) -> ComplaintStatus:
        return status_of(self.resolution, self.acknowledged_at)

    @status.inplace.expression
    @classmethod
    def _status_expression(cls) -> sa.ColumnElement[str]:
        # The same steps in SQL, for the lists that filter on it.
        steps = _status_steps(cls.resolution, cls.acknowledged_at)
        return sa.case(
            *((condition, status.value) for condition, status in steps), else_=ComplaintStatus.waiting.value
        )

    @property
    def answer_promise(self) -> Commitment | None:
        """The dated answer as it stands: the newest promise of the chain, after any moves."""
        return self.answer_promises[-1] if self.answer_promises else None

    @property
    def owner_named(self) -> bool:
        return self.case_owner_contact_id is not None or bool(self.case_owner_name)

    @property
    def case_owner(self) -> str:
        """The vendor's person who owns the case, as the pages name them."""
        if self.case_owner_contact is not None:
            return self.case_owner_contact.name
        return self.case_owner_name


class ComplaintAction(StrEnum):
    raised = "raised"
    edited = "edited"
    answered = "answered"
    dated_answer = "dated_answer"
    resolved = "resolved"
    withdrawn = "withdrawn"
    reopened = "reopened"
    flagged_unanswered = "flagged_unanswered"
    vendor_answered = "vendor_answered"  # through the vendor's link: its actor is the contact


class ComplaintEvent(db.Model):
    """One step in a complaint's life: who, when, what it was before and after. Append-only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # The vendor's contact, when they acted themselves through their link (then actor_id is None).
    actor_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[ComplaintAction]
    before: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Why, when a step asks for it (a reopening).
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    actor_contact: Mapped[Contact | None] = relationship()
