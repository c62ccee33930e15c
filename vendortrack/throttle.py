"""Sign-in throttling: too many failures for one account or from one address, counted in the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vendortrack.models import LoginAttempt, User

EMAIL_KEY_MAX = 254
ADDRESS_MAX = 64


@dataclass(frozen=True)
class Limits:
    """At most this many failed sign-ins per account and per address within the window."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            per_account=config["VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT"],
            per_address=config["VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS"],
            window=config["VENDORTRACK_LOGIN_WINDOW"],
        )


def email_key(email: str) -> str:
    """The account an attempt names, as find_user would look it up, whether or not it exists."""
    return User.normalize_email(email or "")[:EMAIL_KEY_MAX]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:ADDRESS_MAX]


def record_attempt(
    session: Session, email: str, address: str | None, now: datetime, *, succeeded: bool
) -> LoginAttempt:
    attempt = LoginAttempt(
        email_key=email_key(email), address=address_key(address), at=now, succeeded=succeeded
    )
    session.add(attempt)
    session.flush()
    return attempt


def _wait_after(
    session: Session, failures: sa.Select, limit: int, now: datetime, window: timedelta
) -> timedelta:
    # Blocked while `limit` failures lie in the window: until the limit-th newest of them leaves it.
    oldest_that_blocks = session.scalar(failures.order_by(LoginAttempt.at.desc()).offset(limit - 1).limit(1))
    if oldest_that_blocks is None:
        return timedelta(0)
    return max(oldest_that_blocks + window - now, timedelta(0))


def retry_after(
    session: Session, email: str, address: str | None, now: datetime, limits: Limits
) -> timedelta:
    """How long before a new sign-in may be tried for this email from this address; zero means now.

    An account counts only failures after its latest success, so a user who got in is not held back
    by their own earlier typos; an address counts every failure, whatever accounts it tried.
    """
    since = now - limits.window
    key = email_key(email)
    last_success = (
        sa.select(sa.func.max(LoginAttempt.at))
        .where(LoginAttempt.email_key == key, LoginAttempt.succeeded.is_(True), LoginAttempt.at > since)
        .scalar_subquery()
    )
    failures = sa.select(LoginAttempt.at).where(LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
    account_failures = failures.where(
        LoginAttempt.email_key == key,
        sa.or_(last_success.is_(None), LoginAttempt.at > last_success),
    )
    address_failures = failures.where(LoginAttempt.address == address_key(address))
    return max(
        _wait_after(session, account_failures, limits.per_account, now, limits.window),
        _wait_after(session, address_failures, limits.per_address, now, limits.window),
    )


def prune_attempts(session: Session, now: datetime, limits: Limits, *, at_most: int) -> int:
    """Remove up to `at_most` attempts that have left the window: no throttling decision from now on
    reads them (retry_after counts only those after now - window). Returns how many went."""
    gone = sa.select(LoginAttempt.id).where(LoginAttempt.at <= now - limits.window).limit(at_most)
    return session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.id.in_(gone.scalar_subquery()))
    ).rowcount
