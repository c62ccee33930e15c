"""The weekly reliability digest: what it holds for one subscriber and one week, and its email."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from vendortrack import mail
from vendortrack.models import MailKind, User

WEEK = timedelta(days=7)


class WeekCache:
    """What every subscriber's digest for the same week shares, worked out once per job run."""

    def __init__(self) -> None:
        self._weeks: dict[tuple[datetime, datetime], dict[str, Any]] = {}

    def get(self, session: Session, start: datetime, end: datetime) -> dict[str, Any]:
        key = (start, end)
        if key not in self._weeks:
            self._weeks[key] = week_summary(session, start, end)
        return self._weeks[key]


def week_summary(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    return {"start": start, "end": end}


def period_key(user: User, scheduled: datetime) -> str:
    """The ISO week the digest belongs to, on the subscriber's clock: one digest per week."""
    from zoneinfo import ZoneInfo

    local = scheduled.astimezone(ZoneInfo(user.timezone or current_app.config["VENDORTRACK_TIMEZONE"]))
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="digest-unsubscribe")


def unsubscribe_token(user: User) -> str:
    return _serializer().dumps({"user": user.id})


def user_id_for_unsubscribe(token: str) -> int | None:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    return data.get("user") if isinstance(data, dict) else None


def compose(session: Session, user: User, end: datetime, cache: WeekCache) -> mail.Rendered:
    summary = cache.get(session, end - WEEK, end)
    tz = user.timezone or current_app.config["VENDORTRACK_TIMEZONE"]
    unsubscribe = url_for("digest.unsubscribe", token=unsubscribe_token(user), _external=True)
    return mail.render("digest", _("Your weekly vendor reliability digest"), user=user, week=summary,
                       tz=tz, unsubscribe_url=unsubscribe)  # fmt: skip


def queue_digest(session: Session, user: User, scheduled: datetime, now: datetime, cache: WeekCache) -> int:
    rendered = compose(session, user, scheduled, cache)
    unsubscribe = url_for("digest.unsubscribe", token=unsubscribe_token(user), _external=True)
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return int(mail.queue(session, recipient=user.email, user_id=user.id, kind=MailKind.digest,
                          period_key=period_key(user, scheduled), rendered=rendered, now=now,
                          headers=headers))  # fmt: skip
