"""The scheduled jobs: overdue flags, reminders and digests go out once, even with two runs at the same moment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests import mailserver
from tests.catalogs import catalog
from tests.conftest import NOW, _pg_url
from tests.mailserver import MailServer, app_with, smtp_settings
from vendortrack import jobs, ledger
from vendortrack.extensions import db
from vendortrack.models import (
    Commitment,
    EventAction,
    JobRun,
    Kind,
    LedgerEvent,
    LoginAttempt,
    MailKind,
    MailState,
    OutboxMessage,
    Role,
    User,
)
from vendortrack.throttle import Limits, record_attempt, retry_after

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://vendortrack.test"  # VENDORTRACK_BASE_URL in smtp_settings
GRACE = timedelta(hours=24)  # VENDORTRACK_GRACE_HOURS' default
MONDAY_8 = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)  # the Monday after NOW (a Tuesday), 08:00 UTC


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


def commitment(session, vendor, owner, title: str, due_at: datetime, kind: Kind = Kind.promise):
    return ledger.log_commitment(
        session,
        vendor=vendor,
        kind=kind,
        title=title,
        actor=owner,
        due_at=due_at,
        now=min(due_at, NOW) - timedelta(days=10),
    )


def outbox(session, kind: MailKind | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id).execution_options(populate_existing=True)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(session.scalars(query))


def flag_events(session) -> Counter[int]:
    return Counter(
        session.scalars(
            sa.select(LedgerEvent.commitment_id).where(LedgerEvent.action == EventAction.flagged_overdue)
        )
    )


def link(c: Commitment) -> str:
    return f"{BASE_URL}/commitments/{c.id}"


# -- overdue ---------------------------------------------------------------------------------------


def test_an_open_commitment_past_due_and_grace_is_flagged_once_and_its_owner_asked_in_one_email(
    session, make_user, make_vendor
):
    ann, bob = (
        make_user(Role.editor, email="ann@example.test"),
        make_user(Role.editor, email="bob@example.test"),
    )
    acme, globex = make_vendor("Acme Printing"), make_vendor("Globex IT")
    anns = [
        commitment(session, acme, ann, "Brochure quote", NOW - timedelta(days=3)),
        commitment(session, globex, ann, "Server migration", NOW - GRACE - timedelta(minutes=1)),
        commitment(session, globex, ann, "Kick-off meeting", NOW - timedelta(days=9), Kind.meeting),
    ]
    bobs = commitment(session, acme, bob, "Catalogue proofs", NOW - timedelta(days=2))
    within_grace = commitment(session, acme, ann, "Invoice correction", NOW - GRACE + timedelta(hours=1))
    kept = commitment(session, acme, ann, "Delivered banner", NOW - timedelta(days=5))
    ledger.resolve_kept(session, kept, actor=ann, now=NOW - timedelta(days=5))
    upcoming = commitment(session, acme, ann, "Next quote", NOW + timedelta(days=5))
    session.commit()

    assert jobs.run("overdue", session, NOW) == {"flagged": 4, "emails": 2}

    for c in [*anns, bobs]:
        assert c.flagged_overdue_at == NOW
    for c in (within_grace, kept, upcoming):
        assert c.flagged_overdue_at is None
    assert flag_events(session) == Counter({c.id: 1 for c in [*anns, bobs]})

    (to_ann,) = [m for m in outbox(session) if m.recipient == ann.email]
    assert to_ann.kind == MailKind.overdue and to_ann.subject == "3 commitments are overdue: what happened?"
    for c in anns:
        assert c.title in to_ann.body_text and link(c) in to_ann.body_text and link(c) in to_ann.body_html
    for c in (within_grace, kept, upcoming, bobs):
        assert c.title not in to_ann.body_text
    (to_bob,) = [m for m in outbox(session) if m.recipient == bob.email]
    assert link(bobs) in to_bob.body_text and to_bob.subject == "1 commitment is overdue: what happened?"

    # A rerun, a minute or an hour later, flags nothing and asks nobody again.
    for later in (NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=59)):
        assert jobs.run("overdue", session, later) == {"flagged": 0, "emails": 0}
    assert len(outbox(session)) == 2
    assert flag_events(session) == Counter({c.id: 1 for c in [*anns, bobs]})

    # Once its grace is over, the last one is flagged in a run of its own: a new email, about it alone.
    assert jobs.run("overdue", session, NOW + timedelta(hours=1)) == {"flagged": 1, "emails": 1}
    newest = outbox(session)[-1]
    assert newest.recipient == ann.email and newest.subject == "1 commitment is overdue: what happened?"
    assert link(within_grace) in newest.body_text and link(anns[0]) not in newest.body_text


def test_an_overdue_commitment_of_a_disabled_owner_is_flagged_but_nobody_is_mailed(
    session, make_user, make_vendor
):
    gone = make_user(Role.editor, email="gone@example.test")
    c = commitment(session, make_vendor(), gone, "Old promise", NOW - timedelta(days=3))
    gone.disabled_at = NOW - timedelta(days=1)
    session.commit()

    assert jobs.run("overdue", session, NOW) == {"flagged": 1, "emails": 0}
    assert c.flagged_overdue_at == NOW and outbox(session) == []


# -- reminders -------------------------------------------------------------------------------------


def test_a_commitment_due_within_the_lead_time_gets_one_due_soon_email_per_owner_and_never_another(
    session, make_user, make_vendor
):
    ann, bob = (
        make_user(Role.editor, email="ann@example.test"),
        make_user(Role.editor, email="bob@example.test"),
    )
    vendor = make_vendor("Acme Printing")
    soon = commitment(session, vendor, ann, "Site visit", NOW + timedelta(hours=5), Kind.meeting)
    tomorrow = commitment(session, vendor, ann, "Quote by noon", NOW + timedelta(hours=23, minutes=59))
    bobs = commitment(session, vendor, bob, "Proofs", NOW + timedelta(hours=20))
    later = commitment(session, vendor, ann, "Milestone 2", NOW + timedelta(hours=30), Kind.deadline)
    past = commitment(session, vendor, ann, "Missed call", NOW - timedelta(hours=2))
    session.commit()

    assert jobs.run("reminders", session, NOW) == {"reminded": 3, "emails": 2}

    (to_ann,) = [m for m in outbox(session) if m.recipient == ann.email]
    assert (to_ann.kind, to_ann.subject) == (MailKind.reminder, "Due soon: 2 commitments")
    assert link(soon) in to_ann.body_text and link(tomorrow) in to_ann.body_text
    assert link(soon) in to_ann.body_html
    assert later.title not in to_ann.body_text and past.title not in to_ann.body_text
    assert [m.recipient for m in outbox(session)].count(bob.email) == 1 and bobs.reminded_at == NOW

    for moment in (NOW, NOW + timedelta(minutes=1), NOW + timedelta(hours=4)):
        assert jobs.run("reminders", session, moment) == {"reminded": 0, "emails": 0}
    assert len(outbox(session)) == 2

    # Six hours on, the milestone enters the lead time: one more email, about it alone.
    assert jobs.run("reminders", session, NOW + timedelta(hours=6)) == {"reminded": 1, "emails": 1}
    newest = outbox(session)[-1]
    assert (newest.recipient, newest.subject) == (ann.email, "Due soon: 1 commitment")
    assert link(later) in newest.body_text and link(soon) not in newest.body_text
    assert past.reminded_at is None


# -- digests ---------------------------------------------------------------------------------------


def test_a_new_users_first_digest_goes_out_the_next_monday_not_at_once(session, make_user):
    # Signed up on a Monday just after the digest hour, on a Warsaw clock (UTC+2 in July).
    signed_up = datetime(2026, 7, 6, 7, 30, tzinfo=UTC)  # 09:30 in Warsaw
    user = make_user(Role.viewer, email="new@example.test", timezone="Europe/Warsaw")

    for moment in (signed_up, signed_up + timedelta(hours=1), signed_up + timedelta(days=6, hours=22)):
        assert jobs.run("digests", session, moment)["queued"] == 0  # up to Monday 07:30 Warsaw
    assert outbox(session) == []

    next_monday_8 = datetime(2026, 7, 13, 6, 0, tzinfo=UTC)  # 08:00 in Warsaw
    assert jobs.run("digests", session, next_monday_8)["queued"] == 1
    (digest,) = outbox(session)
    assert (digest.recipient, digest.kind, digest.period_key) == (user.email, MailKind.digest, "2026-W29")


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += timedelta(hours=1)


# Runs from a Sunday to past the last Monday; every week holds a daylight-saving change somewhere.
SEASONS = {
    # New York springs forward on 8 March 2026, Warsaw on 29 March.
    "spring": (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 7, tzinfo=UTC),
        [date(2026, 3, 2) + timedelta(weeks=n) for n in range(6)],
    ),
    # Warsaw falls back on 25 October 2026, New York on 1 November.
    "autumn": (
        datetime(2026, 10, 18, tzinfo=UTC),
        datetime(2026, 11, 10, tzinfo=UTC),
        [date(2026, 10, 19) + timedelta(weeks=n) for n in range(4)],
    ),
}


@pytest.mark.parametrize("season", SEASONS)
def test_hourly_runs_across_daylight_saving_changes_send_one_digest_a_week_at_monday_8_local(
    session, make_user, season
):
    start, end, mondays = SEASONS[season]
    zones = ["Europe/Warsaw", "America/New_York"]
    users = {
        zone: make_user(Role.viewer, email=f"{zone.split('/')[1].lower()}@example.test", timezone=zone)
        for zone in zones
    }

    for moment in hours(start, end):
        jobs.run("digests", session, moment)

    for zone, user in users.items():
        rows = [m for m in outbox(session, MailKind.digest) if m.recipient == user.email]
        queued_at = [m.created_at.astimezone(ZoneInfo(zone)) for m in rows]
        # Queued by the very run at Monday 08:00 on their own clock, before and after the change.
        assert [(moment.date(), moment.hour, moment.minute) for moment in queued_at] == [
            (monday, 8, 0) for monday in mondays
        ], zone
        assert [m.period_key for m in rows] == [
            f"{y}-W{w:02d}" for y, w, _d in (d.isocalendar() for d in mondays)
        ]


# -- two processes at the same moment --------------------------------------------------------------


def job_environment(database_url: str, instance: Path, smtp: MailServer) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VENDORTRACK_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    return (
        env
        | smtp_settings(smtp)
        | {
            "DATABASE_URL": database_url,
            "VENDORTRACK_INSTANCE_PATH": str(instance),
            "SECRET_KEY": "the-same-key-in-both-processes",
            "VENDORTRACK_CONFIG": "development",
        }
    )


class StartingGate:
    """Holds every job's first write (its JobRun) until both processes wait on it, then lets them race."""

    def __init__(self, database_url: str):
        self.url = sa.make_url(database_url)
        self.sqlite = self.url.get_backend_name() == "sqlite"

    def __enter__(self) -> StartingGate:
        if self.sqlite:
            self.lock = sqlite3.connect(self.url.database, isolation_level=None)
            self.lock.execute("BEGIN IMMEDIATE")  # writers wait on it, up to their busy timeout (10 s)
        else:
            self.engine = sa.create_engine(_pg_url(self.url.render_as_string(hide_password=False)))
            self.lock = self.engine.connect()
            self.lock.execute(sa.text("LOCK TABLE job_run IN SHARE ROW EXCLUSIVE MODE"))
        return self

    def waiting(self, processes: list[subprocess.Popen]) -> int:
        if not self.sqlite:
            return self.lock.execute(
                sa.text("SELECT count(*) FROM pg_locks WHERE relation = 'job_run'::regclass AND NOT granted")
            ).scalar()
        # SQLite cannot say who waits for its lock; a process that has the file open has reached it.
        path = os.path.realpath(self.url.database)
        return sum(_has_open(p.pid, path) for p in processes if p.poll() is None)

    def open_when_waiting(self, processes: list[subprocess.Popen]) -> None:
        deadline = time.monotonic() + 60
        while self.waiting(processes) < len(processes) and time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                break  # one died; its error is reported below
            time.sleep(0.05)
        self.__exit__()

    def __exit__(self, *exc_info) -> None:
        if self.lock is None:
            return
        if self.sqlite:
            self.lock.execute("ROLLBACK")
            self.lock.close()
        else:
            self.lock.rollback()
            self.lock.close()
            self.engine.dispose()
        self.lock = None


def _has_open(pid: int, path: str) -> bool:
    """Whether the process has the file open; a descriptor may close while we look, which is no."""
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False  # the process has just ended
    for fd in descriptors:
        try:
            if os.path.realpath(fd, strict=True) == path:
                return True
        except OSError:
            continue
    return False


def run_twice_at_once(
    database_url: str, tmp_path: Path, smtp: MailServer, job: str, now: datetime
) -> list[str]:
    """`flask jobs run` in two processes at the same moment; what each printed."""
    db.session.commit()  # end the test's transaction: on SQLite it holds the write lock
    env = job_environment(database_url, tmp_path / "instance", smtp)
    argv = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "run", job, "--now", now.isoformat()]
    with StartingGate(database_url) as gate:
        processes = [
            subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        gate.open_when_waiting(processes)
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def many_users(session, prefix: str, count: int, role: Role = Role.viewer) -> list[User]:
    """Users who never sign in: no password to hash, which would take most of the test's time."""
    users = [
        User(email=f"{prefix}{n:02d}@example.test", password_hash="!", role=role, created_at=NOW)
        for n in range(count)
    ]
    session.add_all(users)
    session.commit()
    return users


def assert_the_runs_overlapped(session, job: str) -> None:
    """Two runs one after the other would prove nothing about claiming."""
    first, second = session.scalars(sa.select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all()
    assert second.started_at < first.finished_at, "the two runs did not overlap; the test proved nothing"


@pytest.mark.slow
def test_two_processes_running_the_digest_job_at_the_same_moment_send_each_digest_once(
    session, smtp, tmp_path, database_url
):
    readers = many_users(session, "reader", 30)
    jobs.run("digests", session, NOW)  # the job first sees them on a Tuesday: their digest is next Monday
    session.execute(sa.delete(JobRun))
    session.commit()

    outputs = run_twice_at_once(database_url, tmp_path, smtp, "digests", MONDAY_8)

    assert_the_runs_overlapped(session, "digests")
    assert sorted(m.recipient for m in outbox(session, MailKind.digest)) == sorted(u.email for u in readers)
    assert sum(int(out.split("queued=")[1]) for out in outputs) == 30, outputs

    session.execute(sa.delete(JobRun))
    session.commit()
    outputs = run_twice_at_once(database_url, tmp_path, smtp, "outbox", MONDAY_8 + timedelta(minutes=1))

    assert_the_runs_overlapped(session, "outbox")
    assert Counter(m["To"] for m in smtp.received) == Counter({u.email: 1 for u in readers})
    assert sorted(m["Message-ID"].strip() for m in smtp.received) == sorted(
        m.message_id for m in outbox(session)
    )
    assert {m.state for m in outbox(session)} == {MailState.sent}


@pytest.mark.slow
def test_two_processes_running_the_overdue_job_at_the_same_moment_flag_and_ask_once(
    session, make_vendor, smtp, tmp_path, database_url
):
    owners = many_users(session, "owner", 30, Role.editor)
    vendors = [make_vendor(f"Vendor {n}") for n in range(5)]
    late = [
        commitment(session, vendors[n % 5], owners[n % 30], f"Promise {n}", NOW - timedelta(days=2, hours=n))
        for n in range(200)
    ]
    session.commit()

    outputs = run_twice_at_once(database_url, tmp_path, smtp, "overdue", NOW)

    assert_the_runs_overlapped(session, "overdue")
    assert sorted(int(out.split("flagged=")[1].split(",")[0]) for out in outputs) == [0, 200], outputs
    assert flag_events(session) == Counter({c.id: 1 for c in late})
    flagged_at = session.scalars(
        sa.select(Commitment.flagged_overdue_at).where(Commitment.id.in_([c.id for c in late]))
    ).all()
    assert set(flagged_at) == {NOW}
    asked = outbox(session, MailKind.overdue)
    assert sorted(m.recipient for m in asked) == sorted(o.email for o in owners)
    for c in late:
        assert sum(link(c) + "\n" in m.body_text for m in asked) == 1

    session.execute(sa.delete(JobRun))
    session.commit()
    run_twice_at_once(database_url, tmp_path, smtp, "outbox", NOW + timedelta(minutes=1))

    assert_the_runs_overlapped(session, "outbox")
    assert Counter(m["To"] for m in smtp.received) == Counter({o.email: 1 for o in owners})
    assert {m.state for m in outbox(session)} == {MailState.sent}


# -- in the recipient's language -------------------------------------------------------------------


def test_each_owner_is_asked_about_overdue_commitments_in_their_own_language(session, make_user, make_vendor):
    ola, ivan, ann = (make_user(Role.editor, email=f"{name}@example.test") for name in ("ola", "ivan", "ann"))
    ola.locale, ivan.locale = "pl", "ru"
    acme = make_vendor("Acme Printing")
    for owner, count in ((ola, 2), (ivan, 5), (ann, 1)):
        for n in range(count):
            commitment(session, acme, owner, f"Quote {n} for {owner.email}", NOW - timedelta(days=3))
    session.commit()

    jobs.run("overdue", session, NOW)

    subjects = {m.recipient: m.subject for m in outbox(session)}
    forms = {
        code: catalog(code).get("%(num)d commitment is overdue: what happened?").string
        for code in ("pl", "ru")
    }
    assert subjects[ola.email] == forms["pl"][1] % {"num": 2}  # the "few" form: 2 zobowiązania
    assert subjects[ivan.email] == forms["ru"][2] % {"num": 5}  # the "many" form: 5 обязательств
    assert subjects[ann.email] == "1 commitment is overdue: what happened?"
    one = "This commitment passed its date with no outcome logged. What happened?"
    many = "These commitments passed their date with no outcome logged. What happened?"
    asks = {code: catalog(code).get(one).string for code in ("pl", "ru")}
    bodies = {m.recipient: m.body_text for m in outbox(session)}
    assert asks["pl"][1] in bodies[ola.email] and many not in bodies[ola.email]
    assert asks["ru"][2] in bodies[ivan.email]
    # One commitment is one: the body agrees with the subject's "1 commitment is overdue".
    assert one in bodies[ann.email] and many not in bodies[ann.email]


def test_the_weekly_digest_is_written_in_each_subscribers_language(session, make_user):
    ola = make_user(Role.viewer, email="ola@example.test", timezone="Europe/Warsaw")
    ola.locale = "pl"
    session.commit()
    monday_8 = datetime(2026, 7, 13, 6, 0, tzinfo=UTC)  # 08:00 in Warsaw
    jobs.run("digests", session, monday_8 - timedelta(days=7))
    jobs.run("digests", session, monday_8)

    (digest,) = outbox(session, MailKind.digest)
    polish = catalog("pl").get("Vendor digest for the week of %(date)s").string
    assert digest.subject.startswith(polish.split("%(date)s")[0])
    assert digest.subject.endswith("6 lipca 2026")  # the week's date, written the Polish way
    assert catalog("pl").get("What came due this week").string in digest.body_text


# -- what was logged after its due time is never nagged ------------------------------------------------


def test_a_commitment_logged_after_its_due_time_is_never_flagged_nor_mailed_yet_counts_as_overdue(
    session, make_user, make_vendor
):
    from flask import current_app

    from vendortrack import agenda
    from vendortrack.scores import scorecard

    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    in_time = commitment(session, acme, ann, "Logged before it was due", NOW - timedelta(days=3))
    backfilled = ledger.log_commitment(
        session,
        vendor=acme,
        kind=Kind.meeting,
        title="Written down a week later",
        due_at=NOW - timedelta(days=9),
        actor=ann,
        now=NOW - timedelta(days=2),
    )
    # Backfilled with its outcome, moved to a date that has also passed (confirmed): the follow-up
    # was created after its due time too.
    moved = ledger.log_what_happened(
        session,
        vendor=acme,
        kind=Kind.promise,
        title="Moved, also in the past",
        due_at=NOW - timedelta(days=8),
        actor=ann,
        now=NOW - timedelta(days=2),
        status="rescheduled",
        new_due_at=NOW - timedelta(days=5),
        confirm_past=True,
    ).rescheduled_to
    # Moved ahead while in the ledger: that one became overdue under our eyes, and is asked about.
    moved_ahead = ledger.reschedule(
        session,
        commitment(session, acme, ann, "Moved ahead", NOW - timedelta(days=9)),
        actor=ann,
        now=NOW - timedelta(days=8),
        new_due_at=NOW - timedelta(days=4),
    )
    session.commit()

    assert jobs.run("overdue", session, NOW) == {"flagged": 2, "emails": 1}
    assert flag_events(session) == Counter({in_time.id: 1, moved_ahead.id: 1})
    (mail,) = outbox(session, MailKind.overdue)
    assert "Logged before it was due" in mail.body_text and "Moved ahead" in mail.body_text
    assert backfilled.title not in mail.body_text and moved.title not in mail.body_text
    for spared in (backfilled, moved):
        session.refresh(spared)
        assert spared.flagged_overdue_at is None

    # Spared the nagging, not the score: each is overdue in the lists and counts as broken.
    rules = current_app.config["VENDORTRACK_RULES"]
    overdue = session.scalars(agenda.commitments(agenda.View.overdue, now=NOW, rules=rules)).all()
    assert {backfilled.id, moved.id} <= {c.id for c in overdue}
    counts = scorecard.vendor_score(session, acme, current_app.config["VENDORTRACK_RULES"], NOW).counts
    assert counts["overdue"] == 4


def test_a_due_date_corrected_to_before_it_was_logged_is_not_flagged_and_one_corrected_to_after_is(
    session, make_user, make_vendor
):
    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    logged_at = NOW - timedelta(days=10)
    slipped = ledger.log_commitment(
        session,
        vendor=acme,
        kind=Kind.promise,
        title="Its date was earlier",
        due_at=NOW + timedelta(days=5),
        actor=ann,
        now=logged_at,
    )
    waited = ledger.log_commitment(
        session,
        vendor=acme,
        kind=Kind.promise,
        title="Its date had been waiting",
        due_at=NOW + timedelta(days=5),
        actor=ann,
        now=logged_at,
    )
    # The due date was mistyped; corrected today to one before the commitment was logged, or after.
    ledger.edit_commitment(session, slipped, actor=ann, now=NOW, due_at=logged_at - timedelta(days=1))
    ledger.edit_commitment(session, waited, actor=ann, now=NOW, due_at=logged_at + timedelta(days=1))
    session.commit()

    assert jobs.run("overdue", session, NOW) == {"flagged": 1, "emails": 1}
    assert flag_events(session) == Counter({waited.id: 1})


# -- old sign-in attempts --------------------------------------------------------------------------


def attempts_of(session, email: str) -> int:
    return session.scalar(sa.select(sa.func.count()).where(LoginAttempt.email_key == email))


def test_the_nightly_clean_up_removes_the_sign_in_attempts_the_throttle_no_longer_reads(app, session):
    limits = Limits.from_config(app.config)
    for at in (NOW - timedelta(days=30), NOW - limits.window - timedelta(seconds=1), NOW - limits.window):
        record_attempt(session, "old@example.test", "192.0.2.1", at, succeeded=False)
    # Five failures inside the window: that account is held back, and must stay so.
    for minutes in range(limits.per_account):
        record_attempt(
            session, "held@example.test", "192.0.2.9", NOW - timedelta(minutes=minutes), succeeded=False
        )
    session.commit()
    held = retry_after(session, "held@example.test", "192.0.2.9", NOW, limits)
    assert held > timedelta(0)

    assert jobs.run("attempts", session, NOW) == {"removed": 3}

    assert attempts_of(session, "old@example.test") == 0
    assert attempts_of(session, "held@example.test") == limits.per_account
    assert retry_after(session, "held@example.test", "192.0.2.9", NOW, limits) == held
    assert jobs.run("attempts", session, NOW) == {"removed": 0}


def test_the_clean_up_removes_a_flood_of_attempts_in_batches_and_counts_them_all(app, session, monkeypatch):
    monkeypatch.setattr(jobs, "PRUNE_BATCH", 4)
    long_ago = NOW - timedelta(days=2)
    session.execute(
        sa.insert(LoginAttempt),
        [{"email_key": f"x{i}@example.test", "address": "192.0.2.1", "at": long_ago} for i in range(10)],
    )
    session.commit()

    assert jobs.run("attempts", session, NOW) == {"removed": 10}
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0
