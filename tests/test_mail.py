"""Mail through a real SMTP server: each message once, retried with growing gaps, never hung, never lost."""

from __future__ import annotations

import email
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa

from tests import mailserver
from tests.conftest import NOW
from tests.mailserver import MailServer, app_with, smtp_settings
from vendortrack import jobs, ledger, mail
from vendortrack.extensions import db
from vendortrack.models import Kind, MailKind, MailState, OutboxMessage, Role

SENDER = "Vendortrack <ledger@vendortrack.test>"
MONDAY_8 = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)  # the Monday after NOW, 08:00 in UTC (the default zone)
BASE = timedelta(seconds=60)  # VENDORTRACK_MAIL_RETRY_SECONDS in smtp_settings


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def silent_server():
    with mailserver.silent_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


def overdue(session, vendor, owner, title: str, days: float = 3):
    """An open commitment whose date passed `days` ago with nothing logged."""
    return ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title=title,
        actor=owner,
        due_at=NOW - timedelta(days=days),
        now=NOW - timedelta(days=days + 7),
    )


def queue_one(session, recipient: str = "someone@example.test", now: datetime = NOW) -> OutboxMessage:
    mail.queue(
        session,
        recipient=recipient,
        kind=MailKind.reminder,
        period_key="test",
        rendered=mail.Rendered("A subject", "The text", "<p>The html</p>"),
        now=now,
    )
    session.commit()
    return the_row(session)


def the_row(session) -> OutboxMessage:
    return session.scalars(sa.select(OutboxMessage).execution_options(populate_existing=True)).one()


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


def test_overdue_mail_arrives_once_per_owner_with_text_and_html_and_a_stable_message_id(
    session, smtp: MailServer, make_user, make_vendor
):
    ann, bob = (
        make_user(Role.editor, email="ann@example.test"),
        make_user(Role.editor, email="bob@example.test"),
    )
    vendor = make_vendor("Acme Printing")
    overdue(session, vendor, ann, "Quote for the brochures")
    overdue(session, vendor, bob, "Proofs of the catalogue")
    session.commit()

    jobs.run("overdue", session, NOW)
    assert jobs.run("outbox", session, NOW) == {"sent": 2, "retried": 0, "failed": 0}

    assert sorted(m["To"] for m in smtp.received) == ["ann@example.test", "bob@example.test"]
    (message,) = smtp.to("ann@example.test")
    assert message["From"] == SENDER
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert "Quote for the brochures" in body["text/plain"]
    assert "Quote for the brochures" in body["text/html"]
    assert "Proofs of the catalogue" not in body["text/plain"]
    row = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == "ann@example.test")).one()
    assert message["Message-ID"].strip() == row.message_id
    assert row.state == MailState.sent and row.sent_at == NOW

    later = NOW + timedelta(hours=1)
    assert jobs.run("overdue", session, later)["emails"] == 0
    assert jobs.run("outbox", session, later)["sent"] == 0
    assert jobs.run("outbox", session, later + timedelta(days=1))["sent"] == 0
    assert len(smtp.attempts) == 2


def test_the_weekly_digest_arrives_once_per_subscriber_with_both_parts_and_an_unsubscribe_header(
    session, smtp: MailServer, make_user
):
    ann, bob = (
        make_user(Role.viewer, email="ann@example.test"),
        make_user(Role.editor, email="bob@example.test"),
    )
    make_user(Role.viewer, email="quiet@example.test").digest_enabled = False
    session.commit()

    jobs.run("digests", session, NOW)  # a Tuesday: the first digest waits for Monday
    assert jobs.run("outbox", session, NOW)["sent"] == 0
    jobs.run("digests", session, MONDAY_8)
    jobs.run("outbox", session, MONDAY_8)

    assert sorted(m["To"] for m in smtp.received) == [ann.email, bob.email]
    for message in smtp.received:
        assert message["From"] == SENDER
        assert {"text/plain", "text/html"} <= set(parts(message))
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://vendortrack.test/") and "unsubscribe" in unsubscribe
        row = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == message["To"])).one()
        assert (row.kind, message["Message-ID"].strip()) == (MailKind.digest, row.message_id)

    for moment in (MONDAY_8, MONDAY_8 + timedelta(hours=1), MONDAY_8 + timedelta(days=6, hours=23)):
        assert jobs.run("digests", session, moment)["queued"] == 0
        assert jobs.run("outbox", session, moment)["sent"] == 0
    assert len(smtp.attempts) == 2


@pytest.mark.parametrize(
    ("chosen", "language"), [pytest.param("pl", "pl", id="pl"), pytest.param(None, "en", id="en-by-default")]
)
def test_every_automatic_email_says_it_is_automatic_and_names_its_recipients_language(
    session, smtp: MailServer, make_user, make_vendor, chosen, language
):
    ola = make_user(Role.editor, email="ola@example.test")
    ola.locale = chosen
    vendor = make_vendor("Acme Printing")
    overdue(session, vendor, ola, "Quote for the brochures")
    ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Proofs of the catalogue",
        actor=ola,
        due_at=MONDAY_8 + timedelta(hours=6),
        now=NOW,
    )
    session.commit()

    jobs.run("overdue", session, NOW)
    jobs.run("digests", session, NOW)  # the first digest waits for Monday
    for job in ("reminders", "digests", "outbox"):
        jobs.run(job, session, MONDAY_8)

    rows = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.kind)).all()
    assert [row.kind for row in rows] == [MailKind.digest, MailKind.overdue, MailKind.reminder]
    assert len(smtp.to(ola.email)) == 3
    for message in smtp.to(ola.email):
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Content-Language"] == language
        assert f'<html lang="{language}">' in parts(message)["text/html"]


def test_a_server_answering_451_twice_gets_the_message_on_the_third_attempt_after_growing_gaps(
    session, smtp: MailServer
):
    smtp.defer(2)
    queue_one(session)

    assert jobs.run("outbox", session, NOW) == {"sent": 0, "retried": 1, "failed": 0}
    row = the_row(session)
    assert (row.state, row.attempts, row.next_attempt_at) == (MailState.queued, 1, NOW + BASE)
    assert row.last_error.startswith("451")

    assert jobs.run("outbox", session, NOW + BASE - timedelta(seconds=1))["retried"] == 0  # not yet
    second = NOW + BASE
    assert jobs.run("outbox", session, second)["retried"] == 1
    row = the_row(session)
    assert (row.state, row.attempts, row.next_attempt_at) == (MailState.queued, 2, second + 2 * BASE)

    assert jobs.run("outbox", session, second + 2 * BASE - timedelta(seconds=1))["sent"] == 0  # not yet
    third = second + 2 * BASE
    assert jobs.run("outbox", session, third)["sent"] == 1
    row = the_row(session)
    assert (row.state, row.attempts, row.sent_at, row.last_error) == (MailState.sent, 3, third, "")
    assert len(smtp.attempts) == 3 and len(smtp.received) == 1
    # The same message each time, so a server that did take an attempt can drop the repeat.
    assert {m["Message-ID"].strip() for m in smtp.attempts} == {row.message_id}


def test_a_message_still_refused_after_the_last_attempt_is_failed_with_its_error(app, session, smtp):
    app.config["VENDORTRACK_MAIL_MAX_ATTEMPTS"] = 2
    smtp.defer(100)
    queue_one(session)

    jobs.run("outbox", session, NOW)
    assert jobs.run("outbox", session, NOW + BASE) == {"sent": 0, "retried": 0, "failed": 1}
    row = the_row(session)
    assert (row.state, row.attempts) == (MailState.failed, 2)
    assert "451" in row.last_error
    assert jobs.run("outbox", session, NOW + timedelta(days=30))["failed"] == 0
    assert len(smtp.attempts) == 2


def test_a_550_marks_the_message_failed_with_the_error_and_it_is_not_retried(session, smtp: MailServer):
    smtp.refuse()
    queue_one(session)

    assert jobs.run("outbox", session, NOW) == {"sent": 0, "retried": 0, "failed": 1}
    row = the_row(session)
    assert (row.state, row.attempts, row.sent_at) == (MailState.failed, 1, None)
    assert row.last_error.startswith("550") and "No such mailbox" in row.last_error

    smtp.refuse(False)
    assert jobs.run("outbox", session, NOW + timedelta(days=30)) == {"sent": 0, "retried": 0, "failed": 0}
    assert len(smtp.attempts) == 1 and smtp.received == []


def run_outbox_in_the_background(app, now: datetime) -> tuple[threading.Thread, dict]:
    """The outbox job in a thread of its own, as the scheduler runs it; a hang shows as a live thread."""
    result: dict = {}
    db.session.commit()  # end the test's own transaction: on SQLite it holds the write lock

    def job():
        with app.app_context():
            result.update(jobs.run("outbox", db.session, now))

    thread = threading.Thread(target=job, name="outbox-job")
    thread.start()
    return thread, result


def test_a_server_that_never_answers_does_not_hold_the_outbox_job_past_its_timeout(
    app, session, silent_server
):
    app.config["VENDORTRACK_SMTP_PORT"] = silent_server.port
    app.config["VENDORTRACK_SMTP_TIMEOUT"] = 1
    queue_one(session)

    started = time.monotonic()
    thread, result = run_outbox_in_the_background(app, NOW)
    thread.join(10)
    elapsed = time.monotonic() - started

    assert not thread.is_alive(), "the outbox job hung on a server that never answers"
    assert silent_server.accepted == 1  # it did connect, and then waited for a greeting
    assert 0.9 <= elapsed < 5
    assert result == {"sent": 0, "retried": 1, "failed": 0}
    row = the_row(session)
    assert (row.state, row.attempts, row.next_attempt_at) == (MailState.queued, 1, NOW + BASE)
    assert "timed out" in row.last_error


def test_a_slow_mail_server_does_not_keep_anyone_from_logging_a_commitment(
    app, session, silent_server, editor, make_vendor
):
    app.config["VENDORTRACK_SMTP_PORT"] = silent_server.port
    app.config["VENDORTRACK_SMTP_TIMEOUT"] = 3
    vendor = make_vendor("Acme Printing")
    queue_one(session)

    thread, _result = run_outbox_in_the_background(app, NOW)
    try:
        deadline = time.monotonic() + 5
        while silent_server.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert silent_server.accepted == 1  # the job is now waiting on the server

        started = time.monotonic()
        ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.meeting,
            title="Kick-off",
            actor=editor,
            due_at=NOW + timedelta(days=2),
            now=NOW,
        )
        session.commit()
        assert time.monotonic() - started < 1.5
    finally:
        thread.join(10)
    assert not thread.is_alive()
    assert the_row(session).state == MailState.queued


def test_a_server_that_is_down_leaves_the_message_queued_for_a_retry(app, session, smtp, silent_server):
    silent_server.close()  # nothing listens on its port any more
    app.config["VENDORTRACK_SMTP_PORT"] = silent_server.port
    queue_one(session)

    assert jobs.run("outbox", session, NOW)["retried"] == 1
    row = the_row(session)
    assert (row.state, row.next_attempt_at) == (MailState.queued, NOW + BASE)
    assert "refused" in row.last_error.lower()


def test_the_folder_transport_writes_a_readable_eml_file(app, session, tmp_path):
    app.config["VENDORTRACK_SMTP_HOST"] = None  # the embedded default: no SMTP server, a folder
    app.config["VENDORTRACK_MAIL_DIR"] = folder = tmp_path / "mail"
    row = queue_one(session, recipient="ann@example.test")

    assert jobs.run("outbox", session, NOW)["sent"] == 1

    (path,) = folder.iterdir()
    assert path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert (message["To"], message["From"], message["Subject"]) == ("ann@example.test", SENDER, "A subject")
    assert message["Message-ID"].strip() == row.message_id
    assert parts(message) == {"text/plain": "The text\n", "text/html": "<p>The html</p>\n"}
    assert the_row(session).state == MailState.sent


def test_an_admin_retry_sends_a_failed_message_on_the_next_outbox_run(
    session, smtp: MailServer, client, admin
):
    smtp.refuse()
    queue_one(session, now=NOW)
    jobs.run("outbox", session, NOW)
    row = the_row(session)
    assert row.state == MailState.failed

    client.login(admin)
    response = client.submit(f"/admin/outbox/{row.id}/retry")
    assert response.status_code == 302
    row = the_row(session)
    assert (row.state, row.last_error.startswith("550")) == (MailState.queued, True)

    smtp.refuse(False)
    assert jobs.run("outbox", session, datetime.now(UTC) + timedelta(seconds=1))["sent"] == 1
    assert [m["Message-ID"].strip() for m in smtp.received] == [row.message_id]
    assert the_row(session).state == MailState.sent


def test_retry_now_gives_a_message_out_of_attempts_a_full_set_again(app, session, smtp):
    app.config["VENDORTRACK_MAIL_MAX_ATTEMPTS"] = 1
    smtp.defer(1)
    row = queue_one(session)
    jobs.run("outbox", session, NOW)
    row = the_row(session)
    assert (row.state, row.attempts) == (MailState.failed, 1)

    later = NOW + timedelta(hours=2)
    mail.retry_now(row, later)
    session.commit()
    assert jobs.run("outbox", session, later)["sent"] == 1
    assert len(smtp.received) == 1
