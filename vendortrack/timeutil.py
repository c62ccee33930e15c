"""Moments in the user's time zone in, UTC in the database, and back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

END_OF_DAY = time(23, 59, 59)
# How far ahead of this server's clock a moment may be and still pass for now: a kept time from a
# phone whose clock drifts, a --now typed from another machine. Further ahead is the future.
CLOCK_SKEW = timedelta(minutes=5)
# Every IANA zone the system knows, read once: the pickers list them, the checks look them up.
TIMEZONES = sorted(available_timezones())
_KNOWN = frozenset(TIMEZONES)


def is_timezone(name: str) -> bool:
    return name in _KNOWN


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
