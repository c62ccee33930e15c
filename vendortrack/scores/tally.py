"""Keeps the monthly score sums (ScoreBucket) and their rollups in step with the ledger.

Every ledger write calls `follow` in the same transaction, which adds the difference the change
makes to the sums of the months it touched (an import recounts those months once, at its end:
`batched`, `refresh`), so the ranked scorecard can read a few thousand rows instead of a million
commitments. The rollups sum
each vendor's settled months (those before the month of now - grace) into one row; they move on
when the calendar does (`roll_up`), and are rebuilt with the buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from itertools import groupby

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vendortrack.database import core
from vendortrack.models import Commitment, ScoreBucket, ScoreTallyState, Vendor
from vendortrack.models.score import ScoreRollup
from vendortrack.scores.rules import CREDITS, DAY, Fact, Outcome, Rules, outcome, weight

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# As of a moment this late, every open commitment is overdue and every resolved one has come due.
SETTLED = datetime(9000, 1, 1, tzinfo=UTC)
STATE_ID = 1


def _plain(column) -> sa.ColumnElement:
    """An enum column read as the string it is stored as: Fact wants strings, and converting every
    row's kind, status and excuse to an enum member costs a vendor's score about a tenth of its time."""
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
    )


def current_rules() -> Rules:
    return current_app.config["VENDORTRACK_RULES"]


def rules_key(rules: Rules) -> str:
    """What the stored sums depend on: the half-life (weights) and the tolerances (on time)."""
    return (
        f"H={rules.half_life_days!r};meeting={rules.meeting_tolerance.total_seconds()!r};"
        f"other={rules.deadline_tolerance.total_seconds()!r}"
    )


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


def roll_up(session: Session, rules: Rules, through: datetime, vendor_id: int | None = None) -> None:
    """Sum the buckets of the months before `through` into one rollup row per vendor (or for one).

    Weights are moved from each month's start to `through`; the exponents stay small (a few years
    over H), so nothing overflows. One INSERT ... SELECT: the sums never pass through Python.
    """
    factor = decayed((ScoreBucket.start_day - epoch_days(through)) * decay(rules))
    weighted = {"weight", "fulfilment", "on_time"}
    columns = [getattr(ScoreBucket, name) for name in _SUMS]
    sums = [sa.func.sum(column * factor if column.key in weighted else column) for column in columns]
    query = (
        sa.select(ScoreBucket.vendor_id, sa.literal(through, ScoreRollup.through_month_start.type), *sums)
        .where(ScoreBucket.end_day <= epoch_days(through))
        .group_by(ScoreBucket.vendor_id)
    )
    delete = sa.delete(ScoreRollup)
    if vendor_id is not None:
        query = query.where(ScoreBucket.vendor_id == vendor_id)
        delete = delete.where(ScoreRollup.vendor_id == vendor_id)
    session.execute(delete)
    columns = ["vendor_id", "through_month_start", *_SUMS]
    session.execute(sa.insert(ScoreRollup).from_select(columns, query))


_ROLLUP_THROUGH = sa.select(ScoreTallyState.rollup_through).where(ScoreTallyState.id == STATE_ID)


def rollup_through(session: Session) -> datetime | None:
    """The month the rollups are good up to, or None when there are none to trust (every write asks)."""
    return core(session).scalar(_ROLLUP_THROUGH)


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


def refresh(session: Session, vendor_id: int, dues: Iterable[datetime], rules: Rules | None = None) -> None:
    """Recompute the vendor's buckets for the months of these due dates (before and after a change),
    and its rollup when one of them is a settled month (an old commitment edited or reopened)."""
    months = {month_start(due) for due in dues}
    pending = _batch.get()
    if pending is not None:
        pending.setdefault(vendor_id, set()).update(months)
        return
    rules = rules or current_rules()
    connection = _taking_turns(session, vendor_id)
    write_bucket = _WRITE_BUCKET[connection.dialect.name]
    for start in months:
        month = {"vendor_id": vendor_id, "start": start}
        rows = connection.execute(_MONTH_FACTS, month | {"end": next_month(start)})
        values = bucket_for(vendor_id, start, (to_fact(r) for r in rows), rules)
        if values is None:  # the month's last commitment moved away
            connection.execute(_DELETE_BUCKET, month)
        else:
            connection.execute(write_bucket, values)
    _roll_up_if_settled(session, rules, vendor_id, months)


def _taking_turns(session: Session, vendor_id: int) -> sa.Connection:
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


def _roll_up_if_settled(session: Session, rules: Rules, vendor_id: int, months: Iterable[datetime]) -> None:
    """A settled month changed (an old commitment edited or reopened): the vendor's rollup follows."""
    through = rollup_through(session)
    if through is not None and min(months) < through:
        roll_up(session, rules, through, vendor_id)


def follow(
    session: Session, vendor_id: int, before: Fact | None, after: Fact, rules: Rules | None = None
) -> None:
    """Keep the vendor's buckets in step with one commitment's change, by the difference it makes:
    its old sums taken off its old month, its new ones added to its new month. One statement a month
    touched, whatever the month holds; none when the change does not move a score (a title, a note).

    Inside `batched()`, the months are recounted once at the end instead.
    """
    dues = [after.due_at] + ([before.due_at] if before is not None else [])
    if _batch.get() is not None:
        refresh(session, vendor_id, dues, rules)
        return
    rules = rules or current_rules()
    changes: dict[datetime, dict[str, float]] = {}
    for fact, sign in ((before, -1), (after, 1)):
        if fact is None:
            continue
        start = month_start(fact.due_at)
        month = changes.setdefault(start, dict.fromkeys(_SUMS, 0))
        for name, amount in contribution(fact, start, rules).items():
            month[name] += sign * amount
    changes = {start: sums for start, sums in changes.items() if any(sums.values())}
    if not changes:
        return
    connection = _taking_turns(session, vendor_id)
    add = _ADD_TO_BUCKET[connection.dialect.name]
    for start, sums in changes.items():
        if connection.execute(add, sums | _month_row(vendor_id, start)).scalar_one() == 0:
            connection.execute(_DELETE_BUCKET, {"vendor_id": vendor_id, "start": start})  # it moved away
    _roll_up_if_settled(session, rules, vendor_id, changes)


def _all_buckets(session: Session, rules: Rules) -> Iterator[dict]:
    rows = session.execute(
        facts_query().order_by(Commitment.vendor_id, Commitment.due_at).execution_options(yield_per=5000)
    )
    for (vendor_id, start), group in groupby(rows, key=lambda r: (r.vendor_id, month_start(r.due_at))):
        values = bucket_for(vendor_id, start, (to_fact(r) for r in group), rules)
        if values is not None:
            yield values


def rebuild(session: Session, rules: Rules, now: datetime) -> int:
    """Recompute every bucket from the ledger; returns how many there are. The caller commits."""
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
    state = session.get(ScoreTallyState, STATE_ID)
    if state is None:
        session.add(
            ScoreTallyState(id=STATE_ID, rules_key=rules_key(rules), built_at=now, rollup_through=through)
        )
    else:
        state.rules_key, state.built_at, state.rollup_through = rules_key(rules), now, through
    session.flush()
    return total


def move_rollups(session: Session, rules: Rules, now: datetime) -> None:
    """Roll the rollups up to the months settled as of now (the calendar moved on). The caller commits."""
    through = settled_through(rules, now)
    roll_up(session, rules, through)
    session.execute(
        sa.update(ScoreTallyState).where(ScoreTallyState.id == STATE_ID).values(rollup_through=through)
    )


def is_current(session: Session, rules: Rules) -> bool:
    key = session.scalar(sa.select(ScoreTallyState.rules_key).where(ScoreTallyState.id == STATE_ID))
    return key == rules_key(rules)


def needs(session: Session, rules: Rules, now: datetime) -> str | None:
    """What the tally lacks to serve a scorecard as of now: "rebuild", "roll_up", or None."""
    row = session.execute(
        sa.select(ScoreTallyState.rules_key, ScoreTallyState.rollup_through).where(
            ScoreTallyState.id == STATE_ID
        )
    ).first()
    if row is None or row.rules_key != rules_key(rules):
        return "rebuild"
    return None if row.rollup_through == settled_through(rules, now) else "roll_up"
