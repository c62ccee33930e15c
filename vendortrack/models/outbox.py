"""Every email the app sends, kept with its state so nothing is silently dropped or sent twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vendortrack.extensions import db


class MailKind(StrEnum):
    overdue = "overdue"
    reminder = "reminder"
    digest = "digest"
    unanswered_complaint = "unanswered_complaint"  # the sweep asks a complaint's owner for news
    vendor_ask = "vendor_ask"  # to a vendor's contact: their link, and what we ask
    vendor_answer = "vendor_answer"  # to our owner: the vendor answered through its link
    vendor_told = "vendor_told"  # to a vendor's contact: what we decided on their answer


class MailState(StrEnum):
    queued = "queued"  # waiting for its next attempt
    sending = "sending"  # claimed by one sender; reclaimed if that sender died
    sent = "sent"
    failed = "failed"  # refused for good (5xx) or out of attempts: needs a person


class OutboxMessage(db.Model):
    """One email. Unique per recipient, kind and period, so a rerun cannot queue it again."""

    __table_args__ = (
        sa.UniqueConstraint(
            "recipient", "kind", "period_key", name="uq_outbox_message_recipient_kind_period"
        ),
        sa.Index("ix_outbox_message_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    kind: Mapped[MailKind]
    period_key: Mapped[str] = mapped_column(sa.String(80))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    state: Mapped[MailState] = mapped_column(default=MailState.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class JobRun(db.Model):
    """One run of a scheduled job: when, how long, and what it did (for the admin's jobs page)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")
