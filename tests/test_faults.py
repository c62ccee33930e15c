"""Faults: a scheduler killed mid-run or down for hours, a mail server away for an hour, a database gone.

Each test breaks one real part (the scheduler process, the SMTP server, the database connection) and
asserts what the users see afterwards: every digest once, every message delivered, a clean 503.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import mailserver
from tests.conftest import NOW, _pg_url, make_app
from tests.mailserver import MailServer, app_with, smtp_settings
from tests.test_jobs import job_environment, many_users, outbox
from vendortrack import jobs, mail
from vendortrack.database import write_intent
from vendortrack.errors import RETRY_AFTER_SECONDS
from vendortrack.extensions import db
from vendortrack.models import MailKind, MailState, OutboxMessage
from vendortrack.security import HEADERS
from vendortrack.timeutil import utcnow

ROOT = Path(__file__).resolve().parent.parent
WARSAW = "Europe/Warsaw"  # UTC+2 in July: Monday 08:00 there is 06:00 UTC
MONDAY_8_WARSAW = datetime(2026, 7, 6, 6, 0, tzinfo=UTC)  # the Monday after NOW


@pytest.fixture
def smtp() -> MailServer:
    """The server the app sends through; it listens only inside `mailserver.serving(smtp)`."""
    return MailServer()


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


def wait_for(condition, seconds: float, poll: float = 0.02) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def outbox_states(session) -> Counter[str]:
    """The outbox by state, read in a short transaction that holds no write lock against the scheduler."""
    intent = write_intent.set(False)
    try:
        rows = session.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))
        found = Counter({str(state): count for state, count in rows})
        session.commit()
    finally:
        write_intent.reset(intent)
    return found


def start_scheduler(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def outbox_writes_held(database_url: str) -> Iterator[None]:
    """No process may change the outbox inside: a sender that wants to mark a message sent waits."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        lock = sqlite3.connect(url.database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # writers wait for it up to their busy timeout (10 s)
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    engine = sa.create_engine(_pg_url(database_url))
    try:
        with engine.connect() as lock:
            lock.execute(sa.text("LOCK TABLE outbox_message IN EXCLUSIVE MODE"))  # reads still pass
            yield
            lock.rollback()
    finally:
        engine.dispose()


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


# -- the scheduler killed in the middle of a digest run ------------------------------------------------


def test_a_scheduler_killed_mid_digest_run_and_restarted_sends_the_rest_and_repeats_only_the_one_in_flight(
    session, smtp: MailServer, database_url, tmp_path
):
    readers = many_users(session, "reader", 40)
    # A run a week ago put each reader's digest on the last Monday 08:00: due as the scheduler starts.
    jobs.run("digests", session, utcnow() - timedelta(days=8))
    session.commit()
    env = job_environment(database_url, tmp_path / "instance", smtp)
    env["VENDORTRACK_SCHEDULER_TICK_SECONDS"] = "1"
    log = tmp_path / "scheduler.log"
    # The worst moment for the kill: the server has accepted the 6th message, the outbox does not know.
    smtp.hold_after(5)

    with mailserver.serving(smtp):
        first = start_scheduler(env, log)
        try:
            assert wait_for(lambda: smtp.held or first.poll() is not None, 90), log.read_text()
            assert first.poll() is None, log.read_text()
            with outbox_writes_held(database_url):
                smtp.release()  # the server takes the message and answers 250...
                assert wait_for(lambda: len(smtp.received) == 6, 30)
                kill(first)  # ...and the sender dies before it can mark the message sent
        finally:
            kill(first)
        at_kill = outbox_states(session)
        in_flight = set(
            session.scalars(
                sa.select(OutboxMessage.message_id).where(OutboxMessage.state == MailState.sending)
            )
        )
        session.commit()
        assert at_kill == {MailState.sent: 5, MailState.sending: 1, MailState.queued: len(readers) - 6}

        second = start_scheduler(env, log)
        try:
            all_but_one = len(readers) - 1
            rest_sent = wait_for(lambda: outbox_states(session)[MailState.sent] == all_but_one, 90, poll=0.1)
            assert rest_sent, (outbox_states(session), log.read_text())
            # A claim younger than the stale-claim timeout is left alone: it might be a live sender's.
            assert outbox_states(session)[MailState.sending] == 1
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0, log.read_text()
        finally:
            kill(second)

        # Once the timeout has passed (as the restarted scheduler would see it), the message is retried.
        later = jobs.run("outbox", session, utcnow() + mail.STALE_CLAIM + timedelta(minutes=1))
        assert later == {"sent": 1, "retried": 0, "failed": 0}

    rows = outbox(session, MailKind.digest)
    assert {row.state for row in rows} == {MailState.sent}
    assert sorted(row.recipient for row in rows) == sorted(reader.email for reader in readers)
    delivered = Counter(message["Message-ID"].strip() for message in smtp.received)
    assert set(delivered) == {row.message_id for row in rows}  # every subscriber's digest arrived
    # At least once: the message the server took as the sender died was never marked sent, so it went
    # again, under the same Message-ID (which lets a mail client show it once). Nothing else twice.
    assert {message_id for message_id, count in delivered.items() if count > 1} == in_flight
    assert max(delivered.values()) == 2 and len(smtp.received) == len(readers) + 1


# -- the scheduler down across the digest hour ---------------------------------------------------------


def test_a_scheduler_down_for_three_hours_across_monday_8_sends_one_digest_per_user_when_it_returns(
    session, smtp: MailServer
):
    readers = many_users(session, "reader", 12)
    for reader in readers:
        reader.timezone = WARSAW
    session.commit()
    # Running as usual up to five minutes before Monday 08:00 on the readers' clock...
    for moment in (NOW, MONDAY_8_WARSAW - timedelta(days=1), MONDAY_8_WARSAW - timedelta(minutes=5)):
        assert jobs.run("digests", session, moment)["queued"] == 0
    # ...then down from 08:00 to 11:00 there, and back.
    back = MONDAY_8_WARSAW + timedelta(hours=3)
    assert jobs.run("digests", session, back) == {"due": 12, "queued": 12}
    for moment in (back + timedelta(minutes=5), back + timedelta(hours=1), back + timedelta(days=6)):
        assert jobs.run("digests", session, moment) == {"due": 0, "queued": 0}

    with mailserver.serving(smtp):
        assert jobs.run("outbox", session, back)["sent"] == 12
        assert Counter(message["To"] for message in smtp.received) == Counter({r.email: 1 for r in readers})
        # Late, but about the week that ended at 08:00, as an on-time run would have sent it.
        subjects = {message["Subject"] for message in smtp.received}
        assert subjects == {"Vendor digest for the week of June 29, 2026"}
        assert {row.period_key for row in outbox(session, MailKind.digest)} == {"2026-W28"}

        # The next week is on time again, and once.
        next_monday = MONDAY_8_WARSAW + timedelta(days=7)
        assert jobs.run("digests", session, next_monday - timedelta(minutes=5))["queued"] == 0
        assert jobs.run("digests", session, next_monday)["queued"] == 12
        assert jobs.run("digests", session, next_monday + timedelta(minutes=5))["queued"] == 0
        assert jobs.run("outbox", session, next_monday)["sent"] == 12

    assert Counter(message["To"] for message in smtp.received) == Counter({r.email: 2 for r in readers})
    weeks = Counter(row.period_key for row in outbox(session, MailKind.digest))
    assert weeks == {"2026-W28": 12, "2026-W29": 12}


# -- the mail server down for an hour ------------------------------------------------------------------


def test_mail_waits_in_the_outbox_through_an_hour_without_a_mail_server_and_goes_out_once_after(
    app, session, smtp: MailServer
):
    retry, attempts = app.config["VENDORTRACK_MAIL_RETRY"], app.config["VENDORTRACK_MAIL_MAX_ATTEMPTS"]
    # The settings ride out the outage: the last attempt comes more than an hour after the first.
    assert sum((mail.backoff(n, retry) for n in range(1, attempts)), timedelta()) > timedelta(hours=1)
    recipients = [f"owner{n}@example.test" for n in range(3)]
    for recipient in recipients:
        mail.queue(
            session,
            recipient=recipient,
            kind=MailKind.reminder,
            period_key="outage",
            rendered=mail.Rendered("Due soon", "The text", "<p>The html</p>"),
            now=NOW,
        )
    session.commit()

    tried_at = []
    for minute in range(61):  # the scheduler's outbox job, once a minute, with nobody listening
        done = jobs.run("outbox", session, NOW + timedelta(minutes=minute))
        assert done["sent"] == done["failed"] == 0
        if done["retried"]:
            assert done["retried"] == 3
            tried_at.append(minute)
        assert {row.state for row in outbox(session)} == {MailState.queued}

    # The gap doubles, 1, 2, 4, 8, 16 minutes, and then stays at the 30-minute ceiling.
    assert tried_at == [0, 1, 3, 7, 15, 31]
    for row in outbox(session):
        assert (row.attempts, row.next_attempt_at) == (6, NOW + timedelta(minutes=61))
        assert "ConnectionRefusedError" in row.last_error and row.sent_at is None

    with mailserver.serving(smtp):  # back after the hour
        back = jobs.run("outbox", session, NOW + timedelta(minutes=61))
        assert back == {"sent": 3, "retried": 0, "failed": 0}
        for minute in range(62, 70):
            assert jobs.run("outbox", session, NOW + timedelta(minutes=minute))["sent"] == 0

    assert sorted(message["To"] for message in smtp.received) == recipients
    assert sorted(message["Message-ID"].strip() for message in smtp.received) == sorted(
        row.message_id for row in outbox(session)
    )
    for row in outbox(session):
        assert (row.state, row.attempts, row.last_error) == (MailState.sent, 7, "")
        assert row.sent_at == NOW + timedelta(minutes=61)


def test_the_wait_between_attempts_stops_growing_at_half_an_hour():
    base = timedelta(minutes=1)
    assert [mail.backoff(n, base) for n in (1, 2, 5, 6, 7, 50)] == [
        timedelta(minutes=m) for m in (1, 2, 16, 30, 30, 30)
    ]
    assert mail.backoff(3, timedelta(hours=2)) == timedelta(hours=2)  # a longer base is kept as set


# -- the database away ---------------------------------------------------------------------------------


def database_gone(**kwargs):
    raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_database_error_in_a_view_is_a_503_json_error_under_the_api_and_a_page_elsewhere(app: Flask):
    app.add_url_rule("/api/v1/database-gone", view_func=database_gone)
    app.add_url_rule("/database-gone", view_func=database_gone)
    client = app.test_client()

    api = client.get("/api/v1/database-gone")
    assert_unavailable(api)
    assert api.json["error"]["code"] == "unavailable"
    assert "database cannot be reached" in api.json["error"]["message"]

    page = client.get("/database-gone")
    assert_unavailable(page)
    assert page.mimetype == "text/html"
    assert "Unavailable for a moment" in page.get_data(as_text=True)


def test_with_the_database_unreachable_a_signed_in_page_and_an_api_call_answer_503_not_500(tmp_path):
    closed = mailserver.free_port()  # nothing listens there: every connection is refused
    app = make_app(f"postgresql://postgres@127.0.0.1:{closed}/vendortrack", tmp_path / "instance")
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "a-session-token"  # signed in: the page must look the user up
    try:
        page = client.get("/vendors/")
        assert_unavailable(page)
        text = page.get_data(as_text=True)
        assert "Unavailable for a moment" in text and "Sign out" not in text  # shown as to a visitor

        api = client.get("/api/v1/vendors", headers={"Authorization": "Bearer vt_not-checkable-now"})
        assert_unavailable(api)
        assert api.json["error"]["code"] == "unavailable"
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_database_gone_just_after_the_view_answered_still_sends_the_answer_and_the_next_request_reconnects(
    database_url, tmp_path
):
    if sa.make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a SQLite file has no server to go away")
    app = make_app(database_url, tmp_path / "instance")
    other = sa.create_engine(_pg_url(database_url), isolation_level="AUTOCOMMIT")

    def read_then_lose_the_connection():
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with other.connect() as connection:  # as `pg_ctl stop -m fast` does to every backend
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            gone = sa.text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid")
            assert wait_for(lambda: connection.execute(gone, {"pid": backend}).scalar(), 10)
        return "the vendors, read before the database went"

    def read():
        return str(db.session.scalar(sa.text("SELECT 1")))

    app.add_url_rule("/read-then-gone", view_func=read_then_lose_the_connection)
    app.add_url_rule("/read", view_func=read)
    client = app.test_client()
    try:
        # The request's session ends with a ROLLBACK on the dead connection: the answer still goes out.
        response = client.get("/read-then-gone")
        assert (response.status_code, response.get_data(as_text=True)) == (
            200,
            "the vendors, read before the database went",
        )
        assert response.headers["X-Frame-Options"] == HEADERS["X-Frame-Options"]
        assert client.get("/read").get_data(as_text=True) == "1"
    finally:
        other.dispose()
        with app.app_context():
            db.engine.dispose()
