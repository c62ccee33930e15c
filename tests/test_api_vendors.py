"""The vendors API as a client sees it: listing, searching, paging, creating, archiving, contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack.models import Vendor
from vendortrack.views.api import guard

pytestmark = pytest.mark.usefixtures("api_clock_at_now")


def names(response) -> list[str]:
    return [vendor["name"] for vendor in response.get_json()["items"]]


def test_editor_creates_a_vendor_and_reads_it_back(client, auth):
    created = client.post(
        "/api/v1/vendors",
        headers=auth,
        json={
            "name": "  Acme   Printing ",
            "category": "print",
            "email": "hi@acme.test",
        },
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["name"] == "Acme Printing"
    assert body["category"] == "print"
    assert body["is_archived"] is False
    assert body["archived_at"] is None
    assert body["created_at"] == "2026-06-30T12:00:00+00:00"

    fetched = client.get(f"/api/v1/vendors/{body['id']}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_a_name_differing_only_in_case_is_refused_and_nothing_is_created(client, auth, make_vendor, session):
    make_vendor("Acme Printing")
    response = client.post("/api/v1/vendors", headers=auth, json={"name": "ACME printing"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == ["name"]
    assert "already exists" in error["fields"]["name"][0]
    assert session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 1


def test_a_vendor_without_a_name_or_with_a_too_long_one_is_refused(client, auth):
    missing = client.post("/api/v1/vendors", headers=auth, json={"category": "it"})
    assert missing.status_code == 422
    assert "name" in missing.get_json()["error"]["fields"]

    too_long = client.post("/api/v1/vendors", headers=auth, json={"name": "x" * 201})
    assert too_long.status_code == 422
    assert "name" in too_long.get_json()["error"]["fields"]

    unknown = client.post("/api/v1/vendors", headers=auth, json={"name": "Fine", "colour": "red"})
    assert unknown.status_code == 422
    assert "colour" in unknown.get_json()["error"]["fields"]


def test_list_is_sorted_by_name_and_hides_archived_vendors_unless_asked(client, auth, make_vendor):
    make_vendor("Zeta Builders")
    make_vendor("alpha IT")
    archived = make_vendor("Old Printer")
    client.post(f"/api/v1/vendors/{archived.id}/archive", headers=auth)

    assert names(client.get("/api/v1/vendors", headers=auth)) == ["alpha IT", "Zeta Builders"]
    only_archived = client.get("/api/v1/vendors?archived=true", headers=auth)
    assert names(only_archived) == ["Old Printer"]
    everyone = client.get("/api/v1/vendors?archived=all", headers=auth)
    assert names(everyone) == ["alpha IT", "Old Printer", "Zeta Builders"]

    bad = client.get("/api/v1/vendors?archived=maybe", headers=auth)
    assert bad.status_code == 422
    assert "archived" in bad.get_json()["error"]["fields"]


def test_search_matches_part_of_the_name_in_any_case_and_category_filters(client, auth, make_vendor):
    make_vendor("Łódź Plumbing", category="plumbing")
    make_vendor("Plumb & Co", category="plumbing")
    make_vendor("Plumbline Printing", category="print")
    make_vendor("100% Office", category="print")

    assert sorted(names(client.get("/api/v1/vendors?q=PLUMB", headers=auth))) == [
        "Plumb & Co",
        "Plumbline Printing",
        "Łódź Plumbing",
    ]
    assert names(client.get("/api/v1/vendors", query_string={"q": "łÓDŹ"}, headers=auth)) == ["Łódź Plumbing"]
    assert names(client.get("/api/v1/vendors?q=plumb&category=print", headers=auth)) == ["Plumbline Printing"]
    # % and _ are searched for, not wildcards.
    assert names(client.get("/api/v1/vendors", query_string={"q": "0%"}, headers=auth)) == ["100% Office"]
    assert names(client.get("/api/v1/vendors", query_string={"q": "_"}, headers=auth)) == []


def test_list_is_paginated_with_page_per_page_and_total(client, auth, make_vendor, app):
    for number in range(5):
        make_vendor(f"Vendor {number}")

    first = client.get("/api/v1/vendors?per_page=2", headers=auth).get_json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 5)
    assert [v["name"] for v in first["items"]] == ["Vendor 0", "Vendor 1"]
    last = client.get("/api/v1/vendors?per_page=2&page=3", headers=auth).get_json()
    assert [v["name"] for v in last["items"]] == ["Vendor 4"]
    beyond = client.get("/api/v1/vendors?per_page=2&page=4", headers=auth).get_json()
    assert beyond["items"] == [] and beyond["total"] == 5

    default = client.get("/api/v1/vendors", headers=auth).get_json()
    assert default["per_page"] == app.config["VENDORTRACK_PAGE_SIZE"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
    ],
)
def test_paging_out_of_range_is_refused_naming_the_parameter(client, auth, query, field):
    response = client.get(f"/api/v1/vendors?{query}", headers=auth)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_editor_edits_some_details_and_keeps_the_rest(client, auth, make_vendor):
    vendor = make_vendor("Acme", category="print", phone="+48 123")
    response = client.patch(
        f"/api/v1/vendors/{vendor.id}", headers=auth, json={"name": "Acme Print", "notes": "Slow on Mondays"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["notes"], body["category"], body["phone"]) == (
        "Acme Print",
        "Slow on Mondays",
        "print",
        "+48 123",
    )

    clash = make_vendor("Other")
    refused = client.patch(f"/api/v1/vendors/{clash.id}", headers=auth, json={"name": "acme print"})
    assert refused.status_code == 422
    assert "name" in refused.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/vendors/{clash.id}", headers=auth).get_json()["name"] == "Other"


def test_archive_keeps_commitments_and_history_readable_and_unarchive_restores(client, auth, make_vendor):
    vendor = make_vendor("Acme")
    logged = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Quote",
            "due_at": "2026-07-03T15:00:00+00:00",
        },
    ).get_json()

    archived = client.post(f"/api/v1/vendors/{vendor.id}/archive", headers=auth)
    assert archived.status_code == 200
    assert archived.get_json()["is_archived"] is True
    assert archived.get_json()["archived_at"] == "2026-06-30T12:00:00+00:00"

    assert client.get(f"/api/v1/vendors/{vendor.id}", headers=auth).get_json()["is_archived"] is True
    listed = client.get(f"/api/v1/commitments?vendor_id={vendor.id}", headers=auth).get_json()
    assert [c["id"] for c in listed["items"]] == [logged["id"]]
    history = client.get(f"/api/v1/commitments/{logged['id']}/history", headers=auth).get_json()
    assert [e["action"] for e in history["items"]] == ["created"]

    more = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Another",
            "due_at": "2026-07-03T15:00:00+00:00",
        },
    )
    assert more.status_code == 422
    assert "vendor_id" in more.get_json()["error"]["fields"]

    restored = client.post(f"/api/v1/vendors/{vendor.id}/unarchive", headers=auth)
    assert restored.get_json()["is_archived"] is False
    assert names(client.get("/api/v1/vendors", headers=auth)) == ["Acme"]


def test_contacts_are_added_and_listed_by_name(client, auth, make_vendor):
    vendor = make_vendor("Acme")
    other = make_vendor("Other")
    for name in ("Zofia Nowak", "Adam Kowalski"):
        created = client.post(
            f"/api/v1/vendors/{vendor.id}/contacts", headers=auth, json={"name": name, "role": "sales"}
        )
        assert created.status_code == 201
        assert created.get_json()["vendor_id"] == vendor.id
    client.post(f"/api/v1/vendors/{other.id}/contacts", headers=auth, json={"name": "Someone Else"})

    listed = client.get(f"/api/v1/vendors/{vendor.id}/contacts", headers=auth).get_json()
    assert [c["name"] for c in listed["items"]] == ["Adam Kowalski", "Zofia Nowak"]
    assert listed["total"] == 2
    assert listed["items"][0]["role"] == "sales"

    nameless = client.post(f"/api/v1/vendors/{vendor.id}/contacts", headers=auth, json={"role": "boss"})
    assert nameless.status_code == 422
    assert "name" in nameless.get_json()["error"]["fields"]


COMMITMENT = {"kind": "meeting", "title": "Kick-off", "due_at": "2026-07-01T10:00:00+02:00"}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/vendors/999", None),
        ("patch", "/api/v1/vendors/999", {"name": "x"}),
        ("post", "/api/v1/vendors/999/archive", None),
        ("post", "/api/v1/vendors/999/unarchive", None),
        ("get", "/api/v1/vendors/999/contacts", None),
        ("post", "/api/v1/vendors/999/contacts", {"name": "x"}),
        ("post", "/api/v1/vendors/999/commitments", COMMITMENT),
        ("get", "/api/v1/vendors/99999999999999999999", None),
        ("get", "/api/v1/vendors/0", None),
        ("get", "/api/v1/vendors/abc", None),
    ],
)
def test_an_unknown_vendor_is_a_404_json_envelope(client, auth, method, path, body):
    response = getattr(client, method)(path, headers=auth, json=body)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_archiving_is_idempotent_and_keeps_the_first_moment(client, auth, make_vendor, monkeypatch):
    vendor = make_vendor("Acme")
    client.post(f"/api/v1/vendors/{vendor.id}/archive", headers=auth)
    monkeypatch.setattr(guard, "utcnow", lambda: NOW + timedelta(days=1))
    again = client.post(f"/api/v1/vendors/{vendor.id}/archive", headers=auth)
    assert again.status_code == 200
    assert again.get_json()["archived_at"] == "2026-06-30T12:00:00+00:00"


def test_text_with_a_nul_character_is_refused_not_a_server_error(client, auth, session):
    created = client.post("/api/v1/vendors", headers=auth, json={"name": "Acme\u0000"})
    assert created.status_code == 422
    assert "name" in created.get_json()["error"]["fields"]
    searched = client.get("/api/v1/vendors", query_string={"q": "a\x00"}, headers=auth)
    assert searched.status_code == 422
    assert "q" in searched.get_json()["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 0


def test_a_nul_character_in_any_query_argument_is_refused_by_name(client, auth):
    # Schemathesis found this one on PostgreSQL: the scorecard's category compared with a NUL inside.
    answer = client.get("/api/v1/scorecard", query_string={"category": "IT\x00"}, headers=auth)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["fields"] == {"category": ["Text cannot contain NUL characters."]}


def test_editor_changes_a_contacts_details_and_keeps_the_rest(client, auth, make_vendor):
    vendor = make_vendor("Acme")
    contact = client.post(
        f"/api/v1/vendors/{vendor.id}/contacts",
        headers=auth,
        json={
            "name": "Jan Kowalski",
            "role": "sales",
            "email": "jan@acme.test",
            "phone": "123",
        },
    ).get_json()
    response = client.patch(
        f"/api/v1/vendors/{vendor.id}/contacts/{contact['id']}",
        headers=auth,
        json={"name": "  Jan Nowak ", "phone": ""},
    )
    assert response.status_code == 200
    assert response.get_json() == {**contact, "name": "Jan Nowak", "phone": ""}
    listed = client.get(f"/api/v1/vendors/{vendor.id}/contacts", headers=auth).get_json()
    assert listed["items"] == [response.get_json()]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"email": "x" * 255}, "email"),
        ({"vendor_id": 2}, "vendor_id"),
        ({"language": "de"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_a_wrong_contact_change_is_refused_naming_the_field_and_nothing_changes(
    client, auth, make_vendor, body, field
):
    vendor = make_vendor("Acme")
    path = f"/api/v1/vendors/{vendor.id}/contacts"
    contact = client.post(path, headers=auth, json={"name": "Jan", "role": "sales"}).get_json()
    response = client.patch(f"{path}/{contact['id']}", headers=auth, json={"role": "boss", **body})
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]
    assert client.get(path, headers=auth).get_json()["items"] == [contact]


def test_a_contact_is_found_only_under_its_own_vendor(client, auth, make_vendor):
    vendor, other = make_vendor("Acme"), make_vendor("Other")
    contact = client.post(
        f"/api/v1/vendors/{other.id}/contacts", headers=auth, json={"name": "Eve"}
    ).get_json()
    for path in (
        f"/api/v1/vendors/{vendor.id}/contacts/{contact['id']}",
        f"/api/v1/vendors/{vendor.id}/contacts/999",
        f"/api/v1/vendors/999/contacts/{contact['id']}",
    ):
        response = client.patch(path, headers=auth, json={"name": "Mallory"})
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    listed = client.get(f"/api/v1/vendors/{other.id}/contacts", headers=auth).get_json()
    assert [c["name"] for c in listed["items"]] == ["Eve"]


def test_a_viewer_may_not_change_a_contact(client, auth, viewer, token_for, make_vendor):
    vendor = make_vendor("Acme")
    contact = client.post(
        f"/api/v1/vendors/{vendor.id}/contacts", headers=auth, json={"name": "Jan"}
    ).get_json()
    response = client.patch(
        f"/api/v1/vendors/{vendor.id}/contacts/{contact['id']}",
        headers=token_for(viewer),
        json={"name": "Changed"},
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/vendors/{vendor.id}/contacts", headers=auth).get_json()["items"] == [contact]


def test_a_contacts_language_and_zone_and_a_vendors_ask_to_confirm_are_set_through_the_api(
    client, auth, make_vendor
):
    vendor = make_vendor("Kovács Kft.")
    contact = client.post(
        f"/api/v1/vendors/{vendor.id}/contacts",
        headers=auth,
        json={"name": "Kovács Anna", "language": "hu", "timezone": "Europe/Budapest"},
    ).get_json()
    assert (contact["language"], contact["timezone"]) == ("hu", "Europe/Budapest")
    cleared = client.patch(
        f"/api/v1/vendors/{vendor.id}/contacts/{contact['id']}", headers=auth, json={"timezone": None}
    ).get_json()
    assert cleared["timezone"] is None and cleared["language"] == "hu"
    assert client.get(f"/api/v1/vendors/{vendor.id}", headers=auth).get_json()["ask_to_confirm"] is False
    asking = client.patch(f"/api/v1/vendors/{vendor.id}", headers=auth, json={"ask_to_confirm": True})
    assert asking.status_code == 200 and asking.get_json()["ask_to_confirm"] is True
