"""Keeps the monthly score sums (ScoreBucket) and their rollups in step with the ledger.

Every ledger write calls `follow` in the same transaction, which adds the difference the change
makes to the sums of the months it touched (an import recounts those months once, at its end:
`batched`, `refresh`), so the ranked scorecard can read a few thousand rows instead of a million
commitments. The rollups sum each vendor's settled months (those before the month of now - grace)
into one row.

The sums are a cache of the ledger, and know what they are a cache of: the state row records the
settings they were counted under (`Basis`), and every write adds to them under those. Bringing
them to new settings or a new month (`bring_up_to_date`) and proving them (`check`) are the tally
job's work (jobs.py), never a page's: until then the scorecard reads the ledger instead.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vendortrack.database import core
from vendortrack.models import Commitment, ScoreBucket, ScoreTallyState, Status, Vendor
from vendortrack.models.score import ScoreRollup
from vendortrack.scores.rules import (
    CREDITS,
    DAY,
    Fact,
    NoticeSums,
    Outcome,
    Rules,
    is_counted_move,
    notice_sums,
    outcome,
    weight,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# As of a moment this late, every open commitment is overdue and every resolved one has come due.
SETTLED = datetime(9000, 1, 1, tzinfo=UTC)
STATE_ID = 1


def _plain(column) -> sa.ColumnElement:
    """An enum column read as the string it is stored as: Fact wants strings, and converting every
    row's kind, status and excuse to an enum member is a noticeable share of a vendor's score
    (BENCHMARKS.md, "Scorecard")."""
    return sa.type_coerce(column, sa.String).label(column.key)


FACT_COLUMNS = (
    Commitment.id,
    _plain(Commitment.kind),
    Commitment.due_at,
    _plain(Commitment.status),
    Commitment.done_at,
    _plain(Commitment.excuse_category),
    Commitment.contact_id,
    Commitment.rescheduled_from_id,
    Commitment.title,
    Commitment.notified_at,
)


def facts_query() -> sa.Select:
    """The columns scoring reads, as a select to narrow with where()."""
    return sa.select(Commitment.vendor_id, *FACT_COLUMNS)


def to_fact(row) -> Fact:
    return Fact(
        row.id,
        row.kind,
        row.due_at,
        row.status,
        row.done_at,
        row.excuse_category,
        row.contact_id,
        row.rescheduled_from_id,
        row.title,
        row.notified_at,
    )


_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Basis:
    """What the stored sums were counted under, read from the state row."""

    # The settings the sums depend on: the half-life (weights) and the tolerances (on time).
    # Grace and the reliability mix are applied when the sums are read, so are not among them.
    rules: Rules
    rollup_through: datetime | None  # the month the rollups sum up to (exclusive); None: no rollups


@lru_cache(maxsize=16)
def _counting_rules(half_life_days: float, meeting_us: int, deadline_us: int) -> Rules:
    return Rules(
        half_life_days=half_life_days,
        meeting_tolerance=meeting_us * _MICROSECOND,
        deadline_tolerance=deadline_us * _MICROSECOND,
    )


def counted_alike(a: Rules, b: Rules) -> bool:
    """Whether sums counted under one set of rules hold under the other."""
    return (a.half_life_days, a.meeting_tolerance, a.deadline_tolerance) == (
        b.half_life_days,
        b.meeting_tolerance,
        b.deadline_tolerance,
    )


_STATE = ScoreTallyState.__table__
_READ_BASIS = sa.select(
    _STATE.c.half_life_days,
    _STATE.c.meeting_tolerance_us,
    _STATE.c.deadline_tolerance_us,
    _STATE.c.rollup_through,
).where(_STATE.c.id == STATE_ID)


def basis(session: Session) -> Basis | None:
    """What the sums were counted under; None when they have not been built yet (nothing to keep)."""
    row = core(session).execute(_READ_BASIS).first()
    if row is None:
        return None
    return Basis(_counting_rules(row[0], row[1], row[2]), row[3])


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def epoch_days(moment: datetime) -> float:
    return (moment - EPOCH) / DAY


# What a bucket and a rollup sum; a bucket is keyed by vendor and month.
_SUMS = (
    "counted",
    "weight",
    "fulfilment",
    "on_time",
    "kept_on_time",
    "kept_late",
    "broken",
    "rescheduled",
    "overdue",
    "cancelled",
)
_BUCKET_KEY = ("vendor_id", "month_start")


def contribution(fact: Fact, start: datetime, rules: Rules) -> dict[str, float]:
    """What one commitment adds to the sums of its month (which begins at `start`)."""
    result = outcome(fact, rules, SETTLED)
    if result == Outcome.cancelled:
        return {"cancelled": 1}
    g = weight(fact.due_at, start, rules.half_life_days)  # 2 ** ((due - start) / H)
    f, p = CREDITS[result]
    return {result.value: 1, "counted": 1, "weight": g, "fulfilment": g * f, "on_time": g * p}


def _month_row(vendor_id: int, start: datetime) -> dict:
    return {
        "vendor_id": vendor_id,
        "month_start": start,
        "start_day": epoch_days(start),
        "end_day": epoch_days(next_month(start)),
    }


def bucket_for(vendor_id: int, start: datetime, facts: Iterable[Fact], rules: Rules) -> dict | None:
    """The sums of one vendor's month, as the columns of a ScoreBucket; None when it is empty."""
    values = dict.fromkeys(_SUMS, 0)
    seen = False
    for fact in facts:
        seen = True
        for name, amount in contribution(fact, start, rules).items():
            values[name] += amount
    if not seen:
        return None
    return values | _month_row(vendor_id, start)


def settled_through(rules: Rules, as_of: datetime) -> datetime:
    """The first month still in motion as of a moment: every month before it is settled for good."""
    return month_start(rules.overdue_until(as_of))


def decay(rules: Rules) -> float:
    """k in w = exp((due_day - T_day) * k): ln 2 / H, or 0 with decay off."""
    return math.log(2) / rules.half_life_days if rules.half_life_days else 0.0


# e^-600 is no weight at all, yet far enough from a double's underflow that a product with it is not 0.
EXPONENT_FLOOR = -600.0


def decayed(exponent: sa.ColumnElement) -> sa.ColumnElement:
    """exp() of a decay exponent in SQL, floored: PostgreSQL raises on underflow where SQLite gives 0."""
    return sa.func.exp(sa.case((exponent < EXPONENT_FLOOR, EXPONENT_FLOOR), else_=exponent))


def packed(hours: Iterable[float]) -> bytes:
    """Doubles as little-endian bytes, whatever machine writes them."""
    values = array("d", hours)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def unpacked(data: bytes) -> tuple[float, ...]:
    values = array("d")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return tuple(values)


# The moves whose notice counts (rules.is_counted_move) once their time has come: through
# ix_commitment_status_due_at, narrowed by due_at by whoever reads them.
MOVES = sa.select(Commitment.vendor_id, Commitment.due_at, Commitment.notified_at).where(
    Commitment.status == Status.rescheduled, Commitment.notified_at.is_not(None)
)


def notices_by_vendor(rows: Iterable) -> dict[int, NoticeSums]:
    """The notice of each vendor's moves from rows of MOVES ordered by vendor."""
    return {
        vendor_id: notice_sums((row[1], row[2]) for row in group)
        for vendor_id, group in groupby(rows, key=lambda row: row[0])
    }


def rollup_notice(sums: NoticeSums) -> dict:
    """A NoticeSums as the notice columns of a ScoreRollup."""
    return {
        "notice_moves": sums.moves,
        "notice_last_minute": sums.last_minute_moves,
        "notice_median_hours": sums.median_hours,
        "notice_hours": packed(sums.hours or ()),
    }


_ROLLUPS = ScoreRollup.__table__
_WRITE_NOTICE = (
    _ROLLUPS.update()
    .where(_ROLLUPS.c.vendor_id == sa.bindparam("rollup_vendor_id"))
    .values({name: sa.bindparam(name) for name in rollup_notice(NoticeSums())})
)


def _roll_up_notice(session: Session, through: datetime, vendor_id: int | None) -> None:
    """The notice of the moves due before `through` into the rollups: one query, the rule in Python."""
    query = MOVES.where(Commitment.due_at < through).order_by(Commitment.vendor_id)
    if vendor_id is not None:
        query = query.where(Commitment.vendor_id == vendor_id)
    connection = core(session)
    rows = [
        rollup_notice(sums) | {"rollup_vendor_id": vendor}
        for vendor, sums in notices_by_vendor(connection.execute(query)).items()
    ]
    if rows:
        connection.execute(_WRITE_NOTICE, rows)


def roll_up(session: Session, rules: Rules, through: datetime, vendor_id: int | None = None) -> None:
    """Sum the buckets of the months before `through` into one rollup row per vendor (or for one),
    with the notice of its moves due before then.

    Weights are moved from each month's start to `through`; the exponents stay small (a few years
    over H), so nothing overflows. One INSERT ... SELECT: the sums never pass through Python.
    A vendor with a move due before `through` has a bucket before it, so has a row to take its notice.
    """
    factor = decayed((ScoreBucket.start_day - epoch_days(through)) * decay(rules))
    weighted = {"weight", "fulfilment", "on_time"}
    columns = [getattr(ScoreBucket, name) for name in _SUMS]
    sums = [sa.func.sum(column * factor if column.key in weighted else column) for column in columns]
    # No notice yet (`_roll_up_notice` writes the vendors with moves): written here, not left to the
    # columns' server defaults, which SQLite would hand back as text.
    no_notice = [sa.literal(0), sa.literal(0), sa.null(), sa.literal(b"", ScoreRollup.notice_hours.type)]
    query = (
        sa.select(
            ScoreBucket.vendor_id,
            sa.literal(through, ScoreRollup.through_month_start.type),
            *sums,
            *no_notice,
        )
        .where(ScoreBucket.end_day <= epoch_days(through))
        .group_by(ScoreBucket.vendor_id)
    )
    delete = sa.delete(ScoreRollup)
    if vendor_id is not None:
        query = query.where(ScoreBucket.vendor_id == vendor_id)
        delete = delete.where(ScoreRollup.vendor_id == vendor_id)
    session.execute(delete)
    columns = ["vendor_id", "through_month_start", *_SUMS, *rollup_notice(NoticeSums())]
    session.execute(sa.insert(ScoreRollup).from_select(columns, query))
    _roll_up_notice(session, through, vendor_id)


# What every ledger write runs, built once: a statement reused is neither rebuilt nor re-keyed for the
# compiled cache. The bucket table goes through Core, not the ORM's bulk and synchronising paths:
# buckets are never loaded as objects, so no session holds any to keep in step. Half the time a month.
_BUCKETS = ScoreBucket.__table__
_MONTH_FACTS = facts_query().where(
    Commitment.vendor_id == sa.bindparam("vendor_id"),
    Commitment.due_at >= sa.bindparam("start"),
    Commitment.due_at < sa.bindparam("end"),
)
_DELETE_BUCKET = _BUCKETS.delete().where(
    _BUCKETS.c.vendor_id == sa.bindparam("vendor_id"), _BUCKETS.c.month_start == sa.bindparam("start")
)


def _upsert(insert) -> sa.Insert:
    """Write a month's bucket whether or not it has one yet: one statement, where a DELETE and an
    INSERT were two (both databases say INSERT ... ON CONFLICT DO UPDATE alike)."""
    statement = insert(_BUCKETS)
    names = [column.name for column in _BUCKETS.columns if column.name not in _BUCKET_KEY]
    sums = {name: statement.excluded[name] for name in names}
    return statement.on_conflict_do_update(index_elements=_BUCKET_KEY, set_=sums)


_WRITE_BUCKET = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}


def _adding(insert) -> sa.Insert:
    """Add to a month's sums (a new bucket takes them as they are); answers how many commitments
    the month then holds."""
    statement = insert(_BUCKETS)
    sums = {name: _BUCKETS.c[name] + statement.excluded[name] for name in _SUMS}
    return statement.on_conflict_do_update(index_elements=_BUCKET_KEY, set_=sums).returning(
        _BUCKETS.c.counted + _BUCKETS.c.cancelled
    )


_ADD_TO_BUCKET = {"sqlite": _adding(sqlite.insert), "postgresql": _adding(postgresql.insert)}
# FOR NO KEY UPDATE: it waits for another writer of the same vendor, yet not for the key-share lock
# that inserting a commitment of the vendor takes, so two such writers cannot deadlock.
_LOCK_VENDOR = (
    sa.select(Vendor.id).where(Vendor.id == sa.bindparam("vendor_id")).with_for_update(key_share=True)
)


# Inside `batched()`: the months each vendor's writes touched, recounted once when the batch ends.
_batch: ContextVar[dict[int, set[datetime]] | None] = ContextVar("tally_batch", default=None)


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Recount each touched month once, at the end, instead of after every write: for an import,
    whose thousands of rows would otherwise recount the same few months thousands of times.
    The recount still happens inside the caller's transaction, before it commits. Inside a batch
    already, the outer one recounts."""
    if _batch.get() is not None:
        yield
        return
    pending: dict[int, set[datetime]] = {}
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    for vendor_id, months in pending.items():
        refresh(session, vendor_id, months)


def refresh(session: Session, vendor_id: int, dues: Iterable[datetime]) -> None:
    """Recompute the vendor's buckets for the months of these due dates (before and after a change),
    and its rollup when one of them is a settled month (an old commitment edited or reopened)."""
    months = {month_start(due) for due in dues}
    pending = _batch.get()
    if pending is not None:
        pending.setdefault(vendor_id, set()).update(months)
        return
    counted = basis(session)
    if counted is None:
        return  # no sums yet: building them will count this too
    connection = taking_turns(session, vendor_id)
    write_bucket = _WRITE_BUCKET[connection.dialect.name]
    for start in months:
        month = {"vendor_id": vendor_id, "start": start}
        rows = connection.execute(_MONTH_FACTS, month | {"end": next_month(start)})
        values = bucket_for(vendor_id, start, (to_fact(r) for r in rows), counted.rules)
        if values is None:  # the month's last commitment moved away
            connection.execute(_DELETE_BUCKET, month)
        else:
            connection.execute(write_bucket, values)
    _roll_up_if_settled(session, counted, vendor_id, months)


def taking_turns(session: Session, vendor_id: int) -> sa.Connection:
    """The connection to write the vendor's sums on, once it is this transaction's turn to.

    Two transactions writing for one vendor at once (PostgreSQL's read committed) would each count
    the month without the other's commitment, then collide on the bucket's key. Taking turns on the
    vendor's row, the second counts after the first has committed. On SQLite, BEGIN IMMEDIATE
    already lets one writer at a time.
    """
    connection = core(session)
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_VENDOR, {"vendor_id": vendor_id})
    return connection


def _roll_up_if_settled(session: Session, counted: Basis, vendor_id: int, months: Iterable[datetime]) -> None:
    """A settled month changed (an old commitment edited or reopened): the vendor's rollup follows."""
    through = counted.rollup_through
    if through is not None and min(months) < through:
        roll_up(session, counted.rules, through, vendor_id)


def _as_move(fact: Fact | None) -> tuple | None:
    """What a commitment gives the notice once its time has come (rules.is_counted_move)."""
    if fact is None or not is_counted_move(fact, SETTLED):
        return None
    return fact.due_at, fact.notified_at


def _notice_moved(before: Fact | None, after: Fact) -> bool:
    return _as_move(before) != _as_move(after)


def follow(session: Session, vendor_id: int, before: Fact | None, after: Fact) -> None:
    """Keep the vendor's buckets in step with one commitment's change, by the difference it makes:
    its old sums taken off its old month, its new ones added to its new month. One statement a month
    touched, whatever the month holds; none when the change does not move a score (a title, a note).

    Inside `batched()`, the months are recounted once at the end instead.
    """
    dues = [after.due_at] + ([before.due_at] if before is not None else [])
    if _batch.get() is not None:
        refresh(session, vendor_id, dues)
        return
    if before == after:
        return
    counted = basis(session)
    if counted is None:
        return  # no sums yet: building them will count this too
    changes: dict[datetime, dict[str, float]] = {}
    for fact, sign in ((before, -1), (after, 1)):
        if fact is None:
            continue
        start = month_start(fact.due_at)
        month = changes.setdefault(start, dict.fromkeys(_SUMS, 0))
        for name, amount in contribution(fact, start, counted.rules).items():
            month[name] += sign * amount
    changes = {start: sums for start, sums in changes.items() if any(sums.values())}
    if not changes:
        if _notice_moved(before, after):  # no sum moved, but the notice of a move did (a rollup holds it)
            _roll_up_if_settled(session, counted, vendor_id, {month_start(due) for due in dues})
        return
    connection = taking_turns(session, vendor_id)
    add = _ADD_TO_BUCKET[connection.dialect.name]
    for start, sums in changes.items():
        if connection.execute(add, sums | _month_row(vendor_id, start)).scalar_one() == 0:
            connection.execute(_DELETE_BUCKET, {"vendor_id": vendor_id, "start": start})  # it moved away
    _roll_up_if_settled(session, counted, vendor_id, changes)


def _all_buckets(session: Session, rules: Rules) -> Iterator[dict]:
    rows = session.execute(
        facts_query().order_by(Commitment.vendor_id, Commitment.due_at).execution_options(yield_per=5000)
    )
    for (vendor_id, start), group in groupby(rows, key=lambda r: (r.vendor_id, month_start(r.due_at))):
        values = bucket_for(vendor_id, start, (to_fact(r) for r in group), rules)
        if values is not None:
            yield values


def rebuild(session: Session, rules: Rules, now: datetime) -> int:
    """Recompute every bucket from the ledger under these rules; returns how many there are.
    The caller commits."""
    session.execute(sa.delete(ScoreBucket))
    batch: list[dict] = []
    total = 0
    for values in _all_buckets(session, rules):
        batch.append(values)
        if len(batch) == 2000:
            session.execute(sa.insert(ScoreBucket), batch)
            total += len(batch)
            batch = []
    if batch:
        session.execute(sa.insert(ScoreBucket), batch)
        total += len(batch)
    through = settled_through(rules, now)
    roll_up(session, rules, through)
    counted_under = {
        "half_life_days": rules.half_life_days,
        "meeting_tolerance_us": rules.meeting_tolerance // _MICROSECOND,
        "deadline_tolerance_us": rules.deadline_tolerance // _MICROSECOND,
        "built_at": now,
        "rollup_through": through,
    }
    # The stored answer deadlines stay what they were worked out under; the complaint rollups,
    # weighted under the old half-life, are no more until the tally job builds them again.
    deadlines = session.execute(
        sa.select(ScoreTallyState.ack_working_days, ScoreTallyState.ack_timezone).where(
            ScoreTallyState.id == STATE_ID
        )
    ).first()
    if deadlines is not None:
        counted_under |= {"ack_working_days": deadlines[0], "ack_timezone": deadlines[1]}
    session.execute(sa.delete(ScoreTallyState))
    session.execute(sa.insert(ScoreTallyState).values(id=STATE_ID, complaints_through=None, **counted_under))
    return total


def move_rollups(session: Session, rules: Rules, now: datetime) -> None:
    """Roll the rollups up to the months settled as of now (the calendar moved on). The caller commits."""
    through = settled_through(rules, now)
    roll_up(session, rules, through)
    session.execute(
        sa.update(ScoreTallyState).where(ScoreTallyState.id == STATE_ID).values(rollup_through=through)
    )


def needs(session: Session, rules: Rules, now: datetime) -> str | None:
    """What the tally lacks to serve a scorecard as of now: "rebuild", "roll_up", or None."""
    counted = basis(session)
    if counted is None or not counted_alike(counted.rules, rules):
        return "rebuild"
    return None if counted.rollup_through == settled_through(rules, now) else "roll_up"


def bring_up_to_date(session: Session, rules: Rules, now: datetime) -> str | None:
    """Rebuild the sums under new settings (or for the first time), or roll the rollups on to the
    months settled as of now; returns which it did, if either. The caller commits."""
    need = needs(session, rules, now)
    if need == "rebuild":
        rebuild(session, rules, now)
    elif need == "roll_up":
        move_rollups(session, rules, now)
    return need


# -- proving the sums: a recount from the ledger -------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One stored sum that a recount from the ledger does not give."""

    vendor_id: int
    vendor_name: str
    month: datetime | None  # None: the vendor's rollup of its settled months
    field: str
    stored: float | None  # None: no row stored where the recount has one
    recounted: float | None  # None: a row stored where the recount has none

    def __str__(self) -> str:
        where = "rollup" if self.month is None else f"{self.month:%Y-%m}"

        def shown(value: float | None) -> str:
            return "absent" if value is None else f"{value:.12g}"

        return (
            f"{self.vendor_name} (#{self.vendor_id}) {where} {self.field}: "
            f"stored {shown(self.stored)}, recounted {shown(self.recounted)}"
        )


@dataclass
class CheckResult:
    """What a check found; `counted_elsewise` when the sums were counted under other settings
    (or never built), so only a rebuild can make them right."""

    vendors: int = 0
    differences: list[Difference] = field(default_factory=list)
    repaired_vendors: int = 0
    counted_elsewise: bool = False
    rebuilt: bool = False


_INTEGERS = frozenset(_SUMS) - {"weight", "fulfilment", "on_time"}


def _same(name: str, stored: float, recounted: float) -> bool:
    if name in _INTEGERS:
        return stored == recounted
    # Written by adding and taking off each change, a sum carries rounding a recount does not.
    return math.isclose(stored, recounted, rel_tol=1e-9, abs_tol=1e-9)


def _compare(vendor_id: int, name: str, month, stored: dict | None, recounted: dict | None, fields):
    if stored is None and recounted is None:
        return  # a vendor with no settled month has no rollup, and none is owed
    for column in fields:
        before = None if stored is None else stored[column]
        after = None if recounted is None else recounted[column]
        if before is None or after is None:
            if (before or 0) == (after or 0) == 0 and not (stored is None and recounted is None):
                continue  # a zero in a row the other side lacks is no difference in any figure
            yield Difference(vendor_id, name, month, column, before, after)
        elif not _same(column, before, after):
            yield Difference(vendor_id, name, month, column, before, after)


def _recount(
    connection: sa.Connection, vendor_id: int, rules: Rules
) -> tuple[dict[datetime, dict], list[Fact]]:
    """The vendor's months recounted from its commitments, and its moves (for their notice)."""
    rows = connection.execute(
        facts_query().where(Commitment.vendor_id == vendor_id).order_by(Commitment.due_at)
    )
    months = {}
    moves = []
    for start, group in groupby(rows, key=lambda row: month_start(row.due_at)):
        facts = [to_fact(r) for r in group]
        moves += [f for f in facts if is_counted_move(f, SETTLED)]
        values = bucket_for(vendor_id, start, facts, rules)
        if values is not None:
            months[start] = values
    return months, moves


def _rolled_up(
    months: dict[datetime, dict], moves: list[Fact], rules: Rules, through: datetime
) -> dict | None:
    """`roll_up`'s sums for one vendor, from its recounted months and moves, as Python computes them."""
    settled = [values for start, values in months.items() if values["end_day"] <= epoch_days(through)]
    if not settled:
        return None
    sums = dict.fromkeys(_SUMS, 0)
    for values in settled:
        factor = math.exp(max((values["start_day"] - epoch_days(through)) * decay(rules), EXPONENT_FLOOR))
        for name in _SUMS:
            sums[name] += values[name] * (factor if name not in _INTEGERS else 1)
    notices = notice_sums((f.due_at, f.notified_at) for f in moves if f.due_at < through)
    return sums | rollup_notice(notices)


# The notice columns compared as numbers; the hours, as the lists they pack.
_NOTICE_FIGURES = ("notice_moves", "notice_last_minute", "notice_median_hours")


def _hours_differ(vendor_id: int, name: str, stored: dict | None, recounted: dict | None):
    """The packed hours of notice compared as lists; a difference shows as their sums."""
    lists = [() if row is None else unpacked(row["notice_hours"]) for row in (stored, recounted)]
    if lists[0] != lists[1]:
        yield Difference(vendor_id, name, None, "notice_hours (sum)", sum(lists[0]), sum(lists[1]))


def _vendor_differences(
    connection: sa.Connection, counted: Basis, vendor_id: int, name: str
) -> list[Difference]:
    recounted, moves = _recount(connection, vendor_id, counted.rules)
    stored = {
        row["month_start"]: row
        for row in connection.execute(sa.select(_BUCKETS).where(_BUCKETS.c.vendor_id == vendor_id)).mappings()
    }
    found = []
    for month in sorted(stored.keys() | recounted.keys()):
        found += _compare(vendor_id, name, month, stored.get(month), recounted.get(month), _SUMS)
    if counted.rollup_through is not None:
        rollup = (
            connection.execute(sa.select(ScoreRollup.__table__).where(ScoreRollup.vendor_id == vendor_id))
            .mappings()
            .first()
        )
        rolled_up = _rolled_up(recounted, moves, counted.rules, counted.rollup_through)
        found += _compare(vendor_id, name, None, rollup, rolled_up, (*_SUMS, *_NOTICE_FIGURES))
        found += _hours_differ(vendor_id, name, rollup, rolled_up)
        if rollup is not None and rollup["through_month_start"] != counted.rollup_through:
            found.append(
                Difference(
                    vendor_id,
                    name,
                    None,
                    "through_month_start",
                    epoch_days(rollup["through_month_start"]),
                    epoch_days(counted.rollup_through),
                )
            )
    return found


def _repair(session: Session, connection: sa.Connection, counted: Basis, vendor_id: int) -> None:
    """Rewrite the vendor's buckets and rollup from a recount."""
    months, _ = _recount(connection, vendor_id, counted.rules)
    connection.execute(_BUCKETS.delete().where(_BUCKETS.c.vendor_id == vendor_id))
    if months:
        connection.execute(_BUCKETS.insert(), list(months.values()))
    if counted.rollup_through is not None:
        roll_up(session, counted.rules, counted.rollup_through, vendor_id)


def check(session: Session, rules: Rules, now: datetime, *, repair: bool = False) -> CheckResult:
    """Recount every vendor's buckets and rollup from the ledger and list what differs; with
    `repair`, rewrite what differs, in one transaction per vendor (committed here).

    Each vendor is recounted and compared inside its own transaction, taking turns with the
    ledger's writers (`taking_turns`), so a write landing meanwhile is never mistaken for drift,
    nor undone by a repair. Sums counted under other settings than `rules`, or never built, are
    not compared field by field: a repair rebuilds them all.
    """
    result = CheckResult()
    counted = basis(session)
    if counted is None or not counted_alike(counted.rules, rules):
        result.counted_elsewise = True
        if repair:
            rebuild(session, rules, now)
            session.commit()
            result.rebuilt = True
        return result
    vendors = session.execute(sa.select(Vendor.id, Vendor.name).order_by(Vendor.id)).all()
    session.commit()  # each vendor is then checked in a transaction of its own
    for vendor_id, name in vendors:
        connection = taking_turns(session, vendor_id)
        found = _vendor_differences(connection, counted, vendor_id, name)
        if found and repair:
            _repair(session, connection, counted, vendor_id)
            result.repaired_vendors += 1
        session.commit()
        result.vendors += 1
        result.differences += found
    return result
