"""What a week of the ledger holds, the same for every reader: what came due and became of it,
whose score moved, the best and worst, the excuse of the week, the complaints raised, answered and
still waiting, our asks through the vendors' links. The digest (digest.py) shows it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vendortrack.models import Commitment, Complaint, ExcuseCategory, Resolution, Status, User, Vendor
from vendortrack.scores import asks, scorecard
from vendortrack.scores.asks import NO_ASKS, AsksOfTheWeek
from vendortrack.scores.rules import (
    COUNTED,
    AskAnswers,
    Fact,
    Outcome,
    Responsiveness,
    Rules,
    Standing,
    Totals,
    headline,
    is_answered_in_time,
    is_unanswered_by,
    outcome,
)

WEEK = timedelta(days=7)
LIST_LIMIT = 50  # a longer list belongs on the site, not in an email
OVERDUE_LIMIT = 20
MOVERS = 3  # each way
STANDOUTS = 5  # best and worst, at most
# What can become of a commitment that came due in a week, in the order the digest counts them.
DUE_ORDER = (
    Outcome.kept_on_time,
    Outcome.kept_late,
    Outcome.rescheduled,
    Outcome.broken,
    Outcome.overdue,
    Outcome.pending,
    Outcome.cancelled,
)


@dataclass(frozen=True)
class Line:
    """One commitment as the digest lists it."""

    id: int
    title: str
    kind: str
    vendor_id: int
    vendor_name: str
    owner_name: str
    due_at: datetime
    status: str
    outcome: Outcome
    late_by: timedelta | None
    excuse_category: str | None
    excuse: str
    resolved_at: datetime | None
    moved_to: datetime | None


@dataclass(frozen=True)
class Capped:
    """The first lines of a list, and how many more there are."""

    lines: list[Line]
    more: int = 0


@dataclass(frozen=True)
class Move:
    """A vendor whose score moved over the week: as of its start, and as of its end."""

    vendor_id: int
    name: str
    old: float
    new: float
    standing: Standing

    @property
    def delta(self) -> float:
        """The move between the scores as the digest shows them (one decimal): 59.8 → 55.6 is -4.2,
        never a -4.3 that the reader cannot find from the two figures beside it."""
        return round(round(self.new, 1) - round(self.old, 1), 1)


@dataclass(frozen=True)
class Standout:
    """One of the best or worst vendors as of the week's end."""

    vendor_id: int
    name: str
    score: float
    standing: Standing
    responsiveness: Responsiveness  # beside the score, never part of it (SCORING.md §10)
    asks: AskAnswers = NO_ASKS  # our asks through its links, answered; beside the score too


@dataclass(frozen=True)
class Unrated:
    """A vendor with too little history to rank (SCORING.md §9): how many of the 3 needed count."""

    vendor_id: int
    name: str
    counted: int


@dataclass(frozen=True)
class ExcuseOfTheWeek:
    category: ExcuseCategory
    count: int
    out_of: int  # the week's broken and rescheduled commitments, as "New broken promises" takes them
    example: Line | None  # one with a text, if any gave one


@dataclass(frozen=True)
class ComplaintLine:
    """One complaint as the digest lists it, as it stood at the week's as_of (its end, or now)."""

    id: int
    title: str
    vendor_id: int
    vendor_name: str
    owner_name: str  # ours: who follows it up
    raised_at: datetime
    answer_due_at: datetime
    answered_at: datetime | None  # None: no answer by the week's as_of
    waited: timedelta  # for the first answer, or until the week's as_of when there is none yet
    # Answered: by its deadline. Waiting: its deadline has not passed yet.
    in_time: bool


@dataclass(frozen=True)
class ComplaintsOfTheWeek:
    """The complaints section: how many were raised, which were answered, which still wait, and the
    longest wait for a first answer among those answered or waiting (SCORING.md §10's complaints:
    the withdrawn ones are not counted)."""

    raised: int
    answered: list[ComplaintLine]  # first answered this week, in the order the answers came
    answered_more: int
    waiting: list[ComplaintLine]  # no answer at the week's end and not closed: the oldest first
    waiting_more: int
    waiting_total: int
    longest: ComplaintLine | None

    @property
    def quiet(self) -> bool:
        return not (self.raised or self.answered or self.waiting)


@dataclass(frozen=True)
class Week:
    """Everything the digest says about one week, the same for every subscriber of that week."""

    start: datetime
    end: datetime
    following: datetime  # the end of next week
    # The moment every figure is as of: the week's end once it has come, else now (a week in
    # progress, or one not begun). Never a moment still to come: the end of a week in progress
    # would count as unanswered the asks and complaints whose time has not yet run out.
    as_of: datetime
    came_due: Capped
    outcome_counts: dict[Outcome, int]
    movers_up: list[Move]
    movers_down: list[Move]
    broken: Capped
    overdue: Capped
    next_week: Capped
    best: list[Standout]
    worst: list[Standout]
    unrated: list[Unrated]
    unrated_more: int
    excuse: ExcuseOfTheWeek | None
    min_move: float  # score points: a smaller move is not listed
    complaints: ComplaintsOfTheWeek
    asks: AsksOfTheWeek

    @property
    def in_progress(self) -> bool:
        """Not over yet: the figures are as of now, and the page says so."""
        return self.as_of < self.end

    @property
    def not_begun(self) -> bool:
        return self.as_of < self.start

    @property
    def came_due_total(self) -> int:
        return sum(self.outcome_counts.values())


def _lines_query(*conditions: Any) -> sa.Select:
    successor = aliased(Commitment)
    moved_to = (
        sa.select(sa.func.max(successor.due_at))
        .where(successor.rescheduled_from_id == Commitment.id, successor.status != Status.cancelled)
        .scalar_subquery()
    )
    return (
        sa.select(
            Commitment.id,
            Commitment.title,
            Commitment.kind,
            Commitment.vendor_id,
            Vendor.name.label("vendor_name"),
            User.name.label("owner_name"),
            User.email.label("owner_email"),
            Commitment.due_at,
            Commitment.status,
            Commitment.done_at,
            Commitment.excuse_category,
            Commitment.excuse,
            Commitment.resolved_at,
            moved_to.label("moved_to"),
        )
        .join(Vendor, Vendor.id == Commitment.vendor_id)
        .join(User, User.id == Commitment.owner_id)
        .where(Vendor.archived_at.is_(None), *conditions)
    )


def _count(session: Session, *conditions: Any) -> int:
    query = sa.select(sa.func.count()).select_from(Commitment).join(Vendor, Vendor.id == Commitment.vendor_id)
    return session.scalar(query.where(Vendor.archived_at.is_(None), *conditions)) or 0


def _line(row: Any, rules: Rules, as_of: datetime) -> Line:
    fact = Fact(row.id, row.kind, row.due_at, row.status, row.done_at, row.excuse_category)
    result = outcome(fact, rules, as_of)
    late = row.done_at - row.due_at if result == Outcome.kept_late and row.done_at else None
    return Line(
        id=row.id,
        title=row.title,
        kind=row.kind,
        vendor_id=row.vendor_id,
        vendor_name=row.vendor_name,
        owner_name=row.owner_name or row.owner_email,
        due_at=row.due_at,
        status=row.status,
        outcome=result,
        late_by=late,
        excuse_category=row.excuse_category,
        excuse=row.excuse or "",
        resolved_at=row.resolved_at,
        moved_to=row.moved_to,
    )


def _capped(
    session: Session, rules: Rules, as_of: datetime, conditions: list, order: list, limit: int
) -> Capped:
    rows = session.execute(_lines_query(*conditions).order_by(*order).limit(limit)).all()
    more = _count(session, *conditions) - len(rows) if len(rows) == limit else 0
    return Capped([_line(row, rules, as_of) for row in rows], more)


def _movers(
    session: Session,
    rules: Rules,
    start: datetime,
    at_end: list[scorecard.Ranked],
    active: set[int],
    min_move: float,
) -> tuple[list[Move], list[Move]]:
    """Vendors whose score moved by `min_move` or more between the week's start and its end.

    Only vendors with a commitment that came due in the week and counts (`active`): otherwise
    the move is the recency weights drifting, not news. Only vendors rated at both ends: a score
    on too little history is not shown at all (SCORING.md §9), so neither is its move.
    """
    before = scorecard.totals_by_vendor(session, rules, start, sorted(active)) if active else {}
    moves = []
    for line in at_end:
        if line.vendor_id not in active or not line.figures.rated:
            continue
        old = headline(before.get(line.vendor_id, (Totals(), None))[0], rules)
        if old.rated:
            figures = line.figures
            moves.append(Move(line.vendor_id, line.name, old.score, figures.score, figures.standing))
    # Strictly up or down: with a threshold of 0, a score that stayed put is in neither list.
    up = sorted(
        (m for m in moves if m.delta > 0 and m.delta >= min_move), key=lambda m: (-m.delta, m.name.casefold())
    )
    down = sorted(
        (m for m in moves if m.delta < 0 and m.delta <= -min_move), key=lambda m: (m.delta, m.name.casefold())
    )
    return up[:MOVERS], down[:MOVERS]


def _standout(line: scorecard.Ranked) -> Standout:
    figures = line.figures
    return Standout(
        line.vendor_id, line.name, figures.score, figures.standing, line.responsiveness, line.asks
    )


def _standouts(
    best_first: list[scorecard.Ranked], worst_first: list[scorecard.Ranked]
) -> tuple[list[Standout], list[Standout]]:
    """SCORING.md §9: of n rated vendors, best takes the top min(5, ceil(n/2)) and worst the
    bottom min(5, floor(n/2)) by its own key, skipping those in best: no vendor is in both."""
    rated = [line for line in best_first if line.figures.rated]
    best = rated[: min(STANDOUTS, math.ceil(len(rated) / 2))]
    taken = {line.vendor_id for line in best}
    worst = [line for line in worst_first if line.figures.rated and line.vendor_id not in taken]
    worst = worst[: min(STANDOUTS, len(rated) // 2)]
    return [_standout(line) for line in best], [_standout(line) for line in worst]


def _unrated(lines: list[scorecard.Ranked]) -> list[Unrated]:
    """The vendors not yet rated, by name: the reader looks one up, there is no order to them yet."""
    unrated = [
        Unrated(line.vendor_id, line.name, line.figures.counted) for line in lines if not line.figures.rated
    ]
    return sorted(unrated, key=lambda u: (u.name.casefold(), u.vendor_id))


def _excuse_of_the_week(lines: list[Line]) -> ExcuseOfTheWeek | None:
    excused = [line for line in lines if line.status in (Status.broken, Status.rescheduled)]
    if not excused:
        return None
    order = list(ExcuseCategory)
    tally = Counter(ExcuseCategory(line.excuse_category or ExcuseCategory.none_given) for line in excused)
    category, count = min(tally.items(), key=lambda item: (-item[1], order.index(item[0])))
    example = next(
        (
            line
            for line in excused
            if line.excuse.strip() and (line.excuse_category or ExcuseCategory.none_given) == category
        ),
        None,
    )
    return ExcuseOfTheWeek(category, count, len(excused), example)


def _complaints_of_the_week(session: Session, start: datetime, as_of: datetime) -> ComplaintsOfTheWeek:
    """The complaints that were waiting for a first answer at some moment of the week, or got one in it.

    As the week stood at `as_of` (its end, or now in the week in progress, so a wait is "so far"),
    from the moments stored (raised, answered, resolved), so the digest of a past week says what
    it said then, whatever was logged since.
    """
    counted = sa.or_(Complaint.resolution.is_(None), Complaint.resolution != Resolution.withdrawn)
    shown = sa.and_(Vendor.archived_at.is_(None), counted)
    raised = session.scalar(
        sa.select(sa.func.count())
        .select_from(Complaint)
        .join(Vendor, Vendor.id == Complaint.vendor_id)
        .where(shown, Complaint.raised_at >= start, Complaint.raised_at < as_of)
    )
    rows = session.execute(
        sa.select(
            Complaint.id,
            Complaint.title,
            Complaint.vendor_id,
            Vendor.name.label("vendor_name"),
            User.name.label("owner_name"),
            User.email.label("owner_email"),
            Complaint.raised_at,
            Complaint.answer_due_at,
            Complaint.acknowledged_at,
            Complaint.resolved_at,
        )
        .join(Vendor, Vendor.id == Complaint.vendor_id)
        .join(User, User.id == Complaint.owner_id)
        .where(
            shown,
            Complaint.raised_at < as_of,
            sa.or_(Complaint.acknowledged_at.is_(None), Complaint.acknowledged_at >= start),
            sa.or_(Complaint.resolved_at.is_(None), Complaint.resolved_at >= start),
        )
        .order_by(Complaint.raised_at, Complaint.id)
    ).all()
    answered, waiting = [], []
    for row in rows:
        answered_in_week = row.acknowledged_at is not None and start <= row.acknowledged_at < as_of
        open_at_end = (row.acknowledged_at is None or row.acknowledged_at >= as_of) and (
            row.resolved_at is None or row.resolved_at >= as_of
        )
        if not (answered_in_week or open_at_end):
            continue  # closed in the week without an answer: nothing waits on it, nothing came
        answered_at = row.acknowledged_at if answered_in_week else None
        line = ComplaintLine(
            id=row.id,
            title=row.title,
            vendor_id=row.vendor_id,
            vendor_name=row.vendor_name,
            owner_name=row.owner_name or row.owner_email,
            raised_at=row.raised_at,
            answer_due_at=row.answer_due_at,
            answered_at=answered_at,
            waited=(answered_at or as_of) - row.raised_at,
            in_time=(
                is_answered_in_time(answered_at, row.answer_due_at)
                if answered_at is not None
                # No answer by as_of: in time while the sweep's question is still "no".
                else not is_unanswered_by(None, row.answer_due_at, as_of)
            ),
        )
        (answered if answered_at is not None else waiting).append(line)
    # The longest wait; on a tie the one raised first (max keeps the first), so a week always says the same.
    longest = max(
        sorted(answered + waiting, key=lambda line: (line.raised_at, line.id)),
        key=lambda line: line.waited,
        default=None,
    )
    answered.sort(key=lambda line: (line.answered_at, line.id))
    return ComplaintsOfTheWeek(
        raised=raised or 0,
        answered=answered[:LIST_LIMIT],
        answered_more=max(len(answered) - LIST_LIMIT, 0),
        waiting=waiting[:LIST_LIMIT],
        waiting_more=max(len(waiting) - LIST_LIMIT, 0),
        waiting_total=len(waiting),
        longest=longest,
    )


def week_as_of(end: datetime, now: datetime) -> datetime:
    """The moment a week's figures are as of: its end once that has come, else now."""
    return min(end, now)


def week_summary(
    session: Session,
    rules: Rules,
    start: datetime,
    end: datetime,
    following: datetime | None = None,
    *,
    now: datetime,
    min_move: float,
) -> Week:
    """The digest's sections for the week [start, end): one pass of queries over the whole ledger.

    Every figure is as of `week_as_of(end, now)`: the week in progress says what has happened so
    far (what came due up to now, the waits until now, the scores now), never what its end will
    hold, and what is still to come this week is listed with next week's.
    `min_move`: the smallest move of a score, in points, listed among the scores that moved.
    """
    following = following or end + WEEK
    as_of = week_as_of(end, now)
    # Every status named, so the (status, due_at) index serves a range on due_at alone.
    any_status = Commitment.status.in_(list(Status))
    came_due_rows = session.execute(
        _lines_query(any_status, Commitment.due_at >= start, Commitment.due_at < as_of).order_by(
            Commitment.due_at, Commitment.id
        )
    ).all()
    came_due = [_line(row, rules, as_of) for row in came_due_rows]
    counts = Counter(line.outcome for line in came_due)
    # The week's failures: broken or rescheduled, and either due this week or, having come due
    # before, marked so this week. "New broken promises" and the excuse of the week both read
    # this one set, so a promise listed broken is always among the week's excuses.
    failed = [
        _line(row, rules, as_of)
        for row in session.execute(
            _lines_query(
                Commitment.status.in_([Status.broken, Status.rescheduled]),
                Commitment.due_at < as_of,
                sa.or_(
                    Commitment.due_at >= start,
                    sa.and_(Commitment.resolved_at >= start, Commitment.resolved_at < as_of),
                ),
            ).order_by(Commitment.due_at, Commitment.id)
        )
    ]
    broken = [line for line in failed if line.status == Status.broken]
    best_first = scorecard.ranked(session, rules, as_of)
    active = {line.vendor_id for line in came_due if line.outcome in COUNTED}
    movers_up, movers_down = _movers(session, rules, start, best_first, active, min_move)
    # Ranked once: the worst-first order is the same lines by their other key.
    best, worst = _standouts(best_first, scorecard.ordered(best_first, worst_first=True))
    unrated = _unrated(best_first)
    return Week(
        start=start,
        end=end,
        following=following,
        as_of=as_of,
        came_due=Capped(came_due[:LIST_LIMIT], max(len(came_due) - LIST_LIMIT, 0)),
        outcome_counts={key: counts[key] for key in DUE_ORDER if counts[key]},
        movers_up=movers_up,
        movers_down=movers_down,
        broken=Capped(broken[:LIST_LIMIT], max(len(broken) - LIST_LIMIT, 0)),
        overdue=_capped(
            session,
            rules,
            as_of,
            [rules.is_overdue(Commitment.status, Commitment.due_at, as_of)],
            [Commitment.due_at, Commitment.id],
            OVERDUE_LIMIT,
        ),
        next_week=_capped(
            session,
            rules,
            as_of,
            [
                Commitment.status.in_([Status.open, Status.kept, Status.broken]),
                # From now in the week in progress: what is still to come this week is not lost.
                Commitment.due_at >= as_of,
                Commitment.due_at < following,
            ],
            [Commitment.due_at, Commitment.id],
            LIST_LIMIT,
        ),
        best=best,
        worst=worst,
        unrated=unrated[:LIST_LIMIT],
        unrated_more=max(len(unrated) - LIST_LIMIT, 0),
        excuse=_excuse_of_the_week(failed),
        min_move=min_move,
        complaints=_complaints_of_the_week(session, start, as_of),
        asks=asks.of_the_week(session, rules, start, end, now=now),
    )
