"""SCORING.md as the tests read it: the worked example of §7 with its arithmetic, and the rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vendortrack.scores.rules import (
    Z90,
    Fact,
    Outcome,
    Rules,
    Standing,
    Totals,
    headline,
    longest_chain,
    outcome,
    score_as_of,
    score_vendor,
    trend_moments,
    weight,
    wilson,
)

T = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
RULES = Rules()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# SCORING.md §7, row by row.
WORKED = [
    Fact(1, "meeting", at("2026-06-01 10:00"), "kept", done_at=at("2026-06-01 10:04")),
    Fact(2, "meeting", at("2026-06-08 10:00"), "kept", done_at=at("2026-06-08 10:35")),
    Fact(3, "promise", at("2026-06-12 23:59"), "broken", excuse_category="oversight"),
    Fact(4, "promise", at("2026-06-20 23:59"), "rescheduled", excuse_category="plot_twist"),
    Fact(5, "deadline", at("2026-06-29 23:59"), "open"),
    Fact(6, "deadline", at("2026-06-25 23:59"), "open"),
    Fact(7, "meeting", at("2026-07-02 09:00"), "kept", done_at=at("2026-06-28 09:00")),
    Fact(8, "promise", at("2026-06-15 12:00"), "cancelled"),
]


def days_before_t(text: str) -> float:
    return (T - at(text)).total_seconds() / 86400


def test_the_worked_example_counts_1_2_3_4_and_6():
    outcomes = {f.id: outcome(f, RULES, T) for f in WORKED}
    assert outcomes == {
        1: Outcome.kept_on_time,  # 4 minutes late, within the 5-minute meeting tolerance
        2: Outcome.kept_late,  # 35 minutes late
        3: Outcome.broken,
        4: Outcome.rescheduled,
        5: Outcome.pending,  # due 06-29 23:59, grace runs to 06-30 23:59, after T
        6: Outcome.overdue,  # due 06-25 23:59, grace ended 06-26 23:59, before T
        7: Outcome.early,  # kept early, but not due until 07-02
        8: Outcome.cancelled,
    }


def test_the_worked_example_figures_with_their_arithmetic():
    # w = 2 ** (-(T - due) / 180), (T - due) in days:
    w1 = 2 ** (-days_before_t("2026-06-01 10:00") / 180)  # 29 d 02:00 = 29.0833 d -> 0.894049
    w2 = 2 ** (-days_before_t("2026-06-08 10:00") / 180)  # 22 d 02:00 = 22.0833 d -> 0.918477
    w3 = 2 ** (-days_before_t("2026-06-12 23:59") / 180)  # 17 d 12:01 = 17.5007 d -> 0.934829
    w4 = 2 ** (-days_before_t("2026-06-20 23:59") / 180)  #  9 d 12:01 =  9.5007 d -> 0.964076
    w6 = 2 ** (-days_before_t("2026-06-25 23:59") / 180)  #  4 d 12:01 =  4.5007 d -> 0.982818
    assert [round(w, 6) for w in (w1, w2, w3, w4, w6)] == [0.894049, 0.918477, 0.934829, 0.964076, 0.982818]
    n = w1 + w2 + w3 + w4 + w6  # every counted one weighs in N
    s_f = w1 * 1 + w2 * 1 + w3 * 0 + w4 * 0.5 + w6 * 0  # kept, kept, broken, rescheduled, overdue
    s_p = w1 * 1  # only #1 was on time
    reliability = (s_f + 1) / (n + 2)
    punctuality = (s_p + 1) / (n + 2)
    score = 100 * (0.6 * reliability + 0.4 * punctuality)

    figures = score_as_of(WORKED, RULES, T)

    assert figures.counted == 5
    assert figures.weight_total == pytest.approx(n, abs=1e-12)
    assert figures.reliability == pytest.approx(reliability, abs=1e-12)
    assert figures.punctuality == pytest.approx(punctuality, abs=1e-12)
    assert figures.score == pytest.approx(score, abs=1e-9)
    # The numbers themselves, so a change to the formulas cannot pass unnoticed:
    # N = 4.694248, S_f = 0.894049 + 0.918477 + 0.5 * 0.964076 = 2.294563, S_p = 0.894049
    assert (round(n, 6), round(s_f, 6), round(s_p, 6)) == (4.694248, 2.294563, 0.894049)
    # R = 3.294563 / 6.694248 = 0.492148; P = 1.894049 / 6.694248 = 0.282937
    assert (round(reliability, 6), round(punctuality, 6)) == (0.492148, 0.282937)
    # score = 100 * (0.6 * 0.492148 + 0.4 * 0.282937) = 40.846376
    assert round(figures.score, 6) == 40.846376
    assert figures.standing == Standing.poor  # 40 <= 40.85 < 60


def test_the_worked_example_bands_are_wilson_at_90_percent():
    figures = score_as_of(WORKED, RULES, T)
    n, s_f = figures.weight_total, figures.reliability * (figures.weight_total + 2) - 1
    phat, z = s_f / n, Z90
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert figures.reliability_band == pytest.approx((centre - half, centre + half), abs=1e-12)
    low_mix = 100 * (0.6 * figures.reliability_band[0] + 0.4 * figures.punctuality_band[0])
    assert figures.ranking_key == pytest.approx(low_mix, abs=1e-12)


def test_a_vendor_with_no_history_sits_at_one_half_with_the_widest_band():
    figures = headline(Totals(), RULES)
    assert (figures.reliability, figures.punctuality, figures.score) == (0.5, 0.5, 50.0)
    assert figures.reliability_band == (0.0, 1.0)
    assert figures.standing == Standing.insufficient_data


@pytest.mark.parametrize(
    ("score", "counted", "standing"),
    [
        (90.0, 3, Standing.excellent),
        (89.99, 3, Standing.good),
        (75.0, 3, Standing.good),
        (60.0, 3, Standing.fair),
        (40.0, 3, Standing.poor),
        (39.99, 3, Standing.unreliable),
        (99.0, 2, Standing.insufficient_data),
    ],
)
def test_standing_thresholds(score, counted, standing):
    from vendortrack.scores.rules import standing_for

    assert standing_for(score, counted) == standing


def test_half_life_zero_weighs_everything_alike():
    assert weight(at("2020-01-01 00:00"), T, 0) == 1.0
    assert weight(T - timedelta(days=180), T, 180) == pytest.approx(0.5)


def test_wilson_band_is_symmetric_for_a_coin():
    low, high = wilson(50, 100)
    assert low + high == pytest.approx(1.0)
    assert low == pytest.approx(0.4189, abs=1e-4)


def test_a_meeting_kept_exactly_at_the_tolerance_is_on_time_and_a_microsecond_later_is_not():
    due = at("2026-06-01 10:00")
    on_the_edge = Fact(1, "meeting", due, "kept", done_at=due + timedelta(minutes=5))
    just_late = Fact(2, "meeting", due, "kept", done_at=due + timedelta(minutes=5, microseconds=1))
    promise = Fact(3, "promise", due, "kept", done_at=due + timedelta(seconds=1))
    assert outcome(on_the_edge, RULES, T) == Outcome.kept_on_time
    assert outcome(just_late, RULES, T) == Outcome.kept_late
    assert outcome(promise, RULES, T) == Outcome.kept_late, "promises have no tolerance by default"


def test_the_report_counts_medians_excuses_and_chains():
    facts = [
        *WORKED,
        Fact(9, "promise", at("2026-05-01 12:00"), "rescheduled", excuse_category="personal"),
        Fact(10, "promise", at("2026-05-08 12:00"), "rescheduled", rescheduled_from_id=9),
        Fact(
            11,
            "promise",
            at("2026-05-15 12:00"),
            "kept",
            done_at=at("2026-05-15 18:00"),
            rescheduled_from_id=10,
        ),
    ]
    report = score_vendor(facts, RULES, T)
    assert report.counts == {
        "kept_on_time": 1,
        "kept_late": 2,
        "broken": 1,
        "rescheduled": 3,
        "overdue": 1,
        "cancelled": 1,
        "upcoming": 0,
    }
    assert report.median_late_minutes_meetings == 35.0
    assert report.median_late_hours_other == 6.0
    assert report.excuses == {"none_given": 1, "oversight": 1, "personal": 1, "plot_twist": 1}
    assert report.longest_reschedule_chain == 2, "#9 moved to #10, moved to #11"
    assert [c.fact.id for c in report.explain] == [1, 2, 3, 4, 6, 9, 10, 11]


def test_the_trend_has_twelve_points_thirty_days_apart_ending_at_t():
    moments = trend_moments(T)
    assert len(moments) == 12 and moments[-1] == T and moments[0] == T - timedelta(days=330)
    report = score_vendor(WORKED, RULES, T)
    assert report.trend[-1]["score"] == pytest.approx(report.figures.score, abs=1e-9)
    # Before the first commitment came due there is nothing to count: no point, not a flat 50 (§9).
    assert report.trend[0] == {"as_of": moments[0], "score": None, "standing": None}


def test_the_trend_starts_with_the_first_month_a_commitment_counted():
    # First promise kept 100 days before T: the points as of T - 90, - 60, - 30 days and T count it;
    # as of T - 120 days and earlier the vendor had no history, so those points are absent.
    facts = [
        Fact(1, "promise", T - timedelta(days=100), "kept", done_at=T - timedelta(days=100)),
        Fact(2, "promise", T - timedelta(days=50), "broken"),
    ]

    trend = score_vendor(facts, RULES, T).trend

    assert [p["as_of"] for p in trend if p["score"] is not None] == [
        T - timedelta(days=30 * k) for k in (3, 2, 1, 0)
    ]
    assert all(p["score"] is None and p["standing"] is None for p in trend[:8])
    # As of T - 90 days one kept promise counts: R = P = (1 + 1) / (1 + 2) weighted, not a prior's 50.
    assert trend[8]["score"] == pytest.approx(score_as_of(facts, RULES, T - timedelta(days=90)).score)
    assert trend[8]["standing"] == "insufficient_data"


def test_each_trend_point_equals_the_score_computed_as_of_that_moment():
    report = score_vendor(WORKED, RULES, T + timedelta(days=40))
    for point in report.trend:
        direct = score_as_of(WORKED, RULES, point["as_of"])
        if direct.counted == 0:
            assert point["score"] is None and point["standing"] is None
            continue
        assert point["score"] == pytest.approx(direct.score, abs=1e-9)
        assert point["standing"] == direct.standing


def test_longest_chain_ignores_moves_not_yet_due():
    facts = [
        Fact(1, "promise", at("2026-06-01 12:00"), "rescheduled"),
        Fact(2, "promise", at("2026-07-20 12:00"), "rescheduled", rescheduled_from_id=1),
    ]
    assert longest_chain(facts, T) == 1
