"""Vendor pages as an editor and a viewer see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.models import Commitment, Contact, Kind, LedgerEvent, Vendor
from vendortrack.timeutil import utcnow


def text(response) -> str:
    return response.get_data(as_text=True)


def test_an_editor_creates_a_vendor_and_lands_on_its_page(client, editor, session):
    client.login(editor)
    response = client.submit(
        "/vendors/new",
        {"name": "Drukarnia Łódź", "category": "Printing", "email": "biuro@drukarnia.pl"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Drukarnia Łódź" in text(response)
    assert session.scalar(sa.select(Vendor.category)) == "Printing"


def test_a_name_that_differs_only_in_case_is_refused_and_what_was_typed_stays(
    client, editor, make_vendor, session
):
    make_vendor("Łódź Builders")
    client.login(editor)
    response = client.submit("/vendors/new", {"name": "ŁÓDŹ builders", "phone": "+48 600 100 200"})
    assert response.status_code == 400
    assert "A vendor with this name already exists." in text(response)
    assert 'value="+48 600 100 200"' in text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 1


def test_a_bad_website_and_email_are_named_on_the_form(client, editor, session):
    client.login(editor)
    response = client.submit("/vendors/new", {"name": "Acme", "website": "not a url", "email": "nope"})
    assert response.status_code == 400
    assert "Enter a full address" in text(response)
    assert "Invalid email address." in text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 0


def test_search_filters_by_name_and_category(client, viewer, make_vendor):
    make_vendor("Kowalski IT", category="IT")
    make_vendor("Nowak Accounting", category="Accounting")
    make_vendor("Kowalski Print", category="Printing")
    client.login(viewer)
    page = text(client.get("/vendors/?q=kowal"))
    assert "Kowalski IT" in page and "Kowalski Print" in page and "Nowak" not in page
    page = text(client.get("/vendors/?q=kowal&category=IT"))
    assert "Kowalski IT" in page and "Kowalski Print" not in page


def test_a_search_with_percent_signs_matches_literally(client, viewer, make_vendor):
    make_vendor("100% Reliable")
    make_vendor("Mostly Reliable")
    client.login(viewer)
    page = text(client.get("/vendors/?q=100%25"))
    assert "100% Reliable" in page and "Mostly Reliable" not in page


def test_archived_vendors_are_hidden_until_asked_for_and_keep_their_history(
    client, editor, make_vendor, session
):
    vendor = make_vendor("Old Printer")
    commitment = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.promise, title="Proofs", due_at=NOW, actor=editor, now=NOW
    )
    session.commit()
    client.login(editor)
    client.submit(f"/vendors/{vendor.id}/archive")
    assert ">Old Printer</a>" not in text(client.get("/vendors/"))
    assert ">Old Printer</a>" in text(client.get("/vendors/?archived=1"))
    page = text(client.get(f"/vendors/{vendor.id}"))
    assert "archived" in page and "Proofs" in page
    assert client.get(f"/commitments/{commitment.id}").status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEvent)) == 1
    # An archived vendor takes no new commitments until it is unarchived.
    refused = client.submit(
        f"/commitments/new/{vendor.id}",
        {"kind": "promise", "title": "More", "due_date": "2026-07-01", "owner_id": editor.id},
    )
    assert refused.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 1
    client.submit(f"/vendors/{vendor.id}/unarchive")
    assert ">Old Printer</a>" in text(client.get("/vendors/"))


def test_vendor_page_splits_overdue_upcoming_and_resolved(client, viewer, editor, make_vendor, session):
    vendor = make_vendor("Splitter")
    now = ledger_now = utcnow()
    for title, due in [("Past grace", now - timedelta(days=3)), ("Coming up", now + timedelta(days=3))]:
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.deadline, title=title, due_at=due, actor=editor, now=ledger_now
        )
    done = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Done deal",
        due_at=now - timedelta(days=9),
        actor=editor,
        now=ledger_now,
    )
    ledger.resolve_kept(session, done, actor=editor, now=now)
    session.commit()
    client.login(viewer)
    page = text(client.get(f"/vendors/{vendor.id}"))
    overdue, rest = page.split('id="upcoming-h"')
    assert "Past grace" in overdue and "Coming up" not in overdue
    upcoming, resolved = rest.split('id="resolved-h"')
    assert "Coming up" in upcoming and "Done deal" in resolved


def test_contacts_are_added_and_edited(client, editor, make_vendor, session):
    vendor = make_vendor("People Inc")
    client.login(editor)
    client.submit(f"/vendors/{vendor.id}/contacts/new", {"name": "Jan Kowalski", "role": "Sales"})
    contact = session.scalars(sa.select(Contact)).one()
    client.submit(f"/vendors/{vendor.id}/contacts/{contact.id}/edit", {"name": "Jan Kowalski", "role": "CEO"})
    session.refresh(contact)
    assert contact.role == "CEO"
    assert "Jan Kowalski" in text(client.get(f"/vendors/{vendor.id}"))


def test_a_contact_is_not_reachable_through_another_vendor(client, editor, make_vendor, session):
    mine, other = make_vendor("Mine"), make_vendor("Other")
    client.login(editor)
    client.submit(f"/vendors/{other.id}/contacts/new", {"name": "Anna"})
    contact = session.scalars(sa.select(Contact)).one()
    assert client.get(f"/vendors/{mine.id}/contacts/{contact.id}/edit").status_code == 404


def test_an_unknown_vendor_is_a_404_page(client, viewer):
    client.login(viewer)
    response = client.get("/vendors/99999")
    assert response.status_code == 404
    assert "Not found" in text(response)


def test_markup_in_a_vendor_name_is_shown_as_text(client, editor, session):
    client.login(editor)
    client.submit("/vendors/new", {"name": "<script>alert(1)</script>"})
    page = text(client.get("/vendors/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_empty_vendor_list_says_what_to_do_next(client, editor, viewer):
    client.login(editor)
    assert "Add the first vendor" in text(client.get("/vendors/"))


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "page=-5",
        "page=abc",
        "q=%00",
        "q=" + "x" * 5000,
        "category=%00%27",
        "archived=yes",
        "view=nonsense&kind=nonsense&mine=2",
    ],
)
def test_odd_query_arguments_never_break_a_list(client, viewer, make_vendor, query):
    make_vendor("Anyone")
    client.login(viewer)
    for path in ("/vendors/", "/commitments/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 404), (path, query, response.status_code)
