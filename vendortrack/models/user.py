"""People who use vendortrack, their roles, and the API tokens they hold."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from vendortrack.extensions import db
from vendortrack.timeutil import user_zone

DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(8, 0)


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"


# The roles that log and resolve commitments, and so can own them: the pages' guard, the owner
# choices and User.can_write all read this one tuple.
WRITERS = (Role.editor, Role.admin)


class CalendarScope(StrEnum):
    """Which open commitments a user's calendar feed lists."""

    mine = "mine"
    all = "all"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_calendar_secret() -> str:
    return secrets.token_urlsafe(32)


def new_unsubscribe_secret() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(default=Role.viewer)
    # None means the installation's VENDORTRACK_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    # None means the browser's Accept-Language decides.
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    # What Flask-Login keeps in the session; rotating it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    digest_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # When the next weekly digest is due (UTC); None until the digest job first sees the user,
    # and again after they change time zone, so it is worked out afresh.
    digest_next_at: Mapped[datetime | None] = mapped_column(index=True)
    # The secret in the user's calendar feed URL, kept readable so the profile can show it again:
    # it grants reading that one feed and nothing else. None until the profile first shows it.
    calendar_secret: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    calendar_scope: Mapped[CalendarScope] = mapped_column(
        default=CalendarScope.mine, server_default=CalendarScope.mine.value
    )
    # The secret in the digest's unsubscribe link: it ends this user's digest and nothing else. A new
    # one when the link is used and when the email changes, so an old link, or one sent to the old
    # address, stops working.
    unsubscribe_secret: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_unsubscribe_secret
    )

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    @validates("email")
    def _new_address_new_unsubscribe_link(self, _key: str, email: str) -> str:
        if self.email is not None and email != self.email:
            self.unsubscribe_secret = new_unsubscribe_secret()
        return email

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def set_password(self, password: str, hasher: PasswordHasher) -> None:
        self.password_hash = hasher.hash(password)
        self.session_token = new_session_token()

    def check_password(self, password: str, hasher: PasswordHasher) -> bool:
        try:
            return hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def next_digest_at(self, after: datetime, default_tz: str) -> datetime:
        """The first Monday 08:00 on the user's own clock strictly after `after`, in UTC.

        Worked out on the wall clock, so it stays 08:00 across daylight-saving changes.
        """
        zone = ZoneInfo(user_zone(self.timezone, default_tz))
        local_day = after.astimezone(zone).date()
        day = local_day + timedelta(days=(DIGEST_WEEKDAY - local_day.weekday()) % 7)
        while (moment := datetime.combine(day, DIGEST_TIME, tzinfo=zone).astimezone(UTC)) <= after:
            day += timedelta(days=7)
        return moment

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


def hash_token(secret: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")
