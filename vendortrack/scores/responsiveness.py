"""How vendors answer complaints, read from the ledger: the facts SCORING.md §10 needs, per vendor.

The rules themselves (the answer deadline, what counts, the credit, the figures, when a complaint
settles) are in `rules.py`; this module reads the complaints they apply to, and keeps the cache the
ranked scorecard reads instead of every complaint: per vendor, its settled complaints summed
(ComplaintRollup, `recount` on every write), the rest read one by one through their `settles_at`.
As the score sums (tally.py), the cache knows the settings it was worked out under and the tally job
brings it up to date (`rebuild`) and proves it (`check`); a page that it does not cover reads every
complaint instead, and never writes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vendortrack.database import core
from vendortrack.models import Commitment, Complaint, Resolution, ScoreTallyState, Status, Vendor
from vendortrack.models.score import ComplaintRollup
from vendortrack.scores import tally
from vendortrack.scores.rules import (
    ComplaintFact,
    ComplaintSums,
    Responsiveness,
    Rules,
    complaint_credits,
    complaint_settles_at,
    complaint_sums,
    responsiveness_from,
    responsiveness_of,
    weight,
)

_promise = aliased(Commitment)
# When the dated answer was kept: the newest live promise of the complaint's chain (a moved promise's
# follow-up; a cancelled follow-up only when nothing else is left), if kept; else NULL.
_ANSWER_KEPT_AT = (
    sa.select(sa.case((_promise.status == Status.kept, _promise.done_at)))
    .where(_promise.complaint_id == Complaint.id)
    .order_by(sa.case((_promise.status == Status.cancelled, 1), else_=0), _promise.id.desc())
    .limit(1)
    .correlate(Complaint)
    .scalar_subquery()
)

FACT_COLUMNS = (
    Complaint.id,
    Complaint.raised_at,
    Complaint.acknowledged_at,
    sa.case((Complaint.resolution == Resolution.withdrawn, True), else_=False),
    sa.or_(Complaint.case_owner_contact_id.is_not(None), Complaint.case_owner_name != ""),
    Complaint.dated_answer_at,
    _ANSWER_KEPT_AT,
    Complaint.contact_id,
    Complaint.title,
    sa.type_coerce(Complaint.severity, sa.String),
)


def facts_query() -> sa.Select:
    """Every complaint as a ComplaintFact's fields in order, after its vendor's id."""
    return sa.select(Complaint.vendor_id, *FACT_COLUMNS).order_by(Complaint.raised_at, Complaint.id)


def _fact(row) -> ComplaintFact:
    return ComplaintFact(row[0], row[1], row[2], bool(row[3]), bool(row[4]), *row[5:])


# Built once: a statement reused is not built and keyed for the compiled cache again each scorecard.
_UNSETTLED = facts_query().where(
    sa.or_(
        Complaint.settles_at > sa.bindparam("through", type_=Complaint.settles_at.type),
        Complaint.settles_at.is_(None),
    )
)


def facts_of(session: Session, vendor_id: int) -> list[ComplaintFact]:
    query = facts_query().where(Complaint.vendor_id == vendor_id)
    return [_fact(row[1:]) for row in session.execute(query)]


def facts_by_vendor(
    session: Session, vendor_ids: Iterable[int] | None = None, *, settled_through: datetime | None = None
) -> dict[int, list[ComplaintFact]]:
    """Every complaint by vendor; with `settled_through`, only those not settled by then."""
    query = facts_query() if settled_through is None else _UNSETTLED
    if vendor_ids is not None:
        query = query.where(Complaint.vendor_id.in_(list(vendor_ids)))
    grouped: dict[int, list[ComplaintFact]] = defaultdict(list)
    parameters = {} if settled_through is None else {"through": settled_through}
    for row in core(session).execute(query, parameters):  # Core: the ORM's steps cost more than the rows
        grouped[row[0]].append(_fact(row[1:]))
    return grouped


def by_vendor(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: Iterable[int] | None = None
) -> dict[int, Responsiveness]:
    """Each vendor's responsiveness as of a moment, for vendors with complaints (the rest have none).

    From the rollups and the complaints not settled by then when the cache covers `as_of` (built
    under these rules, through a moment at or before it); else from every complaint.
    """
    ids = None if vendor_ids is None else list(vendor_ids)
    state = cache_state(session)
    if not covers(state, rules, as_of):
        return {
            vendor_id: responsiveness_of(facts, rules, as_of)
            for vendor_id, facts in facts_by_vendor(session, ids, settled_through=None).items()
        }
    settled = _rollups(session, rules, state.through, as_of, ids)
    unsettled = facts_by_vendor(session, ids, settled_through=state.through)
    # The median of the hours to answer takes the settled ones' own list only where answers join it.
    joining = [
        vendor_id
        for vendor_id, facts in unsettled.items()
        if vendor_id in settled
        and any(f.acknowledged_at is not None and f.acknowledged_at <= as_of for f in facts)
    ]
    if joining:
        for vendor_id, hours in session.execute(_HOURS, {"vendor_ids": joining}):
            settled[vendor_id] = _with_hours(settled[vendor_id], hours)
    result = {
        vendor_id: responsiveness_from(sums)
        for vendor_id, sums in settled.items()
        if vendor_id not in unsettled
    }
    for vendor_id, facts in unsettled.items():
        result[vendor_id] = responsiveness_of(facts, rules, as_of, settled.get(vendor_id))
    return result


# -- the cache: each vendor's settled complaints summed -------------------------------------------

_STATE = ScoreTallyState.__table__
_ROLLUPS = ComplaintRollup.__table__
_READ_STATE = sa.select(
    _STATE.c.half_life_days, _STATE.c.ack_working_days, _STATE.c.ack_timezone, _STATE.c.complaints_through
).where(_STATE.c.id == tally.STATE_ID)


@dataclass(frozen=True)
class CacheState:
    """What the rollups and the stored answer deadlines were worked out under, read from the state row."""

    rules: Rules  # the half-life (weights), the working days and the time zone (answer deadlines)
    through: datetime | None  # the rollups hold the complaints settled by then; None: no rollups


@lru_cache(maxsize=16)
def _cache_rules(half_life_days: float, ack_working_days: int, timezone: str) -> Rules:
    return Rules(half_life_days=half_life_days, ack_working_days=ack_working_days, timezone=timezone)


def cache_state(session: Session) -> CacheState | None:
    """None before the score sums were first built: the cache lives in their state row."""
    row = core(session).execute(_READ_STATE).first()
    if row is None:
        return None
    return CacheState(_cache_rules(row[0], row[1], row[2]), row[3])


def worked_out_alike(a: Rules, b: Rules) -> bool:
    """Whether rollups and deadlines worked out under one set of rules hold under the other."""
    return (a.half_life_days, a.ack_working_days, a.timezone) == (
        b.half_life_days,
        b.ack_working_days,
        b.timezone,
    )


def deadlines_alike(a: Rules, b: Rules) -> bool:
    """Whether answer deadlines worked out under one set of rules hold under the other."""
    return (a.ack_working_days, a.timezone) == (b.ack_working_days, b.timezone)


def covers(state: CacheState | None, rules: Rules, as_of: datetime) -> bool:
    """Whether the rollups give the figures as of `as_of` under `rules`: their complaints settled by then."""
    return (
        state is not None
        and state.through is not None
        and as_of >= state.through
        and worked_out_alike(state.rules, rules)
    )


_ROLLUP_COLUMNS = (
    "counted",
    "weight",
    "answered_weight",
    "answered_in_time",
    "answered_late",
    "unanswered",
    "owner_named",
    "dated_answers",
    "dated_answers_kept",
)
_FACTOR = sa.bindparam("factor", type_=sa.Float())
_READ_ROLLUPS = sa.select(
    _ROLLUPS.c.vendor_id,
    *(
        _ROLLUPS.c[name] * _FACTOR if name in ("weight", "answered_weight") else _ROLLUPS.c[name]
        for name in _ROLLUP_COLUMNS
    ),
    _ROLLUPS.c.median_hours,
)
_HOURS = sa.select(_ROLLUPS.c.vendor_id, _ROLLUPS.c.hours).where(
    _ROLLUPS.c.vendor_id.in_(sa.bindparam("vendor_ids", expanding=True))
)


def _rollups(
    session: Session, rules: Rules, through: datetime, as_of: datetime, vendor_ids: list[int] | None
) -> dict[int, ComplaintSums]:
    """Every vendor's rollup as ComplaintSums as of `as_of`, without the hours (read on demand).

    The weights are moved from `through` to `as_of` in the query, by the one factor that
    `ComplaintSums.moved_to` applies: 2,000 times a scorecard, that is 3 ms less of Python.
    """
    query = _READ_ROLLUPS
    if vendor_ids is not None:
        query = query.where(_ROLLUPS.c.vendor_id.in_(vendor_ids))
    factor = weight(through, as_of, rules.half_life_days)
    return {
        row[0]: ComplaintSums(as_of, *row[1:10], None, row[10])
        for row in core(session).execute(query, {"factor": factor}).all()  # all(): one fetchall
    }


def _with_hours(sums: ComplaintSums, hours: bytes) -> ComplaintSums:
    sums.hours = tally.unpacked(hours)
    return sums


def _rollup_row(vendor_id: int, sums: ComplaintSums) -> dict:
    return (
        {"vendor_id": vendor_id, "through": sums.as_of}
        | {name: getattr(sums, name) for name in _ROLLUP_COLUMNS}
        | {
            "median_hours": sums.median_hours,
            "hours": tally.packed(sums.hours),
        }
    )


# A vendor's complaints with what deciding when each settles takes: the stored deadline and moment.
_SETTLING_QUERY = sa.select(Complaint.vendor_id, *FACT_COLUMNS, Complaint.answer_due_at, Complaint.settles_at)
_VENDOR_SETTLING = _SETTLING_QUERY.where(Complaint.vendor_id == sa.bindparam("vendor_id"))
_SET_SETTLES_AT = (
    Complaint.__table__.update()
    .where(Complaint.__table__.c.id == sa.bindparam("complaint_id"))
    .values(settles_at=sa.bindparam("settles_at"))
)
_FACT_END = 1 + len(FACT_COLUMNS)


@dataclass
class _Recounted:
    """One vendor's complaints worked out again: when each settles (where that moved) and its rollup."""

    moved: dict[int, tuple[datetime | None, datetime]] = field(default_factory=dict)  # id: (stored, new)
    sums: ComplaintSums | None = None  # None: nothing settled counts, no row


def _recounted(rows: Iterable, state: CacheState) -> _Recounted:
    result = _Recounted()
    settled = []
    for row in rows:
        fact = _fact(row[1:_FACT_END])
        deadline, stored = row[_FACT_END], row[_FACT_END + 1]
        settles_at = complaint_settles_at(
            deadline, fact.acknowledged_at, fact.dated_answer_at, fact.answer_kept_at
        )
        if settles_at != stored:
            result.moved[fact.id] = (stored, settles_at)
        if settles_at <= state.through:
            settled.append(fact)
    sums = complaint_sums(complaint_credits(settled, state.rules, state.through), state.through)
    result.sums = sums if sums.counted else None
    return result


def _write(connection: sa.Connection, vendor_id: int, recounted: _Recounted) -> None:
    if recounted.moved:
        connection.execute(
            _SET_SETTLES_AT,
            [{"complaint_id": i, "settles_at": new} for i, (_, new) in recounted.moved.items()],
        )
    connection.execute(_ROLLUPS.delete().where(_ROLLUPS.c.vendor_id == vendor_id))
    if recounted.sums is not None:
        connection.execute(_ROLLUPS.insert(), _rollup_row(vendor_id, recounted.sums))


def recount(session: Session, vendor_id: int) -> None:
    """Work out again when each of the vendor's complaints settles, and its rollup: after any write to
    one of its complaints or to a dated answer's promise, in the same transaction. Tens of rows."""
    state = cache_state(session)
    if state is None or state.through is None:
        return  # no rollups: building them will count this too
    connection = tally.taking_turns(session, vendor_id)
    _write(
        connection,
        vendor_id,
        _recounted(connection.execute(_VENDOR_SETTLING, {"vendor_id": vendor_id}), state),
    )


def rebuild(session: Session, rules: Rules, through: datetime) -> int:
    """Every complaint's settles_at and every vendor's rollup, settled through `through`, under these
    rules (whose deadlines the stored ones must be: `complaints.rework_deadlines` first). Returns the
    number of rollups; the caller commits. Nothing happens before the score sums exist."""
    if cache_state(session) is None:
        return 0
    state = CacheState(_cache_rules(rules.half_life_days, rules.ack_working_days, rules.timezone), through)
    connection = core(session)
    connection.execute(_ROLLUPS.delete())
    rows = connection.execute(_SETTLING_QUERY.order_by(Complaint.vendor_id))
    made, moved, written = 0, [], []
    for vendor_id, group in groupby(rows, key=lambda row: row[0]):
        recounted = _recounted(group, state)
        moved += [{"complaint_id": i, "settles_at": new} for i, (_, new) in recounted.moved.items()]
        if recounted.sums is not None:
            written.append(_rollup_row(vendor_id, recounted.sums))
            made += 1
    if moved:
        connection.execute(_SET_SETTLES_AT, moved)
    if written:
        connection.execute(_ROLLUPS.insert(), written)
    connection.execute(
        _STATE.update()
        .where(_STATE.c.id == tally.STATE_ID)
        .values(
            complaints_through=through,
            ack_working_days=rules.ack_working_days,
            ack_timezone=rules.timezone,
        )
    )
    return made


# -- proving the cache: a recount from the complaints ---------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One stored figure of the cache that a recount from the complaints does not give."""

    vendor_id: int
    vendor_name: str
    field: str  # a rollup's column, or "complaint #<id> settles_at"
    stored: object
    recounted: object

    def __str__(self) -> str:
        def shown(value: object) -> str:
            if value is None:
                return "absent"
            return f"{value:.12g}" if isinstance(value, float) else str(value)

        return (
            f"{self.vendor_name} (#{self.vendor_id}) complaints {self.field}: "
            f"stored {shown(self.stored)}, recounted {shown(self.recounted)}"
        )


@dataclass
class CheckResult:
    """What a check found; `worked_out_elsewise` when the cache was built under other settings, or
    never: only the tally job's rebuild can make it right."""

    vendors: int = 0
    differences: list[Difference] = field(default_factory=list)
    repaired_vendors: int = 0
    worked_out_elsewise: bool = False


def _same(stored, recounted) -> bool:
    if isinstance(stored, float) and isinstance(recounted, float):
        return math.isclose(stored, recounted, rel_tol=1e-9, abs_tol=1e-12)
    return stored == recounted


def _differences(
    connection: sa.Connection, vendor_id: int, name: str, recounted: _Recounted
) -> list[Difference]:
    found = [
        Difference(vendor_id, name, f"complaint #{complaint_id} settles_at", stored, new)
        for complaint_id, (stored, new) in sorted(recounted.moved.items())
    ]
    stored = (
        connection.execute(sa.select(_ROLLUPS).where(_ROLLUPS.c.vendor_id == vendor_id)).mappings().first()
    )
    again = None if recounted.sums is None else _rollup_row(vendor_id, recounted.sums)
    if stored is None and again is None:
        return found
    for column in ("through", *_ROLLUP_COLUMNS, "median_hours", "hours"):
        before = None if stored is None else stored[column]
        after = None if again is None else again[column]
        if column == "hours":
            before, after = (None if v is None else tally.unpacked(v) for v in (before, after))
        if not _same(before, after):
            found.append(Difference(vendor_id, name, column, before, after))
    return found


def check(session: Session, rules: Rules, *, repair: bool = False) -> CheckResult:
    """Work out every vendor's complaints again and list what the cache holds otherwise; with
    `repair`, rewrite what differs, in one transaction per vendor (committed here), taking turns
    with the writers as `tally.check` does. A cache built under other settings, or never, is not
    compared: the tally job rebuilds it."""
    result = CheckResult()
    state = cache_state(session)
    if state is None or state.through is None or not worked_out_alike(state.rules, rules):
        # Never built with no complaint to hold is nothing amiss: the first one waits for the job.
        never = state is not None and state.through is None
        result.worked_out_elsewise = not (never and session.scalar(sa.select(Complaint.id).limit(1)) is None)
        return result
    vendors = session.execute(sa.select(Vendor.id, Vendor.name).order_by(Vendor.id)).all()
    session.commit()
    for vendor_id, name in vendors:
        connection = tally.taking_turns(session, vendor_id)
        recounted = _recounted(connection.execute(_VENDOR_SETTLING, {"vendor_id": vendor_id}), state)
        found = _differences(connection, vendor_id, name, recounted)
        if found and repair:
            _write(connection, vendor_id, recounted)
            result.repaired_vendors += 1
        session.commit()
        result.vendors += 1
        result.differences += found
    return result
