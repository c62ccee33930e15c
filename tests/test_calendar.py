"""The secret calendar feed, read the way a calendar app reads it: parsed by the icalendar library."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from tests.conftest import NOW
from vendortrack.accounts import disable_user
from vendortrack.ledger import cancel, log_commitment, resolve_kept
from vendortrack.models import Commitment, Kind
from vendortrack.models.user import CalendarScope, User
from vendortrack.vendors import add_contact, archive_vendor

BASE = "http://127.0.0.1:5000"  # VENDORTRACK_BASE_URL's default


def feed_url(client) -> str:
    """The feed's address as the profile page shows it."""
    page = client.get("/auth/profile").get_data(as_text=True)
    match = re.search(r'id="calendar-url"[^>]*value="([^"]+)"', page)
    assert match, "the profile shows no calendar address"
    return match.group(1)


def fetch(client, url: str):
    """The feed as a signed-out calendar app fetches it."""
    assert url.startswith(BASE + "/calendar/")
    return client.application.test_client().get(url.removeprefix(BASE))


def events(client, url: str) -> dict[str, object]:
    response = fetch(client, url)
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.data)
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def when(event, name: str):
    return event.decoded(name)


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Acme, Plumbing; and Sons")


@pytest.fixture
def warsaw_editor(make_user):
    return make_user(name="Wanda", timezone="Europe/Warsaw")


def log(session, vendor, owner, title, due_at, kind=Kind.promise, **kwargs) -> Commitment:
    commitment = log_commitment(
        session, vendor=vendor, kind=kind, title=title, due_at=due_at, actor=owner, now=NOW, **kwargs
    )
    session.commit()
    return commitment


def test_the_feed_lists_only_the_users_open_commitments(client, session, editor, make_user, vendor):
    other = make_user(name="Olga")
    log(session, vendor, editor, "Send the quote", NOW + timedelta(days=2, hours=3))
    done = log(session, vendor, editor, "Fix the tap", NOW + timedelta(days=1))
    resolve_kept(session, done, actor=editor, now=NOW, done_at=NOW)
    dropped = log(session, vendor, editor, "Paint the door", NOW + timedelta(days=1))
    cancel(session, dropped, actor=editor, now=NOW)
    log(session, vendor, other, "Olga's invoice", NOW + timedelta(days=1))
    session.commit()
    client.login(editor)

    found = events(client, feed_url(client))

    assert list(found) == ["Acme, Plumbing; and Sons: Send the quote"]


def test_choosing_all_commitments_adds_everyones_open_ones_but_not_archived_vendors(
    client, session, editor, make_user, make_vendor, vendor
):
    other = make_user(name="Olga")
    log(session, vendor, editor, "Send the quote", NOW + timedelta(days=2))
    log(session, vendor, other, "Olga's invoice", NOW + timedelta(days=1))
    gone = make_vendor("Gone Ltd")
    log(session, gone, other, "Old promise", NOW + timedelta(days=1))
    archive_vendor(gone, now=NOW)
    session.commit()
    client.login(editor)
    url = feed_url(client)

    response = client.submit("/calendar/scope", {"calendar_scope": "all"})

    assert response.status_code == 302
    assert sorted(events(client, url)) == [
        "Acme, Plumbing; and Sons: Olga's invoice",
        "Acme, Plumbing; and Sons: Send the quote",
    ]
    feed = Calendar.from_ical(fetch(client, url).data)
    assert str(feed["x-wr-calname"]) == "vendortrack: All commitments"


def test_a_scope_that_is_not_offered_is_refused_and_changes_nothing(client, session, editor):
    client.login(editor)

    response = client.submit("/calendar/scope", {"calendar_scope": "everyone's"}, follow_redirects=True)

    assert "Choose which commitments the calendar shows." in response.get_data(as_text=True)
    assert session.get(User, editor.id).calendar_scope == CalendarScope.mine


def test_times_are_due_at_in_utc_for_a_warsaw_user(client, session, warsaw_editor, vendor):
    client.login(warsaw_editor)
    form = {"due_date": "2026-07-01", "due_time": "10:00", "owner_id": warsaw_editor.id, "contact_id": 0}
    client.submit(f"/commitments/new/{vendor.id}", form | {"kind": "meeting", "title": "Kick-off"})
    client.submit(f"/commitments/new/{vendor.id}", form | {"kind": "promise", "title": "The quote"})
    client.submit(
        f"/commitments/new/{vendor.id}", form | {"kind": "deadline", "title": "Milestone 2", "due_time": ""}
    )

    found = events(client, feed_url(client))

    meeting = found["Acme, Plumbing; and Sons: Kick-off"]
    assert when(meeting, "dtstart") == datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "10:00 in Warsaw in summer"
    assert when(meeting, "dtend") == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert "DTSTART:20260701T080000Z" in fetch(client, feed_url(client)).get_data(as_text=True)
    promise = found["Acme, Plumbing; and Sons: The quote"]
    assert when(promise, "dtend") == datetime(2026, 7, 1, 8, 0, tzinfo=UTC), (
        "a promise runs out at its due time"
    )
    assert when(promise, "dtstart") == datetime(2026, 7, 1, 7, 45, tzinfo=UTC)
    deadline = found["Acme, Plumbing; and Sons: Milestone 2"]
    assert when(deadline, "dtstart") == date(2026, 7, 1), "a date without a time is that whole day"
    assert when(deadline, "dtend") == date(2026, 7, 2)


def test_each_event_carries_a_stable_uid_the_kind_the_contact_and_a_link(client, session, editor, vendor):
    contact = add_contact(session, vendor, now=NOW, name="Jan Kowalski")
    commitment = log(
        session, vendor, editor, "Site visit", NOW + timedelta(days=1), kind=Kind.meeting, contact=contact
    )
    client.login(editor)
    url = feed_url(client)

    first = events(client, url)["Acme, Plumbing; and Sons: Site visit"]
    again = events(client, url)["Acme, Plumbing; and Sons: Site visit"]

    assert str(first["uid"]) == f"commitment-{commitment.id}@127.0.0.1" == str(again["uid"])
    assert str(first["status"]) == "CONFIRMED"
    description = str(first["description"])
    assert "Kind: Meeting" in description
    assert "Contact: Jan Kowalski" in description
    assert f"{BASE}/commitments/{commitment.id}" in description


def test_commas_semicolons_and_markup_in_titles_round_trip_as_plain_text(client, session, editor, vendor):
    title = 'Quote; parts, labour <b>& "VAT"</b> \\ done'
    log(session, vendor, editor, title, NOW + timedelta(days=1))
    client.login(editor)

    response = fetch(client, feed_url(client))

    assert "Acme\\, Plumbing\\; and Sons: Quote\\; parts\\, labour" in response.get_data(as_text=True)
    assert list(events(client, feed_url(client))) == [f"Acme, Plumbing; and Sons: {title}"]


def test_the_feed_is_served_as_utf8_calendar_text(client, session, editor, make_vendor):
    log(session, make_vendor("Łódź Ślusarz"), editor, "Zażółć gęślą jaźń", NOW + timedelta(days=1))
    client.login(editor)

    response = fetch(client, feed_url(client))

    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert list(events(client, feed_url(client))) == ["Łódź Ślusarz: Zażółć gęślą jaźń"]


def test_a_new_secret_address_makes_the_old_one_not_found(client, session, editor, vendor):
    log(session, vendor, editor, "Send the quote", NOW + timedelta(days=1))
    client.login(editor)
    old = feed_url(client)

    response = client.submit("/calendar/secret", follow_redirects=True)

    new = feed_url(client)
    assert new != old
    assert "the old one no longer works" in response.get_data(as_text=True)
    assert fetch(client, old).status_code == 404
    assert list(events(client, new)) == ["Acme, Plumbing; and Sons: Send the quote"]


def test_an_unknown_secret_is_not_found(client, editor):
    client.login(editor)
    feed_url(client)  # the user has a secret; a guess is still not it

    assert client.get("/calendar/not-the-secret.ics").status_code == 404
    assert client.get("/calendar/.ics").status_code == 404


def test_a_disabled_users_feed_is_not_found(client, session, editor, vendor):
    client.login(editor)
    url = feed_url(client)
    assert fetch(client, url).status_code == 200

    disable_user(session.get(User, editor.id), now=NOW)
    session.commit()

    assert fetch(client, url).status_code == 404


def test_the_profile_shows_the_address_once_made_and_the_same_one_again(client, session, viewer):
    assert session.get(User, viewer.id).calendar_secret is None
    client.login(viewer)

    first, second = feed_url(client), feed_url(client)

    secret = session.scalar(sa.select(User.calendar_secret).where(User.id == viewer.id))
    assert first == second == f"{BASE}/calendar/{secret}.ics"
    assert len(secret) >= 43, "secrets.token_urlsafe(32)"
