"""The weekly reliability digest: what it holds for one subscriber and one week, and its email."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask import render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import Session

from vendortrack import mail
from vendortrack.i18n import speaking, user_timezone
from vendortrack.models import MailKind, User
from vendortrack.models.user import DIGEST_TIME, DIGEST_WEEKDAY, new_unsubscribe_secret
from vendortrack.scores.rules import (
    MIN_COUNTED,
    Outcome,
    Rules,
    Standing,
)
from vendortrack.validation import InvalidInput
from vendortrack.week import WEEK, ComplaintLine, Week, week_as_of, week_summary

BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{1,2})", re.IGNORECASE)
FIRST_YEAR, LAST_YEAR = 1970, 9998  # far enough either way, and clear of datetime's limits

# What became of a commitment that came due this week, in words, in week.DUE_ORDER.
DUE_OUTCOMES = {
    Outcome.kept_on_time: _l("Kept on time"),
    Outcome.kept_late: _l("Kept late"),
    Outcome.rescheduled: _l("Rescheduled"),
    Outcome.broken: _l("Broken"),
    Outcome.overdue: _l("Overdue, no outcome logged"),
    Outcome.pending: _l("Open, still within its grace period"),
    Outcome.cancelled: _l("Cancelled"),
}
# Colours as HTML attributes (bgcolor), which mail clients and the site's CSP both allow.
OUTCOME_COLOURS = {
    Outcome.kept_on_time: "#198754",
    Outcome.kept_late: "#20c997",
    Outcome.rescheduled: "#ffc107",
    Outcome.broken: "#dc3545",
    Outcome.overdue: "#6f42c1",
    Outcome.pending: "#adb5bd",
    Outcome.cancelled: "#6c757d",
}
STANDING_COLOURS = {
    Standing.excellent: "#198754",
    Standing.good: "#20c997",
    Standing.fair: "#ffc107",
    Standing.poor: "#fd7e14",
    Standing.unreliable: "#dc3545",
    Standing.insufficient_data: "#adb5bd",
}
# A complaint's bar: answered in time or late; waiting within its deadline or past it.
COMPLAINT_COLOURS = {
    (True, True): "#198754",
    (True, False): "#fd7e14",
    (False, True): "#ffc107",
    (False, False): "#dc3545",
}
OLD_SCORE_COLOUR = "#adb5bd"
TRACK_COLOUR = "#e9ecef"


@dataclass(frozen=True)
class Preview:
    """A digest as its subscriber reads it: the subject, and its body as HTML and as text."""

    subject: str
    html: Markup
    text: str
    week: Week
    tz: str


class WeekCache:
    """What every subscriber's digest for the same week shares, worked out once per job run."""

    def __init__(self, rules: Rules, min_move: float) -> None:
        self.rules, self.min_move = rules, min_move
        self._weeks: dict[tuple[datetime, datetime, datetime, datetime], Week] = {}
        self._bodies: dict[tuple[datetime, datetime, datetime, str, str], tuple[Markup, str]] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WeekCache:
        return cls(config["VENDORTRACK_RULES"], config["VENDORTRACK_DIGEST_MIN_MOVE"])

    def get(
        self,
        session: Session,
        start: datetime,
        end: datetime,
        following: datetime | None = None,
        *,
        now: datetime,
    ) -> Week:
        # Keyed by the moment the figures are as of: a past week is one entry for the whole run.
        key = (start, end, following or end + WEEK, week_as_of(end, now))
        if key not in self._weeks:
            self._weeks[key] = week_summary(session, self.rules, *key[:3], now=key[3], min_move=self.min_move)
        return self._weeks[key]

    def bodies(self, week: Week, tz: str) -> tuple[Markup, str]:
        """The week rendered on one clock: subscribers in the same time zone share the rendering."""
        key = (week.start, week.end, week.as_of, tz, str(get_locale()))
        if key not in self._bodies:
            context = _template_context(week, tz)
            # Jinja's blocks leave uneven blank lines in plain text: one between paragraphs is enough.
            text = BLANK_LINES.sub("\n\n", render_template("digest/_body.txt", **context)).strip()
            # Safe to mark: rendered from an .html template, so every value in it was escaped.
            html = Markup(render_template("digest/_body.html", **context))  # noqa: S704
            self._bodies[key] = (html, text)
        return self._bodies[key]


# --- which week ---------------------------------------------------------------------------------


def _wall_shift(moment: datetime, tz: str, days: int) -> datetime:
    """The same time of day `days` later on the wall clock there: a DST week is 167 or 169 hours."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(UTC)


def last_digest_at(user: User, now: datetime) -> datetime:
    """The most recent Monday 08:00 on the user's clock at or before `now`: where their last week ended."""
    zone = ZoneInfo(user_timezone(user))
    local_day = now.astimezone(zone).date()
    day = local_day - timedelta(days=(local_day.weekday() - DIGEST_WEEKDAY) % 7)
    moment = datetime.combine(day, DIGEST_TIME, tzinfo=zone).astimezone(UTC)
    return moment if moment <= now else _wall_shift(moment, user_timezone(user), -7)


def parse_week(text: str) -> date:
    """'2026-W26' to the Monday of that ISO week; a InvalidInput naming `week` for anything else."""
    match = WEEK_PATTERN.fullmatch(text.strip())
    if not match:
        raise InvalidInput("week", _l("Week: write it as year, W and week number, e.g. 2026-W26."))
    year, number = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            "week", _l("Week: choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        )
    try:
        return date.fromisocalendar(year, number, 1)
    except ValueError:
        raise InvalidInput(
            "week", _l("Week: %(year)d has no week %(number)d.", year=year, number=number)
        ) from None


def week_name(start: datetime, tz: str) -> str:
    """The ISO week a digest covers, as ?week= takes it: the week of its first Monday."""
    year, number, _day = start.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{number:02d}"


def digest_end(user: User, week: str | None, now: datetime) -> datetime:
    """Where the digest of ?week= ends (the next Monday 08:00 on the user's clock); the last one without."""
    if not week:
        return last_digest_at(user, now)
    monday = parse_week(week)
    start = datetime.combine(monday, DIGEST_TIME, tzinfo=ZoneInfo(user_timezone(user))).astimezone(UTC)
    return _wall_shift(start, user_timezone(user), 7)


def period_key(user: User, scheduled: datetime) -> str:
    """The ISO week the digest belongs to, on the subscriber's clock: one digest per week."""
    local = scheduled.astimezone(ZoneInfo(user_timezone(user)))
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}"


# --- how it reads -------------------------------------------------------------------------------


def bar_width(score: float) -> int:
    """A score as a share of a bar, in whole percent; never 0, so the cell still shows."""
    return min(max(round(score), 1), 99)


def complaint_colour(line: ComplaintLine) -> str:
    return COMPLAINT_COLOURS[line.answered_at is not None, line.in_time]


def _template_context(week: Week, tz: str) -> dict[str, Any]:
    return {
        "week": week,
        "tz": tz,
        "bar_width": bar_width,
        "MIN_COUNTED": MIN_COUNTED,
        "DUE_OUTCOMES": DUE_OUTCOMES,
        "OUTCOME_COLOURS": OUTCOME_COLOURS,
        "STANDING_COLOURS": STANDING_COLOURS,
        "OLD_SCORE_COLOUR": OLD_SCORE_COLOUR,
        "TRACK_COLOUR": TRACK_COLOUR,
        "complaint_colour": complaint_colour,
        "complaint_url": mail.complaint_url,
        "week_date": week_date(week.start, tz),
    }


def week_date(start: datetime, tz: str) -> str:
    """The week's first day, as the reader's locale writes a date ('June 22, 2026')."""
    return format_date(start.astimezone(ZoneInfo(tz)).date(), format="long", locale=get_locale())


def preview(session: Session, user: User, end: datetime, cache: WeekCache, *, now: datetime) -> Preview:
    """The digest of the week ending at `end`, on the user's clock, for the mail and the browser alike:
    as of `now` while that week is not over."""
    tz = user_timezone(user)
    week = cache.get(session, _wall_shift(end, tz, -7), end, _wall_shift(end, tz, 7), now=now)
    html, text = cache.bodies(week, tz)
    subject = _("Vendor digest for the week of %(date)s", date=week_date(week.start, tz))
    return Preview(subject, html, text, week, tz)


# --- the email ----------------------------------------------------------------------------------


# What a secret from new_unsubscribe_secret looks like; anything else is no link of ours.
UNSUBSCRIBE_SECRET = re.compile(r"[A-Za-z0-9_-]{1,64}")


def unsubscribe_url(user: User) -> str:
    """The one-click link that ends the user's digests: their own secret, replaced once it is used."""
    return url_for("digest.unsubscribe", secret=user.unsubscribe_secret, _external=True)


def _unsubscribing(secret: str) -> sa.ColumnElement[bool]:
    # A disabled user's link is refused: their digest has stopped anyway, and the page says nothing.
    return sa.and_(User.unsubscribe_secret == secret, User.disabled_at.is_(None))


def unsubscribe_link_works(session: Session, secret: str) -> bool:
    """Whether this is an active user's current unsubscribe link."""
    if not UNSUBSCRIBE_SECRET.fullmatch(secret):
        return False
    return session.scalar(sa.select(User.id).where(_unsubscribing(secret))) is not None


def unsubscribe(session: Session, secret: str) -> bool:
    """End the digest of the active user whose link this is, and give them a new secret, so the link
    works once; False (nothing changed) for a link used, replaced or never made, or a disabled user's.

    One conditional UPDATE: two clicks at once unsubscribe once, and the second finds the link gone.
    """
    if not UNSUBSCRIBE_SECRET.fullmatch(secret):
        return False
    done = session.execute(
        sa.update(User)
        .where(_unsubscribing(secret))
        .values(digest_enabled=False, digest_next_at=None, unsubscribe_secret=new_unsubscribe_secret())
        .execution_options(synchronize_session=False)
    ).rowcount
    return done == 1


def compose(
    session: Session,
    user: User,
    end: datetime,
    cache: WeekCache,
    unsubscribe: str | None = None,
    *,
    now: datetime,
) -> mail.Rendered:
    """The digest email; `unsubscribe`, when given, is the user's link already made (`unsubscribe_url`)."""
    digest = preview(session, user, end, cache, now=now)
    online = url_for("digest.show", week=week_name(digest.week.start, digest.tz), _external=True)
    return mail.render(
        "digest",
        digest.subject,
        user=user,
        digest=digest,
        unsubscribe_url=unsubscribe or unsubscribe_url(user),
        online_url=online,
    )


def queue_digest(session: Session, user: User, scheduled: datetime, now: datetime, cache: WeekCache) -> int:
    unsubscribe = unsubscribe_url(user)  # in the body and in the headers mail clients offer
    with speaking(user):
        rendered = compose(session, user, scheduled, cache, unsubscribe, now=now)
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return int(
        mail.queue(
            session,
            recipient=user.email,
            user_id=user.id,
            kind=MailKind.digest,
            period_key=period_key(user, scheduled),
            rendered=rendered,
            now=now,
            headers=headers,
        )
    )
