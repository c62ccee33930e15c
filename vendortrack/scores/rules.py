"""SCORING.md as code: every number shown about a vendor, computed as of a moment, with no Flask.

The functions take plain facts (`Fact`) and settings (`Rules`) and return plain data, so the
scorecard, the API, the digest and the tests all compute the same figures the same way.

Each rule is written here once: what is overdue (`is_overdue_by`), what each outcome earns
(`CREDITS`), when a kept one is on time (`is_on_time`), what counts (`COUNTED`). Where a query
needs a rule, its SQL is built here from the same definition (the "in SQL" section), never
restated by the query.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

Z90 = 1.6448536269514722  # the Wilson interval at 90 %
DAY = timedelta(days=1)
TREND_POINTS = 12
TREND_STEP = timedelta(days=30)
MIN_COUNTED = 3  # fewer counted commitments than this: insufficient_data


class Outcome(StrEnum):
    """What a commitment amounts to as of a moment; the first five are the counted ones."""

    kept_on_time = "kept_on_time"
    kept_late = "kept_late"
    broken = "broken"
    rescheduled = "rescheduled"
    overdue = "overdue"
    pending = "pending"  # open, due, still within its grace period
    upcoming = "upcoming"  # open, not due yet
    early = "early"  # resolved, but its date has not come yet
    cancelled = "cancelled"


# (fulfilment f, on time p) for each counted outcome: SCORING.md §3.
CREDITS: dict[Outcome, tuple[float, float]] = {
    Outcome.kept_on_time: (1.0, 1.0),
    Outcome.kept_late: (1.0, 0.0),
    Outcome.rescheduled: (0.5, 0.0),
    Outcome.broken: (0.0, 0.0),
    Outcome.overdue: (0.0, 0.0),
}
COUNTED = frozenset(CREDITS)
FULFILMENT, ON_TIME = 0, 1  # the two credits of each pair in CREDITS


class Standing(StrEnum):
    excellent = "excellent"
    good = "good"
    fair = "fair"
    poor = "poor"
    unreliable = "unreliable"
    insufficient_data = "insufficient_data"


STANDING_FLOORS = ((90, Standing.excellent), (75, Standing.good), (60, Standing.fair), (40, Standing.poor))


@dataclass(frozen=True)
class Rules:
    """The settings of SCORING.md §8, with its defaults; the app builds its own once (config.py)."""

    grace: timedelta = timedelta(hours=24)
    half_life_days: float = 180.0
    meeting_tolerance: timedelta = timedelta(minutes=5)
    deadline_tolerance: timedelta = timedelta(0)
    weight_reliability: float = 0.6
    ack_working_days: int = 1  # a complaint's answer is due by the end of this working day (§10)
    timezone: str = "UTC"  # the installation's: whose working days and midnights those are

    def tolerance(self, kind: str) -> timedelta:
        return self.meeting_tolerance if kind == "meeting" else self.deadline_tolerance

    @staticmethod
    def tolerance_sql(kind: sa.ColumnElement, meeting: Any, deadline: Any) -> sa.ColumnElement:
        """`tolerance` in SQL: the meeting tolerance for meetings, the deadline one for the rest."""
        return sa.case((kind == "meeting", meeting), else_=deadline)

    def overdue_until(self, as_of: datetime) -> datetime:
        """Open and due at or before this moment: overdue as of `as_of` (SCORING.md §2, the grace)."""
        return as_of - self.grace

    def is_overdue(self, status: Any, due_at: Any, as_of: datetime) -> Any:
        """`is_overdue_by` as of a moment: on a commitment's values, or on columns in a query."""
        return is_overdue_by(status, due_at, self.overdue_until(as_of))


def is_overdue_by(status: Any, due_at: Any, until: Any) -> Any:
    """The overdue rule: still open, and due at or before `until` (`Rules.overdue_until`).

    Written with `==`, `<=` and `&`, it reads the same on plain values (a bool) and on SQL columns
    and parameters (a condition), so the lists, the sweep, the digest and the scorecard's SQL all
    apply this one definition.
    """
    return (status == "open") & (due_at <= until)


def was_logged_before(created_at: Any, moment: Any) -> Any:
    """Whether something was in the ledger when a moment came: only then does the sweep nag about it.

    History written down after its time (a commitment logged after it was due, a complaint logged
    after its answer deadline) was entered by someone who knew. It counts as the rules say; only
    the flag and the email are spared. On plain values or on columns, as `is_overdue_by`.
    """
    return created_at <= moment


def is_on_time(lateness: Any, tolerance: Any) -> Any:
    """A kept commitment is on time when it was done no later than its tolerance after it was due."""
    return lateness <= tolerance


@dataclass(frozen=True)
class Fact:
    """What the ledger knows about one commitment, as far as scoring cares."""

    id: int
    kind: str
    due_at: datetime
    status: str
    done_at: datetime | None = None
    excuse_category: str | None = None
    contact_id: int | None = None
    rescheduled_from_id: int | None = None
    title: str = ""
    notified_at: datetime | None = None  # rescheduled ones: when the vendor warned us (§11)


def outcome(fact: Fact, rules: Rules, as_of: datetime) -> Outcome:
    """SCORING.md §2 and §3: how one commitment stands as of `as_of`."""
    if fact.status == "cancelled":
        return Outcome.cancelled
    if fact.status == "open":
        if fact.due_at > as_of:
            return Outcome.upcoming
        return Outcome.overdue if rules.is_overdue(fact.status, fact.due_at, as_of) else Outcome.pending
    if fact.due_at > as_of:
        return Outcome.early
    if fact.status == "kept":
        on_time = fact.done_at is not None and is_on_time(
            fact.done_at - fact.due_at, rules.tolerance(fact.kind)
        )
        return Outcome.kept_on_time if on_time else Outcome.kept_late
    return Outcome.broken if fact.status == "broken" else Outcome.rescheduled


def weight(due_at: datetime, as_of: datetime, half_life_days: float) -> float:
    """SCORING.md §4: w = 2 ** (-(T - due_at) / H), in days; H = 0 turns decay off."""
    if half_life_days == 0:
        return 1.0
    return 2.0 ** (-((as_of - due_at) / DAY) / half_life_days)


def wilson(successes: float, trials: float, z: float = Z90) -> tuple[float, float]:
    """SCORING.md §5: the Wilson score interval on S / N; [0, 1] with no trials."""
    if trials <= 0:
        return (0.0, 1.0)
    # §5's formula multiplied through by N: the same interval, but a tiny N (old commitments under
    # a short half-life weigh 1e-163) no longer squares to 0.0 and divides by it.
    denominator = trials + z * z
    centre = (successes + z * z / 2) / denominator
    spread = successes * max(0.0, trials - successes) / trials  # N * phat * (1 - phat)
    half = z * math.sqrt(spread + z * z / 4) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Totals:
    """The sums of §4: n counted commitments (unweighted), N = sum(w), S_f, S_p."""

    n: int = 0
    weight: float = 0.0
    fulfilment: float = 0.0
    on_time: float = 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.n + other.n,
            self.weight + other.weight,
            self.fulfilment + other.fulfilment,
            self.on_time + other.on_time,
        )


def standing_for(score: float, counted: int) -> Standing:
    if counted < MIN_COUNTED:
        return Standing.insufficient_data
    for floor, standing in STANDING_FLOORS:
        if score >= floor:
            return standing
    return Standing.unreliable


@dataclass(frozen=True)
class Headline:
    """The figures of §5 for one set of counted commitments."""

    reliability: float
    punctuality: float
    reliability_band: tuple[float, float]
    punctuality_band: tuple[float, float]
    score: float
    ranking_key: float
    worst_key: float
    standing: Standing
    counted: int
    weight_total: float

    @property
    def rated(self) -> bool:
        """Whether the record carries a score at all (SCORING.md §9): pages show none while it does not."""
        return self.standing != Standing.insufficient_data

    def as_dict(self) -> dict[str, Any]:
        return {
            "reliability": self.reliability,
            "punctuality": self.punctuality,
            "reliability_band": list(self.reliability_band),
            "punctuality_band": list(self.punctuality_band),
            "score": self.score,
            "standing": self.standing.value,
            "ranking_key": self.ranking_key,
            "counted": self.counted,
            "weight_total": self.weight_total,
        }


def headline(totals: Totals, rules: Rules) -> Headline:
    n_, s_f, s_p = totals.weight, totals.fulfilment, totals.on_time
    mix_r, mix_p = rules.weight_reliability, 1 - rules.weight_reliability
    reliability, punctuality = (s_f + 1) / (n_ + 2), (s_p + 1) / (n_ + 2)
    r_band, p_band = wilson(s_f, n_), wilson(s_p, n_)
    score = 100 * (mix_r * reliability + mix_p * punctuality)
    return Headline(
        reliability=reliability,
        punctuality=punctuality,
        reliability_band=r_band,
        punctuality_band=p_band,
        score=score,
        ranking_key=100 * (mix_r * r_band[0] + mix_p * p_band[0]),
        worst_key=100 * (mix_r * r_band[1] + mix_p * p_band[1]),
        standing=standing_for(score, totals.n),
        counted=totals.n,
        weight_total=n_,
    )


@dataclass(frozen=True)
class Credit:
    """One counted commitment in the explanation: how much it weighs and what it earned."""

    fact: Fact
    outcome: Outcome
    weight: float
    f: float
    p: float


def credits(facts: Iterable[Fact], rules: Rules, as_of: datetime) -> list[Credit]:
    """Every counted commitment with its weight, f and p: the "why this score" list."""
    counted = []
    for fact in facts:
        result = outcome(fact, rules, as_of)
        if result in COUNTED:
            f, p = CREDITS[result]
            counted.append(Credit(fact, result, weight(fact.due_at, as_of, rules.half_life_days), f, p))
    return counted


def totals_of(counted: Iterable[Credit]) -> Totals:
    n, big_n, s_f, s_p = 0, 0.0, 0.0, 0.0
    for credit in counted:
        n += 1
        big_n += credit.weight
        s_f += credit.weight * credit.f
        s_p += credit.weight * credit.p
    return Totals(n, big_n, s_f, s_p)


def score_as_of(facts: Iterable[Fact], rules: Rules, as_of: datetime) -> Headline:
    return headline(totals_of(credits(facts, rules, as_of)), rules)


class TrendSums:
    """Totals as of many moments at once, for the trend: sorted prefix sums instead of a pass each.

    Weights are anchored at the latest moment asked for, so as of an earlier moment t each
    prefix sum is scaled by 2 ** ((anchor - t) / H): the same numbers as `credits`, in O(log n).
    """

    def __init__(
        self, facts: Iterable[Fact], rules: Rules, anchor: datetime, outcomes: Sequence[Outcome] | None = None
    ):
        """`outcomes`, when given, are the facts' outcomes as of `anchor`, already worked out."""
        self.rules, self.anchor = rules, anchor
        resolved: list[tuple[datetime, float, float, float]] = []
        overdue_dues: list[tuple[datetime, float]] = []
        for i, fact in enumerate(facts):
            if fact.status == "cancelled" or fact.due_at > anchor:
                continue
            w = weight(fact.due_at, anchor, rules.half_life_days)
            if fact.status == "open":
                overdue_dues.append((fact.due_at, w))
            else:
                f, p = CREDITS[outcomes[i] if outcomes is not None else outcome(fact, rules, anchor)]
                resolved.append((fact.due_at, w, w * f, w * p))
        resolved.sort(key=lambda row: row[0])
        overdue_dues.sort(key=lambda row: row[0])
        self.resolved_due = [row[0] for row in resolved]
        self.resolved_w = list(accumulate((row[1] for row in resolved), initial=0.0))
        self.resolved_f = list(accumulate((row[2] for row in resolved), initial=0.0))
        self.resolved_p = list(accumulate((row[3] for row in resolved), initial=0.0))
        self.open_due = [row[0] for row in overdue_dues]
        self.open_w = list(accumulate((row[1] for row in overdue_dues), initial=0.0))

    def totals(self, as_of: datetime) -> Totals:
        resolved = bisect_right(self.resolved_due, as_of)
        overdue = bisect_right(self.open_due, self.rules.overdue_until(as_of))
        scale = 1.0 / weight(as_of, self.anchor, self.rules.half_life_days)  # 2 ** ((anchor - t) / H)
        return Totals(
            n=resolved + overdue,
            weight=(self.resolved_w[resolved] + self.open_w[overdue]) * scale,
            fulfilment=self.resolved_f[resolved] * scale,
            on_time=self.resolved_p[resolved] * scale,
        )


def trend_moments(as_of: datetime) -> list[datetime]:
    """T - 30*k days for k = 11 down to 0, oldest first (SCORING.md §6)."""
    return [as_of - TREND_STEP * k for k in range(TREND_POINTS - 1, -1, -1)]


def trend_point(totals: Totals, rules: Rules, moment: datetime) -> dict[str, Any]:
    """One point of the trend; absent (score and standing None) before anything counted (SCORING.md §9).

    A vendor with nothing counted yet sits at the prior's 50, which would draw a flat line at 50 back
    to before the vendor existed. Counted commitments only ever accrue as T moves on, so the points
    present are exactly those from the first month with a counted commitment.
    """
    if totals.n == 0:
        return {"as_of": moment, "score": None, "standing": None}
    figures = headline(totals, rules)
    return {"as_of": moment, "score": figures.score, "standing": figures.standing.value}


def trend(
    facts: Sequence[Fact], rules: Rules, as_of: datetime, outcomes: Sequence[Outcome] | None = None
) -> list[dict[str, Any]]:
    sums = TrendSums(facts, rules, as_of, outcomes)
    return [trend_point(sums.totals(moment), rules, moment) for moment in trend_moments(as_of)]


def _median_or_none(values: list) -> Any:
    return median(values) if values else None


def _median_of_sorted(values: Sequence[float]) -> float | None:
    """statistics.median of values already in order, without sorting them again."""
    n = len(values)
    if not n:
        return None
    middle = n // 2
    return values[middle] if n % 2 else (values[middle - 1] + values[middle]) / 2


def longest_chain(facts: Sequence[Fact], as_of: datetime) -> int:
    """The most times one commitment was moved: rescheduled links in a row, due by `as_of`."""
    moved = {f.id: f for f in facts if f.status == "rescheduled" and f.due_at <= as_of}
    lengths: dict[int, int] = {}

    def length(fact: Fact) -> int:
        if fact.id not in lengths:
            before = moved.get(fact.rescheduled_from_id) if fact.rescheduled_from_id else None
            # Iterative over the chain would be deeper code; chains are short, recursion is fine.
            lengths[fact.id] = 1 + (length(before) if before is not None else 0)
        return lengths[fact.id]

    return max((length(f) for f in moved.values()), default=0)


@dataclass
class VendorScore:
    """Everything SCORING.md §5 and §6 reports about one vendor (or one contact) as of a moment."""

    as_of: datetime
    figures: Headline
    counts: dict[str, int]
    median_late_minutes_meetings: float | None
    median_late_hours_other: float | None
    excuses: dict[str, int]
    longest_reschedule_chain: int
    explain: list[Credit]
    # Over every late one, meetings and the rest together: the plain-facts line's "late by a median of".
    median_lateness: timedelta | None = None
    trend: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    responsiveness: Responsiveness | None = None  # §10, beside the score, never part of it
    notice: Notice | None = None  # §11
    # How fast the vendor (or the contact) answers our asks through its links: read from the links,
    # not the commitments, so scores.scorecard.vendor_score fills them in (scores.asks).
    asks: AskAnswers | None = None
    contact_asks: dict[int, AskAnswers] = field(default_factory=dict)  # per contact asked, by id


COUNT_KEYS = ("kept_on_time", "kept_late", "broken", "rescheduled", "overdue", "cancelled", "upcoming")


def score_vendor(
    facts: Sequence[Fact],
    rules: Rules,
    as_of: datetime,
    *,
    contact_names: Mapping[int, str] | None = None,
    with_trend: bool = True,
    complaints: Sequence[ComplaintFact] = (),
) -> VendorScore:
    # One outcome per fact, shared by the explanation, counts, excuses, trend and contacts.
    outcomes = [outcome(fact, rules, as_of) for fact in facts]
    counted = [
        Credit(fact, result, weight(fact.due_at, as_of, rules.half_life_days), *CREDITS[result])
        for fact, result in zip(facts, outcomes, strict=True)
        if result in COUNTED
    ]  # the same list as credits(), in the same order
    late_meetings, late_other = [], []
    for credit in counted:
        if credit.outcome == Outcome.kept_late and credit.fact.done_at is not None:
            late = (credit.fact.done_at - credit.fact.due_at).total_seconds()
            if late > 0:
                (late_meetings if credit.fact.kind == "meeting" else late_other).append(late)
    # Broken or rescheduled and due by as_of: exactly the outcomes broken and rescheduled.
    excuses = Counter(
        f.excuse_category or "none_given"
        for f, result in zip(facts, outcomes, strict=True)
        if result in (Outcome.broken, Outcome.rescheduled)
    )
    # Cancelled ones count once their date has come, like everything else.
    tally = Counter(
        result
        for f, result in zip(facts, outcomes, strict=True)
        if not (result == Outcome.cancelled and f.due_at > as_of)
    )
    result = VendorScore(
        as_of=as_of,
        figures=headline(totals_of(counted), rules),
        counts={key: tally[Outcome(key)] for key in COUNT_KEYS},
        median_late_minutes_meetings=_median_or_none([s / 60 for s in late_meetings]),
        median_late_hours_other=_median_or_none([s / 3600 for s in late_other]),
        excuses=dict(sorted(excuses.items())),
        longest_reschedule_chain=longest_chain(facts, as_of),
        explain=counted,
        median_lateness=_median_or_none([timedelta(seconds=s) for s in late_meetings + late_other]),
        trend=trend(facts, rules, as_of, outcomes) if with_trend else [],
        responsiveness=responsiveness_of(complaints, rules, as_of),
        notice=notice_of(counted),
    )
    if contact_names is not None:
        # A contact's credits are the vendor's of its commitments, in the same order: score_as_of's sums.
        by_contact: dict[int, list[Credit]] = defaultdict(list)
        for credit in counted:
            if credit.fact.contact_id is not None:
                by_contact[credit.fact.contact_id].append(credit)
        for contact_id, name in contact_names.items():
            figures = headline(totals_of(by_contact.get(contact_id, [])), rules)
            raised_with = [c for c in complaints if c.contact_id == contact_id]
            result.contacts.append(
                {"contact_id": contact_id, "name": name}
                | figures.as_dict()
                | {"responsiveness": responsiveness_of(raised_with, rules, as_of).as_dict()}
            )
    return result


# -- complaints and notice (SCORING.md §10, §11) ------------------------------------------------


def answer_deadline(raised_at: datetime, rules: Rules) -> datetime:
    """The end of the k-th working day (Monday to Friday) after the local date a complaint was raised.

    In the installation's time zone: raised on a Friday at 17:00, or on a Saturday, it is due by the
    end of Monday (k = 1). Holidays are not known.
    """
    day = raised_at.astimezone(ZoneInfo(rules.timezone)).date()
    return _deadline_after(day, rules.ack_working_days, rules.timezone)


@lru_cache(maxsize=4096)
def _deadline_after(day: date, working_days: int, timezone: str) -> datetime:
    """`answer_deadline` of a local date: the same for every complaint raised that day, so worked out
    once (a scorecard asks it for each complaint not yet settled, the tally job for 100,000)."""
    zone = ZoneInfo(timezone)
    left = working_days
    while left > 0:
        day += DAY
        if day.weekday() < 5:
            left -= 1
    # The last microsecond of that day: an answer at 23:59:59.5 on it is still in time.
    return datetime.combine(day + DAY, time(0), tzinfo=zone).astimezone(UTC) - timedelta(microseconds=1)


def is_unanswered_by(acknowledged_at: Any, answer_due_at: Any, until: Any) -> Any:
    """The sweep's question, on values or columns: no answer yet, and the deadline at or before `until`."""
    return (acknowledged_at == None) & (answer_due_at <= until)  # noqa: E711 - IS NULL on columns


def is_answered_in_time(acknowledged_at: datetime | None, deadline: datetime) -> bool:
    """A complaint's credit `a` (§10): answered, and no later than its answer deadline."""
    return acknowledged_at is not None and acknowledged_at <= deadline


@dataclass(frozen=True)
class ComplaintFact:
    """What the ledger knows about one complaint, as far as responsiveness cares."""

    id: int
    raised_at: datetime
    acknowledged_at: datetime | None = None
    withdrawn: bool = False
    owner_named: bool = False
    dated_answer_at: datetime | None = None
    # The dated answer's promise (the newest of its chain): kept, and when.
    answer_kept_at: datetime | None = None
    contact_id: int | None = None
    title: str = ""
    severity: str = "minor"


@dataclass(frozen=True)
class ComplaintCredit:
    """One counted complaint in the explanation: its deadline, weight and credit."""

    fact: ComplaintFact
    deadline: datetime
    weight: float
    a: float


def complaint_credits(facts: Iterable[ComplaintFact], rules: Rules, as_of: datetime) -> list[ComplaintCredit]:
    """Every complaint that counts as of `as_of` (§10): not withdrawn, raised, and either its answer
    deadline has passed or it was answered by then."""
    counted = []
    for fact in facts:
        if fact.withdrawn or fact.raised_at > as_of:
            continue
        deadline = answer_deadline(fact.raised_at, rules)
        answered = fact.acknowledged_at is not None and fact.acknowledged_at <= as_of
        if deadline <= as_of or answered:
            a = 1.0 if answered and is_answered_in_time(fact.acknowledged_at, deadline) else 0.0
            counted.append(
                ComplaintCredit(fact, deadline, weight(fact.raised_at, as_of, rules.half_life_days), a)
            )
    return counted


@dataclass(slots=True)
class Responsiveness:
    """§10's figures for one set of counted complaints.

    Not frozen, though nothing changes one: the ranked scorecard builds one per vendor, and a frozen
    dataclass of these 15 fields takes 4.6 µs to build against 0.8 µs (9 ms of a 50 ms scorecard).
    """

    value: float
    band: tuple[float, float]
    standing: Standing
    counted: int
    answered_in_time: int
    answered_late: int
    unanswered: int
    median_hours_to_answer: float | None
    owner_named: int
    dated_answers: int
    dated_answers_kept: int
    ranking_key: float  # the Wilson low, best first (as the score's, §5)
    worst_key: float  # the Wilson high, worst first
    weight_total: float
    explain: tuple[ComplaintCredit, ...] = ()

    @property
    def rated(self) -> bool:
        return self.standing != Standing.insufficient_data

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "band": list(self.band),
            "standing": self.standing.value,
            "counted": self.counted,
            "answered_in_time": self.answered_in_time,
            "answered_late": self.answered_late,
            "unanswered": self.unanswered,
            "median_hours_to_answer": self.median_hours_to_answer,
            "owner_named": self.owner_named,
            "dated_answers": self.dated_answers,
            "dated_answers_kept": self.dated_answers_kept,
        }


def complaint_settles_at(
    deadline: datetime,
    acknowledged_at: datetime | None,
    dated_answer_at: datetime | None,
    answer_kept_at: datetime | None,
) -> datetime:
    """The moment from which a complaint's figures (§10) no longer move as T goes forward.

    By then its answer deadline has passed (so it counts), and its answer, its dated answer and the
    keeping of that promise, those that happened, all have: as of any later T only its weight
    changes, by the same factor as every other complaint's. Only a write can change it afterwards.
    """
    return max(m for m in (deadline, acknowledged_at, dated_answer_at, answer_kept_at) if m is not None)


@dataclass(slots=True)
class ComplaintSums:
    """§10's sums over counted complaints, their weights as of `as_of`: what the figures are made of.

    The scorecard keeps one per vendor for its settled complaints (`complaint_settles_at` at or
    before `as_of`), whose counts no longer move: as of a later T the weights scale by one factor
    (`moved_to`). `hours` are the hours to the first answer, sorted, for the median; None when they
    were not read, which is allowed while nothing is added to them (`median_hours` stands).
    """

    as_of: datetime
    counted: int = 0
    weight: float = 0.0  # N_c
    answered_weight: float = 0.0  # S_a
    answered_in_time: int = 0
    answered_late: int = 0
    unanswered: int = 0
    owner_named: int = 0
    dated_answers: int = 0
    dated_answers_kept: int = 0
    hours: tuple[float, ...] | None = ()
    median_hours: float | None = None

    def moved_to(self, as_of: datetime, half_life_days: float) -> ComplaintSums:
        """The same complaints as of a later moment: every weight times 2 ** (-(T - as_of) / H).
        (Built field by field: dataclasses.replace costs five times as much, 2,000 times a scorecard.)"""
        factor = weight(self.as_of, as_of, half_life_days)
        return ComplaintSums(
            as_of,
            self.counted,
            self.weight * factor,
            self.answered_weight * factor,
            self.answered_in_time,
            self.answered_late,
            self.unanswered,
            self.owner_named,
            self.dated_answers,
            self.dated_answers_kept,
            self.hours,
            self.median_hours,
        )

    def __add__(self, other: ComplaintSums) -> ComplaintSums:
        if not other.counted:
            return self
        if not self.counted:
            return other
        if self.hours is None or other.hours is None:
            if other.hours:
                raise ValueError("the hours to the first answer of the settled complaints were not read")
            hours, median_hours = None, self.median_hours
        else:
            merged = list(self.hours)  # both sorted: a few answers join hundreds, each in its place
            for value in other.hours:
                insort(merged, value)
            hours, median_hours = tuple(merged), _median_of_sorted(merged)
        return ComplaintSums(
            as_of=self.as_of,
            counted=self.counted + other.counted,
            weight=self.weight + other.weight,
            answered_weight=self.answered_weight + other.answered_weight,
            answered_in_time=self.answered_in_time + other.answered_in_time,
            answered_late=self.answered_late + other.answered_late,
            unanswered=self.unanswered + other.unanswered,
            owner_named=self.owner_named + other.owner_named,
            dated_answers=self.dated_answers + other.dated_answers,
            dated_answers_kept=self.dated_answers_kept + other.dated_answers_kept,
            hours=hours,
            median_hours=median_hours,
        )


def complaint_sums(counted: Iterable[ComplaintCredit], as_of: datetime) -> ComplaintSums:
    """The sums and counts of §10 over counted complaints (`complaint_credits` as of `as_of`)."""
    n, big_n, s_a, in_time, answered, owner_named, dated, kept = 0, 0.0, 0.0, 0, 0, 0, 0, 0
    hours = []
    for c in counted:
        fact = c.fact
        n += 1
        big_n += c.weight
        s_a += c.weight * c.a
        if fact.acknowledged_at is not None and fact.acknowledged_at <= as_of:
            answered += 1
            in_time += 1 if c.a else 0
            hours.append((fact.acknowledged_at - fact.raised_at).total_seconds() / 3600)
        owner_named += 1 if fact.owner_named else 0
        if fact.dated_answer_at is not None and fact.dated_answer_at <= as_of:
            dated += 1
            kept += 1 if fact.answer_kept_at is not None and fact.answer_kept_at <= as_of else 0
    hours.sort()
    return ComplaintSums(
        as_of=as_of,
        counted=n,
        weight=big_n,
        answered_weight=s_a,
        answered_in_time=in_time,
        answered_late=answered - in_time,
        unanswered=n - answered,
        owner_named=owner_named,
        dated_answers=dated,
        dated_answers_kept=kept,
        hours=tuple(hours),
        median_hours=_median_or_none(hours),
    )


def responsiveness_from(sums: ComplaintSums, explain: tuple[ComplaintCredit, ...] = ()) -> Responsiveness:
    """§10's figures from the sums: (S_a + 1) / (N_c + 2), its Wilson band, standing and counts."""
    big_n, s_a = sums.weight, sums.answered_weight
    value = (s_a + 1) / (big_n + 2)
    band = wilson(s_a, big_n)
    # By position, in the order of Responsiveness's fields: 2,000 a scorecard.
    return Responsiveness(
        value,
        band,
        standing_for(100 * value, sums.counted),
        sums.counted,
        sums.answered_in_time,
        sums.answered_late,
        sums.unanswered,
        sums.median_hours,
        sums.owner_named,
        sums.dated_answers,
        sums.dated_answers_kept,
        100 * band[0],  # ranking_key
        100 * band[1],  # worst_key
        big_n,  # weight_total
        explain,
    )


def responsiveness_of(
    facts: Iterable[ComplaintFact], rules: Rules, as_of: datetime, settled: ComplaintSums | None = None
) -> Responsiveness:
    """§10 as of a moment: (S_a + 1) / (N_c + 2), its Wilson band, standing and counts.

    `settled`: the sums of the vendor's other complaints, settled by `settled.as_of` (<= as_of), kept
    by the scorecard; `facts` are then the rest, and the explanation lists only those.
    """
    counted = complaint_credits(facts, rules, as_of)
    sums = complaint_sums(counted, as_of)
    if settled is not None:
        sums = (settled if settled.as_of == as_of else settled.moved_to(as_of, rules.half_life_days)) + sums
    return responsiveness_from(sums, tuple(counted))


LAST_MINUTE = timedelta(hours=24)  # a move announced with less notice than this, or after the time


@dataclass(frozen=True)
class Notice:
    """§11: how early the vendor warned of its moves, over the counted rescheduled commitments."""

    median_hours: float | None
    last_minute_moves: int
    moves: int

    def as_dict(self) -> dict[str, Any]:
        return {"median_hours": self.median_hours, "last_minute_moves": self.last_minute_moves}


def default_notified_at(due_at: datetime, now: datetime) -> datetime | None:
    """When the vendor warned of a move, if no one says: the moment it is logged, while that is
    within LAST_MINUTE of the time it was due (logged as it happened, a no-show's call included).

    A move logged later than that is history written down, and when the vendor told us is not
    known: None, which the notice leaves out, rather than "just now", a last-minute move that never
    happened.
    """
    return now if now <= due_at + LAST_MINUTE else None


def notice(due_at: datetime, notified_at: datetime) -> timedelta:
    """How early the vendor warned of one move: negative when it told us after the time (§11)."""
    return due_at - notified_at


def is_last_minute(warned: timedelta) -> bool:
    """A move announced with less than LAST_MINUTE's notice, or after the time."""
    return warned < LAST_MINUTE


def is_counted_move(fact: Fact, as_of: datetime) -> bool:
    """A move the notice counts as of a moment: rescheduled and due by then (its outcome is
    `rescheduled`), with a known notified_at (history's unknown notice is left out)."""
    return fact.status == "rescheduled" and fact.due_at <= as_of and fact.notified_at is not None


@dataclass(frozen=True, slots=True)
class NoticeSums:
    """§11's notice over some moves, in a form that adds: the hours of notice of each, sorted, and
    how many were last-minute. The scorecard keeps one per vendor for its moves due in the settled
    months (ScoreRollup), which no later moment changes, and adds the moves of the months in motion.
    `hours` is None when they were not read, allowed while nothing is added (`median_hours` stands).
    """

    moves: int = 0
    last_minute_moves: int = 0
    median_hours: float | None = None
    hours: tuple[float, ...] | None = ()

    def __add__(self, other: NoticeSums) -> NoticeSums:
        if not other.moves:
            return self
        if not self.moves:
            return other
        if self.hours is None or other.hours is None:
            raise ValueError("the hours of notice of the settled moves were not read")
        merged = list(self.hours)  # both sorted: a few moves join hundreds, each in its place
        for value in other.hours:
            insort(merged, value)
        return NoticeSums(
            self.moves + other.moves,
            self.last_minute_moves + other.last_minute_moves,
            _median_of_sorted(merged),
            tuple(merged),
        )

    def notice(self) -> Notice:
        return Notice(self.median_hours, self.last_minute_moves, self.moves)


def notice_sums(moves: Iterable[tuple[datetime, datetime]]) -> NoticeSums:
    """The notice of moves given as (due_at, notified_at), each one counted (`is_counted_move`)."""
    notices = [notice(due_at, notified_at) for due_at, notified_at in moves]
    hours = sorted(n.total_seconds() / 3600 for n in notices)
    return NoticeSums(
        len(hours), sum(1 for n in notices if is_last_minute(n)), _median_of_sorted(hours), tuple(hours)
    )


def notice_of(credits_: Iterable[Credit]) -> Notice:
    """The median notice and the last-minute moves, over the counted moves."""
    return notice_sums(
        (c.fact.due_at, c.fact.notified_at)
        for c in credits_
        if c.outcome == Outcome.rescheduled and c.fact.notified_at is not None
    ).notice()


# -- the same rules in SQL, for the scorecard's statement ---------------------------------------


def counted_outcomes_sql(
    status: sa.ColumnElement, on_time: sa.ColumnElement[bool], overdue: sa.ColumnElement[bool]
) -> dict[Outcome, sa.ColumnElement[bool]]:
    """`outcome` in SQL for rows that have come due: which rows hold each counted outcome.

    `on_time` says a kept row was on time (`is_on_time`), `overdue` that an open row is overdue
    (`is_overdue_by`); the rows matching none of them are not counted.
    """
    kept = status == "kept"
    return {
        Outcome.kept_on_time: kept & on_time,
        Outcome.kept_late: kept & ~on_time,
        Outcome.broken: status == "broken",
        Outcome.rescheduled: status == "rescheduled",
        Outcome.overdue: overdue,
    }


def credit_sql(
    outcomes: Mapping[Outcome, sa.ColumnElement[bool]], weight: Any, which: int, zero: Any = 0.0
) -> sa.ColumnElement:
    """A row's weighted credit (FULFILMENT or ON_TIME) in SQL: its weight times what CREDITS gives
    its outcome, for the outcomes given; zero for the rest."""
    whens = [
        (condition, CREDITS[o][which] * weight) for o, condition in outcomes.items() if CREDITS[o][which]
    ]
    return sa.case(*whens, else_=zero)


# -- asks through the vendor's link (README: "How fast a vendor answers") ---------------------------


@dataclass(frozen=True, slots=True)
class AskFact:
    """One ask through a vendor's link: when we asked, and when the contact first answered."""

    asked_at: datetime
    first_answered_at: datetime | None = None
    revoked_at: datetime | None = None


def is_counted_ask(fact: AskFact, rules: Rules, as_of: datetime) -> bool:
    """An ask counts as of `as_of` once it is answered, or once a complaint raised at the same moment
    would be past its answer deadline (`answer_deadline`: the vendor had as long as for a complaint).
    An ask we revoked while the contact still had time counts never: we took the question back. One
    revoked after its time ran out unanswered still counts: revoking it cannot erase the silence.
    A fresh ask does not drag the share down while the contact may still answer it in time."""
    if fact.asked_at > as_of:
        return False
    if fact.first_answered_at is not None and fact.first_answered_at <= as_of:
        return True
    deadline = answer_deadline(fact.asked_at, rules)
    if fact.revoked_at is not None and fact.revoked_at <= as_of and fact.revoked_at < deadline:
        return False
    return deadline <= as_of


@dataclass(frozen=True)
class AskAnswers:
    """How a vendor (or one contact) answers our asks: measured at the server's clock, not typed."""

    asks: int  # counted asks
    answered: int
    median_hours: float | None  # from ask to first answer, calendar hours, over the answered ones
    waiting: int = 0  # asked, not answered, still within the time it has

    @property
    def share(self) -> float | None:
        return self.answered / self.asks if self.asks else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "asks": self.asks,
            "answered": self.answered,
            "share_answered": self.share,
            "median_hours_to_answer": self.median_hours,
            "waiting": self.waiting,
        }


def ask_answers(facts: Iterable[AskFact], rules: Rules, as_of: datetime) -> AskAnswers:
    """The share of counted asks answered by `as_of`, and the median hours from ask to first answer."""
    asks = answered = waiting = 0
    hours: list[float] = []
    for fact in facts:
        if not is_counted_ask(fact, rules, as_of):
            live = fact.asked_at <= as_of and (fact.revoked_at is None or fact.revoked_at > as_of)
            waiting += live
            continue
        asks += 1
        if fact.first_answered_at is not None and fact.first_answered_at <= as_of:
            answered += 1
            hours.append((fact.first_answered_at - fact.asked_at).total_seconds() / 3600)
    return AskAnswers(asks, answered, _median_or_none(hours), waiting)
