"""SCORING.md as properties: what must hold for every ledger and every setting, checked by hypothesis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendortrack.scores.rules import (
    Z90,
    Fact,
    Rules,
    Standing,
    TrendSums,
    credits,
    score_as_of,
    score_vendor,
    totals_of,
)

T = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
KINDS = ("meeting", "promise", "deadline")
STATUSES = ("open", "kept", "broken", "rescheduled", "cancelled")
CATEGORIES = ("force_majeure", "personal", "oversight", "third_party", "plot_twist", "none_given", "other")
YEAR_MINUTES = 365 * 24 * 60
# The machine is noisy and a ledger of two dozen facts with its trend takes a few milliseconds.
PROPERTY = settings(max_examples=100, deadline=None)


# --- strategies --------------------------------------------------------------------------------------

rules_strategy = st.builds(
    Rules,
    grace=st.integers(0, 72 * 60).map(lambda m: timedelta(minutes=m)),
    half_life_days=st.one_of(st.just(0.0), st.floats(1, 720)),
    meeting_tolerance=st.integers(0, 60).map(lambda m: timedelta(minutes=m)),
    deadline_tolerance=st.integers(0, 24 * 60).map(lambda m: timedelta(minutes=m)),
    weight_reliability=st.floats(0, 1),
)


def offsets(low_minutes: int, high_minutes: int) -> st.SearchStrategy[timedelta]:
    """Moments in a range, with extra attention to the edges where a rule flips: 0 and +-1 µs."""
    low, high = timedelta(minutes=low_minutes), timedelta(minutes=high_minutes)
    edges = [
        d for d in (timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)) if low <= d <= high
    ]
    minutes = st.integers(low_minutes, high_minutes).map(lambda m: timedelta(minutes=m))
    return st.one_of(minutes, st.sampled_from(edges)) if edges else minutes


# Lateness against the tolerance: exactly on it, a hair either side, or anything within ten days.
slack_strategy = st.one_of(
    st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)]),
    st.integers(-10 * 24 * 60, 10 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)


@st.composite
def facts_strategy(
    draw,
    rules: Rules,
    *,
    min_size: int = 0,
    max_size: int = 20,
    first_id: int = 1,
    due: st.SearchStrategy[timedelta] | None = None,
    statuses: tuple[str, ...] = STATUSES,
) -> list[Fact]:
    """A ledger: due dates three years back to a year ahead of T, done near the due date, excuses, moves."""
    if due is None:
        # Anywhere from three years back to a year ahead, often near T, sometimes right on the grace edge.
        edge = st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)])
        due = st.one_of(
            offsets(-3 * YEAR_MINUTES, YEAR_MINUTES),
            offsets(-3 * 24 * 60, 3 * 24 * 60),
            edge.map(lambda d: d - rules.grace),
        )
    facts: list[Fact] = []
    for i in range(draw(st.integers(min_size, max_size))):
        fact_id = first_id + i
        kind, status = draw(st.sampled_from(KINDS)), draw(st.sampled_from(statuses))
        due_at = T + draw(due)
        done_at = due_at + tolerance(rules, kind) + draw(slack_strategy) if status == "kept" else None
        excuse = (
            draw(st.none() | st.sampled_from(CATEGORIES)) if status in ("broken", "rescheduled") else None
        )
        moved_from = draw(st.none() | st.integers(first_id, fact_id - 1)) if i else None
        facts.append(
            Fact(
                fact_id,
                kind,
                due_at,
                status,
                done_at=done_at,
                excuse_category=excuse,
                rescheduled_from_id=moved_from,
            )
        )
    return facts


@st.composite
def ledgers(draw, **kwargs) -> tuple[Rules, list[Fact]]:
    rules = draw(rules_strategy)
    return rules, draw(facts_strategy(rules, **kwargs))


# --- SCORING.md §2 to §4 restated, independently of the code under test --------------------------------


def tolerance(rules: Rules, kind: str) -> timedelta:
    return rules.meeting_tolerance if kind == "meeting" else rules.deadline_tolerance


def expected_weight(due_at: datetime, rules: Rules, as_of: datetime) -> float:
    days = (as_of - due_at).total_seconds() / 86400
    return 1.0 if rules.half_life_days == 0 else 2 ** (-days / rules.half_life_days)


def expected_credit(fact: Fact, rules: Rules, as_of: datetime) -> tuple[float, float] | None:
    """(f, p) of a commitment that counts as of `as_of`, None for one that does not."""
    if fact.status == "cancelled" or fact.due_at > as_of:
        return None
    if fact.status == "open":
        return (0.0, 0.0) if fact.due_at + rules.grace <= as_of else None
    if fact.status == "kept":
        return (1.0, 1.0 if fact.done_at <= fact.due_at + tolerance(rules, fact.kind) else 0.0)
    return (0.5, 0.0) if fact.status == "rescheduled" else (0.0, 0.0)


def expected_counted(facts: list[Fact], rules: Rules, as_of: datetime) -> int:
    return sum(expected_credit(f, rules, as_of) is not None for f in facts)


def at_least(value: float, floor: float) -> bool:
    """value >= floor, forgiving the last bits that summing in another order may change."""
    return value >= floor or value == pytest.approx(floor, rel=1e-12, abs=1e-15)


def same_figures(a, b) -> None:
    assert (a.counted, a.standing) == (b.counted, b.standing)
    for name in ("reliability", "punctuality", "score", "ranking_key", "worst_key", "weight_total"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12, abs=1e-12), name
    assert a.reliability_band == pytest.approx(b.reliability_band, rel=1e-12, abs=1e-12)
    assert a.punctuality_band == pytest.approx(b.punctuality_band, rel=1e-12, abs=1e-12)


# --- the properties ----------------------------------------------------------------------------------


@PROPERTY
@given(ledger=ledgers(), data=st.data())
def test_a_commitment_kept_on_time_never_lowers_reliability_or_punctuality(ledger, data):
    rules, facts = ledger
    kind = data.draw(st.sampled_from(KINDS))
    due_at = T + data.draw(offsets(-3 * YEAR_MINUTES, 0))
    # Anywhere from ten days early to exactly on the tolerance.
    early = data.draw(st.integers(0, 10 * 24 * 60 * 60).map(lambda s: timedelta(seconds=s)))
    kept = Fact(len(facts) + 1, kind, due_at, "kept", done_at=due_at + tolerance(rules, kind) - early)

    before, after = score_as_of(facts, rules, T), score_as_of([*facts, kept], rules, T)

    assert after.counted == before.counted + 1
    assert at_least(after.reliability, before.reliability)
    assert at_least(after.punctuality, before.punctuality)


@PROPERTY
@given(ledger=ledgers(), data=st.data())
def test_a_cancelled_commitment_changes_no_figure(ledger, data):
    rules, facts = ledger
    (cancelled,) = data.draw(
        facts_strategy(rules, min_size=1, max_size=1, first_id=len(facts) + 1, statuses=("cancelled",))
    )
    position = data.draw(st.integers(0, len(facts)))
    with_it = [*facts[:position], cancelled, *facts[position:]]

    before, after = score_vendor(facts, rules, T), score_vendor(with_it, rules, T)

    assert after.figures == before.figures
    assert after.trend == before.trend
    assert after.explain == before.explain
    assert after.excuses == before.excuses
    assert after.longest_reschedule_chain == before.longest_reschedule_chain
    # The only thing that moves is the count of cancelled ones, when its date has come.
    came_due = int(cancelled.due_at <= T)
    assert after.counts == before.counts | {"cancelled": before.counts["cancelled"] + came_due}


@PROPERTY
@given(ledger=ledgers())
def test_with_half_life_zero_the_sums_are_plain_counts(ledger):
    rules, facts = ledger
    rules = replace(rules, half_life_days=0.0)
    expected = [c for f in facts if (c := expected_credit(f, rules, T)) is not None]
    plain_f, plain_p = sum(f for f, _ in expected), sum(p for _, p in expected)

    counted = credits(facts, rules, T)
    totals = totals_of(counted)
    figures = score_as_of(facts, rules, T)

    assert all(c.weight == 1.0 for c in counted)
    assert figures.counted == len(expected)
    assert figures.weight_total == len(expected)
    assert (totals.fulfilment, totals.on_time) == (plain_f, plain_p)
    assert figures.reliability == pytest.approx((plain_f + 1) / (len(expected) + 2), rel=1e-15)
    assert figures.punctuality == pytest.approx((plain_p + 1) / (len(expected) + 2), rel=1e-15)


@PROPERTY
@given(ledger=ledgers())
def test_the_explanation_lists_exactly_the_counted_commitments_with_their_weight_f_and_p(ledger):
    rules, facts = ledger
    expected = {
        f.id: (expected_weight(f.due_at, rules, T), *credit)
        for f in facts
        if (credit := expected_credit(f, rules, T)) is not None
    }

    explained = {c.fact.id: (c.weight, c.f, c.p) for c in credits(facts, rules, T)}

    assert explained.keys() == expected.keys()
    for fact_id, (w, f, p) in expected.items():
        assert explained[fact_id] == pytest.approx((w, f, p), rel=1e-12, abs=1e-300)


@PROPERTY
@given(ledger=ledgers())
def test_both_bands_lie_within_0_and_1_around_their_wilson_centre_and_the_point_estimate(ledger):
    rules, facts = ledger
    totals = totals_of(credits(facts, rules, T))
    figures = score_as_of(facts, rules, T)
    n = totals.weight
    for successes, (low, high), point in (
        (totals.fulfilment, figures.reliability_band, figures.reliability),
        (totals.on_time, figures.punctuality_band, figures.punctuality),
    ):
        assert 0.0 <= low <= high <= 1.0
        if n == 0:
            assert (low, high) == (0.0, 1.0)
            continue
        phat, z2 = successes / n, Z90 * Z90
        centre = (phat + z2 / (2 * n)) / (1 + z2 / n)
        assert at_least(centre, low) and at_least(high, centre)
        # The Laplace mean (S + 1) / (N + 2) lies between S / N and the Wilson centre (S + z²/2) / (N + z²),
        # and the Wilson interval holds both: so the point estimate is always inside its band.
        assert at_least(point, low) and at_least(high, point)


@PROPERTY
@given(ledger=ledgers(), data=st.data())
def test_the_score_as_of_t_ignores_everything_due_after_t(ledger, data):
    rules, facts = ledger
    later = data.draw(
        facts_strategy(rules, min_size=1, first_id=len(facts) + 1, due=offsets(1, 2 * YEAR_MINUTES))
    )
    # Shuffled in among the others, so only their dates can keep them out.
    mixed = data.draw(st.permutations([*facts, *later]))

    before = score_as_of(facts, rules, T)
    after = score_as_of(mixed, rules, T)

    same_figures(after, before)
    assert {c.fact.id for c in credits(mixed, rules, T)} == {c.fact.id for c in credits(facts, rules, T)}


@PROPERTY
@given(ledger=ledgers(max_size=8))
def test_the_score_lies_between_0_and_100_and_fewer_than_3_counted_is_insufficient_data(ledger):
    rules, facts = ledger
    figures = score_as_of(facts, rules, T)
    counted = expected_counted(facts, rules, T)

    assert 0.0 <= figures.score <= 100.0
    assert figures.counted == counted
    assert (figures.standing == Standing.insufficient_data) == (counted < 3)


@PROPERTY
@given(ledger=ledgers())
def test_the_ranking_key_never_exceeds_the_score_and_the_worst_key_never_falls_below_it(ledger):
    # Proved in the band test: each Wilson lower bound <= its Laplace mean <= its upper bound,
    # and the three figures mix them with the same non-negative weights.
    rules, facts = ledger
    figures = score_as_of(facts, rules, T)
    assert at_least(figures.score, figures.ranking_key)
    assert at_least(figures.worst_key, figures.score)


YEAR_BACK = st.one_of(st.just(0), st.integers(0, 330 * 24 * 60), st.integers(0, YEAR_MINUTES))


@PROPERTY
@given(ledger=ledgers(), back=YEAR_BACK)
def test_the_fast_trend_sums_equal_the_definition_at_any_moment_up_to_a_year_before_the_anchor(ledger, back):
    rules, facts = ledger
    moment = T - timedelta(minutes=back)

    fast = TrendSums(facts, rules, T).totals(moment)
    slow = totals_of(credits(facts, rules, moment))

    assert fast.n == slow.n
    # With a half-life of a day, a commitment three years old weighs 2 ** -1095 at the anchor: that
    # underflows to 0.0 (or keeps few bits), so it adds less than 1e-200 where the definition adds 1e-230.
    # No figure can tell the two apart; everything else agrees to 1e-9 relative.
    for name in ("weight", "fulfilment", "on_time"):
        assert getattr(fast, name) == pytest.approx(getattr(slow, name), rel=1e-9, abs=1e-200), name


@PROPERTY
@given(ledger=ledgers(), as_of=YEAR_BACK.map(lambda m: T + timedelta(minutes=m)))
def test_every_trend_point_equals_the_score_computed_as_of_its_moment(ledger, as_of):
    rules, facts = ledger
    points = score_vendor(facts, rules, as_of).trend

    assert [p["as_of"] for p in points] == [as_of - timedelta(days=30 * k) for k in range(11, -1, -1)]
    for point in points:
        direct = score_as_of(facts, rules, point["as_of"])
        if direct.counted == 0:  # nothing counted yet: no point (SCORING.md §9)
            assert point["score"] is None and point["standing"] is None
            continue
        assert point["score"] == pytest.approx(direct.score, rel=1e-9, abs=1e-9)
        assert point["standing"] == direct.standing


def test_a_record_that_has_all_but_decayed_away_gets_the_widest_band_not_a_crash():
    # Half-life of a day, one promise broken 540 days ago: it weighs 2 ** -540 = 2.8e-163, whose square
    # underflows to 0.0; §5's formula as printed divides by it. The band tends to [0, 1] as N -> 0.
    rules = Rules(half_life_days=1.0)
    facts = [Fact(1, "promise", T - timedelta(days=540), "broken")]

    figures = score_as_of(facts, rules, T)

    assert figures.weight_total == pytest.approx(2.0**-540)
    assert figures.reliability_band == pytest.approx((0.0, 1.0), abs=1e-12)
    assert figures.punctuality_band == pytest.approx((0.0, 1.0), abs=1e-12)
    assert figures.score == pytest.approx(50.0)


@PROPERTY
@given(ledger=ledgers(), data=st.data())
def test_the_order_of_the_facts_does_not_matter(ledger, data):
    rules, facts = ledger
    shuffled = data.draw(st.permutations(facts))

    one, other = score_vendor(facts, rules, T), score_vendor(shuffled, rules, T)

    same_figures(one.figures, other.figures)
    assert one.counts == other.counts
    assert one.excuses == other.excuses
    assert one.longest_reschedule_chain == other.longest_reschedule_chain
    assert one.median_late_minutes_meetings == other.median_late_minutes_meetings
    assert one.median_late_hours_other == other.median_late_hours_other
    assert sorted(c.fact.id for c in one.explain) == sorted(c.fact.id for c in other.explain)
    for a, b in zip(one.trend, other.trend, strict=True):
        assert (a["as_of"], a["standing"]) == (b["as_of"], b["standing"])
        assert (a["score"] is None) == (b["score"] is None)
        if a["score"] is not None:
            assert a["score"] == pytest.approx(b["score"], rel=1e-12)
