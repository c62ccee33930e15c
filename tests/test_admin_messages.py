"""The admin reads one stored email from the outbox: its details, its text and its HTML, as sent."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from vendortrack import jobs
from vendortrack.ledger import log_commitment
from vendortrack.models import Kind, MailKind, MailState, OutboxMessage, Role
from vendortrack.timeutil import utcnow
from vendortrack.views.api.schemas import ROW_ID_MAX


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin_client(client, admin):
    client.login(admin)
    return client


@pytest.fixture
def add_message(session):
    def add(state: MailState = MailState.queued, body_html: str = "", **values) -> OutboxMessage:
        key = uuid.uuid4().hex[:10]
        row = OutboxMessage(
            recipient="ann@example.test",
            kind=MailKind.digest,
            period_key=key,
            subject=f"Subject {key}",
            body_text="Hello",
            body_html=body_html,
            headers={},
            message_id=f"<{key}@example.test>",
            state=state,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
            **values,
        )
        session.add(row)
        session.commit()
        return row

    return add


@pytest.fixture
def overdue_email(session, make_vendor, editor) -> OutboxMessage:
    """The real email the overdue check queues for one commitment left without an outcome."""
    now = utcnow()
    due = now - timedelta(days=3)
    log_commitment(
        session,
        vendor=make_vendor(name="Acme Plumbing"),
        kind=Kind.promise,
        title="Send the quote",
        due_at=due,
        actor=editor,
        now=due - timedelta(days=1),
    )
    session.commit()
    jobs.run("overdue", session)
    return session.scalars(sa.select(OutboxMessage)).one()


def test_each_message_in_the_outbox_opens_from_its_subject(admin_client, overdue_email):
    outbox = admin_client.get("/admin/outbox").get_data(as_text=True)

    assert f'href="/admin/outbox/{overdue_email.id}">1 commitment is overdue: what happened?</a>' in outbox


def test_a_message_shows_who_it_went_to_and_its_text_as_sent(admin_client, overdue_email, editor):
    text = page(admin_client.get(f"/admin/outbox/{overdue_email.id}"))

    assert "<h1" in text and "1 commitment is overdue: what happened?</h1>" in text
    assert editor.email in text and "Overdue" in text and "Queued" in text and "Retry now" in text
    assert overdue_email.message_id in text
    shown_text = text[text.index('id="message-text">') + len('id="message-text">') : text.index("</pre>")]
    assert shown_text == overdue_email.body_text
    assert "Send the quote" in shown_text


def test_a_messages_html_is_framed_in_a_sandbox_and_served_as_it_was_stored(admin_client, overdue_email):
    text = admin_client.get(f"/admin/outbox/{overdue_email.id}").get_data(as_text=True)
    assert f'<iframe class="mail-frame" sandbox src="/admin/outbox/{overdue_email.id}/html"' in text

    framed = admin_client.get(f"/admin/outbox/{overdue_email.id}/html")

    assert framed.status_code == 200 and framed.mimetype == "text/html"
    assert framed.get_data(as_text=True) == overdue_email.body_html
    assert "Send the quote" in framed.get_data(as_text=True)


def test_html_in_a_message_can_never_run_script_or_load_anything(admin_client, add_message):
    message = add_message(
        body_html='<p style="color: red">Hi</p><script>alert(1)</script><img src="https://x.test/">'
    )

    framed = admin_client.get(f"/admin/outbox/{message.id}/html")

    policy = framed.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy
    assert "style-src 'unsafe-inline'" in policy  # styled as a mail client would show it
    assert "frame-ancestors 'self'" in policy and framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The app's other pages still refuse to be framed at all.
    assert (
        "frame-ancestors 'none'"
        in admin_client.get(f"/admin/outbox/{message.id}").headers["Content-Security-Policy"]
    )


def test_a_text_only_message_shows_its_text_and_no_frame(admin_client, add_message):
    message = add_message(MailState.sent, sent_at=utcnow(), attempts=1)

    text = page(admin_client.get(f"/admin/outbox/{message.id}"))

    assert "<iframe" not in text and "Hello</pre>" in text and "Retry now" not in text
    assert admin_client.get(f"/admin/outbox/{message.id}/html").status_code == 404


@pytest.mark.parametrize(
    "message_id", ["999999", str(ROW_ID_MAX + 1), "99999999999999999999", "0", "-1", "x"]
)
def test_an_unknown_message_is_not_found(admin_client, message_id):
    assert admin_client.get(f"/admin/outbox/{message_id}").status_code == 404
    assert admin_client.get(f"/admin/outbox/{message_id}/html").status_code == 404


@pytest.mark.parametrize("role", [Role.editor, Role.viewer])
def test_only_admins_read_messages(client, make_user, overdue_email, role):
    client.login(make_user(role))

    assert client.get(f"/admin/outbox/{overdue_email.id}").status_code == 403
    assert client.get(f"/admin/outbox/{overdue_email.id}/html").status_code == 403


def test_retrying_from_a_messages_page_comes_back_to_it(admin_client, add_message):
    failed = add_message(MailState.failed, attempts=3, last_error="550 no such user")

    response = admin_client.submit(f"/admin/outbox/{failed.id}/retry", {"next": f"/admin/outbox/{failed.id}"})

    assert response.headers["Location"] == f"/admin/outbox/{failed.id}"
    assert "550 no such user" in page(admin_client.get(f"/admin/outbox/{failed.id}"))


def test_a_state_with_no_messages_has_a_plain_count_and_failures_are_red(admin_client, add_message):
    add_message(MailState.sent, sent_at=utcnow(), attempts=1)

    text = admin_client.get("/admin/outbox").get_data(as_text=True)

    def badge(state: str) -> str:
        link = text[text.index(f'id="count-{state}"') :]
        return link[link.index("<span") : link.index("</span>")]

    assert badge("failed") == '<span class="badge text-bg-light">0'
    assert badge("sent") == '<span class="badge text-bg-success">1'

    add_message(MailState.failed, attempts=1)
    text = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert badge("failed") == '<span class="badge text-bg-danger">1'
