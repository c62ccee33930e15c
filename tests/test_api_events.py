"""The admin's event log over the API: filtered, newest first, keyset pages that say where to go next."""

from __future__ import annotations

import pytest

from tests.test_admin_events import Ledger
from vendortrack.models import Role

pytestmark = pytest.mark.usefixtures("api_clock_at_now")


@pytest.fixture
def world(app, session, make_vendor, make_user):
    return Ledger(app, session, make_vendor, make_user)


@pytest.fixture
def as_admin(admin, token_for):
    return token_for(admin)


def ids(response) -> list[int]:
    return [event["id"] for event in response.get_json()["items"]]


def test_an_admin_reads_every_event_newest_first(client, as_admin, world):
    response = client.get("/api/v1/events", headers=as_admin)
    assert response.status_code == 200
    body = response.get_json()
    assert ids(response) == [e.id for e in world.events]
    assert (body["older"], body["newer"]) == (None, None)
    flagged, broken = body["items"][0], body["items"][1]
    assert (flagged["action"], flagged["actor_id"]) == ("flagged_overdue", None)
    assert (flagged["vendor_id"], flagged["commitment_id"]) == (world.acme.id, world.quote.id)
    assert (broken["action"], broken["actor_id"]) == ("resolved", world.max.id)
    assert broken["vendor_id"] == world.bodge.id
    assert broken["before"]["status"] == "open" and broken["after"]["status"] == "broken"
    assert set(flagged) == {
        "id",
        "at",
        "action",
        "actor_id",
        "actor_contact_id",
        "actor_contact_name",
        "vendor_id",
        "commitment_id",
        "before",
        "after",
    }
    assert (flagged["actor_contact_id"], flagged["actor_contact_name"]) == (None, None)


def test_filters_by_user_the_scheduler_vendor_and_time(client, as_admin, world):
    def listed(**query) -> list[int]:
        response = client.get("/api/v1/events", headers=as_admin, query_string=query)
        assert response.status_code == 200, response.get_json()
        return ids(response)

    flagged, broken, boiler, quote = (e.id for e in world.events)
    assert listed(user_id=world.max.id) == [broken, boiler]
    assert listed(user_id="scheduler") == [flagged]
    assert listed(vendor_id=world.acme.id) == [flagged, quote]
    since = world.events[2].at.isoformat()
    assert listed(since=since) == [flagged, broken, boiler]
    assert listed(until=since) == [quote]
    assert listed(user_id=999999) == []


def test_pages_go_back_and_forth_by_cursor(client, as_admin, world):
    flagged, broken, boiler, quote = (e.id for e in world.events)
    first = client.get("/api/v1/events?per_page=2", headers=as_admin).get_json()
    assert [e["id"] for e in first["items"]] == [flagged, broken]
    assert (first["older"], first["newer"]) == (broken, None)
    second = client.get(f"/api/v1/events?per_page=2&before={first['older']}", headers=as_admin).get_json()
    assert [e["id"] for e in second["items"]] == [boiler, quote]
    assert (second["older"], second["newer"]) == (None, boiler)
    back = client.get(f"/api/v1/events?per_page=2&after={second['newer']}", headers=as_admin).get_json()
    assert back == first


@pytest.mark.parametrize(
    "query, field",
    [
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
        ("user_id=someone", "user_id"),
        ("user_id=1234567890", "user_id"),
        ("vendor_id=0", "vendor_id"),
        ("since=2026-06-30T12:00:00", "since"),
        ("until=yesterday", "until"),
        ("before=1&after=2", "after"),
    ],
)
def test_a_wrong_query_is_refused_naming_the_argument(client, as_admin, world, query, field):
    response = client.get(f"/api/v1/events?{query}", headers=as_admin)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("cursor", ["before", "after"])
def test_an_unknown_cursor_is_refused_naming_it(client, as_admin, world, cursor):
    response = client.get(f"/api/v1/events?{cursor}=999999", headers=as_admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {cursor: ["There is no event #999999."]}


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_only_an_admin_reads_the_event_log(client, make_user, token_for, world, role):
    response = client.get("/api/v1/events", headers=token_for(make_user(role)))
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "Only an admin may read the event log."


def test_without_a_token_the_event_log_is_closed(client):
    assert client.get("/api/v1/events").status_code == 401
