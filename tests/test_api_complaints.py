"""The complaints API as a client sees it: raise, answer, dated answer, resolve, reopen, correct, history,
lists and filters, roles; responsiveness and notice in the scores; notified_at on commitments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from tests.test_api_scores import count_statements
from vendortrack import complaints, ledger
from vendortrack.models import Commitment, Complaint, ComplaintEvent, LedgerEvent, Role
from vendortrack.scores import scorecard
from vendortrack.scores.rules import answer_deadline
from vendortrack.vendors import add_contact

pytestmark = pytest.mark.usefixtures("api_clock_at_now")

# NOW is Tuesday 30 June 2026, 12:00 UTC; the installation's zone in the tests is UTC, k = 1.
RAISED = "2026-06-22T09:00:00+02:00"  # Monday morning in Warsaw: due by the end of Tuesday 23 June
RAISED_UTC = "2026-06-22T07:00:00+00:00"
DEADLINE_UTC = "2026-06-23T23:59:59.999999+00:00"


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Szybki Transport")


@pytest.fixture
def rules(app):
    return app.config["VENDORTRACK_RULES"]


def raise_complaint(client, auth, vendor, **values):
    body = {"title": "Pallets arrived broken", "severity": "major", "channel": "email", "raised_at": RAISED}
    response = client.post(f"/api/v1/vendors/{vendor.id}/complaints", headers=auth, json=body | values)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post(client, auth, complaint, step, **body):
    return client.post(f"/api/v1/complaints/{complaint['id']}/{step}", headers=auth, json=body)


def read(client, auth, complaint):
    return client.get(f"/api/v1/complaints/{complaint['id']}", headers=auth).get_json()


def log_commitment(client, auth, vendor, **values):
    body = {"kind": "deadline", "title": "Pallets", "due_at": "2026-06-20T10:00:00Z"} | values
    response = client.post(f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Complaint, ComplaintEvent, Commitment, LedgerEvent)
    )


def field_of(response) -> list[str]:
    return list(response.get_json()["error"]["fields"])


# -- raising -----------------------------------------------------------------------------------


def test_a_raised_complaint_shows_every_fact_its_deadline_in_utc_and_waits_for_an_answer(
    client, auth, vendor, editor
):
    body = raise_complaint(client, auth, vendor, details="  Three of ten were crushed. ")
    assert body["vendor_id"] == vendor.id
    assert body["owner_id"] == body["created_by_id"] == editor.id
    assert body["contact_id"] is None
    assert (body["title"], body["details"]) == ("Pallets arrived broken", "Three of ten were crushed.")
    assert (body["severity"], body["channel"]) == ("major", "email")
    assert body["raised_at"] == RAISED_UTC
    assert body["answer_due_at"] == DEADLINE_UTC
    assert body["status"] == "waiting"
    assert body["is_unanswered"] is True, "its deadline passed a week before the request"
    assert body["acknowledged_at"] is None and body["owner_named"] is False and body["apologised"] is False
    assert (body["case_owner_name"], body["case_owner_contact_id"]) == ("", None)
    assert body["dated_answer_at"] is None and body["answer_promise_id"] is None
    assert (body["resolution"], body["resolved_at"], body["satisfied"]) == (None, None, None)
    assert body["commitment_ids"] == []
    assert body["flagged_unanswered_at"] is None
    assert body["created_at"] == body["updated_at"] == "2026-06-30T12:00:00+00:00"
    assert read(client, auth, body) == body


def test_a_complaint_raised_now_by_default_is_not_yet_unanswered(client, auth, vendor, rules):
    response = client.post(
        f"/api/v1/vendors/{vendor.id}/complaints",
        headers=auth,
        json={"title": "Invoice twice", "severity": "minor", "channel": "phone"},
    )
    body = response.get_json()
    assert body["raised_at"] == "2026-06-30T12:00:00+00:00"
    assert body["answer_due_at"] == answer_deadline(NOW, rules).isoformat()
    assert body["is_unanswered"] is False


def test_a_complaint_names_the_vendors_contact_another_owner_and_the_commitments_it_concerns(
    client, auth, vendor, make_user, session
):
    contact = add_contact(session, vendor, now=NOW, name="Ewa Nowak")
    session.commit()
    colleague = make_user(Role.editor)
    late = log_commitment(client, auth, vendor)
    broken = log_commitment(client, auth, vendor, title="Second load")
    body = raise_complaint(
        client,
        auth,
        vendor,
        contact_id=contact.id,
        owner_id=colleague.id,
        commitment_ids=[broken["id"], late["id"], late["id"]],
    )
    assert (body["contact_id"], body["owner_id"]) == (contact.id, colleague.id)
    assert sorted(body["commitment_ids"]) == sorted([late["id"], broken["id"]])


def test_a_contact_or_commitment_of_another_vendor_is_refused_naming_the_field(
    client, auth, vendor, make_vendor, session
):
    elsewhere = make_vendor("Other Ltd")
    stranger = add_contact(session, elsewhere, now=NOW, name="Not Ewa")
    session.commit()
    theirs = log_commitment(client, auth, elsewhere)
    before = counts(session)
    for values, field in (
        ({"contact_id": stranger.id}, "contact_id"),
        ({"commitment_ids": [theirs["id"]]}, "commitment_ids"),
        ({"commitment_ids": [424242]}, "commitment_ids"),
        ({"owner_id": 424242}, "owner_id"),
    ):
        response = client.post(
            f"/api/v1/vendors/{vendor.id}/complaints",
            headers=auth,
            json={"title": "Late", "severity": "minor", "channel": "email"} | values,
        )
        assert response.status_code == 422, values
        assert field_of(response) == [field]
    assert counts(session) == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", ""),
        ("title", "x" * 201),
        ("severity", "catastrophic"),
        ("channel", "fax"),
        ("raised_at", "2026-06-22T09:00:00"),
        ("raised_at", "1899-12-31T23:59:59+00:00"),
        ("raised_at", "2026-07-02T09:00:00Z"),  # the vendor cannot have been told tomorrow
        ("details", None),
        ("commitment_ids", "1,2"),
        ("commitment_ids", [0]),
        ("owner_id", 2**40),
    ],
)
def test_bad_complaint_input_is_refused_naming_the_field_and_nothing_is_written(
    client, auth, vendor, session, field, value
):
    before = counts(session)
    body = {"title": "Late", "severity": "minor", "channel": "email", field: value}
    response = client.post(f"/api/v1/vendors/{vendor.id}/complaints", headers=auth, json=body)
    assert response.status_code == 422
    # An item of a list is named by its place in it.
    assert field_of(response) == ["commitment_ids.0" if value == [0] else field]
    assert counts(session) == before


def test_an_archived_vendor_takes_no_new_complaint(client, auth, vendor):
    client.post(f"/api/v1/vendors/{vendor.id}/archive", headers=auth)
    response = client.post(
        f"/api/v1/vendors/{vendor.id}/complaints",
        headers=auth,
        json={"title": "Late", "severity": "minor", "channel": "email"},
    )
    assert response.status_code == 422
    assert field_of(response) == ["vendor_id"]


# -- the vendor's answer -----------------------------------------------------------------------


def test_an_answer_records_when_who_owns_the_case_and_the_apology(client, auth, vendor, session):
    complaint = raise_complaint(client, auth, vendor)
    response = post(
        client,
        auth,
        complaint,
        "answer",
        at="2026-06-22T15:00:00+02:00",
        owner_name="Jan Kowal",
        apologised=True,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "answered"
    assert body["acknowledged_at"] == "2026-06-22T13:00:00+00:00"
    assert (body["case_owner_name"], body["owner_named"], body["apologised"]) == ("Jan Kowal", True, True)
    assert body["is_unanswered"] is False

    other = raise_complaint(client, auth, vendor, title="Wrong pallets")
    contact = add_contact(session, vendor, now=NOW, name="Ewa Nowak")
    session.commit()
    by_contact = post(client, auth, other, "answer", owner_contact_id=contact.id).get_json()
    assert (by_contact["case_owner_contact_id"], by_contact["owner_named"]) == (contact.id, True)
    assert by_contact["acknowledged_at"] == "2026-06-30T12:00:00+00:00", "now, when no time is given"
    assert by_contact["apologised"] is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({"at": "2026-06-22T06:59:59Z"}, "at"),  # a second before it was raised
        ({"at": "2026-07-01T09:00:00Z"}, "at"),  # tomorrow
        ({"at": "2026-06-22T09:00:00"}, "at"),
        ({"owner_contact_id": 424242}, "owner_contact_id"),
        ({"owner_name": "Jan", "owner_contact_id": 1}, "owner_name"),
        ({"apologised": "yes"}, "apologised"),
        ({"owner_name": "Jan\nKowal"}, "owner_name"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_field_and_changes_nothing(
    client, auth, vendor, session, body, field
):
    complaint = raise_complaint(client, auth, vendor)
    before = counts(session)
    response = post(client, auth, complaint, "answer", **body)
    assert response.status_code == 422
    assert field_of(response) == [field]
    assert counts(session) == before
    assert read(client, auth, complaint) == complaint


def test_the_case_owner_must_be_the_vendors_own_contact_and_an_answer_is_given_once(
    client, auth, vendor, make_vendor, session
):
    stranger = add_contact(session, make_vendor("Other Ltd"), now=NOW, name="Not Ewa")
    session.commit()
    complaint = raise_complaint(client, auth, vendor)
    refused = post(client, auth, complaint, "answer", owner_contact_id=stranger.id)
    assert refused.status_code == 422
    assert field_of(refused) == ["owner_contact_id"]
    assert "another vendor" in refused.get_json()["error"]["message"]

    assert post(client, auth, complaint, "answer", at="2026-06-23T10:00:00Z").status_code == 200
    again = post(client, auth, complaint, "answer", at="2026-06-23T11:00:00Z")
    assert again.status_code == 422
    assert field_of(again) == ["at"]
    assert read(client, auth, complaint)["acknowledged_at"] == "2026-06-23T10:00:00+00:00"


# -- the dated answer --------------------------------------------------------------------------


def test_a_dated_answer_answers_201_with_the_promise_linked_both_ways(client, auth, vendor, session):
    contact = add_contact(session, vendor, now=NOW, name="Ewa Nowak")
    session.commit()
    complaint = raise_complaint(client, auth, vendor)
    post(client, auth, complaint, "answer", at="2026-06-22T13:00:00Z", owner_contact_id=contact.id)
    response = post(
        client, auth, complaint, "dated-answer", due_at="2026-07-03T12:00:00+02:00", at="2026-06-23T08:00:00Z"
    )
    assert response.status_code == 201
    promise = response.get_json()
    assert (promise["kind"], promise["status"], promise["complaint_id"]) == (
        "promise",
        "open",
        complaint["id"],
    )
    assert promise["title"] == "Pallets arrived broken", "the complaint's own words, in no one's language"
    assert promise["due_at"] == "2026-07-03T10:00:00+00:00"
    assert promise["contact_id"] == contact.id, "the promise is the case owner's"
    assert promise["notified_at"] is None
    assert client.get(f"/api/v1/commitments/{promise['id']}", headers=auth).get_json() == promise
    body = read(client, auth, complaint)
    assert body["answer_promise_id"] == promise["id"]
    assert body["dated_answer_at"] == "2026-06-23T08:00:00+00:00"

    # The vendor moves its date: the complaint follows the promise's follow-up.
    moved = client.post(
        f"/api/v1/commitments/{promise['id']}/resolve",
        headers=auth,
        json={"status": "rescheduled", "new_due_at": "2026-07-10T10:00:00Z"},
    ).get_json()
    follow_up = client.get(f"/api/v1/commitments/{moved['rescheduled_to']}", headers=auth).get_json()
    assert follow_up["complaint_id"] == complaint["id"]
    assert read(client, auth, complaint)["answer_promise_id"] == follow_up["id"]
    again = post(client, auth, complaint, "dated-answer", due_at="2026-07-20T10:00:00Z")
    assert again.status_code == 422
    assert field_of(again) == ["due_at"]


@pytest.mark.parametrize(
    "answered, body, field",
    [
        (False, {"due_at": "2026-07-03T10:00:00Z"}, "at"),  # no answer yet
        (True, {"due_at": "2026-07-03T10:00:00Z", "at": "2026-06-22T12:00:00Z"}, "at"),  # before the answer
        (True, {"due_at": "2026-07-03T10:00:00Z", "at": "2026-07-01T12:00:00Z"}, "at"),  # tomorrow
        (True, {"due_at": "2026-07-03T10:00:00"}, "due_at"),
        (True, {"due_at": "3026-07-03T10:00:00Z"}, "due_at"),
        (True, {}, "due_at"),
    ],
)
def test_a_dated_answer_out_of_order_is_refused_naming_the_field_and_no_promise_is_logged(
    client, auth, vendor, session, answered, body, field
):
    complaint = raise_complaint(client, auth, vendor)
    if answered:
        post(client, auth, complaint, "answer", at="2026-06-22T13:00:00Z")
    before = counts(session)
    response = post(client, auth, complaint, "dated-answer", **body)
    assert response.status_code == 422
    assert field_of(response) == [field]
    assert counts(session) == before
    assert read(client, auth, complaint)["dated_answer_at"] is None


# -- resolving and reopening -------------------------------------------------------------------


def test_resolved_then_reopened_with_a_reason_then_withdrawn(client, auth, vendor):
    complaint = raise_complaint(client, auth, vendor)
    post(client, auth, complaint, "answer", at="2026-06-22T13:00:00Z")
    fixed = post(
        client, auth, complaint, "resolve", resolution="fixed", at="2026-06-25T10:00:00Z", satisfied=True
    )
    assert fixed.status_code == 200
    body = fixed.get_json()
    assert (body["status"], body["resolution"], body["resolved_at"], body["satisfied"]) == (
        "resolved",
        "fixed",
        "2026-06-25T10:00:00+00:00",
        True,
    )
    twice = post(client, auth, complaint, "resolve", resolution="declined")
    assert twice.status_code == 422 and field_of(twice) == ["resolution"]

    reopened = post(client, auth, complaint, "reopen", reason="Two more pallets were crushed")
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert (body["status"], body["resolution"], body["resolved_at"], body["satisfied"]) == (
        "answered",
        None,
        None,
        None,
    )
    open_again = post(client, auth, complaint, "reopen", reason="Again")
    assert open_again.status_code == 422 and field_of(open_again) == ["resolution"]

    withdrawn = post(client, auth, complaint, "resolve", resolution="withdrawn", satisfied=False).get_json()
    assert (withdrawn["status"], withdrawn["resolved_at"], withdrawn["satisfied"]) == (
        "withdrawn",
        "2026-06-30T12:00:00+00:00",
        None,
    )


@pytest.mark.parametrize(
    "step, body, field",
    [
        ("resolve", {"resolution": "fixed", "at": "2026-06-21T10:00:00Z"}, "at"),  # before it was raised
        ("resolve", {"resolution": "fixed", "at": "2026-07-01T10:00:00Z"}, "at"),  # tomorrow
        ("resolve", {"resolution": "forgotten"}, "resolution"),
        ("resolve", {}, "resolution"),
        ("resolve", {"resolution": "fixed", "satisfied": "yes"}, "satisfied"),
        ("reopen", {"reason": "Why not"}, "resolution"),  # it is still open
        ("reopen", {}, "reason"),
    ],
)
def test_a_bad_resolution_or_reopening_is_refused_naming_the_field_and_changes_nothing(
    client, auth, vendor, session, step, body, field
):
    complaint = raise_complaint(client, auth, vendor)
    before = counts(session)
    response = post(client, auth, complaint, step, **body)
    assert response.status_code == 422
    assert field_of(response) == [field]
    assert counts(session) == before
    assert read(client, auth, complaint) == complaint


def test_reopening_without_saying_why_is_refused(client, auth, vendor):
    complaint = raise_complaint(client, auth, vendor)
    post(client, auth, complaint, "resolve", resolution="declined")
    response = post(client, auth, complaint, "reopen", reason="  ")
    assert response.status_code == 422 and field_of(response) == ["reason"]
    assert read(client, auth, complaint)["status"] == "resolved"


# -- correcting --------------------------------------------------------------------------------


def test_every_fact_can_be_corrected_with_ids_for_the_people_and_commitments(
    client, auth, vendor, make_user, session
):
    contact = add_contact(session, vendor, now=NOW, name="Ewa Nowak")
    owner = add_contact(session, vendor, now=NOW, name="Jan Kowal")
    session.commit()
    colleague = make_user(Role.admin)
    concerned = log_commitment(client, auth, vendor)
    complaint = raise_complaint(client, auth, vendor)
    post(client, auth, complaint, "answer", at="2026-06-23T10:00:00Z")
    post(client, auth, complaint, "dated-answer", due_at="2026-07-03T10:00:00Z", at="2026-06-23T10:00:00Z")
    post(client, auth, complaint, "resolve", resolution="compensated", at="2026-06-26T10:00:00Z")
    changes = {
        "title": "Pallets crushed",
        "details": "Photos attached",
        "severity": "critical",
        "channel": "meeting",
        "raised_at": "2026-06-19T16:00:00Z",  # a Friday: due by the end of Monday
        "contact_id": contact.id,
        "owner_id": colleague.id,
        "commitment_ids": [concerned["id"]],
        "acknowledged_at": "2026-06-22T09:00:00Z",
        "case_owner_contact_id": owner.id,
        "apologised": True,
        "dated_answer_at": "2026-06-22T10:00:00Z",
        "resolved_at": "2026-06-25T10:00:00Z",
        "satisfied": False,
    }
    response = client.patch(f"/api/v1/complaints/{complaint['id']}", headers=auth, json=changes)
    assert response.status_code == 200
    body = response.get_json()
    assert body["answer_due_at"] == "2026-06-22T23:59:59.999999+00:00", "the deadline moved with raised_at"
    assert body["commitment_ids"] == [concerned["id"]]
    for name, value in changes.items():
        if name.endswith("_at"):
            value = datetime.fromisoformat(value).astimezone(UTC).isoformat()
        assert body[name] == value, name
    history = client.get(f"/api/v1/complaints/{complaint['id']}/history", headers=auth).get_json()["items"]
    assert history[-1]["action"] == "edited"
    assert history[-1]["before"]["severity"] == "major" and history[-1]["after"]["severity"] == "critical"

    unset = client.patch(
        f"/api/v1/complaints/{complaint['id']}",
        headers=auth,
        json={"contact_id": None, "case_owner_contact_id": None, "satisfied": None, "commitment_ids": []},
    ).get_json()
    assert (
        unset["contact_id"],
        unset["case_owner_contact_id"],
        unset["satisfied"],
        unset["commitment_ids"],
    ) == (
        None,
        None,
        None,
        [],
    )


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"acknowledged_at": "2026-06-21T10:00:00Z"}, "acknowledged_at"),  # answered before it was raised
        ({"raised_at": "2026-06-24T10:00:00Z"}, "acknowledged_at"),  # raised after its answer
        ({"dated_answer_at": "2026-06-22T08:00:00Z"}, "dated_answer_at"),  # before the first answer
        ({"resolved_at": "2026-06-25T10:00:00Z"}, "resolved_at"),  # it is not resolved
        ({"raised_at": "2026-07-05T10:00:00Z"}, "raised_at"),  # the future
        ({"case_owner_contact_id": 424242}, "case_owner_contact_id"),
        ({"commitment_ids": [424242]}, "commitment_ids"),
        ({"owner_id": None}, "owner_id"),
        ({"title": None}, "title"),
        ({"resolution": "fixed"}, "resolution"),
        ({"status": "resolved"}, "status"),
    ],
)
def test_a_correction_out_of_order_is_refused_naming_the_field_and_changes_nothing(
    client, auth, vendor, session, changes, field
):
    complaint = raise_complaint(client, auth, vendor)
    complaint = post(client, auth, complaint, "answer", at="2026-06-23T10:00:00Z").get_json()
    before = counts(session)
    response = client.patch(f"/api/v1/complaints/{complaint['id']}", headers=auth, json=changes)
    assert response.status_code == 422
    assert field_of(response) == [field]
    assert counts(session) == before
    assert read(client, auth, complaint) == complaint


def test_history_lists_each_step_with_its_actor_and_the_reason_to_reopen(
    client, auth, vendor, editor, make_user, token_for
):
    complaint = raise_complaint(client, auth, vendor)
    colleague = make_user(Role.editor, name="Other Editor")
    post(client, token_for(colleague), complaint, "answer", at="2026-06-23T10:00:00Z")
    post(client, auth, complaint, "dated-answer", due_at="2026-07-03T10:00:00Z")
    post(client, auth, complaint, "resolve", resolution="fixed")
    post(client, auth, complaint, "reopen", reason="It broke again")
    response = client.get(f"/api/v1/complaints/{complaint['id']}/history", headers=auth)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [e["action"] for e in items] == ["raised", "answered", "dated_answer", "resolved", "reopened"]
    assert [e["actor"]["id"] for e in items] == [editor.id, colleague.id, editor.id, editor.id, editor.id]
    assert items[1]["before"] == {"acknowledged_at": None}
    assert items[1]["after"]["acknowledged_at"] == "2026-06-23T10:00:00+00:00"
    assert items[2]["after"]["promise_id"] == read(client, auth, complaint)["answer_promise_id"]
    assert items[-1]["reason"] == "It broke again"
    assert all(e["at"] == "2026-06-30T12:00:00+00:00" for e in items)


# -- lists -------------------------------------------------------------------------------------


@pytest.fixture
def four_complaints(client, auth, vendor, make_vendor):
    """One of each status, raised a day apart, and one at another vendor."""
    other = make_vendor("Other Ltd")
    made = {}
    for day, status in enumerate(("waiting", "answered", "resolved", "withdrawn"), start=20):
        made[status] = raise_complaint(
            client, auth, vendor, title=status, raised_at=f"2026-06-{day}T10:00:00Z"
        )
    post(client, auth, made["answered"], "answer", at="2026-06-23T10:00:00Z")
    post(client, auth, made["resolved"], "resolve", resolution="declined")
    post(client, auth, made["withdrawn"], "resolve", resolution="withdrawn")
    made["elsewhere"] = raise_complaint(
        client, auth, other, title="elsewhere", raised_at="2026-06-10T10:00:00Z"
    )
    return made


def titles(client, auth, path, **query) -> list[str]:
    response = client.get(path, headers=auth, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_complaints_are_listed_oldest_first_and_filtered_by_vendor_status_and_when_raised(
    client, auth, vendor, four_complaints
):
    everything = titles(client, auth, "/api/v1/complaints")
    assert everything == ["elsewhere", "waiting", "answered", "resolved", "withdrawn"]
    assert titles(client, auth, "/api/v1/complaints", vendor_id=vendor.id) == everything[1:]
    assert titles(client, auth, f"/api/v1/vendors/{vendor.id}/complaints") == everything[1:]
    assert titles(client, auth, "/api/v1/complaints", status="waiting") == ["elsewhere", "waiting"]
    for status in ("answered", "resolved", "withdrawn"):
        assert titles(client, auth, "/api/v1/complaints", status=status) == [status]
    assert titles(client, auth, "/api/v1/complaints", status="waiting", vendor_id=vendor.id) == ["waiting"]
    assert titles(
        client,
        auth,
        "/api/v1/complaints",
        raised_from="2026-06-21T12:00:00+02:00",
        raised_to="2026-06-22T10:00:00Z",
    ) == ["answered", "resolved"], "both bounds inclusive, offsets taken"
    assert titles(
        client, auth, f"/api/v1/vendors/{vendor.id}/complaints", raised_to="2026-06-20T10:00:00Z"
    ) == ["waiting"]
    assert titles(client, auth, f"/api/v1/vendors/{vendor.id}/complaints", status="withdrawn") == [
        "withdrawn"
    ]


def test_the_complaint_lists_are_paginated(client, auth, vendor, four_complaints):
    page = client.get("/api/v1/complaints?per_page=2&page=2", headers=auth).get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 5)
    assert [item["title"] for item in page["items"]] == ["answered", "resolved"]
    last = client.get(f"/api/v1/vendors/{vendor.id}/complaints?per_page=3&page=2", headers=auth).get_json()
    assert (last["total"], [item["title"] for item in last["items"]]) == (4, ["withdrawn"])
    beyond = client.get("/api/v1/complaints?per_page=2&page=9", headers=auth).get_json()
    assert beyond["items"] == [] and beyond["total"] == 5


def test_a_page_of_complaints_takes_as_many_statements_for_twelve_as_for_two(
    app, client, auth, vendor, session, editor, rules
):
    concerned = ledger.log_commitment(
        session, vendor=vendor, kind="deadline", title="Load", due_at=NOW, actor=editor, now=NOW
    )

    def add(number: int) -> None:
        for _ in range(number):
            complaint = complaints.raise_complaint(
                session,
                vendor=vendor,
                title="Late again",
                severity="minor",
                channel="email",
                raised_at=NOW - timedelta(days=2),
                actor=editor,
                now=NOW,
                rules=rules,
                commitments=[concerned],
            )
            complaints.answer(session, complaint, at=NOW - timedelta(days=1), actor=editor, now=NOW)
            complaints.give_dated_answer(
                session, complaint, due_at=NOW + timedelta(days=1), actor=editor, now=NOW
            )
        session.commit()

    def listing() -> None:
        body = client.get("/api/v1/complaints", headers=auth).get_json()
        assert all(item["answer_promise_id"] and item["commitment_ids"] for item in body["items"])

    add(2)
    listing()  # the token's first use is noted once: not a statement of the list's
    few = count_statements(app, listing)
    add(10)
    assert count_statements(app, listing) == few


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=lost", "status"),
        ("vendor_id=0", "vendor_id"),
        ("raised_from=2026-06-01", "raised_from"),
        ("raised_to=9999-12-31T23:59:59-12:00", "raised_to"),
        ("per_page=201", "per_page"),
        ("page=0", "page"),
    ],
)
def test_a_bad_complaint_filter_is_refused_naming_it(client, auth, query, field):
    response = client.get(f"/api/v1/complaints?{query}", headers=auth)
    assert response.status_code == 422
    assert field_of(response) == [field]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/complaints/4242", None),
        ("patch", "/api/v1/complaints/4242", {"title": "x"}),
        ("post", "/api/v1/complaints/4242/answer", {}),
        ("post", "/api/v1/complaints/4242/dated-answer", {"due_at": "2026-07-03T10:00:00Z"}),
        ("post", "/api/v1/complaints/4242/resolve", {"resolution": "fixed"}),
        ("post", "/api/v1/complaints/4242/reopen", {"reason": "x"}),
        ("get", "/api/v1/complaints/4242/history", None),
        ("get", "/api/v1/vendors/4242/complaints", None),
        ("post", "/api/v1/vendors/4242/complaints", {"title": "x", "severity": "minor", "channel": "email"}),
    ],
)
def test_an_unknown_complaint_or_vendor_is_a_404_json_envelope(client, auth, method, path, body):
    response = getattr(client, method)(path, headers=auth, json=body)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert "#4242" in error["message"]


def test_a_viewer_reads_complaints_but_every_write_is_403_and_changes_nothing(
    client, auth, vendor, viewer, token_for, session
):
    complaint = raise_complaint(client, auth, vendor)
    answered = raise_complaint(client, auth, vendor, title="Answered")
    post(client, auth, answered, "answer", at="2026-06-23T10:00:00Z")
    closed = raise_complaint(client, auth, vendor, title="Closed")
    post(client, auth, closed, "resolve", resolution="fixed")
    as_viewer = token_for(viewer)
    writes = [
        (
            "post",
            f"/api/v1/vendors/{vendor.id}/complaints",
            {"title": "x", "severity": "minor", "channel": "email"},
        ),
        ("patch", f"/api/v1/complaints/{complaint['id']}", {"title": "Changed"}),
        ("post", f"/api/v1/complaints/{complaint['id']}/answer", {}),
        ("post", f"/api/v1/complaints/{answered['id']}/dated-answer", {"due_at": "2026-07-03T10:00:00Z"}),
        ("post", f"/api/v1/complaints/{complaint['id']}/resolve", {"resolution": "fixed"}),
        ("post", f"/api/v1/complaints/{closed['id']}/reopen", {"reason": "Why not"}),
    ]
    before = counts(session)
    for method, path, body in writes:
        response = getattr(client, method)(path, headers=as_viewer, json=body)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "forbidden"
    assert counts(session) == before
    assert client.get(f"/api/v1/complaints/{complaint['id']}", headers=as_viewer).get_json() == complaint
    assert client.get("/api/v1/complaints", headers=as_viewer).get_json()["total"] == 3
    assert client.get(f"/api/v1/complaints/{complaint['id']}/history", headers=as_viewer).status_code == 200


# -- notice on commitments ---------------------------------------------------------------------


def test_a_reschedule_records_when_the_vendor_warned_and_it_can_be_corrected(client, auth, vendor):
    commitment = log_commitment(client, auth, vendor, due_at="2026-07-02T10:00:00Z")
    assert (commitment["notified_at"], commitment["complaint_id"]) == (None, None)
    old = client.post(
        f"/api/v1/commitments/{commitment['id']}/resolve",
        headers=auth,
        json={
            "status": "rescheduled",
            "new_due_at": "2026-07-09T10:00:00Z",
            "notified_at": "2026-06-29T09:00:00+02:00",
        },
    ).get_json()
    assert old["notified_at"] == "2026-06-29T07:00:00+00:00"
    patched = client.patch(
        f"/api/v1/commitments/{old['id']}", headers=auth, json={"notified_at": "2026-06-28T07:00:00Z"}
    )
    assert patched.status_code == 200
    assert patched.get_json()["notified_at"] == "2026-06-28T07:00:00+00:00"

    follow_up = client.get(f"/api/v1/commitments/{old['rescheduled_to']}", headers=auth).get_json()
    assert follow_up["notified_at"] is None
    by_default = client.post(
        f"/api/v1/commitments/{follow_up['id']}/resolve",
        headers=auth,
        json={"status": "rescheduled", "new_due_at": "2026-07-16T10:00:00Z"},
    ).get_json()
    assert by_default["notified_at"] == "2026-06-30T12:00:00+00:00", "the moment it was logged"

    backfilled = log_commitment(
        client,
        auth,
        vendor,
        due_at="2026-06-25T10:00:00Z",
        status="rescheduled",
        new_due_at="2026-07-05T10:00:00Z",
        notified_at="2026-06-25T11:00:00Z",
    )
    assert backfilled["notified_at"] == "2026-06-25T11:00:00+00:00"


@pytest.mark.parametrize(
    "how, body",
    [
        (
            "resolve",
            {
                "status": "rescheduled",
                "new_due_at": "2026-07-09T10:00:00Z",
                "notified_at": "2026-07-01T10:00:00Z",
            },
        ),
        (
            "resolve",
            {
                "status": "rescheduled",
                "new_due_at": "2026-07-09T10:00:00Z",
                "notified_at": "2026-06-29T10:00:00",
            },
        ),
        ("resolve", {"status": "kept", "notified_at": "2026-06-29T10:00:00Z"}),
        ("patch", {"notified_at": "2026-06-29T10:00:00Z"}),  # not a moved one
        ("patch", {"notified_at": None}),
    ],
)
def test_a_notice_that_does_not_fit_is_refused_naming_notified_at(client, auth, vendor, session, how, body):
    commitment = log_commitment(client, auth, vendor, due_at="2026-07-02T10:00:00Z")
    before = counts(session)
    if how == "resolve":
        response = client.post(f"/api/v1/commitments/{commitment['id']}/resolve", headers=auth, json=body)
    else:
        response = client.patch(f"/api/v1/commitments/{commitment['id']}", headers=auth, json=body)
    assert response.status_code == 422
    assert field_of(response) == ["notified_at"]
    assert counts(session) == before


# -- responsiveness and notice in the scores ---------------------------------------------------


def _complaint(
    session, vendor, editor, rules, raised, *, answered=None, contact=None, owner="", withdrawn=False
):
    complaint = complaints.raise_complaint(
        session,
        vendor=vendor,
        title=f"Raised {raised:%d %b %H:%M}",
        severity="major",
        channel="email",
        raised_at=raised,
        actor=editor,
        now=NOW,
        rules=rules,
        contact=contact,
    )
    if answered is not None:
        complaints.answer(session, complaint, at=answered, case_owner_name=owner, actor=editor, now=NOW)
    if withdrawn:
        complaints.resolve(session, complaint, "withdrawn", actor=editor, now=NOW)
    return complaint


@pytest.fixture
def answering(session, make_vendor, editor, rules):
    """A prompt vendor (every complaint answered the same day, an owner named, a dated answer kept),
    a silent one (ignores three, answers one a week late), and one with no complaints."""
    prompt, silent, quiet = make_vendor("Prompt Ltd"), make_vendor("Silent Ltd"), make_vendor("Quiet Ltd")
    contact = add_contact(session, prompt, now=NOW, name="Ewa Nowak")
    start = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)  # a Monday
    for week in range(4):
        raised = start + timedelta(weeks=week)
        first = _complaint(
            session,
            prompt,
            editor,
            rules,
            raised,
            answered=raised + timedelta(hours=3),
            contact=contact,
            owner="Jan",
        )
        ignored = raised + timedelta(hours=1)
        _complaint(
            session, silent, editor, rules, ignored, answered=None if week else ignored + timedelta(days=7)
        )
    _complaint(session, silent, editor, rules, start, withdrawn=True)
    promise = complaints.give_dated_answer(
        session,
        first,
        due_at=start + timedelta(weeks=4),
        at=start + timedelta(weeks=3, hours=4),
        actor=editor,
        now=NOW,
    )
    ledger.resolve_kept(session, promise, actor=editor, now=NOW, done_at=start + timedelta(weeks=3, days=2))
    # Two moves of the silent vendor: one warned a week ahead, one told after the time.
    for notice in (timedelta(days=7), timedelta(hours=-2)):
        due = start + timedelta(days=10)
        moved = ledger.log_commitment(
            session, vendor=silent, kind="deadline", title="Load", due_at=due, actor=editor, now=NOW
        )
        ledger.reschedule(
            session,
            moved,
            actor=editor,
            now=NOW,
            new_due_at=due + timedelta(days=3),
            confirm_past=True,
            notified_at=due - notice,
        )
    session.commit()
    return prompt, silent, quiet


AS_OF = ["2026-04-06T12:00:00Z", "2026-04-21T00:00:00Z", "2026-05-15T09:30:00+02:00", None]


@pytest.mark.parametrize("as_of", AS_OF)
def test_a_vendors_responsiveness_notice_and_complaints_explained_equal_the_score_report(
    client, viewer, token_for, session, rules, answering, as_of
):
    headers = token_for(viewer)
    moment = datetime.fromisoformat(as_of) if as_of else NOW
    for vendor in answering:
        query = {"as_of": as_of} if as_of else {}
        body = client.get(
            f"/api/v1/vendors/{vendor.id}/score", headers=headers, query_string=query
        ).get_json()
        report = scorecard.vendor_score(session, vendor, rules, moment)
        assert body["responsiveness"] == report.responsiveness.as_dict()
        assert body["notice"] == report.notice.as_dict()
        assert body["explain_complaints"] == [
            {
                "complaint_id": c.fact.id,
                "title": c.fact.title,
                "raised_at": c.fact.raised_at.astimezone(UTC).isoformat(),
                "deadline": c.deadline.astimezone(UTC).isoformat(),
                "weight": c.weight,
                "a": c.a,
            }
            for c in report.responsiveness.explain
        ]
        assert len(body["explain_complaints"]) == body["responsiveness"]["counted"]


def test_the_figures_read_as_a_user_expects_them(client, viewer, token_for, answering):
    prompt, silent, quiet = answering
    headers = token_for(viewer)
    good = client.get(f"/api/v1/vendors/{prompt.id}/score", headers=headers).get_json()
    assert good["responsiveness"] | {"value": None, "band": None, "standing": None} == {
        "value": None,
        "band": None,
        "standing": None,
        "counted": 4,
        "answered_in_time": 4,
        "answered_late": 0,
        "unanswered": 0,
        "median_hours_to_answer": 3.0,
        "owner_named": 4,
        "dated_answers": 1,
        "dated_answers_kept": 1,
    }
    (contact,) = good["contacts"]
    assert contact["responsiveness"] == good["responsiveness"], "every complaint was raised with Ewa"
    bad = client.get(f"/api/v1/vendors/{silent.id}/score", headers=headers).get_json()
    responsiveness = bad["responsiveness"]
    assert (responsiveness["counted"], responsiveness["answered_late"], responsiveness["unanswered"]) == (
        4,
        1,
        3,
    )
    assert responsiveness["median_hours_to_answer"] == 7 * 24
    assert responsiveness["value"] < good["responsiveness"]["value"]
    assert bad["notice"] == {"median_hours": (7 * 24 - 2) / 2, "last_minute_moves": 1}
    none = client.get(f"/api/v1/vendors/{quiet.id}/score", headers=headers).get_json()
    assert (
        none["responsiveness"]["counted"] == 0 and none["responsiveness"]["standing"] == "insufficient_data"
    )
    assert none["notice"] == {"median_hours": None, "last_minute_moves": 0}
    assert none["explain_complaints"] == []
    before = client.get(f"/api/v1/vendors/{prompt.id}/score?as_of=2026-04-06T10:00:00Z", headers=headers)
    assert before.get_json()["responsiveness"]["counted"] == 0, "raised, but not yet due nor answered"


def test_the_scorecard_carries_each_vendors_responsiveness_as_its_score_report_does(
    client, viewer, token_for, answering
):
    headers = token_for(viewer)
    for as_of in ("2026-05-15T09:30:00Z", "2026-04-21T00:00:00Z"):
        board = client.get("/api/v1/scorecard", headers=headers, query_string={"as_of": as_of}).get_json()
        assert board["order_by"] == "score"
        for item in board["items"]:
            own = client.get(
                f"/api/v1/vendors/{item['vendor_id']}/score", headers=headers, query_string={"as_of": as_of}
            ).get_json()
            assert item["responsiveness"] == own["responsiveness"]
            assert item["notice"] == own["notice"]


def test_the_scorecard_is_ordered_and_filtered_by_responsiveness(client, viewer, token_for, answering):
    prompt, silent, quiet = answering
    headers = token_for(viewer)

    def names(**query):
        response = client.get("/api/v1/scorecard", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names(order_by="responsiveness") == ["Prompt Ltd", "Silent Ltd", "Quiet Ltd"]
    assert names(order_by="responsiveness", order="worst") == ["Silent Ltd", "Prompt Ltd", "Quiet Ltd"]
    assert names(responsiveness_standing="insufficient_data") == ["Quiet Ltd"]
    standing = client.get(f"/api/v1/vendors/{silent.id}/score", headers=headers).get_json()["responsiveness"][
        "standing"
    ]
    assert "Silent Ltd" in names(responsiveness_standing=standing)
    for query, field in (
        ("order_by=speed", "order_by"),
        ("responsiveness_standing=great", "responsiveness_standing"),
    ):
        response = client.get(f"/api/v1/scorecard?{query}", headers=headers)
        assert response.status_code == 422
        assert field_of(response) == [field]


def test_a_contacts_score_counts_only_the_complaints_raised_with_them(
    client, viewer, token_for, session, answering
):
    prompt, silent, _quiet = answering
    other = add_contact(session, prompt, now=NOW, name="Nobody Asked")
    session.commit()
    headers = token_for(viewer)
    body = client.get(f"/api/v1/vendors/{prompt.id}/score?contact_id={other.id}", headers=headers).get_json()
    assert body["responsiveness"]["counted"] == 0 and body["explain_complaints"] == []
