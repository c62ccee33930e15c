"""`flask backup` and `flask restore`: the whole ledger round-trips, across databases, or is refused."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import upgrade

from tests.conftest import NOW, PASSWORD, PG_URL, make_app
from vendortrack import backup, complaints, jobs
from vendortrack.accounts import create_user, disable_user, issue_token
from vendortrack.extensions import db
from vendortrack.ledger import (
    cancel,
    log_commitment,
    reopen,
    reschedule,
    resolve_broken,
    resolve_kept,
)
from vendortrack.models import (
    Complaint,
    ExcuseCategory,
    JobRun,
    Kind,
    OutboxMessage,
    Role,
    ScoreBucket,
    Status,
    User,
    Vendor,
)
from vendortrack.scores import tally
from vendortrack.scores.rules import answer_deadline, default_notified_at
from vendortrack.vendors import add_contact, archive_vendor, create_vendor

pg_only = pytest.mark.skipif(not PG_URL, reason="VENDORTRACK_TEST_DATABASE_URL is not set")


@pytest.fixture
def new_database(tmp_path):
    """Makes fresh databases migrated to head, SQLite files or PostgreSQL databases, dropped after."""
    created: list[str] = []
    base = sa.make_url(PG_URL).set(drivername="postgresql+psycopg") if PG_URL else None
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT") if base else None

    def make(kind: str) -> str:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.sqlite"
        else:
            name = f"vt_backup_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            created.append(name)
            url = base.set(database=name).render_as_string(hide_password=False)
        app = make_app(url, tmp_path / uuid.uuid4().hex)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        return url

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def build_ledger(session, *, with_complaints: bool = True) -> None:
    """A small ledger touching every table: users, tokens, vendors, contacts, every outcome, complaints
    and their history, jobs, mail."""
    start = NOW - timedelta(days=90)
    admin = create_user(session, email="ada@example.test", password=PASSWORD, role=Role.admin, now=start)
    editor = create_user(
        session,
        email="edith@example.test",
        password=PASSWORD,
        role=Role.editor,
        name="Edith Łęcka",
        now=start,
        timezone="Europe/Warsaw",
    )
    gone = create_user(session, email="gone@example.test", password=PASSWORD, role=Role.viewer, now=start)
    disable_user(gone, now=start + timedelta(days=1))
    issue_token(session, admin, now=start)
    issue_token(session, editor, now=start + timedelta(hours=1))
    acme = create_vendor(session, now=start, name="Acme Plumbing", category="Facilities", email="a@acme.test")
    print_shop = create_vendor(
        session, now=start, name="Drukarnia Łódź", category="Print", notes='Semicolons; "quotes"\nand lines'
    )
    old = create_vendor(session, now=start, name="=cmd|' /C calc'!A0")
    jan = add_contact(session, acme, now=start, name="Jan Kowalski", role="Owner", phone="+48 600 000 000")
    add_contact(session, print_shop, now=start, name="Győző Kiss")
    session.flush()

    def log(vendor, title, days, kind=Kind.promise, **extra):
        due = start + timedelta(days=days, hours=9, microseconds=123456)
        return log_commitment(
            session,
            vendor=vendor,
            kind=kind,
            title=title,
            due_at=due,
            actor=editor,
            now=start + timedelta(days=1),
            **extra,
        )

    kept = log(acme, "Fix the boiler", 10, Kind.meeting, contact=jan)
    resolve_kept(
        session,
        kept,
        actor=editor,
        now=kept.due_at + timedelta(hours=2),
        done_at=kept.due_at + timedelta(minutes=7),
    )
    broken = log(acme, "Send the invoice", 20, owner=admin)
    resolve_broken(
        session,
        broken,
        actor=editor,
        now=broken.due_at + timedelta(days=2),
        excuse_category=ExcuseCategory.third_party,
        excuse="The courier lost it",
    )
    dropped = log(print_shop, "Print the flyers", 30, Kind.deadline)
    cancel(session, dropped, actor=admin, now=dropped.due_at - timedelta(days=3), reason="No longer needed")
    moved = log(print_shop, "Deliver the banners", 40, Kind.deadline)
    second = reschedule(
        session,
        moved,
        actor=editor,
        now=moved.due_at - timedelta(days=1),
        new_due_at=moved.due_at + timedelta(days=7),
        excuse_category=ExcuseCategory.force_majeure,
        excuse="Flood",
    )
    third = reschedule(
        session,
        second,
        actor=editor,
        now=second.due_at - timedelta(days=1),
        new_due_at=second.due_at + timedelta(days=7),
        excuse_category="plot_twist",
    )
    reopen(session, second, actor=editor, now=third.due_at - timedelta(days=2))
    reschedule(
        session,
        second,
        actor=editor,
        now=third.due_at - timedelta(days=1),
        new_due_at=NOW + timedelta(days=5),
    )
    log(old, "Call back", 60)  # open and overdue: the overdue job flags it and mails its owner
    log(acme, "Quote for the roof", 120)  # open, due after NOW
    if with_complaints:
        build_complaints(session, start, acme=acme, jan=jan, editor=editor, admin=admin, about=[kept, broken])
    archive_vendor(old, now=start + timedelta(days=61))
    session.commit()
    jobs.run("overdue", session, NOW)
    session.commit()


def build_complaints(session, start, *, acme, jan, editor, admin, about) -> None:
    """Every step of a complaint's life: raised about two commitments, answered with an owner named and an
    apology, a dated answer (a promise linked back), resolved, reopened; and one withdrawn by us."""
    rules = current_app.config["VENDORTRACK_RULES"]
    at = start + timedelta(days=25)
    complaint = complaints.raise_complaint(
        session,
        vendor=acme,
        title="Żółć: the boiler leaks again",
        details="Water on the floor;\nsecond time",
        severity="critical",
        channel="phone",
        raised_at=at,
        actor=editor,
        now=at + timedelta(hours=1),
        rules=rules,
        contact=jan,
        owner=admin,
        commitments=about,
    )
    complaints.answer(
        session,
        complaint,
        at=at + timedelta(hours=5),
        actor=editor,
        now=at + timedelta(hours=6),
        case_owner_contact=jan,
        apologised=True,
    )
    complaints.give_dated_answer(
        session, complaint, due_at=at + timedelta(days=3), actor=editor, now=at + timedelta(hours=7)
    )
    complaints.resolve(
        session, complaint, "compensated", actor=editor, now=at + timedelta(days=4), satisfied=False
    )
    complaints.reopen(session, complaint, reason="Leaks once more", actor=admin, now=at + timedelta(days=9))
    withdrawn = complaints.raise_complaint(
        session,
        vendor=acme,
        title="Wrong invoice",
        severity="minor",
        channel="email",
        raised_at=at + timedelta(days=1),
        actor=editor,
        now=at + timedelta(days=1),
        rules=rules,
    )
    complaints.resolve(session, withdrawn, "withdrawn", actor=editor, now=at + timedelta(days=2))


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def every_row(app) -> dict[str, list[dict]]:
    with app.app_context():
        rows = {
            table.name: [
                dict(row)
                for row in db.session.execute(
                    sa.select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in backup.tables()
        }
        db.session.remove()
        db.engine.dispose()
    return rows


def buckets(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                ScoreBucket.vendor_id,
                ScoreBucket.month_start,
                ScoreBucket.counted,
                ScoreBucket.broken,
                ScoreBucket.rescheduled,
            ).order_by(ScoreBucket.vendor_id, ScoreBucket.month_start)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    "source, target",
    [
        ("sqlite", "sqlite"),
        pytest.param("sqlite", "postgresql", marks=pg_only),
        pytest.param("postgresql", "sqlite", marks=pg_only),
    ],
)
def test_a_backup_restored_into_another_database_has_every_row_equal(source, target, new_database, tmp_path):
    file = tmp_path / "ledger-backup.json"
    source_app = make_app(new_database(source), tmp_path / "source")
    with source_app.app_context():
        build_ledger(db.session)
        # The source's sums as its nightly tally job leaves them: a restore must rebuild the same.
        tally.bring_up_to_date(db.session, source_app.config["VENDORTRACK_RULES"], NOW)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) > 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1
        db.session.remove()
    result = invoke(source_app, "backup", str(file))
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output

    document = json.loads(file.read_text(encoding="utf-8"))
    assert document["format"] == backup.FORMAT
    assert set(document["tables"]) == {table.name for table in backup.tables()}
    assert not set(document["tables"]) & backup.DERIVED
    assert document["tables"]["commitment"][0]["due_at"].endswith("+00:00")

    target_app = make_app(new_database(target), tmp_path / "target")
    result = invoke(target_app, "restore", str(file))
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output

    before, after = every_row(source_app), every_row(target_app)
    for table in backup.tables():
        assert after[table.name] == before[table.name], table.name
    assert {row["status"] for row in after["commitment"]} == set(Status)
    # The complaints came with their history, the commitments they concern, and the promise answering one.
    assert [row["title"] for row in after["complaint"]] == ["Żółć: the boiler leaks again", "Wrong invoice"]
    assert [row["action"] for row in after["complaint_event"]] == [
        "raised",
        "answered",
        "dated_answer",
        "resolved",
        "reopened",
        "raised",
        "withdrawn",
    ]
    assert after["complaint_event"][4]["reason"] == "Leaks once more"
    assert len(after["complaint_commitment"]) == 2
    assert [row["complaint_id"] for row in after["commitment"] if row["complaint_id"]] == [1]
    moves = [row for row in after["commitment"] if row["status"] == "rescheduled"]
    assert moves and [row["notified_at"] for row in moves] == [
        default_notified_at(row["due_at"], row["resolved_at"]) for row in moves
    ]
    assert buckets(target_app) == buckets(source_app)

    with target_app.app_context():  # the ids go on from the restored ones (PostgreSQL's sequences moved)
        vendor = create_vendor(db.session, now=NOW, name="New after the restore")
        db.session.commit()
        assert vendor.id == max(row["id"] for row in before["vendor"]) + 1
        db.session.remove()
        db.engine.dispose()


def counts(session) -> dict[str, int]:
    """Rows in each table of the ledger (the score sums are derived from it, not part of it)."""
    return {
        table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in backup.DERIVED
    }


def test_restoring_into_a_database_with_rows_is_refused_and_changes_nothing(
    app, session, make_vendor, tmp_path
):
    make_vendor("Acme Plumbing")
    file = tmp_path / "backup.json"
    assert invoke(app, "backup", str(file)).exit_code == 0
    before = counts(session)
    session.commit()
    result = invoke(app, "restore", str(file))
    assert result.exit_code != 0
    assert "The database is not empty: table vendor has rows" in result.output
    assert counts(session) == before


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "it is not valid JSON"),
        ('{"format": 1, "revision": "x", "tables": {"vendor": [', "it is not valid JSON"),
        ('["a list"]', "it has no tables"),
        ('{"format": 99, "tables": {}}', "format 99 is not one this version reads"),
    ],
)
def test_a_corrupt_backup_gives_a_clear_error_and_writes_nothing(app, session, tmp_path, content, message):
    file = tmp_path / "corrupt.json"
    file.write_text(content, encoding="utf-8")
    result = invoke(app, "restore", str(file))
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert set(counts(session).values()) == {0}


def test_a_row_with_a_bad_value_names_its_table_row_and_column(app, session, make_vendor, tmp_path):
    make_vendor("Acme Plumbing")
    file = tmp_path / "backup.json"
    assert invoke(app, "backup", str(file)).exit_code == 0
    document = json.loads(file.read_text(encoding="utf-8"))
    document["tables"]["vendor"][0]["created_at"] = "yesterday"
    file.write_text(json.dumps(document), encoding="utf-8")
    session.execute(sa.delete(Vendor))
    session.commit()
    result = invoke(app, "restore", str(file))
    assert result.exit_code != 0
    assert "Table vendor, row 1, column created_at" in result.output
    assert counts(session)["vendor"] == 0


def test_a_backup_of_another_revision_is_refused(app, session, tmp_path):
    file = tmp_path / "backup.json"
    assert invoke(app, "backup", str(file)).exit_code == 0
    document = json.loads(file.read_text(encoding="utf-8"))
    document["revision"] = "0000deadbeef"
    file.write_text(json.dumps(document), encoding="utf-8")
    result = invoke(app, "restore", str(file))
    assert result.exit_code != 0
    assert "revision 0000deadbeef" in result.output


def test_a_failed_backup_leaves_no_file(app, tmp_path):
    target = tmp_path / "missing-dir" / "backup.json"
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "Cannot write" in result.output
    assert not os.path.exists(target)


def as_written_before_complaints(document: dict) -> dict:
    """The file the version before complaints (revision a303e0498a58) wrote of the same ledger: the same
    tables less the complaint ones, and commitments without `complaint_id` and `notified_at`."""
    tables = {
        name: rows
        for name, rows in document["tables"].items()
        if name not in ("complaint", "complaint_event", "complaint_commitment")
    }
    for row in tables["commitment"]:
        del row["complaint_id"], row["notified_at"]
    return document | {"revision": "a303e0498a58", "tables": tables}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pg_only)])
def test_a_backup_made_before_complaints_existed_still_restores(kind, new_database, tmp_path):
    source_app = make_app(new_database(kind), tmp_path / "source")
    with source_app.app_context():
        build_ledger(db.session, with_complaints=False)
        db.session.remove()
    file = tmp_path / "before-complaints.json"
    assert invoke(source_app, "backup", str(file)).exit_code == 0
    document = as_written_before_complaints(json.loads(file.read_text(encoding="utf-8")))
    file.write_text(json.dumps(document), encoding="utf-8")

    target_app = make_app(new_database(kind), tmp_path / "target")
    result = invoke(target_app, "restore", str(file))
    assert result.exit_code == 0, result.output

    before, after = every_row(source_app), every_row(target_app)
    assert after["complaint"] == after["complaint_event"] == after["complaint_commitment"] == []
    assert after["commitment"] == before["commitment"]
    moves = [row for row in after["commitment"] if row["status"] == "rescheduled"]
    # A move logged before complaints takes the notice a move logged then is given, as the migration did:
    # the moment logged, or none for history written down more than a day after its time.
    assert moves and [row["notified_at"] for row in moves] == [
        default_notified_at(row["due_at"], row["resolved_at"]) for row in moves
    ]
    assert all(row["complaint_id"] is None for row in after["commitment"])
    with target_app.app_context():  # and the restored ledger takes complaints at once
        complaint = complaints.raise_complaint(
            db.session,
            vendor=db.session.scalar(sa.select(Vendor).where(Vendor.name == "Acme Plumbing")),
            title="No answer to our calls",
            severity="major",
            channel="phone",
            raised_at=NOW,
            actor=db.session.scalar(sa.select(User).where(User.email == "edith@example.test")),
            now=NOW,
            rules=target_app.config["VENDORTRACK_RULES"],
        )
        db.session.commit()
        assert complaint.id == 1
        db.session.remove()
        db.engine.dispose()


def test_restored_answer_deadlines_follow_this_installations_working_days(new_database, tmp_path):
    source_app = make_app(new_database("sqlite"), tmp_path / "source")
    with source_app.app_context():
        build_ledger(db.session)
        db.session.remove()
    file = tmp_path / "backup.json"
    assert invoke(source_app, "backup", str(file)).exit_code == 0
    source_deadlines = [row["answer_due_at"] for row in every_row(source_app)["complaint"]]

    target_app = make_app(new_database("sqlite"), tmp_path / "target", VENDORTRACK_ACK_WORKING_DAYS="3")
    assert invoke(target_app, "restore", str(file)).exit_code == 0
    with target_app.app_context():
        rules = target_app.config["VENDORTRACK_RULES"]
        restored = db.session.scalars(sa.select(Complaint).order_by(Complaint.id)).all()
        assert [c.answer_due_at for c in restored] == [answer_deadline(c.raised_at, rules) for c in restored]
        assert [c.answer_due_at for c in restored] != source_deadlines
        db.session.remove()
        db.engine.dispose()
