"""The scheduler process: runs every job each tick, in UTC, stops cleanly on SIGTERM; the web app never starts it."""

from __future__ import annotations

import email
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from apscheduler.schedulers.base import BaseScheduler
from flask_migrate import upgrade

from tests.conftest import PASSWORD, make_app
from vendortrack import jobs, ledger, scheduler
from vendortrack.accounts import create_user
from vendortrack.extensions import db
from vendortrack.models import Kind, Role
from vendortrack.timeutil import utcnow
from vendortrack.vendors import create_vendor

ROOT = Path(__file__).resolve().parent.parent
TICKING = {"overdue", "unanswered", "reminders", "digests", "outbox"}
NIGHTLY = {"tally", "attempts"}  # when the scheduler starts, then once a night


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def installation(tmp_path):
    """A migrated SQLite database holding one commitment three days overdue, and where its mail goes."""
    url = f"sqlite:///{tmp_path / 'vendortrack.sqlite'}"
    app = make_app(url, tmp_path / "instance")
    now = utcnow()
    with app.app_context():
        upgrade()
        owner = create_user(
            db.session,
            email="owner@example.test",
            password=PASSWORD,
            role=Role.editor,
            now=now - timedelta(days=30),
        )
        vendor = create_vendor(db.session, name="Acme Printing", now=now - timedelta(days=30))
        ledger.log_commitment(
            db.session,
            vendor=vendor,
            kind=Kind.promise,
            title="The brochure quote",
            due_at=now - timedelta(days=3),
            actor=owner,
            now=now - timedelta(days=10),
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VENDORTRACK_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env |= {
        "DATABASE_URL": url,
        "VENDORTRACK_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "scheduler-test-key",
        "VENDORTRACK_CONFIG": "development",
        "VENDORTRACK_SCHEDULER_TICK_SECONDS": "1",
        "VENDORTRACK_MAIL_DIR": str(tmp_path / "mail"),
    }
    return {
        "database": tmp_path / "vendortrack.sqlite",
        "mail": tmp_path / "mail",
        "env": env,
        "log": tmp_path / "scheduler.log",
    }


def read(database: Path, sql: str) -> list[tuple]:
    """A read-only look from outside, as an operator would take: no lock held against the scheduler."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_the_scheduler_process_flags_mails_and_records_every_job_each_tick_then_stops_on_sigterm(
    installation,
):
    database, mail_dir = installation["database"], installation["mail"]
    with installation["log"].open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
            cwd=ROOT,
            env=installation["env"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def finished_runs() -> dict[str, int]:
            rows = read(
                database, "SELECT job, count(*) FROM job_run WHERE finished_at IS NOT NULL GROUP BY job"
            )
            return dict(rows)

        # Every job ran, and ran again a tick later: the scheduler keeps going.
        ticking = wait_for(
            lambda: (
                set(finished_runs()) == TICKING | NIGHTLY
                and min(finished_runs()[job] for job in TICKING) >= 2
            ),
            30,
        )
        assert ticking, (finished_runs(), installation["log"].read_text())
        assert process.poll() is None

        assert read(database, "SELECT count(*) FROM commitment WHERE flagged_overdue_at IS NOT NULL") == [
            (1,)
        ]
        assert read(database, "SELECT count(*) FROM ledger_event WHERE action = 'flagged_overdue'") == [(1,)]
        assert read(database, "SELECT error FROM job_run WHERE error != ''") == []

        assert wait_for(lambda: any(mail_dir.glob("*.eml")), 10), installation["log"].read_text()
        (eml,) = mail_dir.glob("*.eml")
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["To"] == "owner@example.test"
        assert message["Subject"] == "1 commitment is overdue: what happened?"
        assert "The brochure quote" in message.get_body(("plain",)).get_content()
        assert read(database, "SELECT state FROM outbox_message") == [("sent",)]

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, installation["log"].read_text()
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_scheduler_ticks_five_jobs_in_utc_and_checks_the_tally_nightly_with_a_grace_for_misfires(
    tmp_path,
):
    app = make_app(
        f"sqlite:///{tmp_path / 'unused.sqlite'}",
        tmp_path / "instance",
        VENDORTRACK_SCHEDULER_TICK_SECONDS="60",
    )
    built = scheduler.build(app)
    # Job defaults are applied when the scheduler starts: start it paused, so nothing runs.
    runner = threading.Thread(target=built.start, kwargs={"paused": True}, daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: built.running, 5)
        found = {job.id: job for job in built.get_jobs()}
        assert set(found) == TICKING | NIGHTLY == set(jobs.JOBS)
        assert built.timezone.utcoffset(None) == timedelta(0) and str(built.timezone) == "UTC"
        for job in found.values():
            assert job.misfire_grace_time >= 300
            assert job.coalesce is True
            assert job.max_instances == 1
        for name in TICKING:
            assert found[name].trigger.interval == timedelta(seconds=60)
            assert str(found[name].trigger.timezone) == "UTC"
        # At 03:00 on the installation's clock (UTC unless set), the quiet hour of a small business.
        nightly = found["tally"].trigger
        assert str(nightly.timezone) == "UTC"
        assert {f.name: str(f) for f in nightly.fields}["hour"] == "3"
    finally:
        built.shutdown(wait=False)
        runner.join(5)
    assert not runner.is_alive()


def test_creating_the_app_and_serving_a_request_never_starts_a_scheduler(database_url, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *args, **kwargs: started.append(self))

    app = make_app(database_url, tmp_path / "instance")
    response = app.test_client().get("/auth/login")
    with app.app_context():
        db.engine.dispose()

    assert response.status_code == 200
    assert started == []
    assert not [t.name for t in threading.enumerate() if "apscheduler" in t.name.lower()]
