"""Each user's secret iCalendar feed of open commitments: its address, what it lists, and the ICS text.

How a commitment becomes an event: a meeting starts at its due time and lasts an hour; a promise or
a deadline due at a time of day is a 15-minute event ending at that moment (a calendar then shows the
promise running out, not starting); one due at the end of a day, which is what a date without a time
means, is an all-day event on that day in the feed owner's time zone. Timed events are in UTC, so
every calendar app places them right whatever zone it runs in.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy.orm import Session, selectinload

from vendortrack.models import Commitment, Kind, Status, Vendor
from vendortrack.models.user import CalendarScope, User, new_calendar_secret
from vendortrack.templating import KIND_LABELS
from vendortrack.timeutil import END_OF_DAY, user_zone
from vendortrack.unit_of_work import writing

MEETING_LENGTH = timedelta(hours=1)
REMINDER_LENGTH = timedelta(minutes=15)


def regenerate_secret(user: User) -> str:
    """A new secret for the user's feed; the old address stops working once the caller commits."""
    user.calendar_secret = new_calendar_secret()
    return user.calendar_secret


def ensure_secret(session: Session, user: User) -> str:
    """The user's feed secret, made on first need with one conditional UPDATE (never two secrets).

    Written at once, in a write of its own (a page that shows it may be only reading), which ends
    the caller's transaction first.
    """
    if user.calendar_secret:
        return user.calendar_secret
    with writing(session):
        session.execute(
            sa.update(User)
            .where(User.id == user.id, User.calendar_secret.is_(None))
            .values(calendar_secret=new_calendar_secret())
        )
    session.refresh(user, ["calendar_secret"])
    return user.calendar_secret


def feed_owner(session: Session, secret: str) -> User | None:
    """The active user whose feed this secret opens, or None."""
    if not secret:
        return None
    user = session.scalar(sa.select(User).where(User.calendar_secret == secret))
    return user if user is not None and user.is_active else None


def feed_commitments(session: Session, user: User) -> list[Commitment]:
    """Open commitments of active vendors: the user's own, or everyone's if they chose all."""
    query = (
        sa.select(Commitment)
        .join(Commitment.vendor)
        .where(Commitment.status == Status.open, Vendor.archived_at.is_(None))
        .options(selectinload(Commitment.vendor), selectinload(Commitment.contact))
        .order_by(Commitment.due_at, Commitment.id)
    )
    if user.calendar_scope != CalendarScope.all:
        query = query.where(Commitment.owner_id == user.id)
    return list(session.scalars(query))


def build_feed(user: User, commitments: list[Commitment], *, base_url: str, default_tz: str) -> bytes:
    """The feed as ICS bytes; the icalendar library does the escaping and line folding."""
    tz = ZoneInfo(user_zone(user.timezone, default_tz))
    host = urlsplit(base_url).hostname or "vendortrack"
    calendar = Calendar()
    calendar.add("prodid", "-//vendortrack//calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = _("All commitments") if user.calendar_scope == CalendarScope.all else _("My commitments")
    calendar.add("x-wr-calname", f"vendortrack: {name}")
    for commitment in commitments:
        calendar.add_component(_event(commitment, tz=tz, host=host, base_url=base_url))
    return calendar.to_ical()


def _event(commitment: Commitment, *, tz: ZoneInfo, host: str, base_url: str) -> Event:
    link = f"{base_url}/commitments/{commitment.id}"
    event = Event()
    event.add("uid", f"commitment-{commitment.id}@{host}")
    # The last change, not the clock: an unchanged commitment reads the same on every fetch.
    event.add("dtstamp", commitment.updated_at)
    event.add("last-modified", commitment.updated_at)
    local_due = commitment.due_at.astimezone(tz)
    if commitment.kind == Kind.meeting:
        event.add("dtstart", commitment.due_at)
        event.add("dtend", commitment.due_at + MEETING_LENGTH)
    elif local_due.time().replace(microsecond=0) == END_OF_DAY:
        event.add("dtstart", local_due.date())
        event.add("dtend", local_due.date() + timedelta(days=1))
    else:
        event.add("dtstart", commitment.due_at - REMINDER_LENGTH)
        event.add("dtend", commitment.due_at)
    event.add("summary", f"{commitment.vendor.name}: {commitment.title}")
    lines = [_("Kind: %(kind)s", kind=KIND_LABELS[commitment.kind])]
    if commitment.contact is not None:
        lines.append(_("Contact: %(name)s", name=commitment.contact.name))
    lines.append(link)
    event.add("description", "\n".join(lines))
    event.add("url", link)
    event.add("status", "CONFIRMED")
    return event
