"""The commitments API as a client sees it: log, resolve each way, reopen, history, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack.models import Commitment, LedgerEvent, Role
from vendortrack.views.api import guard

pytestmark = pytest.mark.usefixtures("api_clock_at_now")


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Acme IT")


def log(client, auth, vendor, **values):
    body = {"kind": "meeting", "title": "Kick-off", "due_at": "2026-07-01T10:00:00+02:00"} | values
    response = client.post(f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def resolve(client, auth, commitment, **body):
    return client.post(f"/api/v1/commitments/{commitment['id']}/resolve", headers=auth, json=body)


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_logged_commitment_is_open_owned_by_the_caller_and_shown_in_utc(client, auth, vendor, editor):
    body = log(client, auth, vendor, notes="  Bring the contract ")
    assert body["vendor_id"] == vendor.id
    assert body["owner_id"] == editor.id
    assert body["contact_id"] is None
    assert body["kind"] == "meeting"
    assert body["status"] == "open"
    assert body["notes"] == "Bring the contract"
    assert body["due_at"] == "2026-07-01T08:00:00+00:00"
    assert body["original_due_at"] == "2026-07-01T08:00:00+00:00"
    assert body["is_overdue"] is False
    assert body["rescheduled_from"] is None and body["rescheduled_to"] is None
    assert body["created_at"] == body["updated_at"] == "2026-06-30T12:00:00+00:00"
    assert client.get(f"/api/v1/commitments/{body['id']}", headers=auth).get_json() == body


def test_a_past_due_date_is_allowed_and_shows_overdue_after_grace(client, auth, vendor):
    body = log(client, auth, vendor, due_at="2026-06-01T09:00:00Z")
    assert body["status"] == "open"
    assert body["is_overdue"] is True
    within_grace = log(client, auth, vendor, due_at="2026-06-30T11:00:00Z")
    assert within_grace["is_overdue"] is False


def test_commitment_names_its_contact_and_another_owner(client, auth, vendor, make_vendor, make_user):
    contact = client.post(
        f"/api/v1/vendors/{vendor.id}/contacts", headers=auth, json={"name": "Jan"}
    ).get_json()
    colleague = make_user(Role.editor)
    body = log(client, auth, vendor, contact_id=contact["id"], owner_id=colleague.id)
    assert (body["contact_id"], body["owner_id"]) == (contact["id"], colleague.id)

    elsewhere = make_vendor("Other")
    stranger = client.post(
        f"/api/v1/vendors/{elsewhere.id}/contacts", headers=auth, json={"name": "Not Jan"}
    ).get_json()
    response = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Quote",
            "due_at": "2026-07-03T15:00:00Z",
            "contact_id": stranger["id"],
        },
    )
    assert response.status_code == 422
    assert "another vendor" in response.get_json()["error"]["fields"]["contact_id"][0]

    nobody = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Quote",
            "due_at": "2026-07-03T15:00:00Z",
            "owner_id": 4242,
        },
    )
    assert nobody.status_code == 422
    assert list(nobody.get_json()["error"]["fields"]) == ["owner_id"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("due_at", "2026-07-01T10:00:00"),
        ("due_at", "2026-07-01"),
        ("due_at", "next Tuesday"),
        ("due_at", "9615-12-21T01:29:03+00:48"),  # Schemathesis found it counted as neither due nor upcoming
        ("due_at", "1899-12-31T23:59:59+00:00"),
        ("kind", "lunch"),
        ("title", ""),
        ("title", "x" * 201),
        ("notes", None),
        ("contact_id", "abc"),
        ("owner_id", 2**40),
    ],
)
def test_bad_commitment_input_is_refused_naming_the_field_and_nothing_is_created(
    client, auth, vendor, session, field, value
):
    before = (count(session, Commitment), count(session, LedgerEvent))
    body = {"kind": "meeting", "title": "Kick-off", "due_at": "2026-07-01T10:00:00+02:00", field: value}
    response = client.post(f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert list(error["fields"]) == [field]
    assert (count(session, Commitment), count(session, LedgerEvent)) == before


def test_a_naive_time_is_refused_as_not_aware(client, auth, vendor):
    response = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "meeting",
            "title": "Kick-off",
            "due_at": "2026-07-01T10:00:00",
        },
    )
    assert response.get_json()["error"]["fields"] == {"due_at": ["Not a valid aware datetime."]}


def test_kept_with_done_at_records_the_moment_in_utc(client, auth, vendor, editor):
    commitment = log(client, auth, vendor, due_at="2026-06-29T10:00:00Z")
    response = resolve(client, auth, commitment, status="kept", done_at="2026-06-29T12:05:00+02:00")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "kept"
    assert body["done_at"] == "2026-06-29T10:05:00+00:00"
    assert body["resolved_at"] == "2026-06-30T12:00:00+00:00"
    assert body["is_overdue"] is False


def test_kept_without_done_at_means_on_time_once_due_now_before_and_a_future_one_is_refused(
    client, auth, vendor
):
    first = log(client, auth, vendor, due_at="2026-06-29T10:00:00Z")
    assert resolve(client, auth, first, status="kept").get_json()["done_at"] == "2026-06-29T10:00:00+00:00", (
        "kept after the fact, with no time given, is kept on time, not a day late"
    )
    early = log(client, auth, vendor, due_at="2026-07-03T10:00:00Z")
    assert resolve(client, auth, early, status="kept").get_json()["done_at"] == "2026-06-30T12:00:00+00:00", (
        "kept before it is due: now is the only honest guess"
    )

    second = log(client, auth, vendor, due_at="2026-06-29T10:00:00Z")
    future = resolve(client, auth, second, status="kept", done_at="2026-07-02T10:00:00Z")
    assert future.status_code == 422
    assert list(future.get_json()["error"]["fields"]) == ["done_at"]
    assert client.get(f"/api/v1/commitments/{second['id']}", headers=auth).get_json()["status"] == "open"


def test_broken_with_an_excuse_category(client, auth, vendor):
    commitment = log(client, auth, vendor)
    body = resolve(
        client,
        auth,
        commitment,
        status="broken",
        excuse_category="plot_twist",
        excuse="Sudden trip to Lisbon",
    ).get_json()
    assert (body["status"], body["excuse_category"], body["excuse"]) == (
        "broken",
        "plot_twist",
        "Sudden trip to Lisbon",
    )


def test_broken_without_a_category_means_none_given_and_an_unknown_one_is_refused(client, auth, vendor):
    commitment = log(client, auth, vendor)
    unknown = resolve(client, auth, commitment, status="broken", excuse_category="dog_ate_it")
    assert unknown.status_code == 422
    assert list(unknown.get_json()["error"]["fields"]) == ["excuse_category"]
    body = resolve(client, auth, commitment, status="broken").get_json()
    assert body["excuse_category"] == "none_given"


def test_rescheduled_closes_the_old_one_and_opens_a_successor_keeping_the_original_date(client, auth, vendor):
    old = log(client, auth, vendor, due_at="2026-07-01T10:00:00Z")
    response = resolve(
        client,
        auth,
        old,
        status="rescheduled",
        new_due_at="2026-07-08T10:00:00+02:00",
        excuse_category="personal",
        excuse="Flu",
    )
    assert response.status_code == 200
    closed = response.get_json()
    assert closed["id"] == old["id"]
    assert closed["status"] == "rescheduled"
    assert closed["excuse_category"] == "personal"
    assert closed["rescheduled_to"] is not None

    successor = client.get(f"/api/v1/commitments/{closed['rescheduled_to']}", headers=auth).get_json()
    assert successor["status"] == "open"
    assert successor["rescheduled_from"] == old["id"]
    assert successor["due_at"] == "2026-07-08T08:00:00+00:00"
    assert successor["original_due_at"] == "2026-07-01T10:00:00+00:00"
    assert (successor["title"], successor["kind"], successor["owner_id"]) == (
        old["title"],
        old["kind"],
        old["owner_id"],
    )

    again = resolve(client, auth, successor, status="rescheduled", new_due_at="2026-07-15T10:00:00Z")
    third = client.get(f"/api/v1/commitments/{again.get_json()['rescheduled_to']}", headers=auth)
    assert third.get_json()["original_due_at"] == "2026-07-01T10:00:00+00:00"


def test_rescheduled_needs_a_new_aware_date(client, auth, vendor, session):
    commitment = log(client, auth, vendor)
    before = count(session, Commitment)
    missing = resolve(client, auth, commitment, status="rescheduled")
    assert missing.status_code == 422
    assert list(missing.get_json()["error"]["fields"]) == ["new_due_at"]
    naive = resolve(client, auth, commitment, status="rescheduled", new_due_at="2026-07-08T10:00:00")
    assert list(naive.get_json()["error"]["fields"]) == ["new_due_at"]
    assert count(session, Commitment) == before
    assert client.get(f"/api/v1/commitments/{commitment['id']}", headers=auth).get_json()["status"] == "open"


def test_cancelled_with_a_reason(client, auth, vendor):
    commitment = log(client, auth, vendor)
    body = resolve(client, auth, commitment, status="cancelled", reason="We found another firm").get_json()
    assert (body["status"], body["reason"]) == ("cancelled", "We found another firm")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "open"}, "status"),
        ({"status": "lost"}, "status"),
        ({}, "status"),
        ({"status": "kept", "reason": "why not"}, "reason"),
        ({"status": "cancelled", "new_due_at": "2026-07-08T10:00:00Z"}, "new_due_at"),
    ],
)
def test_a_resolution_that_does_not_fit_is_refused_naming_the_field(client, auth, vendor, body, field):
    commitment = log(client, auth, vendor)
    response = resolve(client, auth, commitment, **body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_resolving_twice_is_refused_until_reopened(client, auth, vendor):
    commitment = log(client, auth, vendor)
    resolve(client, auth, commitment, status="broken")
    twice = resolve(client, auth, commitment, status="kept")
    assert twice.status_code == 422
    assert "reopen" in twice.get_json()["error"]["fields"]["status"][0]

    reopened = client.post(f"/api/v1/commitments/{commitment['id']}/reopen", headers=auth)
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert (body["status"], body["excuse_category"], body["done_at"]) == ("open", None, None)
    assert resolve(client, auth, commitment, status="kept").get_json()["status"] == "kept"

    reopen_open = client.post(f"/api/v1/commitments/{log(client, auth, vendor)['id']}/reopen", headers=auth)
    assert reopen_open.status_code == 422
    assert "status" in reopen_open.get_json()["error"]["fields"]


def test_reopening_a_reschedule_cancels_its_open_follow_up(client, auth, vendor):
    old = log(client, auth, vendor)
    successor_id = resolve(
        client, auth, old, status="rescheduled", new_due_at="2026-07-08T10:00:00Z"
    ).get_json()["rescheduled_to"]
    reopened = client.post(f"/api/v1/commitments/{old['id']}/reopen", headers=auth).get_json()
    assert reopened["status"] == "open"
    successor = client.get(f"/api/v1/commitments/{successor_id}", headers=auth).get_json()
    assert successor["status"] == "cancelled"


def test_editing_corrects_fields_and_a_naive_time_changes_nothing(client, auth, vendor, make_user):
    commitment = log(client, auth, vendor)
    colleague = make_user(Role.editor)
    response = client.patch(
        f"/api/v1/commitments/{commitment['id']}",
        headers=auth,
        json={
            "title": "Kick-off meeting",
            "kind": "deadline",
            "due_at": "2026-07-02T09:00:00Z",
            "owner_id": colleague.id,
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["kind"], body["owner_id"]) == ("Kick-off meeting", "deadline", colleague.id)
    assert body["due_at"] == body["original_due_at"] == "2026-07-02T09:00:00+00:00"

    naive = client.patch(
        f"/api/v1/commitments/{commitment['id']}",
        headers=auth,
        json={"title": "Changed", "due_at": "2026-07-09T09:00:00"},
    )
    assert naive.status_code == 422
    assert list(naive.get_json()["error"]["fields"]) == ["due_at"]
    after = client.get(f"/api/v1/commitments/{commitment['id']}", headers=auth).get_json()
    assert after == body


def test_history_lists_each_event_with_its_actor(client, auth, vendor, editor, make_user, token_for):
    commitment = log(client, auth, vendor)
    client.patch(f"/api/v1/commitments/{commitment['id']}", headers=auth, json={"title": "Kick-off 2"})
    colleague = make_user(Role.admin, email="ada@example.test")
    resolve(client, token_for(colleague), commitment, status="broken", excuse_category="oversight")
    client.post(f"/api/v1/commitments/{commitment['id']}/reopen", headers=auth)

    response = client.get(f"/api/v1/commitments/{commitment['id']}/history", headers=auth)
    assert response.status_code == 200
    events = response.get_json()["items"]
    assert [e["action"] for e in events] == ["created", "edited", "resolved", "reopened"]
    assert [e["actor"]["email"] for e in events] == [
        editor.email,
        editor.email,
        "ada@example.test",
        editor.email,
    ]
    assert events[0]["actor"]["id"] == editor.id
    assert events[0]["at"] == "2026-06-30T12:00:00+00:00"
    assert events[1]["before"] == {"title": "Kick-off"}
    assert events[1]["after"] == {"title": "Kick-off 2"}
    assert events[2]["after"]["status"] == "broken"
    assert events[2]["after"]["excuse_category"] == "oversight"


def test_history_of_a_reschedule_links_both_ways(client, auth, vendor):
    old = log(client, auth, vendor)
    successor_id = resolve(
        client, auth, old, status="rescheduled", new_due_at="2026-07-08T10:00:00Z"
    ).get_json()["rescheduled_to"]
    old_events = client.get(f"/api/v1/commitments/{old['id']}/history", headers=auth).get_json()["items"]
    assert old_events[-1]["action"] == "rescheduled"
    assert old_events[-1]["after"]["rescheduled_to"] == successor_id
    new_events = client.get(f"/api/v1/commitments/{successor_id}/history", headers=auth).get_json()["items"]
    assert new_events[0]["after"]["rescheduled_from"] == old["id"]


@pytest.fixture
def ledger_of_three(client, auth, vendor, make_vendor, make_user, token_for):
    other = make_vendor("Beta Builders")
    colleague = make_user(Role.editor)
    meeting = log(client, auth, vendor, kind="meeting", title="Meeting", due_at="2026-06-10T10:00:00Z")
    promise = log(client, auth, vendor, kind="promise", title="Quote", due_at="2026-06-20T10:00:00Z")
    deadline = log(
        client,
        auth,
        other,
        kind="deadline",
        title="Milestone",
        due_at="2026-07-05T10:00:00Z",
        owner_id=colleague.id,
    )
    resolve(client, auth, meeting, status="kept", done_at="2026-06-10T10:00:00Z")
    return {
        "meeting": meeting,
        "promise": promise,
        "deadline": deadline,
        "other": other,
        "colleague": colleague,
    }


def titles(client, auth, **query) -> list[str]:
    response = client.get("/api/v1/commitments", query_string=query, headers=auth)
    assert response.status_code == 200, response.get_json()
    return [c["title"] for c in response.get_json()["items"]]


def test_commitments_are_listed_by_due_time_and_filtered(client, auth, vendor, ledger_of_three):
    assert titles(client, auth) == ["Meeting", "Quote", "Milestone"]
    assert titles(client, auth, vendor_id=vendor.id) == ["Meeting", "Quote"]
    assert titles(client, auth, vendor_id=ledger_of_three["other"].id) == ["Milestone"]
    assert titles(client, auth, status="kept") == ["Meeting"]
    assert titles(client, auth, status="open") == ["Quote", "Milestone"]
    assert titles(client, auth, kind="promise") == ["Quote"]
    assert titles(client, auth, owner_id=ledger_of_three["colleague"].id) == ["Milestone"]
    assert titles(client, auth, status="open", kind="deadline") == ["Milestone"]


def test_due_window_bounds_are_inclusive_and_take_offsets(client, auth, ledger_of_three):
    assert titles(client, auth, due_from="2026-06-20T10:00:00Z") == ["Quote", "Milestone"]
    assert titles(client, auth, due_to="2026-06-20T12:00:00+02:00") == ["Meeting", "Quote"]
    assert titles(client, auth, due_from="2026-06-15T00:00:00Z", due_to="2026-06-30T00:00:00Z") == ["Quote"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "lost"}, "status"),
        ({"kind": "lunch"}, "kind"),
        ({"due_from": "2026-06-15T00:00:00"}, "due_from"),
        ({"due_to": "yesterday"}, "due_to"),
        ({"vendor_id": "abc"}, "vendor_id"),
        ({"owner_id": str(2**40)}, "owner_id"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(client, auth, query, field):
    response = client.get("/api/v1/commitments", query_string=query, headers=auth)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]


def test_the_commitment_list_is_paginated(client, auth, vendor):
    for day in range(1, 6):
        log(client, auth, vendor, title=f"Day {day}", due_at=f"2026-07-0{day}T10:00:00Z")
    page = client.get("/api/v1/commitments?per_page=2&page=2", headers=auth).get_json()
    assert [c["title"] for c in page["items"]] == ["Day 3", "Day 4"]
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 5)


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/commitments/999", None),
        ("patch", "/api/v1/commitments/999", {"title": "x"}),
        ("post", "/api/v1/commitments/999/resolve", {"status": "cancelled"}),
        ("post", "/api/v1/commitments/999/reopen", None),
        ("get", "/api/v1/commitments/999/history", None),
        ("get", "/api/v1/commitments/1.5", None),
        ("get", "/api/v1/commitments/2147483648", None),
    ],
)
def test_an_unknown_commitment_is_a_404_json_envelope(client, auth, method, path, body):
    response = getattr(client, method)(path, headers=auth, json=body)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]


def test_overdue_is_judged_at_the_request_time(client, auth, vendor, monkeypatch):
    commitment = log(client, auth, vendor, due_at="2026-06-30T11:00:00Z")
    assert commitment["is_overdue"] is False
    monkeypatch.setattr(guard, "utcnow", lambda: NOW + timedelta(days=1))
    later = client.get(f"/api/v1/commitments/{commitment['id']}", headers=auth).get_json()
    assert later["is_overdue"] is True


# -- logging what already happened ------------------------------------------------------------------


def test_a_commitment_is_logged_kept_at_once_on_time_when_no_done_at_is_given(client, auth, vendor, session):
    body = log(client, auth, vendor, due_at="2026-06-29T10:00:00Z", status="kept")
    assert (body["status"], body["done_at"]) == ("kept", "2026-06-29T10:00:00+00:00")
    late = log(
        client, auth, vendor, due_at="2026-06-29T10:00:00Z", status="kept", done_at="2026-06-29T10:40:00Z"
    )
    assert late["done_at"] == "2026-06-29T10:40:00+00:00"
    history = client.get(f"/api/v1/commitments/{body['id']}/history", headers=auth).get_json()["items"]
    assert [event["action"] for event in history] == ["created", "resolved"]


def test_a_backfilled_move_into_the_past_needs_confirm_past_and_a_refusal_writes_nothing(
    client, auth, vendor, session
):
    moved = {
        "kind": "meeting",
        "title": "Kick-off",
        "due_at": "2026-06-20T10:00:00Z",
        "status": "rescheduled",
        "new_due_at": "2026-06-24T10:00:00Z",
        "excuse_category": "personal",
    }
    refused = client.post(f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=moved)
    assert refused.status_code == 422
    assert list(refused.get_json()["error"]["fields"]) == ["new_due_at"]
    assert "confirm" in refused.get_json()["error"]["fields"]["new_due_at"][0]
    assert (count(session, Commitment), count(session, LedgerEvent)) == (0, 0)

    body = log(client, auth, vendor, **moved, confirm_past=True)
    assert body["status"] == "rescheduled" and body["rescheduled_to"] is not None
    follow_up = client.get(f"/api/v1/commitments/{body['rescheduled_to']}", headers=auth).get_json()
    assert (follow_up["status"], follow_up["due_at"]) == ("open", "2026-06-24T10:00:00+00:00")


@pytest.mark.parametrize(
    "outcome, field",
    [
        ({"status": "broken", "done_at": "2026-06-29T10:00:00Z"}, "done_at"),
        ({"done_at": "2026-06-29T10:00:00Z"}, "done_at"),
        ({"status": "kept", "confirm_past": True}, "confirm_past"),
        ({"status": "cancelled"}, "status"),
        ({"status": "kept", "done_at": "2026-07-02T10:00:00Z"}, "done_at"),
        ({"status": "rescheduled"}, "new_due_at"),
    ],
)
def test_an_outcome_with_the_wrong_fields_is_refused_naming_one_and_nothing_is_logged(
    client, auth, vendor, session, outcome, field
):
    body = {"kind": "meeting", "title": "Kick-off", "due_at": "2026-06-29T10:00:00Z"} | outcome
    response = client.post(f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=body)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]
    assert (count(session, Commitment), count(session, LedgerEvent)) == (0, 0)


def test_a_reschedule_earlier_than_the_due_time_needs_confirm_past(client, auth, vendor):
    commitment = log(client, auth, vendor, due_at="2026-07-10T10:00:00Z")
    earlier = resolve(client, auth, commitment, status="rescheduled", new_due_at="2026-07-05T10:00:00Z")
    assert earlier.status_code == 422 and list(earlier.get_json()["error"]["fields"]) == ["new_due_at"]
    confirmed = resolve(
        client, auth, commitment, status="rescheduled", new_due_at="2026-07-05T10:00:00Z", confirm_past=True
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["rescheduled_to"] is not None


def test_a_viewer_cannot_be_made_an_owner(client, auth, vendor, make_user, session):
    viewer = make_user(Role.viewer)
    response = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Quote",
            "due_at": "2026-07-03T15:00:00Z",
            "owner_id": viewer.id,
        },
    )
    assert response.status_code == 422
    assert "viewer" in response.get_json()["error"]["fields"]["owner_id"][0]
    assert count(session, Commitment) == 0


def test_the_schema_documents_the_outcome_at_logging_and_the_done_at_rule(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    create = spec["components"]["schemas"]["CommitmentCreate"]["properties"]
    assert {"status", "done_at", "excuse_category", "excuse", "new_due_at", "confirm_past"} <= set(create)
    assert "due time if that has passed" in create["done_at"]["description"]
    resolve_fields = spec["components"]["schemas"]["Resolve"]["properties"]
    assert "due time if that has passed" in resolve_fields["done_at"]["description"]
    assert "confirm_past" in resolve_fields
