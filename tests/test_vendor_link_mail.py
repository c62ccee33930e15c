"""The vendor's link by email, through a real SMTP server: the ask reaches the contact in their language
and zone with a link that opens their item, the owner hears of a proposal with the commitment's
address, and the contact hears what we decided, our note escaped."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests import mailserver
from tests.conftest import NOW
from tests.mailserver import MailServer, app_with, smtp_settings
from vendortrack import jobs, ledger, mail, vendor_links
from vendortrack.models import Kind, OutboxMessage, VendorAnswer
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

BASE_URL = "https://vendortrack.test"  # VENDORTRACK_BASE_URL in smtp_settings
LINK = re.compile(r"(https?://[^\s\"<>]+/v/([A-Za-z0-9_-]{32,}))")


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


def parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}


@pytest.fixture
def anna(session, make_vendor):
    contact = add_contact(
        session, make_vendor("Kovács Építő Kft."), now=NOW, name="Kovács Anna", email="anna@kovacs.test"
    )
    contact.language, contact.timezone = "hu", "Europe/Budapest"
    session.commit()
    return contact


@pytest.fixture
def meeting(session, anna, editor):
    logged = ledger.log_commitment(
        session,
        vendor=anna.vendor,
        kind=Kind.meeting,
        title="Site survey",
        due_at=(utcnow() + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0),
        actor=editor,
        now=utcnow() - timedelta(days=1),
        contact=anna,
    )
    session.commit()
    return logged


def test_the_ask_reaches_the_contact_in_their_language_and_zone_with_a_link_that_opens_their_item(
    client, session, smtp: MailServer, editor, meeting, anna
):
    client.login(editor)
    asked = client.submit(f"/commitments/{meeting.id}/ask-vendor", {"contact_id": anna.id, "send": "email"})
    assert asked.status_code == 302
    assert jobs.run("outbox", session, utcnow())["sent"] == 1

    (message,) = smtp.to("anna@kovacs.test")
    assert message["Content-Language"] == "hu"
    assert "Site survey" in message["Subject"]
    body = parts(message)
    text, page = body["text/plain"], body["text/html"]
    assert "Edith Editor arra kéri" in text and "Találkozó: Site survey" in text, "written in Hungarian"
    assert '<html lang="hu">' in page
    # 08:00 UTC is 09:00 in Budapest in winter (10:00 in summer): the contact's clock, its zone named.
    local_hour = meeting.due_at.astimezone(ZoneInfo("Europe/Budapest")).strftime("%H")
    assert re.search(rf"\b{int(local_hour)}:00 CES?T\b", text)

    (url, token), *more = LINK.findall(text)
    assert more == [] and f'href="{url}"' in page
    assert url == f"http://localhost/v/{token}", "the address the ask was made on"
    link = vendor_links.find_open(session, token, utcnow(), vendor_links.LinkRules())
    assert link.commitment_id == meeting.id and link.contact_id == anna.id
    assert link.emailed_to == "anna@kovacs.test"
    # Delivered, the outbox's copy forgets the token: the database holds it nowhere but hashed.
    kept = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == anna.email)).one()
    assert token not in kept.body_text and token not in kept.body_html
    assert "/v/…" in kept.body_text


def test_the_owner_hears_of_a_proposal_with_the_commitments_address_and_the_contact_of_our_decision(
    app, client, session, smtp: MailServer, editor, meeting, anna
):
    editor.locale = "pl"
    session.commit()
    link, _token = vendor_links.ask(
        session,
        meeting,
        contact=anna,
        actor=editor,
        now=utcnow(),
        rules=vendor_links.LinkRules(),
        send_email=False,
    )
    with mail.mail_context(app):  # the contact's page, on the public address
        vendor_links.propose(
            session,
            link,
            due_at=meeting.due_at + timedelta(days=1),
            reason="A surveyor <b>fell ill</b>.",
            now=utcnow(),
            address="203.0.113.9",
        )
    session.commit()
    assert jobs.run("outbox", session, utcnow())["sent"] == 1

    (told_owner,) = smtp.to(editor.email)
    assert told_owner["Content-Language"] == "pl"
    assert "Kovács Anna" in told_owner["Subject"] and "Site survey" in told_owner["Subject"]
    body = parts(told_owner)
    commitment_url = f"{BASE_URL}/commitments/{meeting.id}"
    assert commitment_url in body["text/plain"] and f'href="{commitment_url}"' in body["text/html"]
    assert "A surveyor <b>fell ill</b>." in body["text/plain"]
    assert "A surveyor &lt;b&gt;fell ill&lt;/b&gt;." in body["text/html"]

    client.login(editor)
    (answer,) = session.scalars(sa.select(VendorAnswer)).all()
    note = "Tuesday <i>suits</i> us better."
    assert client.submit(f"/vendor-answers/{answer.id}/decline", {"decision_note": note}).status_code == 302
    assert jobs.run("outbox", session, utcnow())["sent"] == 1
    (told_contact,) = smtp.to("anna@kovacs.test")
    assert told_contact["Content-Language"] == "hu"
    body = parts(told_contact)
    assert note in body["text/plain"] and "Tuesday &lt;i&gt;suits&lt;/i&gt; us better." in body["text/html"]
    assert not LINK.search(body["text/plain"]), "the token is sent once, in the ask, never again"
