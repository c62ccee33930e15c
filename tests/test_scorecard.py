"""The scorecard from monthly buckets agrees with each vendor's own score, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from tests.conftest import make_app
from vendortrack import ledger
from vendortrack.extensions import db
from vendortrack.models import Commitment, ExcuseCategory, Kind, ScoreBucket, ScoreTallyState, Status, Vendor
from vendortrack.scores import scorecard, tally
from vendortrack.scores.rules import Rules

NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


def build_history(session, vendors, actor, seed: int = 7, per_vendor: int = 40) -> None:
    """A mixed ledger through the ledger's own functions: every outcome, across many months."""
    rnd = random.Random(seed)
    for vendor in vendors:
        for _ in range(per_vendor):
            due = NOW - timedelta(days=rnd.uniform(-40, 500), minutes=rnd.randrange(1440))
            kind = rnd.choice(list(Kind))
            logged_at = min(due, NOW) - timedelta(days=3)
            c = ledger.log_commitment(
                session, vendor=vendor, kind=kind, title="t", due_at=due, actor=actor, now=logged_at
            )
            if due > NOW and rnd.random() < 0.7:
                continue  # upcoming
            choice = rnd.random()
            resolved_at = min(due + timedelta(days=1), NOW)
            if choice < 0.45:
                late = timedelta(minutes=rnd.choice([0, 3, 5, 20, 600]))
                ledger.resolve_kept(
                    session,
                    c,
                    actor=actor,
                    now=max(resolved_at, due + late) if due + late <= NOW else NOW,
                    done_at=min(due + late, NOW),
                )
            elif choice < 0.6:
                ledger.resolve_broken(
                    session, c, actor=actor, now=resolved_at, excuse_category=rnd.choice(list(ExcuseCategory))
                )
            elif choice < 0.75:
                ledger.reschedule(
                    session,
                    c,
                    actor=actor,
                    now=resolved_at,
                    confirm_past=True,
                    new_due_at=due + timedelta(days=rnd.randrange(1, 60)),
                )
            elif choice < 0.8:
                ledger.cancel(session, c, actor=actor, now=resolved_at)
            # else: left open; overdue or pending as the moment decides
    session.commit()


@pytest.fixture
def ledger_of_five(session, make_vendor, editor):
    vendors = [make_vendor(f"Vendor {i}") for i in range(5)]
    build_history(session, vendors, editor)
    return vendors


MOMENTS = [NOW, NOW - timedelta(days=45), NOW - timedelta(days=200, hours=5), NOW + timedelta(days=20)]


def assert_ranked_matches_each_vendor(session, rules: Rules, vendors) -> None:
    tally.bring_up_to_date(session, rules, NOW)
    for as_of in MOMENTS:
        lines = {line.vendor_id: line for line in scorecard.ranked(session, rules, as_of)}
        for vendor in vendors:
            own = scorecard.vendor_score(session, vendor, rules, as_of)
            line = lines[vendor.id]
            assert line.figures.counted == own.figures.counted, (vendor.name, as_of)
            assert line.figures.weight_total == pytest.approx(own.figures.weight_total, abs=1e-9)
            for name in ("reliability", "punctuality", "score", "ranking_key"):
                assert getattr(line.figures, name) == pytest.approx(getattr(own.figures, name), abs=1e-9)
            assert line.counts == own.counts, (vendor.name, as_of)


def test_the_ranked_scorecard_agrees_with_each_vendors_own_score(session, ledger_of_five):
    assert_ranked_matches_each_vendor(session, current_app.config["VENDORTRACK_RULES"], ledger_of_five)


def test_buckets_follow_edits_reopenings_and_moves_across_months(session, ledger_of_five, editor):
    rules = current_app.config["VENDORTRACK_RULES"]
    tally.bring_up_to_date(session, rules, NOW)
    vendor = ledger_of_five[0]
    from vendortrack.models import Commitment, Status

    kept = session.scalars(
        sa.select(Commitment).where(Commitment.vendor_id == vendor.id, Commitment.status == Status.kept)
    ).first()
    ledger.edit_commitment(session, kept, actor=editor, now=NOW, due_at=kept.due_at - timedelta(days=70))
    ledger.reopen(session, kept, actor=editor, now=NOW)
    ledger.resolve_broken(session, kept, actor=editor, now=NOW)
    session.commit()
    assert_ranked_matches_each_vendor(session, rules, ledger_of_five)


def test_changed_settings_rebuild_the_buckets(database_url, tmp_path, session, ledger_of_five):
    other = make_app(
        database_url,
        tmp_path / "other",
        VENDORTRACK_HALF_LIFE_DAYS="30",
        VENDORTRACK_MEETING_TOLERANCE_MINUTES="0",
    )
    with other.app_context():
        rules = other.config["VENDORTRACK_RULES"]
        assert tally.needs(db.session, rules, NOW) == "rebuild"
        vendors = db.session.scalars(sa.select(Vendor)).all()
        assert_ranked_matches_each_vendor(db.session, rules, vendors)
        assert tally.needs(db.session, rules, NOW) != "rebuild"
        db.session.remove()
        db.engine.dispose()  # the second app's own pool: left open, PostgreSQL warns of a leaked socket


def test_decay_off_scores_plain_counts(database_url, tmp_path, session, ledger_of_five):
    flat = make_app(database_url, tmp_path / "flat", VENDORTRACK_HALF_LIFE_DAYS="0")
    with flat.app_context():
        rules = flat.config["VENDORTRACK_RULES"]
        vendors = db.session.scalars(sa.select(Vendor)).all()
        assert_ranked_matches_each_vendor(db.session, rules, vendors)
        line = scorecard.ranked(db.session, rules, NOW)[0]
        assert line.figures.weight_total == line.figures.counted
        db.session.remove()
        db.engine.dispose()


def test_best_first_and_worst_first_put_insufficient_data_last(session, make_vendor, editor):
    steady, flaky = make_vendor("Steady"), make_vendor("Flaky")
    make_vendor("Newcomer")  # no history at all
    for i in range(6):
        due = NOW - timedelta(days=10 + i)
        for vendor, keep in ((steady, True), (flaky, False)):
            c = ledger.log_commitment(
                session,
                vendor=vendor,
                kind=Kind.promise,
                title="x",
                due_at=due,
                actor=editor,
                now=due - timedelta(days=1),
            )
            if keep:
                ledger.resolve_kept(session, c, actor=editor, now=due, done_at=due)
            else:
                ledger.resolve_broken(session, c, actor=editor, now=due)
    session.commit()
    rules = current_app.config["VENDORTRACK_RULES"]
    tally.bring_up_to_date(session, rules, NOW)
    best = [line.name for line in scorecard.ranked(session, rules, NOW)]
    worst = [line.name for line in scorecard.ranked(session, rules, NOW, worst_first=True)]
    assert best == ["Steady", "Flaky", "Newcomer"]
    assert worst == ["Flaky", "Steady", "Newcomer"]


def test_every_month_with_commitments_has_one_bucket(session, ledger_of_five):
    rules = current_app.config["VENDORTRACK_RULES"]
    tally.bring_up_to_date(session, rules, NOW)
    buckets = session.scalar(sa.select(sa.func.count()).select_from(ScoreBucket))
    from vendortrack.models import Commitment

    months = {
        (v, tally.month_start(d))
        for v, d in session.execute(sa.select(Commitment.vendor_id, Commitment.due_at))
    }
    assert buckets == len(months)


def totals_from_buckets_alone(session, rules: Rules, as_of: datetime) -> dict:
    """The scorecard's totals with the rollups set aside, as a moment they do not cover would have them."""
    through = tally.basis(session).rollup_through
    session.execute(sa.update(ScoreTallyState).values(rollup_through=None))
    try:
        return scorecard.totals_by_vendor(session, rules, as_of)
    finally:
        session.execute(sa.update(ScoreTallyState).values(rollup_through=through))


def assert_rollups_agree_with_buckets(session, rules: Rules, now: datetime, as_of: datetime, vendors) -> None:
    tally.bring_up_to_date(session, rules, now)
    assert tally.basis(session).rollup_through == tally.settled_through(rules, as_of)  # the rollups are read
    rolled = scorecard.totals_by_vendor(session, rules, as_of)
    plain = totals_from_buckets_alone(session, rules, as_of)
    assert rolled.keys() == plain.keys()
    for vendor in vendors:
        (totals, counts), (expected, expected_counts) = rolled[vendor.id], plain[vendor.id]
        assert counts == expected_counts, (vendor.name, as_of)
        assert totals.n == expected.n
        for name in ("weight", "fulfilment", "on_time"):
            assert getattr(totals, name) == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-12)
        own = scorecard.vendor_score(session, vendor, rules, as_of)
        assert counts == own.counts
        assert totals.weight == pytest.approx(own.figures.weight_total, abs=1e-9)


def test_the_rolled_up_months_give_the_buckets_figures_as_the_months_go_by(session, ledger_of_five, editor):
    rules = current_app.config["VENDORTRACK_RULES"]
    vendors = ledger_of_five
    # Mid-month (the commitments due so far are read) and late in the month (the month's buckets
    # less those due after as_of - grace are read), both on the rollups up to 1 November.
    assert_rollups_agree_with_buckets(session, rules, NOW, NOW, vendors)
    assert_rollups_agree_with_buckets(session, rules, NOW, NOW + timedelta(days=13), vendors)
    # An old commitment changed: the vendor's rollup follows in the same transaction.
    old = session.scalars(
        sa.select(Commitment).where(
            Commitment.vendor_id == vendors[1].id,
            Commitment.status == Status.kept,
            Commitment.due_at < NOW - timedelta(days=120),
        )
    ).first()
    ledger.reopen(session, old, actor=editor, now=NOW)
    ledger.resolve_broken(session, old, actor=editor, now=NOW)
    session.commit()
    assert tally.basis(session).rollup_through == tally.settled_through(rules, NOW)
    assert_rollups_agree_with_buckets(session, rules, NOW, NOW, vendors)
    # December: November is settled once its grace has passed, and the rollups move on to it.
    december = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert_rollups_agree_with_buckets(session, rules, december, december, vendors)
    assert tally.basis(session).rollup_through == datetime(2026, 12, 1, tzinfo=UTC)
    # A moment in a past month is not what the rollups sum up to: the buckets answer, and agree.
    assert_ranked_matches_each_vendor(session, rules, vendors)


def recounted_buckets(session, rules: Rules) -> dict:
    """Every bucket as a recount from the commitments gives it, by (vendor, month)."""
    rows = session.execute(tally.facts_query().order_by(Commitment.vendor_id, Commitment.due_at))
    months: dict = {}
    for row in rows:
        months.setdefault((row.vendor_id, tally.month_start(row.due_at)), []).append(tally.to_fact(row))
    return {key: tally.bucket_for(*key, facts, rules) for key, facts in months.items()}


def test_each_change_keeps_every_bucket_equal_to_a_recount(session, ledger_of_five, editor):
    rules = current_app.config["VENDORTRACK_RULES"]
    tally.bring_up_to_date(session, rules, NOW)
    rnd = random.Random(11)
    commitments = session.scalars(sa.select(Commitment).order_by(Commitment.id)).all()
    for _ in range(150):
        c = rnd.choice(commitments)
        step = rnd.choice(["move", "kind", "resolve", "reopen", "log"])
        if step == "log":
            commitments.append(
                ledger.log_commitment(
                    session,
                    vendor=c.vendor,
                    kind=rnd.choice(list(Kind)),
                    title="new",
                    actor=editor,
                    now=NOW,
                    due_at=NOW + timedelta(days=rnd.uniform(-90, 90)),
                )
            )
        elif step == "move" and c.status in (Status.open, Status.kept, Status.broken):
            # Across months, both ways: the old month gives up what the new one takes.
            ledger.edit_commitment(
                session,
                c,
                actor=editor,
                now=NOW,
                due_at=c.due_at + timedelta(days=rnd.choice([-40, -3, 3, 40])),
            )
        elif step == "kind":
            ledger.edit_commitment(session, c, actor=editor, now=NOW, kind=rnd.choice(list(Kind)))
        elif step == "resolve" and c.status == Status.open:
            outcome = rnd.choice(["kept", "late", "broken", "moved", "cancelled"])
            if outcome in ("kept", "late"):
                late = timedelta(minutes=0 if outcome == "kept" else 300)
                ledger.resolve_kept(session, c, actor=editor, now=NOW, done_at=min(c.due_at + late, NOW))
            elif outcome == "broken":
                ledger.resolve_broken(session, c, actor=editor, now=NOW)
            elif outcome == "moved":
                commitments.append(
                    ledger.reschedule(
                        session,
                        c,
                        actor=editor,
                        now=NOW,
                        confirm_past=True,
                        new_due_at=c.due_at + timedelta(days=20),
                    )
                )
            else:
                ledger.cancel(session, c, actor=editor, now=NOW)
        elif step == "reopen" and c.status != Status.open:
            follow_up = c.rescheduled_to if c.status == Status.rescheduled else None
            if follow_up is None or follow_up.status in (Status.open, Status.cancelled):
                ledger.reopen(session, c, actor=editor, now=NOW)
    session.commit()

    stored = {(b.vendor_id, b.month_start): b for b in session.scalars(sa.select(ScoreBucket))}
    expected = recounted_buckets(session, rules)
    assert stored.keys() == expected.keys()  # none missing, none left behind by a month emptied
    for key, values in expected.items():
        bucket = stored[key]
        for name in ("counted", "kept_on_time", "kept_late", "broken", "rescheduled", "overdue", "cancelled"):
            assert getattr(bucket, name) == values[name], (key, name)
        for name in ("weight", "fulfilment", "on_time"):
            assert getattr(bucket, name) == pytest.approx(values[name], rel=1e-12, abs=1e-12), (key, name)
    assert_ranked_matches_each_vendor(session, rules, ledger_of_five)
