"""What every page shares: the icon browsers ask for, words that say one thing each, badges that alarm
only when there is something to fix."""

from __future__ import annotations

import html
from datetime import timedelta

from tests.catalogs import say
from vendortrack.ledger import log_commitment
from vendortrack.models import Kind
from vendortrack.timeutil import utcnow


def test_every_page_links_the_apps_icon_and_the_icon_is_served(client, editor):
    client.login(editor)
    text = client.get("/vendors/").get_data(as_text=True)

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in text
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).startswith("<svg")


def test_the_icon_browsers_ask_for_by_its_old_name_leads_to_the_apps_icon(client):
    # Asked before signing in too: a browser wants it on the sign-in page.
    response = client.get("/favicon.ico")

    assert response.status_code == 301 and response.headers["Location"] == "/static/favicon.svg"


def test_polish_names_the_kind_deadline_and_the_due_label_with_different_words():
    deadline = say("pl", "Deadline").lower()
    for label in ("Due", "Due date"):
        due = say("pl", label).lower()
        assert due not in deadline and deadline not in due, (label, due, deadline)


def test_a_polish_deadline_shows_its_kind_and_when_it_is_due_in_two_different_words(
    client, session, editor, make_vendor
):
    now = utcnow()
    commitment = log_commitment(
        session,
        vendor=make_vendor(),
        kind=Kind.deadline,
        title="Roczne sprawozdanie",
        due_at=now + timedelta(days=5),
        actor=editor,
        now=now,
    )
    session.commit()
    client.login(editor)

    text = html.unescape(
        client.get(f"/commitments/{commitment.id}", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    )

    assert f"{say('pl', 'Due')}</dt>" in text
    assert f'<dd class="col-sm-8">{say("pl", "Deadline")}</dd>' in text


def test_a_vendor_with_nothing_overdue_shows_a_plain_zero_and_a_red_count_otherwise(
    client, session, editor, make_vendor
):
    vendor = make_vendor(name="Acme Plumbing")
    client.login(editor)

    text = client.get(f"/vendors/{vendor.id}").get_data(as_text=True)
    assert 'Overdue <span class="badge text-bg-light">0</span>' in text
    assert "text-bg-danger" not in text

    now = utcnow()
    log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Send the quote",
        due_at=now - timedelta(days=3),
        actor=editor,
        now=now - timedelta(days=4),
    )
    session.commit()
    text = client.get(f"/vendors/{vendor.id}").get_data(as_text=True)
    assert 'Overdue <span class="badge text-bg-danger">1</span>' in text
