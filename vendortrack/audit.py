"""The admin's event log: every ledger event across the app, filtered, newest first, a page at a time.

Pages are keyset pages, not offsets: a page continues from one event's (at, id), so the thousandth
page of a million events costs what the first does, and no page counts the whole table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from vendortrack.models import Commitment, LedgerEvent, User, Vendor

# The user filter's value for events no person made: the scheduler's overdue flags.
SCHEDULER = "scheduler"
FIRST_YEAR, LAST_YEAR = 1970, 9998  # as far as anyone looks back or ahead, and clear of datetime's limits
DAY_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MOMENT_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})")
MAX_ID_DIGITS = 9  # ids are 32-bit integers on PostgreSQL; a longer number names no row
# A filter matching at most this many events is sorted whole; past it, read along the time index.
FEW = 2000


@dataclass(frozen=True)
class EventFilter:
    """Which events the log shows. `until` is exclusive; None anywhere means no limit there."""

    user_id: int | str | None = None  # a user's id, or SCHEDULER
    vendor_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class EventLine:
    """One event as the log lists it, with the names its ids stand for."""

    event: LedgerEvent
    vendor_name: str
    commitment_title: str


@dataclass(frozen=True)
class EventPage:
    """A page of events, newest first, and the cursors to the pages either side (None: no more)."""

    lines: list[EventLine]
    older: int | None  # ?before= for the next page back in time
    newer: int | None  # ?after= for the page before this one


def _older_than(at: datetime, event_id: int) -> sa.ColumnElement[bool]:
    # `at <= :at` on its own too, so either database can walk the index on `at` to the rest.
    e = LedgerEvent
    return sa.and_(e.at <= at, sa.or_(e.at < at, sa.and_(e.at == at, e.id < event_id)))


def _newer_than(at: datetime, event_id: int) -> sa.ColumnElement[bool]:
    e = LedgerEvent
    return sa.and_(e.at >= at, sa.or_(e.at > at, sa.and_(e.at == at, e.id > event_id)))


def _conditions(where: EventFilter, *, by_time: bool = False) -> list[sa.ColumnElement[bool]]:
    """The filter as SQL. `by_time`: the user and vendor written as `column + 0`, which no index
    serves, so that both databases walk the index on `at` newest-first and stop at the page's end."""
    e, conditions = LedgerEvent, []
    actor_id, vendor_id = (e.actor_id + 0, e.vendor_id + 0) if by_time else (e.actor_id, e.vendor_id)
    if where.user_id == SCHEDULER:
        # No person: neither one of us nor the vendor's contact acting through their link.
        conditions += [actor_id.is_(None), e.actor_contact_id.is_(None)]
    elif where.user_id is not None:
        conditions.append(actor_id == where.user_id)
    if where.vendor_id is not None:
        conditions.append(vendor_id == where.vendor_id)
    if where.since is not None:
        conditions.append(e.at >= where.since)
    if where.until is not None:
        conditions.append(e.at < where.until)
    return conditions


def position(session: Session, event_id: int) -> tuple[datetime, int] | None:
    """Where an event sits in the log, for a cursor; None if there is no such event."""
    at = session.scalar(sa.select(LedgerEvent.at).where(LedgerEvent.id == event_id))
    return (at, event_id) if at is not None else None


def _exists(session: Session, conditions: list[sa.ColumnElement[bool]]) -> bool:
    return session.scalar(sa.select(sa.exists().where(*conditions))) or False


def _lines(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    e = LedgerEvent
    return (
        sa.select(e, Vendor.name, Commitment.title)
        .join(Vendor, Vendor.id == e.vendor_id)
        .join(Commitment, Commitment.id == e.commitment_id)
        .options(joinedload(e.actor), joinedload(e.actor_contact))
        .where(*conditions)
    )


def _page(lines: list[EventLine], older: bool, newer: bool) -> EventPage:
    if not lines:
        return EventPage([], None, None)
    return EventPage(lines, lines[-1].event.id if older else None, lines[0].event.id if newer else None)


def events(
    session: Session,
    *,
    user_id: int | str | None = None,
    vendor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, int] | None = None,
    after: tuple[datetime, int] | None = None,
    per_page: int = 50,
) -> EventPage:
    """One page of the events that match, newest first.

    Without a cursor, the newest; `before` (an event's position) the page older than it, `after`
    the page newer than it. A filter by user or vendor is first asked how many events it matches,
    up to FEW: so few are sorted whole (a vendor with three events in a million costs three rows);
    more are read in time order, where the page fills long before the index ends.
    """
    where = EventFilter(user_id, vendor_id, since, until)
    if user_id is not None or vendor_id is not None:
        keys = session.execute(
            sa.select(LedgerEvent.at, LedgerEvent.id).where(*_conditions(where)).limit(FEW + 1)
        ).all()
        if len(keys) <= FEW:
            return _page_of_few(session, sorted(map(tuple, keys), reverse=True), before, after, per_page)
    return _page_in_time_order(session, _conditions(where, by_time=True), before, after, per_page)


def _page_of_few(
    session: Session,
    keys: list[tuple[datetime, int]],
    before: tuple[datetime, int] | None,
    after: tuple[datetime, int] | None,
    per_page: int,
) -> EventPage:
    """The page cut from every match's (at, id), newest first, then its rows read by id."""
    if before is not None:
        start = next((i for i, key in enumerate(keys) if key < before), len(keys))
    elif after is not None:
        end = next((i for i, key in enumerate(keys) if key <= after), len(keys))
        start = max(end - per_page, 0)
    else:
        start = 0
    chosen = [event_id for _at, event_id in keys[start : start + per_page]]
    rows = {row[0].id: row for row in session.execute(_lines(LedgerEvent.id.in_(chosen)))}
    lines = [EventLine(*rows[event_id]) for event_id in chosen]
    return _page(lines, older=start + per_page < len(keys), newer=start > 0)


def _page_in_time_order(
    session: Session,
    conditions: list[sa.ColumnElement[bool]],
    before: tuple[datetime, int] | None,
    after: tuple[datetime, int] | None,
    per_page: int,
) -> EventPage:
    """per_page + 1 rows along the index on `at`, and one EXISTS for the other side of the page."""
    e = LedgerEvent
    backwards = after is not None and before is None  # reading towards the newest
    if backwards:
        query = _lines(*conditions, _newer_than(*after)).order_by(e.at, e.id)
    else:
        query = _lines(*conditions, *([_older_than(*before)] if before else []))
        query = query.order_by(e.at.desc(), e.id.desc())
    rows = session.execute(query.limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page][::-1] if backwards else rows[:per_page]
    lines = [EventLine(*row) for row in rows]
    if not lines:
        return _page([], False, False)
    first, last = lines[0].event, lines[-1].event
    if backwards:
        return _page(lines, older=_exists(session, [*conditions, _older_than(last.at, last.id)]), newer=more)
    newer = before is not None and _exists(session, [*conditions, _newer_than(first.at, first.id)])
    return _page(lines, older=more, newer=newer)


# --- the filter as the page's query string gives it ------------------------------------------------


def _number(text: str) -> int | None:
    """A whole number of at most 9 ASCII digits ("²" is a digit to str.isdigit, not to int)."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


def _moment(text: str, tz: str, *, end: bool) -> datetime:
    """A date, or a date and a time, on the admin's clock, in UTC.

    A date alone means that whole day: its start for `from`, the start of the next day for `to`
    (which is exclusive). A time means that minute, taken whole at the end of a range.
    """
    if match := MOMENT_PATTERN.fullmatch(text):
        year, month, day, hour, minute = map(int, match.groups())
        length = timedelta(minutes=1)
    elif match := DAY_PATTERN.fullmatch(text):
        year, month, day = map(int, match.groups())
        hour = minute = 0
        length = timedelta(days=1)
    else:
        raise ValueError("not a date")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OverflowError(year)
    local = datetime.combine(date(year, month, day), time(hour, minute))  # ValueError: 2026-02-30
    if end:
        local += length
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def read_filter(session: Session, args: Mapping[str, str], tz: str) -> tuple[EventFilter, dict[str, str]]:
    """The filter from the page's query string (user_id, vendor_id, from, to), and what was wrong with it.

    Each wrong value is named under its field and left out of the filter, so nothing is shown
    filtered by half of what was asked.
    """
    errors: dict[str, str] = {}
    user_id: int | str | None = None
    raw_user = args.get("user_id", "")
    if raw_user == SCHEDULER:
        user_id = SCHEDULER
    elif raw_user:
        user_id = _number(raw_user)
        if user_id is None or session.get(User, user_id) is None:
            errors["user_id"] = _(
                "User: there is no user “%(value)s”; choose one from the list.", value=raw_user[:40]
            )
            user_id = None
    vendor_id = None
    if raw_vendor := args.get("vendor_id", ""):
        vendor_id = _number(raw_vendor)
        if vendor_id is None or session.get(Vendor, vendor_id) is None:
            errors["vendor_id"] = _(
                "Vendor: there is no vendor “%(value)s”; choose one from the list.", value=raw_vendor[:40]
            )
            vendor_id = None
    moments: dict[str, datetime | None] = {"from": None, "to": None}
    for name in moments:
        text = args.get(name, "").strip()
        if not text:
            continue
        try:
            moments[name] = _moment(text, tz, end=name == "to")
        except OverflowError:
            errors[name] = _("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        except ValueError:
            errors[name] = _("Write a date as year-month-day, e.g. 2026-06-30.")
    since, until = moments["from"], moments["to"]
    if since is not None and until is not None and since >= until:
        errors["to"] = _("The end of the range comes before its start.")
    return EventFilter(user_id, vendor_id, since, until), errors


def read_cursor(
    session: Session, args: Mapping[str, str]
) -> tuple[dict[str, tuple[datetime, int]], str | None]:
    """?before= or ?after= as the position of the event it names, or the message saying why not."""
    given = {name: args[name] for name in ("before", "after") if args.get(name)}
    if len(given) > 1:
        return {}, _("Page: ask for older or newer events, not both.")
    for name, raw in given.items():
        event_id = _number(raw)
        where = position(session, event_id) if event_id is not None else None
        if where is None:
            return {}, _("Page: that place in the log does not exist; start again from the newest.")
        return {name: where}, None
    return {}, None
