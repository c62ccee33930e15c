"""The vendor's own link: one contact asked about one commitment or complaint, and what they answered.

A link needs no account: whoever holds its token may answer for that one item. The token itself is
never stored, only its SHA-256, so a copy of the database opens no link.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vendortrack.extensions import db
from vendortrack.models.commitment import Commitment
from vendortrack.models.complaint import Complaint
from vendortrack.models.user import User
from vendortrack.models.vendor import Contact, Vendor


class VendorLink(db.Model):
    """One ask: a contact of the vendor asked, through a link, about one commitment or complaint."""

    __table_args__ = (
        sa.CheckConstraint("(commitment_id IS NULL) <> (complaint_id IS NULL)", name="one_item"),
        sa.Index("ix_vendor_link_vendor_id_asked_at", "vendor_id", "asked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"))
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    # The commitment as it stands: a move carries the link on to the follow-up (ledger.reschedule),
    # so the vendor keeps answering for the same engagement at its new time.
    commitment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commitment.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    asked_at: Mapped[datetime]
    # Logged with the commitment because its vendor asks for confirmations (Vendor.ask_to_confirm).
    automatic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Where the ask was emailed; empty when the link was copied to be sent some other way.
    emailed_to: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    # Whatever happens, the link stops working then (VENDORTRACK_LINK_MAX_DAYS after the ask).
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    first_opened_at: Mapped[datetime | None]
    last_opened_at: Mapped[datetime | None]
    opens: Mapped[int] = mapped_column(default=0, server_default="0")
    # The measure of §12: set once, by the first answer through the link, at the server's clock.
    first_answered_at: Mapped[datetime | None]

    vendor: Mapped[Vendor] = relationship()
    contact: Mapped[Contact] = relationship()
    commitment: Mapped[Commitment | None] = relationship()
    complaint: Mapped[Complaint | None] = relationship()
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    answers: Mapped[list[VendorAnswer]] = relationship(back_populates="link", order_by="VendorAnswer.id")

    def __repr__(self) -> str:
        return f"<VendorLink {self.id} contact {self.contact_id} asked {self.asked_at:%Y-%m-%d %H:%M}>"


class AnswerKind(StrEnum):
    # About a commitment
    confirmed = "confirmed"  # "I'll be there": recorded, changes no score
    proposed = "proposed"  # another time, with a reason: waits for our owner
    done = "done"  # "it's delivered", and when: waits for our owner's confirmation
    cannot = "cannot"  # it cannot be done, with a reason: waits for our owner
    # About a complaint
    answered = "answered"  # took the case up: who owns it, an apology or not (recorded at once)
    dated_answer = "dated_answer"  # "you'll have our answer by ...": a promise in the ledger at once
    reply = "reply"  # the answer itself; keeps the dated answer's promise once our owner agrees


class AnswerState(StrEnum):
    recorded = "recorded"  # nothing for us to decide
    waiting = "waiting"  # for our owner to accept or decline
    accepted = "accepted"
    declined = "declined"
    superseded = "superseded"  # the vendor sent a newer one of the same kind before we decided
    overtaken = "overtaken"  # its commitment was resolved or moved some other way before we decided


class VendorAnswer(db.Model):
    """One answer through a link, by the link's contact, at the server's clock. Append-only but for
    our decision on it."""

    __table_args__ = (sa.Index("ix_vendor_answer_link_id_at", "link_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_link.id"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), index=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id"))
    commitment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commitment.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    kind: Mapped[AnswerKind]
    at: Mapped[datetime]
    # Where it came from, for the rate limit per address (as sign-in attempts are counted).
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    proposed_due_at: Mapped[datetime | None]  # proposed
    done_at: Mapped[datetime | None]  # done, reply: when, as the vendor reports it
    answer_due_at: Mapped[datetime | None]  # dated_answer: the date the vendor promised
    message: Mapped[str] = mapped_column(sa.Text, default="")  # the reason, the note, the answer
    case_owner_name: Mapped[str] = mapped_column(sa.String(200), default="")
    apologised: Mapped[bool | None]
    state: Mapped[AnswerState]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    link: Mapped[VendorLink] = relationship(back_populates="answers")
    contact: Mapped[Contact] = relationship()
    commitment: Mapped[Commitment | None] = relationship()
    complaint: Mapped[Complaint | None] = relationship()
    decided_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<VendorAnswer {self.id} {self.kind} {self.state}>"
