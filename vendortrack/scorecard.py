"""The scores as the app shows them: one vendor from its commitments, every vendor from the buckets.

`vendor_score` reads one vendor's commitments and hands them to `scoring`. `ranked` scores every
active vendor in a constant number of statements: settled months come from ScoreBucket, the
months still in motion (the one holding T - grace, and later) from the commitments themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from vendortrack import tally
from vendortrack.database import write_intent
from vendortrack.models import Commitment, Kind, ScoreBucket, Status, Vendor
from vendortrack.scoring import (
    COUNT_KEYS,
    Fact,
    Headline,
    Rules,
    Standing,
    Totals,
    VendorScore,
    headline,
    score_vendor,
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
_SUMS = 4 + len(COUNT_KEYS)  # n, N, S_f, S_p and the counts


def vendor_score(
    session: Session, vendor: Vendor, rules: Rules, as_of: datetime, *, contact_id: int | None = None
) -> VendorScore:
    """Every figure of SCORING.md for one vendor, or for one of its contacts."""
    query = sa.select(*tally.FACT_COLUMNS).where(Commitment.vendor_id == vendor.id)
    if contact_id is not None:
        query = query.where(Commitment.contact_id == contact_id)
    # FACT_COLUMNS are Fact's fields in order; by position is a third faster than by name per row.
    facts = [Fact(*row) for row in session.execute(query)]
    names = None if contact_id is not None else {c.id: c.name for c in vendor.contacts}
    return score_vendor(facts, rules, as_of, contact_names=names)


@dataclass
class Ranked:
    """One line of the scorecard."""

    vendor_id: int
    name: str
    category: str
    figures: Headline
    counts: dict[str, int]


def ensure_tally(session: Session, rules: Rules, now: datetime) -> None:
    """Rebuild the buckets if the scoring settings changed since they were built (or never were).

    A page view (a read-only transaction) may be what notices: then the rebuild runs in a session
    of its own that takes the write lock, and the caller's transaction is ended so it reads the
    new buckets. A caller already writing (a command, a job) rebuilds in its own transaction.
    """
    if tally.is_current(session, rules):
        return
    if write_intent.get():
        tally.rebuild(session, rules, now)
        return
    token = write_intent.set(True)
    try:
        with Session(session.get_bind()) as writer, writer.begin():
            if not tally.is_current(writer, rules):
                tally.rebuild(writer, rules, now)
    finally:
        write_intent.reset(token)
    session.rollback()


def _decay(rules: Rules) -> float:
    """k in w = exp((due_day - T_day) * k): ln 2 / H, or 0 with decay off."""
    return math.log(2) / rules.half_life_days if rules.half_life_days else 0.0


def _bucket_totals(session: Session, rules: Rules, as_of: datetime, vendor_ids) -> dict[int, list]:
    """Sums and counts from the buckets of the months that ended before as_of - grace (nothing in them
    can move), and the open commitments of the months from as_of's own on: those are upcoming.

    One statement of two halves (UNION ALL), so neither wraps every sum in a CASE; a vendor may
    have a row in each, added up here.
    """
    factor = sa.func.exp((ScoreBucket.start_day - tally.epoch_days(as_of)) * _decay(rules))
    zero_sums = [sa.literal_column("0"), *[sa.literal_column("0.0")] * 3]
    zero_counts = [sa.literal_column("0")] * (len(COUNT_KEYS) - 1)
    settled = (
        sa.select(
            ScoreBucket.vendor_id,
            sa.func.sum(ScoreBucket.counted),
            sa.func.sum(ScoreBucket.weight * factor),
            sa.func.sum(ScoreBucket.fulfilment * factor),
            sa.func.sum(ScoreBucket.on_time * factor),
            *(sa.func.sum(getattr(ScoreBucket, key)) for key in COUNT_KEYS if key != "upcoming"),
            sa.literal_column("0"),
        )
        .where(ScoreBucket.end_day <= tally.epoch_days(as_of - rules.grace))
        .group_by(ScoreBucket.vendor_id)
    )
    # A month ending after as_of began at or after as_of's month; a bucket's "overdue" is still open.
    upcoming = (
        sa.select(ScoreBucket.vendor_id, *zero_sums, *zero_counts, sa.func.sum(ScoreBucket.overdue))
        .where(ScoreBucket.end_day > tally.epoch_days(as_of))
        .group_by(ScoreBucket.vendor_id)
    )
    if vendor_ids is not None:
        settled = settled.where(ScoreBucket.vendor_id.in_(vendor_ids))
        upcoming = upcoming.where(ScoreBucket.vendor_id.in_(vendor_ids))
    totals: dict[int, list] = {}
    for vendor_id, *values in session.execute(sa.union_all(settled, upcoming)):
        if vendor_id in totals:
            values = [a + b for a, b in zip(totals[vendor_id], values, strict=True)]
        totals[vendor_id] = values
    return totals


def _moving_totals(session: Session, rules: Rules, as_of: datetime, vendor_ids) -> dict[int, list]:
    """The same sums straight from the commitments due from the first unsettled month up to as_of.

    Commitments due later only count as upcoming when open, which the buckets know; the open ones
    of as_of's month that are already due come off that count here (the last column, negative).
    SQL computes a shared expression once per use, so the inner query sorts the commitments into
    groups that score alike and computes each one's weight once; the outer one adds the groups up.
    """
    c = Commitment
    seconds = epoch_seconds(c.due_at) - (as_of - tally.EPOCH).total_seconds()
    tolerance_us = sa.case(
        (c.kind == Kind.meeting, rules.meeting_tolerance // _MICROSECOND),
        else_=rules.deadline_tolerance // _MICROSECOND,
    )
    flags = (
        sa.case(((c.status == Status.kept) & (c.lateness_us <= tolerance_us), 1), else_=0).label("on_time"),
        sa.case(((c.status == Status.open) & (c.due_at <= as_of - rules.grace), 1), else_=0).label("overdue"),
        sa.case((c.due_at >= tally.month_start(as_of), 1), else_=0).label("this_month"),
    )
    groups = (
        sa.select(c.vendor_id, c.status, *flags, sa.func.count().label("n"),
                  sa.func.sum(sa.func.exp(seconds * (_decay(rules) / 86400))).label("w"))  # fmt: skip
        # Every status named, so SQLite can range-scan ix_commitment_status_due_at once per status.
        .where(c.status.in_(list(Status)), c.due_at >= tally.month_start(as_of - rules.grace),
               c.due_at <= as_of)  # fmt: skip
        .group_by(c.vendor_id, c.status, *flags)
    )
    if vendor_ids is not None:
        groups = groups.where(c.vendor_id.in_(vendor_ids))
    g = groups.subquery()
    kept, on_time = g.c.status == Status.kept, g.c.on_time == 1
    counted = g.c.status.in_([Status.kept, Status.broken, Status.rescheduled]) | (g.c.overdue == 1)

    def total(condition, value) -> sa.ColumnElement:
        return sa.func.sum(sa.case((condition, value), else_=0))

    query = sa.select(
        g.c.vendor_id,
        total(counted, g.c.n),
        total(counted, g.c.w),
        sa.func.sum(sa.case((kept, g.c.w), (g.c.status == Status.rescheduled, 0.5 * g.c.w), else_=0.0)),
        total(on_time, g.c.w),
        total(on_time, g.c.n),
        total(kept & ~on_time, g.c.n),
        total(g.c.status == Status.broken, g.c.n),
        total(g.c.status == Status.rescheduled, g.c.n),
        total(g.c.overdue == 1, g.c.n),
        total(g.c.status == Status.cancelled, g.c.n),
        total((g.c.status == Status.open) & (g.c.this_month == 1), -g.c.n),
    ).group_by(g.c.vendor_id)
    return {row[0]: list(row[1:]) for row in session.execute(query)}


def totals_by_vendor(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: list[int] | None = None
) -> dict[int, tuple[Totals, dict[str, int]]]:
    """Totals and counts as of a moment for many vendors at once, in two statements."""
    settled = _bucket_totals(session, rules, as_of, vendor_ids)
    moving = _moving_totals(session, rules, as_of, vendor_ids)
    result = {}
    for vendor_id in settled.keys() | moving.keys():
        a = settled.get(vendor_id, [0] * _SUMS)
        b = moving.get(vendor_id, [0] * _SUMS)
        n, big_n, s_f, s_p, *counts = (x + y for x, y in zip(a, b, strict=True))
        totals = Totals(int(n), float(big_n), float(s_f), float(s_p))
        result[vendor_id] = (totals, dict(zip(COUNT_KEYS, map(int, counts), strict=True)))
    return result


EMPTY_COUNTS = dict.fromkeys(COUNT_KEYS, 0)


def ranked(
    session: Session, rules: Rules, as_of: datetime, *, category: str | None = None,
    standing: str | None = None, worst_first: bool = False,
) -> list[Ranked]:  # fmt: skip
    """Every active vendor with its headline figures, ordered by the ranking key of SCORING.md §5."""
    vendors = sa.select(Vendor.id, Vendor.name, Vendor.category).where(Vendor.archived_at.is_(None))
    if category:
        vendors = vendors.where(Vendor.category == category)
    rows = session.execute(vendors).all()
    ids = None if len(rows) > 500 else [row.id for row in rows]  # a long IN list costs more than it saves
    totals = totals_by_vendor(session, rules, as_of, ids)
    lines = []
    for row in rows:
        sums, counts = totals.get(row.id, (Totals(), EMPTY_COUNTS))
        figures = headline(sums, rules)
        if standing and figures.standing != standing:
            continue
        lines.append(Ranked(row.id, row.name, row.category, figures, counts))

    def order(line: Ranked):
        insufficient = line.figures.standing == Standing.insufficient_data
        key = line.figures.worst_key if worst_first else -line.figures.ranking_key
        return (insufficient, key, line.name.casefold(), line.vendor_id)

    return sorted(lines, key=order)
