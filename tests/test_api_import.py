"""The CSV import through the API: a preview that changes nothing, then every row or none."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from vendortrack.models import Commitment, Complaint, Contact, LedgerEvent, Role, Status, Vendor
from vendortrack.views.api.imports import MAX_BODY_BYTES

FILE = (
    "\ufeffSupplier;Contact;Kind;Title;Deadline;Status;Done at;Excuse category;Excuse\n"
    "Hurtownia Łódź;Jan Kowalski;promise;Deliver 40 chairs;30.06.2026;kept;29.06.2026 10:00;;\n"
    "hurtownia łódź;Jan Kowalski;deadline;Send the invoice;15.06.2026;broken;;oversight;forgot\n"
    "Drukarnia;;meeting;Proof review;2026-07-01 09:30;open;;;\n"
)
BAD = "vendor,kind,title,due\nAcme,gift,Ship it,2026-06-30\nAcme,promise,Ship more,31.13.2026\n"


pytestmark = pytest.mark.usefixtures("api_clock_at_now")


def counts(session) -> tuple[int, ...]:
    session.rollback()
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Vendor, Contact, Commitment, LedgerEvent)
    )


def test_without_commit_the_api_previews_every_row_and_changes_nothing(client, auth, session):
    response = client.post("/api/v1/import", headers=auth, json={"csv": FILE, "timezone": "Europe/Warsaw"})

    assert response.status_code == 200
    preview = response.get_json()
    assert preview["committed"] is False and preview["problems"] == []
    assert preview["counts"] == {"vendors": 2, "contacts": 1, "commitments": 3, "complaints": 0}
    first, second, third = preview["rows"]
    assert (first["row"], first["vendor"], first["vendor_new"], first["contact_new"]) == (
        2,
        "Hurtownia Łódź",
        True,
        True,
    )
    assert (second["vendor_new"], second["contact"], second["contact_new"]) == (False, "Jan Kowalski", False)
    assert first["commitment"] == {
        "kind": "promise",
        "title": "Deliver 40 chairs",
        "status": "kept",
        "new_due_at": None,
        "due_at": "2026-06-30T21:59:59+00:00",
        "done_at": "2026-06-29T08:00:00+00:00",
        "notified_at": None,
    }
    assert first["complaint"] is None
    assert third["commitment"]["due_at"] == "2026-07-01T07:30:00+00:00"
    assert counts(session) == (0, 0, 0, 0)


def test_commit_imports_every_row_with_its_history_and_answers_201_with_the_counts(
    client, auth, editor, session
):
    response = client.post(
        "/api/v1/import", headers=auth, json={"csv": FILE, "timezone": "Europe/Warsaw", "commit": True}
    )

    assert response.status_code == 201
    assert response.get_json() == {
        "committed": True,
        "counts": {"vendors": 2, "contacts": 1, "commitments": 3, "complaints": 0},
    }
    assert counts(session) == (2, 1, 3, 5)
    invoice = session.scalar(sa.select(Commitment).where(Commitment.title == "Send the invoice"))
    assert invoice.status == Status.broken and invoice.excuse == "forgot"
    assert all(event.actor_id == editor.id for event in invoice.events)


def test_a_file_with_problems_previews_them_by_row_and_column(client, auth, session):
    response = client.post("/api/v1/import", headers=auth, json={"csv": BAD})

    assert response.status_code == 200
    problems = response.get_json()["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [(2, "kind"), (3, "due")]
    assert problems[0]["message"] == "Unknown kind; use meeting, promise or deadline."


def test_committing_a_file_with_problems_is_a_422_listing_them_and_writes_nothing(client, auth, session):
    response = client.post("/api/v1/import", headers=auth, json={"csv": BAD, "commit": True})

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["message"] == "The file has problems; nothing was imported."
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(2, "kind"), (3, "due")]
    assert body["error"]["fields"]["csv"][0] == (
        "Row 2, column kind: Unknown kind; use meeting, promise or deadline."
    )
    assert counts(session) == (0, 0, 0, 0)


def test_a_row_the_ledger_refuses_while_writing_rolls_back_every_row(
    client, auth, session, ledger_refuses_import_row
):
    ledger_refuses_import_row(4)  # the third row of the file

    response = client.post("/api/v1/import", headers=auth, json={"csv": FILE, "commit": True})

    assert response.status_code == 422
    assert response.get_json()["problems"] == [
        {"row": 4, "column": "title", "message": "Refused by the ledger."}
    ]
    assert counts(session) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("   \n", "The file is empty."),
        ("vendor\nA\x00B\n", "Text cannot contain NUL characters."),  # refused for every API field alike
        ('vendor\n"' + "x" * 200_000 + '"\n', "The file is not valid CSV"),
    ],
)
def test_text_that_is_no_csv_file_is_a_422_naming_the_csv_field(client, auth, session, text, message):
    response = client.post("/api/v1/import", headers=auth, json={"csv": text, "commit": True})

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"]["csv"][0].startswith(message)
    assert counts(session) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "field, value", [("timezone", "Mars/Olympus"), ("date_format", "ymd"), ("csv", ""), ("commit", "maybe")]
)
def test_a_bad_option_is_a_422_naming_the_field(client, auth, field, value):
    response = client.post("/api/v1/import", headers=auth, json={"csv": FILE, field: value})

    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_the_date_order_follows_the_callers_language_unless_given(client, make_user, token_for, session):
    american = make_user(Role.editor, timezone="America/New_York")
    american.locale = "en_US"
    session.commit()
    headers = token_for(american)
    text = "vendor,title,due\nAcme,Ship it,03/04/2026 10:00\n"

    def due(**options) -> str:
        body = client.post("/api/v1/import", headers=headers, json={"csv": text, **options}).get_json()
        return body["rows"][0]["commitment"]["due_at"]

    assert due() == "2026-03-04T15:00:00+00:00"  # March 4th, 10:00 in New York
    assert due(date_format="dmy", timezone="UTC") == "2026-04-03T10:00:00+00:00"


def test_a_viewer_may_not_import(client, viewer, token_for, session):
    response = client.post("/api/v1/import", headers=token_for(viewer), json={"csv": FILE, "commit": True})

    assert response.status_code == 403
    assert counts(session) == (0, 0, 0, 0)


def test_a_body_past_the_limit_is_refused_before_it_is_read(client, auth):
    body = b'{"csv": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = client.post("/api/v1/import", headers=auth, data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_a_complaint_row_is_previewed_with_its_facts_then_imported(client, auth, session):
    text = (
        "record,vendor,title,severity,channel,raised_at,answered_at,case_owner,apologised,resolution,"
        "resolved_at,satisfied\n"
        "complaint,Acme,Pallets broken,critical,meeting,2026-06-20 10:00,2026-06-20 12:00,Ewa,no,fixed,"
        "2026-06-23 09:00,yes\n"
    )
    preview = client.post("/api/v1/import", headers=auth, json={"csv": text, "timezone": "UTC"}).get_json()

    assert preview["counts"] == {"vendors": 1, "contacts": 0, "commitments": 0, "complaints": 1}
    (row,) = preview["rows"]
    assert row["commitment"] is None
    assert row["complaint"] == {
        "title": "Pallets broken",
        "severity": "critical",
        "channel": "meeting",
        "status": "resolved",
        "raised_at": "2026-06-20T10:00:00+00:00",
        "answered_at": "2026-06-20T12:00:00+00:00",
        "case_owner": "Ewa",
        "apologised": False,
        "resolution": "fixed",
        "resolved_at": "2026-06-23T09:00:00+00:00",
        "satisfied": True,
    }
    response = client.post(
        "/api/v1/import", headers=auth, json={"csv": text, "timezone": "UTC", "commit": True}
    )
    assert response.status_code == 201
    assert response.get_json()["counts"]["complaints"] == 1
    assert session.scalar(sa.select(Complaint.title)) == "Pallets broken"
