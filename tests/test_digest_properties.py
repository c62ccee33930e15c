"""The digest against the ledger: random weeks written through the ledger, each section checked.

Each example empties the database, logs a few vendors' commitments around one week with random
kinds, outcomes and times (through vendortrack.ledger, as the app writes them), computes the week
as the digest does, and holds every section to what the ledger says directly: what came due and
what became of it, the broken promises and the excuses (one set), the overdue, next week, the
movers, best and worst (never overlapping), and the vendors not yet rated.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, _empty_all_tables
from vendortrack import ledger
from vendortrack.accounts import create_user
from vendortrack.models import Commitment, ExcuseCategory, Kind, Role, Status, Vendor
from vendortrack.scores.rules import Fact, Rules, Standing, score_as_of
from vendortrack.vendors import create_vendor
from vendortrack.week import MOVERS, Week, week_summary

START = datetime(2026, 6, 22, 6, 0, tzinfo=UTC)
END = START + timedelta(days=7)
FOLLOWING = END + timedelta(days=7)
HOUR = timedelta(hours=1)

# A commitment: its vendor, kind, due time in hours from the week's start (three weeks before it
# to one after next), what became of it, and how many hours after its due time that was logged.
commitments = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(list(Kind)),
        st.integers(-21 * 24, 13 * 24),
        st.sampled_from(["open", "kept", "broken", "rescheduled", "cancelled"]),
        st.integers(-24, 10 * 24),
        st.integers(0, 3 * 24 * 60),  # minutes late, when kept
        st.sampled_from(list(ExcuseCategory)),
        st.booleans(),  # an excuse in words
    ),
    max_size=24,
)


def write_week(session, rows, vendors: int):
    """The random ledger, written as the app writes it; the logging always days before the due time."""
    editor = create_user(
        session, email="e@example.test", password=PASSWORD, role=Role.editor, now=START - timedelta(days=60)
    )
    made = [
        create_vendor(session, now=START - timedelta(days=60), name=f"Vendor {i}") for i in range(vendors)
    ]
    for n, (v, kind, due_hours, fate, logged_after, late_minutes, category, words) in enumerate(rows):
        due = START + due_hours * HOUR
        c = ledger.log_commitment(
            session,
            vendor=made[v % vendors],
            kind=kind,
            title=f"C{n}",
            due_at=due,
            actor=editor,
            now=due - timedelta(days=5),
        )
        when = max(due + logged_after * HOUR, due - timedelta(days=4))
        excuse = {"excuse_category": category, "excuse": f"Because {n}" if words else ""}
        if fate == "kept":
            done = min(due + timedelta(minutes=late_minutes), when)
            ledger.resolve_kept(session, c, actor=editor, now=max(when, done), done_at=done)
        elif fate == "broken":
            ledger.resolve_broken(session, c, actor=editor, now=when, **excuse)
        elif fate == "rescheduled":
            ledger.reschedule(
                session, c, actor=editor, now=when, new_due_at=max(due, when) + timedelta(days=3), **excuse
            )
        elif fate == "cancelled":
            ledger.cancel(session, c, actor=editor, now=when)
    session.commit()


def expected_outcome(c: Commitment, rules: Rules) -> str:
    """SCORING.md §2 and §3 written out plainly, for a commitment due by the week's end."""
    if c.status == Status.cancelled:
        return "cancelled"
    if c.status == Status.open:
        return "overdue" if c.due_at + rules.grace <= END else "pending"
    if c.status == Status.kept:
        return "kept_on_time" if c.done_at <= c.due_at + rules.tolerance(c.kind) else "kept_late"
    return str(c.status)


def check_week(session, week: Week, min_move: float) -> None:
    rules = current_app.config["VENDORTRACK_RULES"]
    every = session.scalars(sa.select(Commitment).order_by(Commitment.due_at, Commitment.id)).all()
    ids = lambda lines: [line.id for line in lines]  # noqa: E731 - a one-line reading aid

    # What came due, and what became of each.
    came_due = [c for c in every if START <= c.due_at < END]
    assert ids(week.came_due.lines) == [c.id for c in came_due]
    outcomes = {c.id: expected_outcome(c, rules) for c in came_due}
    assert {line.id: str(line.outcome) for line in week.came_due.lines} == outcomes
    assert {str(k): n for k, n in week.outcome_counts.items()} == dict(Counter(outcomes.values()))
    for line in week.came_due.lines:
        c = session.get(Commitment, line.id)
        assert line.late_by == (c.done_at - c.due_at if outcomes[c.id] == "kept_late" else None)
        if c.status == Status.rescheduled:
            assert line.moved_to == max(s.due_at for s in every if s.rescheduled_from_id == c.id)

    # The week's failures: one set behind the broken list and the excuse of the week.
    failed = [
        c
        for c in every
        if c.status in (Status.broken, Status.rescheduled)
        and c.due_at < END
        and (c.due_at >= START or START <= c.resolved_at < END)
    ]
    assert ids(week.broken.lines) == [c.id for c in failed if c.status == Status.broken]
    assert {c.id for c in came_due if c.status == Status.broken} <= set(ids(week.broken.lines))
    if failed:
        tally = Counter(c.excuse_category or ExcuseCategory.none_given for c in failed)
        assert week.excuse.out_of == len(failed)
        assert week.excuse.count == max(tally.values()) == tally[week.excuse.category]
        if week.excuse.example:
            assert week.excuse.example.id in {c.id for c in failed} and week.excuse.example.excuse
    else:
        assert week.excuse is None

    # Overdue and next week.
    assert ids(week.overdue.lines) == [
        c.id for c in every if c.status == Status.open and c.due_at <= END - rules.grace
    ]
    assert ids(week.next_week.lines) == [
        c.id
        for c in every
        if END <= c.due_at < FOLLOWING and c.status in (Status.open, Status.kept, Status.broken)
    ]

    # Scores, from each vendor's facts by scoring.py alone (not the scorecard's monthly sums).
    names = dict(session.execute(sa.select(Vendor.id, Vendor.name)).all())
    facts: dict[int, list[Fact]] = {v: [] for v in names}
    for c in every:
        facts[c.vendor_id].append(Fact(c.id, c.kind, c.due_at, c.status, c.done_at))
    at_start = {v: score_as_of(f, rules, START) for v, f in facts.items()}
    at_end = {v: score_as_of(f, rules, END) for v, f in facts.items()}
    rated = [v for v in facts if at_end[v].standing != Standing.insufficient_data]

    # Movers: only vendors rated at both ends, with a counted commitment this week, moved min_move or more.
    active = {c.vendor_id for c in came_due if outcomes[c.id] not in ("pending", "cancelled")}
    # A move is read off the two scores as shown, to one decimal.
    moved = {
        v: round(round(at_end[v].score, 1) - round(at_start[v].score, 1), 1)
        for v in rated
        if v in active and at_start[v].standing != Standing.insufficient_data
    }
    up = sorted((v for v, d in moved.items() if d > 0 and d >= min_move), key=lambda v: (-moved[v], names[v]))
    down = sorted(
        (v for v, d in moved.items() if d < 0 and d <= -min_move), key=lambda v: (moved[v], names[v])
    )
    assert [m.vendor_id for m in week.movers_up] == up[:MOVERS]
    assert [m.vendor_id for m in week.movers_down] == down[:MOVERS]
    for m in week.movers_up + week.movers_down:
        assert math.isclose(m.delta, moved[m.vendor_id], abs_tol=1e-6)
    listed = set(up + down)

    # Best and worst: SCORING.md §9, and never the same vendor twice.
    n = len(rated)
    best_ids, worst_ids = [s.vendor_id for s in week.best], [s.vendor_id for s in week.worst]
    assert len(best_ids) == min(5, math.ceil(n / 2)) and len(worst_ids) == min(5, n // 2)
    assert not set(best_ids) & set(worst_ids)
    by_best = sorted(rated, key=lambda v: (-at_end[v].ranking_key, names[v].casefold(), v))
    by_worst = [
        v
        for v in sorted(rated, key=lambda v: (at_end[v].worst_key, names[v].casefold(), v))
        if v not in best_ids
    ]
    assert best_ids == by_best[: len(best_ids)]
    assert worst_ids == by_worst[: len(worst_ids)]

    # Not yet rated: every other vendor, with how many of its commitments count.
    unrated = {u.vendor_id: u.counted for u in week.unrated}
    assert not unrated.keys() & (set(best_ids) | set(worst_ids) | listed)
    assert unrated == {v: at_end[v].counted for v in facts if v not in rated}
    assert all(counted < 3 for counted in unrated.values())


def test_every_section_of_a_random_week_agrees_with_the_ledger(app, session):
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rows=commitments, vendors=st.integers(1, 6), min_move=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    def week_agrees(rows, vendors, min_move):
        _empty_all_tables()
        session.expunge_all()  # ids start again at 1: no object of the last example may linger
        current_app.config["VENDORTRACK_DIGEST_MIN_MOVE"] = min_move
        write_week(session, rows, vendors)
        check_week(
            session,
            week_summary(
                session,
                current_app.config["VENDORTRACK_RULES"],
                START,
                END,
                FOLLOWING,
                now=END,
                min_move=min_move,
            ),
            min_move,
        )

    week_agrees()
