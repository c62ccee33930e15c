"""Sign-in attempts, kept in the database so throttling holds across every worker and restart."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vendortrack.extensions import db


class LoginAttempt(db.Model):
    """One try at signing in: which address it named, where it came from, and whether it worked."""

    __table_args__ = (
        sa.Index("ix_login_attempt_email_key_at", "email_key", "at"),
        sa.Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The email as typed, normalised; kept whether or not such a user exists, so the throttle
    # answers the same for both.
    email_key: Mapped[str] = mapped_column(sa.String(254))
    address: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    succeeded: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
