"""The scores as the app shows them: one vendor from its commitments, every vendor from the buckets.

`vendor_score` reads one vendor's commitments and hands them to `scoring`. `ranked` scores every
active vendor in a constant number of statements: settled months come from ScoreRollup (or
ScoreBucket for a moment the rollups do not cover), the months still in motion (the one holding
T - grace, and later) from their buckets and the commitments whose standing is still moving.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from vendortrack.database import UTCDateTime, core
from vendortrack.models import Commitment, ScoreBucket, Status, Vendor
from vendortrack.models.score import ScoreRollup
from vendortrack.scores import asks, responsiveness, tally
from vendortrack.scores.asks import NO_ASKS
from vendortrack.scores.rules import (
    COUNT_KEYS,
    FULFILMENT,
    ON_TIME,
    AskAnswers,
    Fact,
    Headline,
    Notice,
    NoticeSums,
    Outcome,
    Responsiveness,
    Rules,
    Totals,
    VendorScore,
    counted_outcomes_sql,
    credit_sql,
    headline,
    is_on_time,
    is_overdue_by,
    notice_sums,
    responsiveness_of,
    score_vendor,
    totals_of,
)


class epoch_seconds(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Seconds since 1970-01-01 UTC of a stored moment, exact to the microsecond, on either database.

    Not SQLite's julianday(): as a double of about 2.5 million days it is only good to ~40 µs,
    enough to move a score in its ninth decimal.
    """

    type = sa.Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from strftime, the fraction from the text.
    return f"(CAST(strftime('%s', {column}) AS INTEGER) + CAST(substr({column}, 20) AS REAL))"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


_MICROSECOND = timedelta(microseconds=1)


def vendor_score(
    session: Session, vendor: Vendor, rules: Rules, as_of: datetime, *, contact_id: int | None = None
) -> VendorScore:
    """Every figure of SCORING.md for one vendor, or for one of its contacts."""
    query = sa.select(*tally.FACT_COLUMNS).where(Commitment.vendor_id == vendor.id)
    if contact_id is not None:
        query = query.where(Commitment.contact_id == contact_id)
    # FACT_COLUMNS are Fact's fields in order: by position is faster than by name per row (BENCHMARKS.md).
    facts = [Fact(*row) for row in session.execute(query)]
    complaints = responsiveness.facts_of(session, vendor.id)
    if contact_id is not None:
        complaints = [c for c in complaints if c.contact_id == contact_id]
    names = None if contact_id is not None else {c.id: c.name for c in vendor.contacts}
    report = score_vendor(facts, rules, as_of, contact_names=names, complaints=complaints)
    # The asks through the vendor's links, beside the score and never part of it: the contact's own
    # when the score is one contact's, as its commitments and complaints are.
    report.contact_asks = asks.per_contact(session, vendor.id, rules, as_of)
    if contact_id is not None:
        report.asks = report.contact_asks.get(contact_id, NO_ASKS)
        report.contact_asks = {contact_id: report.asks}
    else:
        report.asks = asks.for_vendor(session, vendor.id, rules, as_of)
    return report


@dataclass
class Ranked:
    """One line of the scorecard."""

    vendor_id: int
    name: str
    category: str
    figures: Headline
    counts: dict[str, int]
    responsiveness: Responsiveness
    notice: Notice
    asks: AskAnswers = NO_ASKS  # our asks through its links, answered (beside the score)

    def judged(self, by: str) -> Headline | Responsiveness:
        """The figures the line is ranked by (`ORDERS`): rated or not, they decide its group and rank."""
        return self.responsiveness if by == "responsiveness" else self.figures


# The columns every part of the scorecard's statement yields: n, N, S_f, S_p, then the counts.
_COLUMNS = ("n", "big_n", "s_f", "s_p", *COUNT_KEYS)
_ZERO_INT, _ZERO_FLOAT = sa.literal_column("0"), sa.literal_column("0.0")


def _param(name: str, type_: sa.types.TypeEngine) -> sa.BindParameter:
    return sa.bindparam(name, type_=type_)


# The moments and rates a scorecard is computed for, as parameters of statements built once per shape
# (`_statement`): building and keying the statement anew cost more than running it (BENCHMARKS.md, "Load").
_AS_OF = _param("as_of", UTCDateTime())  # T
_OVERDUE_UNTIL = _param("overdue_until", UTCDateTime())  # T - grace: due by then and open is overdue
_MONTH_OF = _param("month_of", UTCDateTime())  # the first of T's month
_SETTLED = _param("settled", UTCDateTime())  # the first month still in motion
_MONTH_END = _param("month_end", UTCDateTime())  # the first of the month after T's
_AS_OF_DAY, _AS_OF_SECOND = _param("as_of_day", sa.Float()), _param("as_of_second", sa.Float())
_SETTLED_DAY, _MONTH_END_DAY = _param("settled_day", sa.Float()), _param("month_end_day", sa.Float())
_DECAY, _DECAY_PER_SECOND = _param("decay", sa.Float()), _param("decay_per_second", sa.Float())
_ROLLUP_FACTOR = _param("rollup_factor", sa.Float())
_MEETING_TOLERANCE_US = _param("meeting_tolerance_us", sa.BigInteger())
_DEADLINE_TOLERANCE_US = _param("deadline_tolerance_us", sa.BigInteger())
_VENDOR_IDS = sa.bindparam("vendor_ids", expanding=True)


def _parameters(
    rules: Rules, as_of: datetime, settled: datetime, month_end: datetime, through: datetime | None
) -> dict:
    return {
        "as_of": as_of,
        "overdue_until": rules.overdue_until(as_of),
        "month_of": tally.month_start(as_of),
        "settled": settled,
        "month_end": month_end,
        "as_of_day": tally.epoch_days(as_of),
        "as_of_second": (as_of - tally.EPOCH).total_seconds(),
        "settled_day": tally.epoch_days(settled),
        "month_end_day": tally.epoch_days(month_end),
        "decay": tally.decay(rules),
        "decay_per_second": tally.decay(rules) / 86400,
        # The rollups' weights are as of the month they run through: one factor moves them all to T.
        "rollup_factor": 0.0
        if through is None
        else math.exp((tally.epoch_days(through) - tally.epoch_days(as_of)) * tally.decay(rules)),
        "meeting_tolerance_us": rules.meeting_tolerance // _MICROSECOND,
        "deadline_tolerance_us": rules.deadline_tolerance // _MICROSECOND,
    }


def _row(vendor_id, *values) -> sa.Select:
    labelled = (value.label(name) for name, value in zip(_COLUMNS, values, strict=True))
    return sa.select(vendor_id.label("vendor_id"), *labelled)


def _scaled(table, factor) -> list:
    """A rollup's or a bucket's sums as a row of the statement, its weights times a factor."""
    return [
        table.vendor_id,
        table.counted,
        table.weight * factor,
        table.fulfilment * factor,
        table.on_time * factor,
        table.kept_on_time,
        table.kept_late,
        table.broken,
        table.rescheduled,
        table.overdue,
        table.cancelled,
        _ZERO_INT,
    ]


def _rollup_rows() -> sa.Select:
    """The settled months from the rollups: one row a vendor, its weights moved to T by one factor."""
    return _row(*_scaled(ScoreRollup, _ROLLUP_FACTOR))


def _bucket_rows(since_day: sa.BindParameter | None, until_day: sa.BindParameter) -> sa.Select:
    """The whole buckets of the months from `since` up to `until`, weights moved to T.

    Months are picked by their end_day, which is indexed: ending after `since` is beginning at or after it.
    """
    b = ScoreBucket
    factor = tally.decayed((b.start_day - _AS_OF_DAY) * _DECAY)
    rows = _row(*_scaled(b, factor)).where(b.end_day <= until_day)
    return rows if since_day is None else rows.where(b.end_day > since_day)


def _upcoming_rows(ending_after_day: sa.BindParameter) -> sa.Select:
    """The open commitments of the months ending after a moment: a bucket's "overdue" is its open ones."""
    b = ScoreBucket
    rows = _row(
        b.vendor_id,
        _ZERO_INT,
        _ZERO_FLOAT,
        _ZERO_FLOAT,
        _ZERO_FLOAT,
        *[_ZERO_INT] * (len(COUNT_KEYS) - 1),
        b.overdue,
    )
    return rows.where(b.end_day > ending_after_day)


def _groups(flags, *where) -> sa.Subquery:
    """Commitments sorted into groups that score alike, each group's weight computed once.

    SQL computes a shared expression once per use, so summing weights per group first and
    sorting out what each group counts for afterwards computes strftime and exp once a row.
    """
    c = Commitment
    tolerance_us = Rules.tolerance_sql(c.kind, _MEETING_TOLERANCE_US, _DEADLINE_TOLERANCE_US)
    on_time = (c.status == Status.kept) & is_on_time(c.lateness_us, tolerance_us)
    seconds = epoch_seconds(c.due_at) - _AS_OF_SECOND
    flags = (sa.case((on_time, 1), else_=0).label("on_time"), *flags)
    return (
        sa.select(
            c.vendor_id,
            c.status,
            *flags,
            sa.func.count().label("n"),
            sa.func.sum(tally.decayed(seconds * _DECAY_PER_SECOND)).label("w"),
        )
        # Every status named, so SQLite can range-scan ix_commitment_status_due_at once per status.
        .where(c.status.in_(list(Status)), *where)
        .group_by(c.vendor_id, c.status, *flags)
        .subquery()
    )


def _when(condition, value, zero=_ZERO_INT) -> sa.ColumnElement:
    return sa.case((condition, value), else_=zero)


def _sums(vendor_id, outcomes: dict, n, w, cancelled, upcoming) -> sa.Select:
    """A row of the statement for groups whose counted outcomes are `outcomes` (SQL conditions):
    n and N over them, their credits as CREDITS gives them, and a count of each."""
    counted = sa.or_(*outcomes.values())
    return _row(
        vendor_id,
        _when(counted, n),
        _when(counted, w, _ZERO_FLOAT),
        credit_sql(outcomes, w, FULFILMENT, _ZERO_FLOAT),
        credit_sql(outcomes, w, ON_TIME, _ZERO_FLOAT),
        *(_when(outcomes[Outcome(key)], n) for key in COUNT_KEYS[:5]),
        cancelled,
        upcoming,
    )


def _moving_rows() -> sa.Select:
    """The months in motion straight from their commitments due from the first of them up to T.

    Commitments due later only count as upcoming when open, which the buckets of the months
    ending after T know; the open ones of T's month already due come off that count here.
    """
    c = Commitment
    flags = (
        sa.case((is_overdue_by(c.status, c.due_at, _OVERDUE_UNTIL), 1), else_=0).label("overdue"),
        sa.case((c.due_at >= _MONTH_OF, 1), else_=0).label("this_month"),
    )
    g = _groups(flags, c.due_at >= _SETTLED, c.due_at <= _AS_OF)
    outcomes = counted_outcomes_sql(g.c.status, g.c.on_time == 1, g.c.overdue == 1)
    return _sums(
        g.c.vendor_id,
        outcomes,
        g.c.n,
        g.c.w,
        cancelled=_when(g.c.status == Status.cancelled, g.c.n),
        upcoming=_when((g.c.status == Status.open) & (g.c.this_month == 1), -g.c.n),
    )


def _unsettling_rows() -> sa.Select:
    """What to take off the whole buckets of the months in motion to have them as of T (negative).

    The buckets count every open commitment as overdue and every other one as come due. As of
    T that is wrong only for those due after T - grace: the open ones are pending or
    upcoming, and those due after T do not count yet. Late in a month these are far fewer
    than the commitments due since the month began.
    """
    c = Commitment
    flags = (sa.case((c.due_at > _AS_OF, 1), else_=0).label("later"),)
    g = _groups(flags, c.due_at > _OVERDUE_UNTIL, c.due_at < _MONTH_END)
    later, is_open = g.c.later == 1, g.c.status == Status.open
    # As the buckets counted them (every open one overdue); what is not so as of T comes off:
    # every open one here (due after T - grace), and the resolved ones due after T.
    as_settled = counted_outcomes_sql(g.c.status, g.c.on_time == 1, is_open)
    gone = {
        o: condition if o == Outcome.overdue else condition & later for o, condition in as_settled.items()
    }
    return _sums(
        g.c.vendor_id,
        gone,
        -g.c.n,
        -g.c.w,
        cancelled=_when((g.c.status == Status.cancelled) & later, -g.c.n),
        upcoming=_when(is_open & later, g.c.n),
    )


@functools.cache
def _statement(use_rollup: bool, from_commitments: bool, narrowed: bool) -> sa.Select:
    """The scorecard's one statement for each way of adding it up; see `totals_by_vendor`."""
    parts = [_rollup_rows()] if use_rollup else []
    if from_commitments:
        if not use_rollup:
            parts.append(_bucket_rows(None, _SETTLED_DAY))
        # T's own month among the upcoming: _moving_rows takes off its open ones already due.
        parts += [_upcoming_rows(_AS_OF_DAY), _moving_rows()]
    else:
        parts += [
            _bucket_rows(_SETTLED_DAY if use_rollup else None, _MONTH_END_DAY),
            _upcoming_rows(_MONTH_END_DAY),
            _unsettling_rows(),
        ]
    if narrowed:
        parts = [part.where(part.selected_columns.vendor_id.in_(_VENDOR_IDS)) for part in parts]
    every = sa.union_all(*parts).subquery()
    return sa.select(every.c.vendor_id, *(sa.func.sum(every.c[name]) for name in _COLUMNS)).group_by(
        every.c.vendor_id
    )


def totals_by_vendor(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: list[int] | None = None
) -> dict[int, tuple[Totals, dict[str, int]]]:
    return _totals(session, rules, as_of, vendor_ids, tally.basis(session))


def _totals(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: list[int] | None, counted: tally.Basis | None
) -> dict[int, tuple[Totals, dict[str, int]]]:
    """Totals and counts as of a moment for many vendors at once, in two statements.

    The settled months come from the rollups when they are rolled up to as_of's settled month
    (the scorecard as of now), else from the buckets. The months in motion come either from their
    commitments due so far, or from their whole buckets less the commitments due after
    as_of - grace: whichever reads fewer commitments at this point of the month. The parts are
    rows of one UNION ALL, added up per vendor by the database.

    While the sums were counted under other settings, or not yet at all, the same figures come
    from the ledger itself (slower), until the tally job brings the sums up to date: a read never
    writes.
    """
    if counted is None or not tally.counted_alike(counted.rules, rules):
        return _totals_from_ledger(session, rules, as_of, vendor_ids)
    settled = tally.settled_through(rules, as_of)
    month_end = tally.next_month(tally.month_start(as_of))
    through = counted.rollup_through
    use_rollup = through == settled
    from_commitments = as_of - settled <= month_end - rules.overdue_until(as_of)
    parameters = _parameters(rules, as_of, settled, month_end, through if use_rollup else None)
    if vendor_ids is not None:
        parameters["vendor_ids"] = vendor_ids
    result = {}
    query = _statement(use_rollup, from_commitments, vendor_ids is not None)
    for vendor_id, n, big_n, s_f, s_p, *counts in session.execute(query, parameters):
        totals = Totals(int(n), float(big_n), float(s_f), float(s_p))
        result[vendor_id] = (totals, dict(zip(COUNT_KEYS, map(int, counts), strict=True)))
    return result


def _totals_from_ledger(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: list[int] | None
) -> dict[int, tuple[Totals, dict[str, int]]]:
    """`totals_by_vendor` read from every commitment, vendor by vendor, as `vendor_score` reads them."""
    query = tally.facts_query().order_by(Commitment.vendor_id)
    if vendor_ids is not None:
        query = query.where(Commitment.vendor_id.in_(vendor_ids))
    result = {}
    for vendor_id, rows in groupby(session.execute(query), key=lambda row: row[0]):
        report = score_vendor([Fact(*row[1:]) for row in rows], rules, as_of, with_trend=False)
        result[vendor_id] = (totals_of(report.explain), report.counts)
    return result


_THROUGH = _param("through", UTCDateTime())


@functools.cache
def _notice_statement(use_rollup: bool, narrowed: bool) -> sa.Select:
    """The moves due by T (since the rollups' month when they are used), and the rollups' notices,
    in one statement ordered by vendor: a rollup's row has no due_at, and its sorted hours only
    where later moves join them (for the median of all)."""
    c, r = Commitment, ScoreRollup
    moving = tally.MOVES.add_columns(
        *(sa.cast(sa.null(), column.type).label(column.key) for column in _ROLLUP_NOTICE_COLUMNS)
    ).where(c.due_at <= _AS_OF)
    if not use_rollup:
        return (moving.where(c.vendor_id.in_(_VENDOR_IDS)) if narrowed else moving).order_by(c.vendor_id)
    moving = moving.where(c.due_at >= _THROUGH)
    if narrowed:
        moving = moving.where(c.vendor_id.in_(_VENDOR_IDS))
    joined = moving.with_only_columns(c.vendor_id)  # the same moves' vendors
    rollups = sa.select(
        r.vendor_id,
        sa.cast(sa.null(), c.due_at.type).label("due_at"),
        sa.cast(sa.null(), c.notified_at.type).label("notified_at"),
        r.notice_moves,
        r.notice_last_minute,
        r.notice_median_hours,
        sa.case((r.vendor_id.in_(joined), r.notice_hours), else_=sa.null()).label("notice_hours"),
    ).where(r.notice_moves > 0)
    if narrowed:
        rollups = rollups.where(r.vendor_id.in_(_VENDOR_IDS))
    every = sa.union_all(moving, rollups).subquery()
    return sa.select(every).order_by(every.c.vendor_id)


_ROLLUP_NOTICE_COLUMNS = (
    ScoreRollup.notice_moves,
    ScoreRollup.notice_last_minute,
    ScoreRollup.notice_median_hours,
    ScoreRollup.notice_hours,
)


def notices_by_vendor(
    session: Session, as_of: datetime, vendor_ids: list[int] | None = None
) -> dict[int, Notice]:
    return _notices(session, as_of, vendor_ids, tally.basis(session))


def _notices(
    session: Session, as_of: datetime, vendor_ids: list[int] | None, counted: tally.Basis | None
) -> dict[int, Notice]:
    """Each vendor's notice of its moves as of a moment (SCORING.md §11), for vendors with any.

    A move's notice never changes with T, so the rollups' notices of the moves due before their
    month stand as of any later moment: to them come the moves due since, up to T, read one by one
    (ix_commitment_status_due_at). As of a moment before the rollups' month, or with no rollups,
    every move due by T is read instead.
    """
    through = None if counted is None else counted.rollup_through
    use_rollup = through is not None and through <= as_of
    parameters: dict = {"as_of": as_of} | ({"through": through} if use_rollup else {})
    if vendor_ids is not None:
        parameters["vendor_ids"] = vendor_ids
    rows = core(session).execute(_notice_statement(use_rollup, vendor_ids is not None), parameters)
    result = {}
    for vendor_id, group in groupby(rows, key=lambda row: row[0]):
        settled, moves = NoticeSums(), []
        for row in group:
            if row[1] is None:  # the rollup's row
                hours = None if row[6] is None else tally.unpacked(row[6])
                settled = NoticeSums(row[3], row[4], row[5], hours)
            else:
                moves.append((row[1], row[2]))
        # Most vendors moved nothing since the rollups' month: their rollup's figures stand as stored.
        result[vendor_id] = (settled + notice_sums(moves) if moves else settled).notice()
    return result


EMPTY_COUNTS = dict.fromkeys(COUNT_KEYS, 0)
_NO_HISTORY = (Totals(), EMPTY_COUNTS)


def ranked(
    session: Session,
    rules: Rules,
    as_of: datetime,
    *,
    category: str | None = None,
    standing: str | None = None,
    worst_first: bool = False,
    by: str = "score",
    responsiveness_standing: str | None = None,
) -> list[Ranked]:
    """Every active vendor with its headline figures, responsiveness and answers to our asks, ordered
    by the ranking key of SCORING.md §5 of its score, or of its responsiveness (§10) when `by` says so."""
    vendors = sa.select(Vendor.id, Vendor.name, Vendor.category).where(Vendor.archived_at.is_(None))
    if category:
        vendors = vendors.where(Vendor.category == category)
    rows = session.execute(vendors).all()
    # Narrowed to the vendors of a category; otherwise the few archived vendors' sums are cheaper
    # to add up and drop than a list of every active vendor is to send and match.
    ids = [row.id for row in rows] if category and len(rows) <= 500 else None
    counted = tally.basis(session)
    totals = _totals(session, rules, as_of, ids, counted)
    answering = responsiveness.by_vendor(session, rules, as_of, ids)
    notices = _notices(session, as_of, ids, counted)
    asked = asks.by_vendor(session, rules, as_of, ids)
    no_complaints = responsiveness_of((), rules, as_of)
    no_moves = NoticeSums().notice()
    lines = []
    for row in rows:
        sums, counts = totals.get(row.id, _NO_HISTORY)
        figures = headline(sums, rules)
        answers = answering.get(row.id, no_complaints)
        if standing and figures.standing != standing:
            continue
        if responsiveness_standing and answers.standing != responsiveness_standing:
            continue
        notice, asks_answered = notices.get(row.id, no_moves), asked.get(row.id, NO_ASKS)
        lines.append(Ranked(row.id, row.name, row.category, figures, counts, answers, notice, asks_answered))
    return ordered(lines, worst_first=worst_first, by=by)


ORDERS = ("score", "responsiveness")


def ordered(lines: Iterable[Ranked], *, worst_first: bool = False, by: str = "score") -> list[Ranked]:
    """The scorecard's order (SCORING.md §5): by the Wilson low, best first, or by the high, worst
    first; vendors not yet rated after the rated ones; then by name. `by` "responsiveness" orders
    the same way by the responsiveness's band (§10)."""

    def order(line: Ranked):
        judged = line.judged(by)
        key = judged.worst_key if worst_first else -judged.ranking_key
        return (not judged.rated, key, line.name.casefold(), line.vendor_id)

    return sorted(lines, key=order)
