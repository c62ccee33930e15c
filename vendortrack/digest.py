"""The weekly reliability digest: what it holds for one subscriber and one week, and its email."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy.orm import Session, aliased

from vendortrack import mail
from vendortrack.i18n import speaking, user_timezone
from vendortrack.models import Commitment, ExcuseCategory, MailKind, Status, User, Vendor
from vendortrack.models.user import DIGEST_TIME, DIGEST_WEEKDAY
from vendortrack.scores import scorecard
from vendortrack.scores.rules import (
    COUNTED,
    MIN_COUNTED,
    Fact,
    Outcome,
    Rules,
    Standing,
    Totals,
    headline,
    outcome,
)
from vendortrack.timeutil import utcnow
from vendortrack.validation import InvalidInput

WEEK = timedelta(days=7)
LIST_LIMIT = 50  # a longer list belongs on the site, not in an email
OVERDUE_LIMIT = 20
MOVERS = 3  # each way
STANDOUTS = 5  # best and worst, at most
BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{1,2})", re.IGNORECASE)
FIRST_YEAR, LAST_YEAR = 1970, 9998  # far enough either way, and clear of datetime's limits

# What became of a commitment that came due this week, in the order the digest counts them.
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
OLD_SCORE_COLOUR = "#adb5bd"
TRACK_COLOUR = "#e9ecef"


@dataclass(frozen=True)
class Line:
    """One commitment as the digest lists it."""

    id: int
    title: str
    kind: str
    vendor_id: int
    vendor_name: str
    owner_name: str
    due_at: datetime
    status: str
    outcome: Outcome
    late_by: timedelta | None
    excuse_category: str | None
    excuse: str
    resolved_at: datetime | None
    moved_to: datetime | None


@dataclass(frozen=True)
class Capped:
    """The first lines of a list, and how many more there are."""

    lines: list[Line]
    more: int = 0


@dataclass(frozen=True)
class Move:
    """A vendor whose score moved over the week: as of its start, and as of its end."""

    vendor_id: int
    name: str
    old: float
    new: float
    standing: Standing

    @property
    def delta(self) -> float:
        """The move between the scores as the digest shows them (one decimal): 59.8 → 55.6 is -4.2,
        never a -4.3 that the reader cannot find from the two figures beside it."""
        return round(round(self.new, 1) - round(self.old, 1), 1)


@dataclass(frozen=True)
class Standout:
    """One of the best or worst vendors as of the week's end."""

    vendor_id: int
    name: str
    score: float
    standing: Standing


@dataclass(frozen=True)
class Unrated:
    """A vendor with too little history to rank (SCORING.md §9): how many of the 3 needed count."""

    vendor_id: int
    name: str
    counted: int


@dataclass(frozen=True)
class ExcuseOfTheWeek:
    category: ExcuseCategory
    count: int
    out_of: int  # the week's broken and rescheduled commitments, as "New broken promises" takes them
    example: Line | None  # one with a text, if any gave one


@dataclass(frozen=True)
class Week:
    """Everything the digest says about one week, the same for every subscriber of that week."""

    start: datetime
    end: datetime
    following: datetime  # the end of next week
    came_due: Capped
    outcome_counts: dict[Outcome, int]
    movers_up: list[Move]
    movers_down: list[Move]
    broken: Capped
    overdue: Capped
    next_week: Capped
    best: list[Standout]
    worst: list[Standout]
    unrated: list[Unrated]
    unrated_more: int
    excuse: ExcuseOfTheWeek | None
    min_move: float  # score points: a smaller move is not listed

    @property
    def came_due_total(self) -> int:
        return sum(self.outcome_counts.values())


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

    def __init__(self) -> None:
        self._weeks: dict[tuple[datetime, datetime, datetime], Week] = {}
        self._bodies: dict[tuple[datetime, datetime, str, str], tuple[Markup, str]] = {}

    def get(
        self, session: Session, start: datetime, end: datetime, following: datetime | None = None
    ) -> Week:
        key = (start, end, following or end + WEEK)
        if key not in self._weeks:
            self._weeks[key] = week_summary(session, *key)
        return self._weeks[key]

    def bodies(self, week: Week, tz: str) -> tuple[Markup, str]:
        """The week rendered on one clock: subscribers in the same time zone share the rendering."""
        key = (week.start, week.end, tz, str(get_locale()))
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


# --- what the week holds ------------------------------------------------------------------------


def _lines_query(*conditions: Any) -> sa.Select:
    successor = aliased(Commitment)
    moved_to = (
        sa.select(sa.func.max(successor.due_at))
        .where(successor.rescheduled_from_id == Commitment.id, successor.status != Status.cancelled)
        .scalar_subquery()
    )
    return (
        sa.select(
            Commitment.id,
            Commitment.title,
            Commitment.kind,
            Commitment.vendor_id,
            Vendor.name.label("vendor_name"),
            User.name.label("owner_name"),
            User.email.label("owner_email"),
            Commitment.due_at,
            Commitment.status,
            Commitment.done_at,
            Commitment.excuse_category,
            Commitment.excuse,
            Commitment.resolved_at,
            moved_to.label("moved_to"),
        )
        .join(Vendor, Vendor.id == Commitment.vendor_id)
        .join(User, User.id == Commitment.owner_id)
        .where(Vendor.archived_at.is_(None), *conditions)
    )


def _count(session: Session, *conditions: Any) -> int:
    query = sa.select(sa.func.count()).select_from(Commitment).join(Vendor, Vendor.id == Commitment.vendor_id)
    return session.scalar(query.where(Vendor.archived_at.is_(None), *conditions)) or 0


def _line(row: Any, rules: Rules, as_of: datetime) -> Line:
    fact = Fact(row.id, row.kind, row.due_at, row.status, row.done_at, row.excuse_category)
    result = outcome(fact, rules, as_of)
    late = row.done_at - row.due_at if result == Outcome.kept_late and row.done_at else None
    return Line(
        id=row.id,
        title=row.title,
        kind=row.kind,
        vendor_id=row.vendor_id,
        vendor_name=row.vendor_name,
        owner_name=row.owner_name or row.owner_email,
        due_at=row.due_at,
        status=row.status,
        outcome=result,
        late_by=late,
        excuse_category=row.excuse_category,
        excuse=row.excuse or "",
        resolved_at=row.resolved_at,
        moved_to=row.moved_to,
    )


def _capped(
    session: Session, rules: Rules, as_of: datetime, conditions: list, order: list, limit: int
) -> Capped:
    rows = session.execute(_lines_query(*conditions).order_by(*order).limit(limit)).all()
    more = _count(session, *conditions) - len(rows) if len(rows) == limit else 0
    return Capped([_line(row, rules, as_of) for row in rows], more)


def _movers(
    session: Session,
    rules: Rules,
    start: datetime,
    at_end: list[scorecard.Ranked],
    active: set[int],
    min_move: float,
) -> tuple[list[Move], list[Move]]:
    """Vendors whose score moved by `min_move` or more between the week's start and its end.

    Only vendors with a commitment that came due in the week and counts (`active`): otherwise
    the move is the recency weights drifting, not news. Only vendors rated at both ends: a score
    on too little history is not shown at all (SCORING.md §9), so neither is its move.
    """
    before = scorecard.totals_by_vendor(session, rules, start, sorted(active)) if active else {}
    moves = []
    for line in at_end:
        if line.vendor_id not in active or not line.figures.rated:
            continue
        old = headline(before.get(line.vendor_id, (Totals(), None))[0], rules)
        if old.rated:
            figures = line.figures
            moves.append(Move(line.vendor_id, line.name, old.score, figures.score, figures.standing))
    # Strictly up or down: with a threshold of 0, a score that stayed put is in neither list.
    up = sorted(
        (m for m in moves if m.delta > 0 and m.delta >= min_move), key=lambda m: (-m.delta, m.name.casefold())
    )
    down = sorted(
        (m for m in moves if m.delta < 0 and m.delta <= -min_move), key=lambda m: (m.delta, m.name.casefold())
    )
    return up[:MOVERS], down[:MOVERS]


def _standout(line: scorecard.Ranked) -> Standout:
    return Standout(line.vendor_id, line.name, line.figures.score, line.figures.standing)


def _standouts(
    best_first: list[scorecard.Ranked], worst_first: list[scorecard.Ranked]
) -> tuple[list[Standout], list[Standout]]:
    """SCORING.md §9: of n rated vendors, best takes the top min(5, ceil(n/2)) and worst the
    bottom min(5, floor(n/2)) by its own key, skipping those in best: no vendor is in both."""
    rated = [line for line in best_first if line.figures.rated]
    best = rated[: min(STANDOUTS, math.ceil(len(rated) / 2))]
    taken = {line.vendor_id for line in best}
    worst = [line for line in worst_first if line.figures.rated and line.vendor_id not in taken]
    worst = worst[: min(STANDOUTS, len(rated) // 2)]
    return [_standout(line) for line in best], [_standout(line) for line in worst]


def _unrated(lines: list[scorecard.Ranked]) -> list[Unrated]:
    """The vendors not yet rated, by name: the reader looks one up, there is no order to them yet."""
    unrated = [
        Unrated(line.vendor_id, line.name, line.figures.counted) for line in lines if not line.figures.rated
    ]
    return sorted(unrated, key=lambda u: (u.name.casefold(), u.vendor_id))


def _excuse_of_the_week(lines: list[Line]) -> ExcuseOfTheWeek | None:
    excused = [line for line in lines if line.status in (Status.broken, Status.rescheduled)]
    if not excused:
        return None
    order = list(ExcuseCategory)
    tally = Counter(ExcuseCategory(line.excuse_category or ExcuseCategory.none_given) for line in excused)
    category, count = min(tally.items(), key=lambda item: (-item[1], order.index(item[0])))
    example = next(
        (
            line
            for line in excused
            if line.excuse.strip() and (line.excuse_category or ExcuseCategory.none_given) == category
        ),
        None,
    )
    return ExcuseOfTheWeek(category, count, len(excused), example)


def week_summary(session: Session, start: datetime, end: datetime, following: datetime | None = None) -> Week:
    """The digest's sections for the week [start, end): one pass of queries over the whole ledger."""
    following = following or end + WEEK
    rules = current_app.config["VENDORTRACK_RULES"]
    scorecard.ensure_tally(session, rules, utcnow())
    # Every status named, so the (status, due_at) index serves a range on due_at alone.
    any_status = Commitment.status.in_(list(Status))
    came_due_rows = session.execute(
        _lines_query(any_status, Commitment.due_at >= start, Commitment.due_at < end).order_by(
            Commitment.due_at, Commitment.id
        )
    ).all()
    came_due = [_line(row, rules, end) for row in came_due_rows]
    counts = Counter(line.outcome for line in came_due)
    # The week's failures: broken or rescheduled, and either due this week or, having come due
    # before, marked so this week. "New broken promises" and the excuse of the week both read
    # this one set, so a promise listed broken is always among the week's excuses.
    failed = [
        _line(row, rules, end)
        for row in session.execute(
            _lines_query(
                Commitment.status.in_([Status.broken, Status.rescheduled]),
                Commitment.due_at < end,
                sa.or_(
                    Commitment.due_at >= start,
                    sa.and_(Commitment.resolved_at >= start, Commitment.resolved_at < end),
                ),
            ).order_by(Commitment.due_at, Commitment.id)
        )
    ]
    broken = [line for line in failed if line.status == Status.broken]
    best_first = scorecard.ranked(session, rules, end)
    active = {line.vendor_id for line in came_due if line.outcome in COUNTED}
    min_move = current_app.config["VENDORTRACK_DIGEST_MIN_MOVE"]
    movers_up, movers_down = _movers(session, rules, start, best_first, active, min_move)
    best, worst = _standouts(best_first, scorecard.ranked(session, rules, end, worst_first=True))
    unrated = _unrated(best_first)
    return Week(
        start=start,
        end=end,
        following=following,
        came_due=Capped(came_due[:LIST_LIMIT], max(len(came_due) - LIST_LIMIT, 0)),
        outcome_counts={key: counts[key] for key in DUE_OUTCOMES if counts[key]},
        movers_up=movers_up,
        movers_down=movers_down,
        broken=Capped(broken[:LIST_LIMIT], max(len(broken) - LIST_LIMIT, 0)),
        overdue=_capped(
            session,
            rules,
            end,
            [rules.is_overdue(Commitment.status, Commitment.due_at, end)],
            [Commitment.due_at, Commitment.id],
            OVERDUE_LIMIT,
        ),
        next_week=_capped(
            session,
            rules,
            end,
            [
                Commitment.status.in_([Status.open, Status.kept, Status.broken]),
                Commitment.due_at >= end,
                Commitment.due_at < following,
            ],
            [Commitment.due_at, Commitment.id],
            LIST_LIMIT,
        ),
        best=best,
        worst=worst,
        unrated=unrated[:LIST_LIMIT],
        unrated_more=max(len(unrated) - LIST_LIMIT, 0),
        excuse=_excuse_of_the_week(failed),
        min_move=min_move,
    )


# --- how it reads -------------------------------------------------------------------------------


def bar_width(score: float) -> int:
    """A score as a share of a bar, in whole percent; never 0, so the cell still shows."""
    return min(max(round(score), 1), 99)


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
        "week_date": week_date(week.start, tz),
    }


def week_date(start: datetime, tz: str) -> str:
    """The week's first day, as the reader's locale writes a date ('June 22, 2026')."""
    return format_date(start.astimezone(ZoneInfo(tz)).date(), format="long", locale=get_locale())


def preview(session: Session, user: User, end: datetime, cache: WeekCache | None = None) -> Preview:
    """The digest of the week ending at `end`, on the user's clock, for the mail and the browser alike."""
    cache = cache or WeekCache()
    tz = user_timezone(user)
    week = cache.get(session, _wall_shift(end, tz, -7), end, _wall_shift(end, tz, 7))
    html, text = cache.bodies(week, tz)
    subject = _("Vendor digest for the week of %(date)s", date=week_date(week.start, tz))
    return Preview(subject, html, text, week, tz)


# --- the email ----------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="digest-unsubscribe")


def unsubscribe_token(user: User) -> str:
    return _serializer().dumps({"user": user.id})


def user_id_for_unsubscribe(token: str) -> int | None:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    user_id = data.get("user") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def compose(session: Session, user: User, end: datetime, cache: WeekCache) -> mail.Rendered:
    digest = preview(session, user, end, cache)
    unsubscribe = url_for("digest.unsubscribe", token=unsubscribe_token(user), _external=True)
    online = url_for("digest.show", week=week_name(digest.week.start, digest.tz), _external=True)
    return mail.render(
        "digest", digest.subject, user=user, digest=digest, unsubscribe_url=unsubscribe, online_url=online
    )


def queue_digest(session: Session, user: User, scheduled: datetime, now: datetime, cache: WeekCache) -> int:
    with speaking(user):
        rendered = compose(session, user, scheduled, cache)
    unsubscribe = url_for("digest.unsubscribe", token=unsubscribe_token(user), _external=True)
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
