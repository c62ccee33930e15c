"""Export: every vendor, contact, commitment and complaint as CSV and JSON for anyone signed in, and the
event log's events, the ledger's and the complaints', for those who may read it (admins)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from tests.conftest import NOW
from vendortrack import complaints, export
from vendortrack.ledger import log_commitment, reschedule, resolve_broken
from vendortrack.models import ExcuseCategory, Kind, Role
from vendortrack.vendors import add_contact

FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def ledger(session, make_vendor, editor):
    acme = make_vendor("Drukarnia Łódź", category="Print")
    evil = make_vendor(FORMULA, notes="+1 overnight\n-- call first")
    jan = add_contact(session, acme, now=NOW, name="Jan Kowalski", phone="+48 600 000 000")
    due = NOW - timedelta(days=5)
    first = log_commitment(
        session,
        vendor=acme,
        kind=Kind.deadline,
        title="Print the flyers",
        due_at=due,
        actor=editor,
        now=due - timedelta(days=9),
        contact=jan,
    )
    moved = reschedule(
        session,
        first,
        actor=editor,
        now=due - timedelta(days=1),
        new_due_at=due + timedelta(days=2),
        excuse_category=ExcuseCategory.third_party,
        excuse="@supplier was late",
    )
    resolve_broken(session, moved, actor=editor, now=NOW, excuse_category="oversight")
    log_commitment(
        session,
        vendor=evil,
        kind=Kind.meeting,
        title="-Visit",
        due_at=NOW + timedelta(days=3),
        actor=editor,
        now=NOW,
    )
    session.commit()
    return {"acme": acme, "evil": evil, "first": first, "moved": moved, "editor": editor}


def download(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def csv_rows(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_page_lists_every_download_and_the_nav_links_to_it(client, admin):
    client.login(admin)
    page = download(client, "/export/").get_data(as_text=True)
    for url in (
        "/export/vendors.csv",
        "/export/contacts.csv",
        "/export/commitments.csv",
        "/export/events.csv",
        "/export/complaints.csv",
        "/export/complaint_events.csv",
        "/export/ledger.json",
    ):
        assert f'href="{url}"' in page
    assert 'id="no-event-log"' not in page
    assert 'href="/export/">Export</a>' in download(client, "/vendors/").get_data(as_text=True)


# --- who may read events: a commitment's history with the commitment, the event log an admin's -------


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_a_viewers_or_editors_exports_hold_the_ledger_but_not_the_event_log(
    client, make_user, token_for, ledger, role
):
    reader = make_user(role)
    client.login(reader)

    page = download(client, "/export/").get_data(as_text=True)
    assert 'href="/export/events.csv"' not in page
    assert 'href="/export/complaint_events.csv"' not in page
    assert 'href="/export/complaints.csv"' in page
    assert "The event log, every change across the ledger and who made it, is for admins." in page
    assert client.get("/export/events.csv").status_code == 403
    assert client.get("/export/complaint_events.csv").status_code == 403
    for document in (
        json.loads(download(client, "/export/ledger.json").get_data(as_text=True)),
        client.get("/api/v1/export/ledger", headers=token_for(reader)).get_json(),
    ):
        assert set(document) == {
            "exported_at",
            "vendors",
            "contacts",
            "commitments",
            "complaints",
            "vendor_links",
            "vendor_answers",
        }
        assert len(document["vendors"]) == 2 and len(document["commitments"]) == 3
    forbidden = client.get("/api/v1/events", headers=token_for(reader))
    assert (forbidden.status_code, forbidden.get_json()["error"]["code"]) == (403, "forbidden")
    assert client.get("/admin/events").status_code == 403


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_a_viewer_or_editor_still_reads_each_commitments_history_with_it(
    client, make_user, token_for, ledger, role
):
    reader = make_user(role)
    client.login(reader)
    moved = ledger["moved"]

    page = download(client, f"/commitments/{moved.id}").get_data(as_text=True)
    assert "History" in page and ledger["editor"].display_name in page
    history = client.get(f"/api/v1/commitments/{moved.id}/history", headers=token_for(reader))
    assert [event["action"] for event in history.get_json()["items"]] == ["created", "resolved"]


def test_an_admins_exports_hold_every_event_of_the_ledger(client, admin, token_for, ledger):
    client.login(admin)

    rows = csv_rows(download(client, "/export/events.csv"))
    assert len(rows) == 5
    for document in (
        json.loads(download(client, "/export/ledger.json").get_data(as_text=True)),
        client.get("/api/v1/export/ledger", headers=token_for(admin)).get_json(),
    ):
        assert set(document) == {
            "exported_at",
            "vendors",
            "contacts",
            "commitments",
            "complaints",
            "events",
            "complaint_events",
            "vendor_links",
            "vendor_answers",
        }
        assert [event["id"] for event in document["events"]] == [int(row["id"]) for row in rows]
    log = client.get("/api/v1/events?per_page=100", headers=token_for(admin)).get_json()
    assert sorted(event["id"] for event in log["items"]) == [int(row["id"]) for row in rows]


def test_vendors_csv_has_its_header_every_vendor_and_a_dated_attachment_name(client, viewer, ledger):
    client.login(viewer)
    response = download(client, "/export/vendors.csv")
    assert response.content_type == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=vendortrack-vendors-20") and disposition.endswith(
        ".csv"
    )
    rows = csv_rows(response)
    assert tuple(rows[0]) == export.VENDOR_COLUMNS
    assert [row["name"] for row in rows] == ["Drukarnia Łódź", "'" + FORMULA]
    assert rows[0]["category"] == "Print"
    assert rows[0]["created_at"] == "2026-06-30T12:00:00+00:00"
    assert rows[1]["notes"] == "'+1 overnight\n-- call first"


def test_contacts_csv_names_the_vendor_and_escapes_a_phone_starting_with_plus(client, viewer, ledger):
    client.login(viewer)
    rows = csv_rows(download(client, "/export/contacts.csv"))
    assert rows == [
        {
            "id": rows[0]["id"],
            "vendor_id": str(ledger["acme"].id),
            "vendor": "Drukarnia Łódź",
            "name": "Jan Kowalski",
            "role": "",
            "email": "",
            "phone": "'+48 600 000 000",
            "created_at": "2026-06-30T12:00:00+00:00",
        }
    ]


def test_commitments_csv_has_outcomes_excuses_and_the_reschedule_link(client, viewer, ledger):
    client.login(viewer)
    rows = csv_rows(download(client, "/export/commitments.csv"))
    assert tuple(rows[0]) == export.COMMITMENT_COLUMNS
    first, moved, visit = rows
    assert (first["status"], first["excuse_category"], first["excuse"]) == (
        "rescheduled",
        "third_party",
        "'@supplier was late",
    )
    assert first["contact"] == "Jan Kowalski" and first["owner_email"] == ledger["editor"].email
    assert moved["rescheduled_from_id"] == first["id"]
    assert moved["original_due_at"] == first["due_at"] == "2026-06-25T12:00:00+00:00"
    assert moved["due_at"] == "2026-06-27T12:00:00+00:00"
    assert (moved["status"], moved["excuse_category"]) == ("broken", "oversight")
    assert visit["vendor"] == "'" + FORMULA
    assert visit["title"] == "'-Visit"
    assert visit["contact"] == "" and visit["done_at"] == ""


def test_events_csv_has_every_change_with_its_actor(client, admin, ledger):
    client.login(admin)
    rows = csv_rows(download(client, "/export/events.csv"))
    assert tuple(rows[0]) == export.EVENT_COLUMNS
    assert [row["action"] for row in rows] == ["created", "rescheduled", "created", "resolved", "created"]
    assert {row["actor_email"] for row in rows} == {ledger["editor"].email}
    assert json.loads(rows[3]["after"])["status"] == "broken"


def test_ledger_json_holds_every_set_unescaped(client, admin, ledger):
    client.login(admin)
    response = download(client, "/export/ledger.json")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=vendortrack-ledger-")
    body = json.loads(response.get_data(as_text=True))
    assert set(body) == {"exported_at", *export.SETS}
    assert [v["name"] for v in body["vendors"]] == ["Drukarnia Łódź", FORMULA]
    assert len(body["commitments"]) == 3 and len(body["events"]) == 5
    assert body["commitments"][1]["rescheduled_from_id"] == ledger["first"].id
    assert body["events"][3]["after"]["status"] == "broken"


def test_an_empty_ledger_exports_just_the_headers(client, viewer):
    client.login(viewer)
    body = download(client, "/export/commitments.csv").get_data()
    assert body.decode("utf-8-sig").strip() == ",".join(export.COMMITMENT_COLUMNS)


def test_a_large_csv_comes_in_many_chunks_not_one_string():
    rows = ({"id": i, "name": f"Vendor {i}"} for i in range(1000))
    chunks = list(export.csv_chunks(("id", "name"), rows, lines=100))
    assert len(chunks) == 11
    assert b"".join(chunks).decode("utf-8-sig").splitlines()[-1] == "999,Vendor 999"


@pytest.mark.parametrize(
    "url",
    [
        "/export/",
        "/export/vendors.csv",
        "/export/contacts.csv",
        "/export/commitments.csv",
        "/export/events.csv",
        "/export/complaints.csv",
        "/export/complaint_events.csv",
        "/export/ledger.json",
    ],
)
def test_anyone_signed_out_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# --- complaints ---------------------------------------------------------------------------------------


@pytest.fixture
def complaint(app, session, ledger, admin):
    """A complaint about the moved deadline, raised by phone with Jan, answered with an apology and an owner
    named, with a dated answer (a promise), resolved compensated; and one still waiting, by email."""
    rules = app.config["VENDORTRACK_RULES"]
    editor, acme = ledger["editor"], ledger["acme"]
    raised = NOW - timedelta(days=4)
    logged = complaints.raise_complaint(
        session,
        vendor=acme,
        title="=Flyers printed crooked",
        details="Half the run;\nunusable",
        severity="major",
        channel="phone",
        raised_at=raised,
        actor=editor,
        now=raised,
        rules=rules,
        contact=acme.contacts[0],
        owner=admin,
        commitments=[ledger["first"], ledger["moved"]],
    )
    complaints.answer(
        session,
        logged,
        at=raised + timedelta(hours=3),
        actor=editor,
        now=raised + timedelta(hours=3),
        case_owner_name="Piotr Wiśniewski",
        apologised=True,
    )
    promise = complaints.give_dated_answer(
        session, logged, due_at=NOW + timedelta(days=2), actor=editor, now=raised + timedelta(hours=4)
    )
    complaints.resolve(
        session, logged, "compensated", actor=editor, now=NOW - timedelta(days=1), satisfied=True
    )
    waiting = complaints.raise_complaint(
        session,
        vendor=ledger["evil"],
        title="Nobody came",
        severity="minor",
        channel="email",
        raised_at=NOW - timedelta(hours=2),
        actor=editor,
        now=NOW,
        rules=rules,
    )
    session.commit()
    return {"complaint": logged, "promise": promise, "waiting": waiting}


def test_complaints_csv_has_every_fact_its_status_and_the_commitments_it_concerns(
    client, viewer, ledger, complaint
):
    client.login(viewer)
    rows = csv_rows(download(client, "/export/complaints.csv"))
    assert tuple(rows[0]) == export.COMPLAINT_COLUMNS
    resolved, waiting = rows
    assert resolved["title"] == "'=Flyers printed crooked"
    assert resolved["details"] == "Half the run;\nunusable"
    assert (resolved["vendor"], resolved["contact"]) == ("Drukarnia Łódź", "Jan Kowalski")
    assert (resolved["severity"], resolved["channel"], resolved["status"]) == ("major", "phone", "resolved")
    assert resolved["raised_at"] == "2026-06-26T12:00:00+00:00"
    assert resolved["acknowledged_at"] == "2026-06-26T15:00:00+00:00"
    assert resolved["dated_answer_at"] == "2026-06-26T16:00:00+00:00"
    assert (resolved["case_owner_name"], resolved["case_owner_contact"]) == ("Piotr Wiśniewski", "")
    assert (resolved["apologised"], resolved["resolution"], resolved["satisfied"]) == (
        "True",
        "compensated",
        "True",
    )
    assert resolved["resolved_at"] == "2026-06-29T12:00:00+00:00"
    assert json.loads(resolved["commitment_ids"]) == [ledger["first"].id, ledger["moved"].id]
    assert resolved["answer_due_at"] and resolved["owner_email"] != ledger["editor"].email
    assert (waiting["status"], waiting["channel"], waiting["acknowledged_at"]) == ("waiting", "email", "")
    assert (waiting["resolution"], waiting["satisfied"], waiting["commitment_ids"]) == ("", "", "[]")


def test_commitments_export_says_when_a_move_was_noticed_and_which_promise_answers_a_complaint(
    client, viewer, ledger, complaint
):
    client.login(viewer)
    rows = {int(row["id"]): row for row in csv_rows(download(client, "/export/commitments.csv"))}
    first = rows[ledger["first"].id]
    assert first["notified_at"] == "2026-06-24T12:00:00+00:00"  # logged the day before it was due
    assert rows[ledger["moved"].id]["notified_at"] == ""
    promise = rows[complaint["promise"].id]
    assert promise["complaint_id"] == str(complaint["complaint"].id)
    assert first["complaint_id"] == ""


def test_an_admins_exports_hold_every_step_of_every_complaint(client, admin, token_for, ledger, complaint):
    client.login(admin)
    rows = csv_rows(download(client, "/export/complaint_events.csv"))
    assert tuple(rows[0]) == export.COMPLAINT_EVENT_COLUMNS
    assert [row["action"] for row in rows] == ["raised", "answered", "dated_answer", "resolved", "raised"]
    assert {row["actor_email"] for row in rows} == {ledger["editor"].email}
    assert json.loads(rows[1]["after"])["case_owner_name"] == "Piotr Wiśniewski"
    assert json.loads(rows[2]["after"])["promise_id"] == complaint["promise"].id
    for document in (
        json.loads(download(client, "/export/ledger.json").get_data(as_text=True)),
        client.get("/api/v1/export/ledger", headers=token_for(admin)).get_json(),
    ):
        assert [event["id"] for event in document["complaint_events"]] == [int(row["id"]) for row in rows]
        assert [c["status"] for c in document["complaints"]] == ["resolved", "waiting"]
        assert document["complaints"][0]["apologised"] is True
        assert document["complaints"][0]["commitment_ids"] == [ledger["first"].id, ledger["moved"].id]


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_a_viewers_or_editors_export_holds_the_complaints_but_not_their_event_log(
    client, make_user, token_for, ledger, complaint, role
):
    reader = make_user(role)
    client.login(reader)
    assert len(csv_rows(download(client, "/export/complaints.csv"))) == 2
    for document in (
        json.loads(download(client, "/export/ledger.json").get_data(as_text=True)),
        client.get("/api/v1/export/ledger", headers=token_for(reader)).get_json(),
    ):
        assert [c["title"] for c in document["complaints"]] == ["=Flyers printed crooked", "Nobody came"]
        assert "complaint_events" not in document and "events" not in document
