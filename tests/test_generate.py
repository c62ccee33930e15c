"""The generator: a realistic ledger, exactly as large as asked, the same for the same seed, scored."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from random import Random

import pytest
import sqlalchemy as sa
from flask import current_app

from bench.generate import commitment_counts, generate
from tests.conftest import NOW, PASSWORD
from vendortrack import ROOT, ledger
from vendortrack.accounts import password_matches
from vendortrack.models import (
    Commitment,
    Contact,
    EventAction,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    ScoreBucket,
    Status,
    Vendor,
)
from vendortrack.models.score import ScoreRollup
from vendortrack.scores import scorecard, tally
from vendortrack.scores.rules import Rules
from vendortrack.validation import InvalidInput

VENDORS, COMMITMENTS = 20, 2000


def rules() -> Rules:
    return current_app.config["VENDORTRACK_RULES"]


def fill(session, seed: int = 5, **kwargs):
    options = {"vendors": VENDORS, "commitments": COMMITMENTS} | kwargs
    return generate(session, seed=seed, now=NOW, rules=rules(), password=PASSWORD, **options)


@pytest.fixture
def generated(session):
    return fill(session)


def commitments(session) -> list[Commitment]:
    return list(session.scalars(sa.select(Commitment).order_by(Commitment.id)))


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_it_makes_exactly_the_vendors_and_commitments_asked_for(session, generated):
    assert count(session, Vendor) == VENDORS == generated.vendors
    assert count(session, Commitment) == COMMITMENTS == generated.commitments
    assert count(session, LedgerEvent) == generated.events
    contacts = Counter(session.scalars(sa.select(Contact.vendor_id)))
    assert len(contacts) == VENDORS and set(contacts.values()) <= {1, 2, 3}
    assert count(session, Contact) == generated.contacts
    categories = set(session.scalars(sa.select(Vendor.category)))
    assert len(categories) > 3 and "" not in categories
    owners = {c.owner for c in commitments(session)}
    assert len(owners) >= 3 and all(owner.can_write for owner in owners)
    assert all(password_matches(user, PASSWORD) for user in generated.users)


def test_every_kind_outcome_and_excuse_occurs(session, generated):
    rows = commitments(session)
    assert {c.kind for c in rows} == set(Kind)
    assert {c.status for c in rows} == set(Status)
    assert {c.excuse_category for c in rows if c.status in (Status.broken, Status.rescheduled)} == set(
        ExcuseCategory
    )
    open_ones = [c for c in rows if c.status == Status.open]
    assert any(c.due_at > NOW for c in open_ones), "no upcoming commitment"
    assert any(c.due_at + timedelta(days=1) <= NOW for c in open_ones), "no overdue commitment"
    tolerance = {Kind.meeting: timedelta(minutes=5)}
    kept = [c for c in rows if c.status == Status.kept]
    late = [c.done_at > c.due_at + tolerance.get(c.kind, timedelta(0)) for c in kept]
    assert any(late) and not all(late)


def test_the_history_spans_three_years_and_a_little_future(session, generated):
    first, last = session.execute(
        sa.select(sa.func.min(Commitment.due_at), sa.func.max(Commitment.due_at))
    ).one()
    assert NOW - timedelta(days=3 * 366) < first < NOW - timedelta(days=2 * 365)
    assert NOW < last < NOW + timedelta(days=70)
    assert session.scalar(sa.select(sa.func.max(Commitment.created_at))) <= NOW
    assert session.scalar(sa.select(sa.func.max(Commitment.resolved_at))) <= NOW
    assert session.scalar(sa.select(sa.func.max(Commitment.done_at))) <= NOW


def test_every_moved_commitment_has_a_successor_pointing_back_with_the_original_date(session, generated):
    rows = {c.id: c for c in commitments(session)}
    moved = [c for c in rows.values() if c.status == Status.rescheduled]
    assert len(moved) > 50
    for commitment in moved:
        (successor,) = commitment.successors
        assert successor.rescheduled_from_id == commitment.id
        assert successor.original_due_at == commitment.original_due_at
        assert successor.due_at > commitment.due_at
        assert successor.created_at == commitment.resolved_at
    for commitment in rows.values():
        if commitment.rescheduled_from_id is None:
            assert commitment.original_due_at == commitment.due_at
    chains = [c for c in moved if c.rescheduled_from_id is not None]
    assert chains, "no commitment was moved twice"


def test_kept_ones_carry_their_lateness_in_microseconds(session, generated):
    for commitment in commitments(session):
        if commitment.status == Status.kept:
            assert commitment.lateness_us == (commitment.done_at - commitment.due_at) // timedelta(
                microseconds=1
            )
        else:
            assert commitment.lateness_us is None and commitment.done_at is None


def test_every_change_is_a_ledger_event(session, generated):
    events: dict[int, list[LedgerEvent]] = {}
    for event in session.scalars(sa.select(LedgerEvent).order_by(LedgerEvent.id)):
        events.setdefault(event.commitment_id, []).append(event)
    for commitment in commitments(session):
        history = events[commitment.id]
        created = history[0]
        assert created.action == EventAction.created and created.at == commitment.created_at
        assert created.after["status"] == "open" and created.after["due_at"] == commitment.due_at.isoformat()
        assert created.after.get("rescheduled_from") == commitment.rescheduled_from_id
        assert [e.at for e in history] == sorted(e.at for e in history)
        flagged = [e for e in history if e.action == EventAction.flagged_overdue]
        assert len(flagged) == (commitment.flagged_overdue_at is not None)
        closing = [e for e in history if e.action in (EventAction.resolved, EventAction.rescheduled)]
        if commitment.status == Status.open:
            assert closing == []
            continue
        (closed,) = closing
        assert closed.at == commitment.resolved_at
        assert closed.before["status"] == "open" and closed.after["status"] == commitment.status.value
        if commitment.status == Status.rescheduled:
            assert closed.action == EventAction.rescheduled
            assert closed.after["rescheduled_to"] == commitment.successors[0].id
        if commitment.status == Status.kept:
            assert closed.after["done_at"] == commitment.done_at.isoformat()


def ledger_rows(session) -> list[tuple]:
    return [
        tuple(row)
        for model in (Vendor, Contact, Commitment, LedgerEvent)
        for row in session.execute(sa.select(model.__table__).order_by(model.__table__.c.id))
    ]


def forget_the_ledger(session) -> None:
    """Empty the ledger, keep the users: the generator reuses them, so their ids stay."""
    for model in (ScoreRollup, ScoreBucket, LedgerEvent, Commitment, Contact, Vendor):
        session.execute(sa.delete(model.__table__))
    session.commit()


def test_the_same_seed_gives_the_same_ledger_and_another_seed_another(session):
    fill(session, seed=5)
    first = ledger_rows(session)
    forget_the_ledger(session)
    fill(session, seed=5)
    assert ledger_rows(session) == first
    forget_the_ledger(session)
    fill(session, seed=6)
    assert ledger_rows(session) != first


def test_a_database_with_vendors_is_refused_unless_appending(session, generated):
    with pytest.raises(InvalidInput) as refused:
        fill(session)
    assert refused.value.field == "append"
    assert count(session, Commitment) == COMMITMENTS
    more = fill(session, seed=9, vendors=5, commitments=300, append=True)
    assert more.commitments == 300
    assert count(session, Vendor) == VENDORS + 5
    assert count(session, Commitment) == COMMITMENTS + 300
    names = list(session.scalars(sa.select(Vendor.name_key)))
    assert len(names) == len(set(names))


def test_the_buckets_are_rebuilt_so_the_scorecard_agrees_with_each_vendor(session, generated):
    assert tally.needs(session, rules(), NOW) != "rebuild"
    assert count(session, ScoreBucket) == generated.buckets > 0
    lines = {line.vendor_id: line for line in scorecard.ranked(session, rules(), NOW)}
    assert len(lines) == VENDORS
    assert len({line.figures.standing for line in lines.values()}) >= 3
    busiest = session.get(Vendor, generated.busiest_vendor_id)
    others = list(session.scalars(sa.select(Vendor).order_by(Vendor.id).limit(3)))
    for vendor in [busiest, *others]:
        own = scorecard.vendor_score(session, vendor, rules(), NOW)
        line = lines[vendor.id]
        assert line.figures.counted == own.figures.counted
        assert line.counts == own.counts
        for name in ("weight_total", "reliability", "punctuality", "score", "ranking_key"):
            assert getattr(line.figures, name) == pytest.approx(getattr(own.figures, name), abs=1e-9), name


def test_the_ledger_logs_on_after_a_generated_history(session, generated, make_vendor):
    """Ids were written explicitly: PostgreSQL's sequences must have been moved past them."""
    vendor = make_vendor("After The Generator")
    owner = generated.users[0]
    moved = session.scalars(
        sa.select(Commitment).where(Commitment.status == Status.open, Commitment.due_at > NOW)
    ).first()
    successor = ledger.reschedule(
        session, moved, actor=owner, now=NOW, new_due_at=moved.due_at + timedelta(days=7)
    )
    fresh = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Send the quote",
        due_at=NOW + timedelta(days=3),
        actor=owner,
        now=NOW,
    )
    session.commit()
    assert successor.id > moved.id and fresh.id > successor.id
    assert vendor.id > generated.busiest_vendor_id and count(session, Commitment) == COMMITMENTS + 2


def test_at_full_scale_a_few_big_vendors_hold_most_commitments():
    counts = commitment_counts(Random(1), 2000, 1_000_000)
    assert sum(counts) == 1_000_000 and len(counts) == 2000
    ranked = sorted(counts, reverse=True)
    assert ranked[0] >= 5000  # the per-vendor benchmark needs one this busy
    assert sum(ranked[:400]) > 0.6 * 1_000_000  # the top fifth
    assert sum(1 for c in counts if c < 5) >= 40  # newcomers, with too little history to score


def run_script(database_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """bench/generate.py as a developer runs it, on the test's database, configured by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORTRACK_") and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": database_url,
        "VENDORTRACK_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "generate-test-key",
    }
    script = ROOT / "bench" / "generate.py"
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_script_reports_what_it_made_and_refuses_a_second_run(database_url, tmp_path, session):
    session.commit()  # the script has a connection of its own: let go of SQLite's write lock first
    arguments = ("--vendors", "4", "--commitments", "250", "--seed", "3")
    done = run_script(database_url, tmp_path, *arguments, "--now", "2026-06-30T12:00:00Z")
    assert done.returncode == 0, done.stderr
    assert "Generated 4 vendors" in done.stdout and "250 commitments" in done.stdout
    assert count(session, Commitment) == 250
    session.commit()

    again = run_script(database_url, tmp_path, *arguments)
    assert again.returncode != 0
    assert "--append" in again.stderr
    assert count(session, Commitment) == 250


def test_the_script_wants_a_moment_with_its_offset(database_url, tmp_path, session):
    session.commit()
    done = run_script(
        database_url, tmp_path, "--vendors", "4", "--commitments", "10", "--now", "2026-06-30T12:00"
    )
    assert done.returncode != 0
    assert "time zone offset" in done.stderr
    assert count(session, Vendor) == 0


def test_complaints_come_answered_late_unanswered_withdrawn_and_with_dated_answers_and_their_rollups_hold(
    session,
):
    from vendortrack.models import Complaint, Resolution
    from vendortrack.scores import responsiveness

    result = fill(session, complaints=300)

    assert count(session, Complaint) == 300
    assert count(session, Commitment) == COMMITMENTS, "dated answers link promises already there"
    went = result.complaints
    for how in ("answered in time", "answered late", "unanswered", "withdrawn", "with a dated answer"):
        assert went[how] > 0, how
    assert went["answered in time"] > went["answered late"] > 0
    withdrawn = session.scalar(sa.select(sa.func.count()).where(Complaint.resolution == Resolution.withdrawn))
    assert withdrawn == went["withdrawn"]
    promises = session.scalars(sa.select(Commitment).where(Commitment.complaint_id.is_not(None))).all()
    assert len(promises) == went["with a dated answer"]
    assert all(p.kind == Kind.promise for p in promises)
    assert {p.status for p in promises} & {Status.kept, Status.broken}
    # The rollups were built as the tally job builds them, and the scorecard reads them as each vendor's own.
    assert responsiveness.covers(responsiveness.cache_state(session), rules(), NOW)
    assert responsiveness.check(session, rules()).differences == []
    for line in scorecard.ranked(session, rules(), NOW + timedelta(hours=1)):
        vendor = session.get(Vendor, line.vendor_id)
        own = scorecard.vendor_score(session, vendor, rules(), NOW + timedelta(hours=1)).responsiveness
        found, wanted = line.responsiveness.as_dict(), own.as_dict()
        assert found.pop("band") == pytest.approx(wanted.pop("band"), rel=1e-9)
        assert found.pop("standing") == wanted.pop("standing")
        assert found == pytest.approx(wanted, rel=1e-9)
