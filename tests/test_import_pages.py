"""Import in the browser: upload a CSV, read the preview of every row and problem, then all rows or none."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from vendortrack import importing
from vendortrack.models import (
    Commitment,
    Complaint,
    ComplaintStatus,
    Contact,
    ImportUpload,
    LedgerEvent,
    Role,
    Status,
    Vendor,
)

POLISH = (
    "\ufeffDostawca;Contact;Kind;Title;Deadline;Status;Done at;Excuse category;Excuse\n"
    "Hurtownia Łódź;Jan Kowalski;promise;Deliver 40 chairs;30.06.2026;kept;29.06.2026 10:00;;\n"
    "hurtownia łódź;Jan Kowalski;deadline;Send the invoice;15.06.2026;broken;;oversight;forgot\n"
    "Drukarnia;;meeting;Proof review;2026.06.01. 09:30;open;;;\n"
).replace("Dostawca", "Supplier")

BAD = (
    "vendor,kind,title,due date,status,done_at,excuse_category\n"
    "Acme,gift,Ship it,2026-06-30,open,,\n"
    "Acme,promise,Ship more,31.13.2026,open,,\n"
    "Acme,promise,Ship again,2026-06-30,kept,,\n"
    "Acme,promise,Ship late,2026-06-30,broken,,aliens\n"
)


def counts(session) -> tuple[int, ...]:
    session.rollback()
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Vendor, Contact, Commitment, LedgerEvent)
    )


def many_rows(n: int) -> str:
    lines = ["vendor,title,due"] + [f"Vendor {i:04d},Promise {i},2026-06-30" for i in range(n)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def signed_in(client, editor):
    assert client.login(editor).status_code == 302
    return client


def upload(client, content: str | bytes, filename: str = "vendors.csv", headers=None, **fields):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    form = {
        "csrf_token": client.csrf_token(),
        "timezone": "Europe/Warsaw",
        "date_format": "auto",
        **fields,
        "file": FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv"),
    }
    # Encoded in memory: the test client's own encoder spills a large file to a temporary file that a
    # refused upload leaves unread and unclosed.
    boundary, body = encode_multipart(form)
    return client.post(
        "/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers
    )


def uploaded(client, content: str | bytes, **fields) -> str:
    """The preview's address of a file that was accepted."""
    response = upload(client, content, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert re.fullmatch(r"/import/\d+", response.headers["Location"])
    return response.headers["Location"]


def commit(client, preview_url: str, **kwargs):
    return client.submit(f"{preview_url}/commit", **kwargs)


def events(body: str) -> list[tuple[str, dict]]:
    found = []
    for block in body.strip().split("\n\n"):
        name = re.search(r"^event: (\w+)$", block, re.M).group(1)
        data = re.search(r"^data: (.*)$", block, re.M).group(1)
        found.append((name, json.loads(data)))
    return found


def test_a_semicolon_file_with_bom_is_previewed_row_by_row_then_imported_with_its_history(
    signed_in, session, editor
):
    preview_url = uploaded(signed_in, POLISH)

    page = signed_in.get(preview_url).get_data(as_text=True)
    assert counts(session) == (0, 0, 0, 0)
    assert "Hurtownia Łódź" in page and "Jan Kowalski" in page and "Deliver 40 chairs" in page
    assert re.search(r"New vendors</dt><dd>2<", page) and re.search(r"Commitments</dt><dd>3<", page)
    assert "times read in Europe/Warsaw" in page
    assert "9:30" in page and "7:30" not in page  # 09:30 in Warsaw, shown there, not in UTC
    assert "Import all 3 rows" in page

    response = commit(signed_in, preview_url)

    assert response.status_code == 302 and response.headers["Location"] == "/vendors/"
    vendors_page = signed_in.get("/vendors/").get_data(as_text=True)
    assert "Imported: 2 new vendors, 1 new contact, 3 commitments." in vendors_page
    assert "Hurtownia Łódź" in vendors_page and "Drukarnia" in vendors_page
    chairs = session.scalar(sa.select(Commitment).where(Commitment.title == "Deliver 40 chairs"))
    assert chairs.status == Status.kept and chairs.contact.name == "Jan Kowalski"
    assert [e.action.value for e in chairs.events] == ["created", "resolved"]
    assert all(e.actor_id == editor.id for e in chairs.events)
    assert counts(session) == (2, 1, 3, 5)
    assert session.scalar(sa.select(ImportUpload.committed_at)) is not None


def test_a_file_with_problems_shows_each_by_row_and_column_and_cannot_be_committed(signed_in, session):
    preview_url = uploaded(signed_in, BAD)

    page = signed_in.get(preview_url).get_data(as_text=True)

    assert "4 problems: nothing will be imported" in page
    for row, column in [(2, "kind"), (3, "due"), (4, "done_at"), (5, "excuse_category")]:
        assert re.search(rf"<tr><td>{row}</td><td><code>{column}</code></td>", page), (row, column)
    assert "Upload a corrected file" in page
    assert f"{preview_url}/commit" not in page
    forced = commit(signed_in, preview_url)
    assert forced.headers["Location"] == preview_url
    assert "Row 2, column kind: Unknown kind" in signed_in.get(preview_url).get_data(as_text=True)
    assert counts(session) == (0, 0, 0, 0)
    assert session.scalar(sa.select(ImportUpload.committed_at)) is None


def test_someone_elses_upload_is_not_found(signed_in, client, make_user, session):
    preview_url = uploaded(signed_in, POLISH)
    signed_in.post("/auth/logout", data={"csrf_token": signed_in.csrf_token()})
    other = make_user(Role.admin)
    assert client.login(other).status_code == 302

    assert client.get(preview_url).status_code == 404
    assert commit(client, preview_url).status_code == 404
    assert client.get(f"{preview_url}/finished").status_code == 404
    assert counts(session) == (0, 0, 0, 0)


def test_a_viewer_may_not_import(client, viewer, session):
    client.login(viewer)

    assert client.get("/import/").status_code == 403
    assert upload(client, POLISH).status_code == 403
    assert client.get("/import/template.csv").status_code == 403
    assert "/import/" not in client.get("/vendors/").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0


def test_a_second_commit_of_the_same_file_is_refused_and_adds_nothing(signed_in, session):
    preview_url = uploaded(signed_in, POLISH)
    commit(signed_in, preview_url)
    after_first = counts(session)

    again = commit(signed_in, preview_url)

    assert again.headers["Location"] == preview_url
    page = signed_in.get(preview_url).get_data(as_text=True)
    assert "This file was already imported; nothing was imported again." in page
    assert "it cannot be imported again" in page and f"{preview_url}/commit" not in page
    assert counts(session) == after_first


def test_the_template_downloads_with_every_column_and_imports_cleanly(signed_in, session):
    response = signed_in.get("/import/template.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(rows[0]) == importing.COLUMNS
    column = importing.COLUMNS.index
    assert [row[column("record")] for row in rows[1:]] == ["", "", "", "", "complaint"]
    assert [row[column("status")] for row in rows[1:5]] == ["kept", "broken", "open", "rescheduled"]
    assert rows[4][column("notified_at")] and rows[5][column("answered_at")]

    preview_url = uploaded(signed_in, body)
    page = signed_in.get(preview_url).get_data(as_text=True)
    assert "No problems found." in page
    assert "Brochures delivered with smudged ink" in page and "owner: Anna Nowak" in page
    commit(signed_in, preview_url)

    statuses = session.scalars(sa.select(Commitment.status).order_by(Commitment.id)).all()
    assert statuses == [Status.kept, Status.broken, Status.open, Status.rescheduled, Status.open]
    assert counts(session)[:3] == (2, 1, 5)
    complaint = session.scalar(sa.select(Complaint))
    assert (complaint.title, complaint.status, complaint.satisfied) == (
        "Brochures delivered with smudged ink",
        ComplaintStatus.resolved,
        True,
    )
    assert complaint.case_owner_contact.name == "Anna Nowak" and complaint.apologised


def test_a_streamed_commit_reports_progress_and_ends_with_where_to_go(signed_in, session):
    preview_url = uploaded(signed_in, many_rows(120))

    response = commit(signed_in, preview_url, headers={"Accept": "text/event-stream"})

    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    found = events(response.get_data(as_text=True))
    assert [data for name, data in found if name == "progress"] == [
        {"done": done, "total": 120} for done in (0, 50, 100, 120)
    ]
    name, done = found[-1]
    assert name == "done"
    assert done["message"] == "Imported: 120 new vendors, 0 new contacts, 120 commitments."
    assert counts(session)[:3] == (120, 0, 120)
    finished = signed_in.get(done["url"])
    assert finished.headers["Location"] == "/vendors/"
    assert done["message"] in signed_in.get("/vendors/").get_data(as_text=True)


def test_a_row_failing_mid_stream_rolls_everything_back_and_the_last_event_names_it(
    signed_in, session, ledger_refuses_import_row
):
    preview_url = uploaded(signed_in, many_rows(120))
    ledger_refuses_import_row(80)

    response = commit(signed_in, preview_url, query_string={"stream": "1"})

    found = events(response.get_data(as_text=True))
    assert [name for name, _data in found] == ["progress", "progress", "error"]
    assert found[-1][1]["row"] == 80 and found[-1][1]["column"] == "title"
    assert "Row 80, column title: Refused by the ledger. Nothing was imported." == found[-1][1]["message"]
    assert counts(session) == (0, 0, 0, 0)
    assert session.scalar(sa.select(ImportUpload.committed_at)) is None


def test_a_streamed_second_commit_is_refused_in_the_stream(signed_in, session):
    preview_url = uploaded(signed_in, POLISH)
    commit(signed_in, preview_url)

    response = commit(signed_in, preview_url, headers={"Accept": "text/event-stream"})

    assert events(response.get_data(as_text=True)) == [
        (
            "error",
            {
                "row": None,
                "column": "file",
                "message": "This file was already imported; nothing was imported again.",
            },
        ),
    ]
    assert counts(session)[:3] == (2, 1, 3)


@pytest.mark.parametrize("extra", [1, 200_000], ids=["just over", "far over"])
def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(signed_in, session, extra):
    big = many_rows(10).encode() + b"x" * (importing.MAX_UPLOAD_BYTES + extra)

    response = upload(signed_in, big)

    assert response.status_code in (400, 413)
    assert "The file is larger than 5 MB; split it into smaller files." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0


def test_a_file_that_is_not_utf8_text_is_refused_at_upload(signed_in, session):
    response = upload(signed_in, "vendor\nCafé Müller\n".encode("latin-1"))

    assert response.status_code == 400
    assert "The file is not UTF-8 text; save it as CSV UTF-8." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0


def test_the_form_starts_in_the_users_zone_and_their_languages_date_order(client, make_user, session):
    user = make_user(Role.editor, timezone="Europe/Budapest")
    user.locale = "pl"
    session.commit()
    client.login(user)

    page = client.get("/import/").get_data(as_text=True)

    assert re.search(r'<option selected value="Europe/Budapest">', page)
    assert re.search(r'<option selected value="dmy">[^<]*30.06.2026 / 30/06/2026</option>', page)
    assert 'href="/import/template.csv"' in page and "<code>excuse_category</code>" in page


def test_a_long_file_is_previewed_two_hundred_rows_a_page(signed_in):
    preview_url = uploaded(signed_in, many_rows(250))

    first = signed_in.get(preview_url).get_data(as_text=True)
    second = signed_in.get(preview_url, query_string={"page": 2}).get_data(as_text=True)

    assert "Vendor 0000" in first and "Vendor 0199" in first and "Vendor 0200" not in first
    assert "Vendor 0200" in second and "Vendor 0249" in second and "Page 2 of 2" in second
    assert signed_in.get(preview_url, query_string={"page": 3}).status_code == 404


def test_the_pages_script_is_told_where_the_preview_is(signed_in):
    response = upload(signed_in, POLISH, headers={"X-Requested-With": "XMLHttpRequest"})

    assert response.status_code == 200
    assert re.fullmatch(r"/import/\d+", response.get_json()["url"])


def test_the_nav_and_the_empty_vendor_list_offer_the_import(signed_in):
    page = signed_in.get("/vendors/").get_data(as_text=True)

    assert 'href="/import/">Import</a>' in page
    assert "Or import them from a spreadsheet." in page


COMPLAINTS = (
    "Record;Supplier;Contact;Title;Severity;Channel;Raised at;Answered;Case owner;Apologised\n"
    "complaint;Hurtownia Łódź;Jan Kowalski;Chairs arrived scratched;major;phone;22.06.2026 09:00;"
    "22.06.2026 15:30;Ewa Nowak;yes\n"
    ";Hurtownia Łódź;;;;;;;;\n"
)


def test_a_complaint_is_previewed_with_its_answer_then_imported_and_counted(signed_in, session, editor):
    preview_url = uploaded(signed_in, COMPLAINTS)

    page = signed_in.get(preview_url).get_data(as_text=True)
    assert re.search(r"Complaints</dt><dd>1<", page) and re.search(r"Commitments</dt><dd>0<", page)
    assert "Chairs arrived scratched" in page and "answered" in page and "owner: Ewa Nowak" in page
    assert "3:30" in page and "1:30" not in page  # 15:30 in Warsaw, shown there, not in UTC
    commit(signed_in, preview_url)

    vendors_page = signed_in.get("/vendors/").get_data(as_text=True)
    assert "Imported: 1 new vendor, 1 new contact, 0 commitments, 1 complaint." in vendors_page
    complaint = session.scalar(sa.select(Complaint))
    assert (complaint.status, complaint.case_owner, complaint.apologised) == (
        ComplaintStatus.answered,
        "Ewa Nowak",
        True,
    )
    assert complaint.case_owner_contact is None and complaint.owner_id == editor.id


def test_a_complaint_answered_before_it_was_raised_is_shown_by_row_and_column_and_not_committed(
    signed_in, session
):
    preview_url = uploaded(signed_in, COMPLAINTS.replace("22.06.2026 15:30", "21.06.2026 15:30"))

    page = signed_in.get(preview_url).get_data(as_text=True)

    assert "1 problem: nothing will be imported" in page
    assert re.search(r"<tr><td>2</td><td><code>answered_at</code></td>", page)
    assert "The answer cannot come before the complaint was raised." in page
    assert f"{preview_url}/commit" not in page
    commit(signed_in, preview_url)
    assert session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0
    assert counts(session) == (0, 0, 0, 0)
