"""`flask jobs run`: a --dry-run of any job writes and sends nothing; a --now ahead of the clock needs --force."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import mailserver
from tests.conftest import NOW
from tests.mailserver import app_with, smtp_settings
from vendortrack import ledger, mail
from vendortrack.extensions import db
from vendortrack.models import Commitment, Kind, MailKind, MailState, OutboxMessage, Role, User
from vendortrack.timeutil import utcnow

BASE_URL = "https://vendortrack.test"  # VENDORTRACK_BASE_URL in smtp_settings


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    # SMTP configured, and a mail folder named too: a dry run must reach neither.
    with app_with(
        database_url,
        tmp_path / "instance",
        VENDORTRACK_MAIL_DIR=str(tmp_path / "mail"),
        **smtp_settings(smtp),
    ) as app:
        yield app


@pytest.fixture
def flask_cli(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        db.session.commit()  # the test's transaction ends first: on SQLite it holds the write lock
        return runner.invoke(args=["jobs", "run", *args])

    return run


def log(session, vendor, owner, title: str, due_at, logged_at):
    return ledger.log_commitment(
        session, vendor=vendor, kind=Kind.promise, title=title, actor=owner, due_at=due_at, now=logged_at
    )


@pytest.fixture
def work(session, make_user, make_vendor):
    """Something for every job at NOW: an overdue promise, one due in two hours, a digest due, a queued email."""
    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    overdue = log(session, acme, ann, "The brochure quote", NOW - timedelta(days=3), NOW - timedelta(days=13))
    soon = log(session, acme, ann, "The banner proof", NOW + timedelta(hours=2), NOW - timedelta(days=5))
    ann.digest_enabled, ann.digest_next_at = True, NOW - timedelta(hours=1)
    mail.queue(
        session,
        recipient="bob@example.test",
        kind=MailKind.reminder,
        period_key="earlier",
        rendered=mail.Rendered("Due soon: 1 commitment", "The catalogue", ""),
        now=NOW - timedelta(minutes=5),
    )
    session.commit()
    return {"ann": ann, "overdue": overdue, "soon": soon}


def everything(session) -> dict[str, list[tuple]]:
    """Every row of every table: the database as a whole, to compare before and after."""
    rows = {
        table.name: sorted(session.execute(sa.select(table)).all(), key=repr)
        for table in db.metadata.sorted_tables
    }
    session.commit()
    return rows


def nothing_was_sent(smtp, tmp_path) -> bool:
    return smtp.received == [] and not any((tmp_path / "mail").glob("*"))


def test_a_dry_run_of_the_overdue_sweep_names_what_it_would_flag_and_mail_and_changes_nothing(
    session, flask_cli, work, smtp, tmp_path
):
    before = everything(session)

    result = flask_cli("overdue", "--dry-run", "--now", NOW.isoformat())

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "overdue, dry run (nothing written, nothing sent): flagged=1, emails=1"
    assert (
        f"Would flag as overdue: #{work['overdue'].id} The brochure quote (Acme Printing), "
        f"due 2026-06-27 12:00 UTC, owner ann@example.test"
    ) in lines
    assert (
        "Would queue: overdue email to ann@example.test: 1 commitment is overdue: what happened? (attempt 1)"
    ) in lines
    assert "The banner proof" not in result.output
    assert everything(session) == before
    assert nothing_was_sent(smtp, tmp_path)

    # What it described is what the real run then does.
    real = flask_cli("overdue", "--now", NOW.isoformat())
    assert real.output == "overdue: flagged=1, emails=1\n"
    assert session.get(Commitment, work["overdue"].id).flagged_overdue_at == NOW


def test_a_dry_run_of_the_reminders_names_the_commitment_due_soon_and_changes_nothing(
    session, flask_cli, work, smtp, tmp_path
):
    before = everything(session)

    result = flask_cli("reminders", "--dry-run", "--now", NOW.isoformat())

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "reminders, dry run (nothing written, nothing sent): reminded=1, emails=1"
    assert (
        f"Would remind: #{work['soon'].id} The banner proof (Acme Printing), due 2026-06-30 14:00 UTC, "
        "owner ann@example.test"
    ) in lines
    assert "Would queue: reminder email to ann@example.test: Due soon: 1 commitment (attempt 1)" in lines
    assert everything(session) == before
    assert nothing_was_sent(smtp, tmp_path)


def test_a_dry_run_of_the_digests_names_who_would_get_one_and_changes_nothing(
    session, flask_cli, work, smtp, tmp_path
):
    before = everything(session)

    result = flask_cli("digests", "--dry-run", "--now", NOW.isoformat())

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "digests, dry run (nothing written, nothing sent): due=1, queued=1"
    (line,) = [line for line in lines if line.startswith("Would queue: digest email to ann@example.test: ")]
    assert "Vendor digest for the week of" in line
    assert everything(session) == before
    assert session.get(User, work["ann"].id).digest_next_at == NOW - timedelta(hours=1)
    assert nothing_was_sent(smtp, tmp_path)


def test_a_dry_run_of_the_outbox_lists_what_is_due_and_delivers_nothing(
    session, flask_cli, work, smtp, tmp_path
):
    before = everything(session)

    result = flask_cli("outbox", "--dry-run", "--now", NOW.isoformat())

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "outbox, dry run (nothing written, nothing sent): due=1",
        "Would deliver: reminder email to bob@example.test: Due soon: 1 commitment (attempt 1)",
    ]
    assert everything(session) == before
    assert nothing_was_sent(smtp, tmp_path)

    # The real run delivers exactly that one.
    assert flask_cli("outbox", "--now", NOW.isoformat()).output == "outbox: sent=1, retried=0, failed=0\n"
    assert [m["To"] for m in smtp.received] == ["bob@example.test"]
    assert session.scalars(sa.select(OutboxMessage.state)).all() == [MailState.sent]


def test_a_dry_run_without_now_runs_as_of_the_clock(session, flask_cli, work, smtp, tmp_path):
    before = everything(session)

    result = flask_cli("overdue", "--dry-run")

    assert result.exit_code == 0, result.output
    # By today's clock, months after NOW, the banner proof is long overdue too.
    assert result.output.startswith("overdue, dry run (nothing written, nothing sent): flagged=2, emails=1\n")
    assert everything(session) == before
    assert nothing_was_sent(smtp, tmp_path)


def test_a_now_ahead_of_the_clock_is_refused_unless_forced_and_a_dry_run_of_it_is_allowed(
    session, flask_cli, work, smtp, tmp_path
):
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    before = everything(session)

    refused = flask_cli("overdue", "--now", tomorrow)

    assert refused.exit_code != 0
    assert f"--now {tomorrow} is ahead of the clock" in refused.output
    assert (
        "Nothing was run. See what it would do with --dry-run, or run it anyway with --force."
        in refused.output
    )
    assert everything(session) == before

    looked = flask_cli("overdue", "--now", tomorrow, "--dry-run")
    assert looked.exit_code == 0, looked.output
    assert "flagged=2" in looked.output.splitlines()[0]
    assert everything(session) == before

    forced = flask_cli("overdue", "--now", tomorrow, "--force")
    assert forced.output == "overdue: flagged=2, emails=1\n"
    assert session.get(Commitment, work["overdue"].id).flagged_overdue_at is not None
    assert nothing_was_sent(smtp, tmp_path)  # queued, not yet delivered


def test_a_now_a_minute_ahead_passes_for_the_same_moment(session, flask_cli, work):
    # Two machines' clocks disagree by seconds, not days: a small skew is not the future.
    result = flask_cli("overdue", "--now", (utcnow() + timedelta(minutes=1)).isoformat())

    assert result.exit_code == 0, result.output
    assert result.output == "overdue: flagged=2, emails=1\n"
