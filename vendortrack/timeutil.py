"""Moments in the user's time zone in, UTC in the database, and back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytz

END_OF_DAY = time(23, 59, 59)
# How far ahead of this server's clock a moment may be and still pass for now: a kept time from a
# phone whose clock drifts, a --now typed from another machine. Further ahead is the future.
CLOCK_SKEW = timedelta(minutes=5)
# The zones a user may choose, read once: the pickers list them, the checks look them up. Only those
# pytz knows too, as Flask-Babel formats the pages through it: zoneinfo also lists "Factory" and
# "localtime", which pytz refuses (every page of a user holding one would fail).
TIMEZONES = sorted(available_timezones() & set(pytz.all_timezones))
_KNOWN = frozenset(TIMEZONES)


def is_timezone(name: str) -> bool:
    return name in _KNOWN


def user_zone(chosen: str | None, default: str) -> str:
    """The zone a user's times are shown and entered in: theirs if it is one offered, else `default`.

    A zone no longer offered (chosen before, or written to the database directly) falls back
    rather than failing every page.
    """
    return chosen if chosen and is_timezone(chosen) else default


def utcnow() -> datetime:
    """The one wall-clock read in the app; everything below takes `now` as an argument."""
    return datetime.now(UTC)


def local_moment(day: date, at: time | None, tz: str) -> datetime:
    """A date and an optional time as the user meant them; a date alone means the end of that day."""
    local = datetime.combine(day, at or END_OF_DAY, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def in_zone(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None
