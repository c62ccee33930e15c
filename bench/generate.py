"""A large, seeded, realistic ledger for benchmarks and load tests, written with bulk inserts.

    .venv/bin/python bench/generate.py --vendors 2000 --commitments 1000000 [--seed 1]
                                       [--now 2026-06-30T12:00:00Z] [--append]

migrates the database the app is configured with (DATABASE_URL and the other settings, read from the
environment as `flask --app wsgi` reads them), then fills it. The bench scripts call `generate`.

The ledger functions log one commitment per call, with a flush and a bucket refresh each: right
for people, far too slow for a million rows. Here every row and every event is planned in Python
first, then written with Core `INSERT`s in batches, and the score buckets are rebuilt once.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import secrets
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: config.py lives at the root

from vendortrack import complaints as complaints_module  # noqa: E402
from vendortrack import create_app  # noqa: E402
from vendortrack.accounts import create_user, find_user  # noqa: E402
from vendortrack.demo import DEMO_USERS  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.models import (  # noqa: E402
    Channel,
    Commitment,
    Complaint,
    Contact,
    EventAction,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    Resolution,
    Role,
    Severity,
    Status,
    User,
    Vendor,
)
from vendortrack.models.vendor import name_key  # noqa: E402
from vendortrack.scores import tally  # noqa: E402
from vendortrack.scores.rules import Rules, answer_deadline  # noqa: E402
from vendortrack.timeutil import utcnow  # noqa: E402
from vendortrack.validation import InvalidInput  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000  # microseconds in a second: every moment is planned as integer microseconds
MINUTE, HOUR, DAY = 60 * US, 3600 * US, 86400 * US
HISTORY_DAYS = 3 * 365  # how far back the ledger reaches
FUTURE_DAYS = 45  # and how far ahead the upcoming commitments go
BATCH = 10_000  # commitments per INSERT and per transaction

# Two extra owners beside the demo's admin and editor, so commitments have a few owners.
EXTRA_OWNERS = (
    ("lee@vendortrack.test", "Lee Logistics", Role.editor),
    ("kim@vendortrack.test", "Kim Facilities", Role.editor),
)

# category: relative shares of meetings, promises and deadlines
CATEGORIES = {
    "IT": (5, 4, 1),
    "Accounting": (2, 3, 5),
    "Printing": (1, 5, 4),
    "Construction": (3, 2, 5),
    "Cleaning": (2, 6, 2),
    "Legal": (3, 4, 3),
    "Logistics": (1, 5, 4),
    "Marketing": (4, 4, 2),
    "Catering": (2, 6, 2),
    "Facilities": (3, 5, 2),
    "Consulting": (5, 3, 2),
    "Security": (3, 5, 2),
}
KINDS = (Kind.meeting, Kind.promise, Kind.deadline)
NAME_PARTS = (
    (
        "Northwind",
        "Bluebird",
        "Granite",
        "Silverline",
        "Oakridge",
        "Brightline",
        "Harbor",
        "Summit",
        "Redwood",
        "Ironclad",
        "Meridian",
        "Keystone",
        "Evergreen",
        "Pioneer",
        "Lakeside",
        "Copperfield",
        "Highgate",
        "Westbrook",
        "Foxglove",
        "Stonebridge",
        "Riverside",
        "Northstar",
        "Clearwater",
        "Kestrel",
        "Amberley",
        "Falcon",
        "Juniper",
        "Larkspur",
        "Mosaic",
        "Quarry",
        "Sterling",
        "Vantage",
    ),
    (
        "Office",
        "Digital",
        "Print",
        "Build",
        "Clean",
        "Legal",
        "Freight",
        "Media",
        "Kitchen",
        "Works",
        "Advisory",
        "Guard",
        "Systems",
        "Supply",
        "Partners",
        "Tech",
        "Design",
        "Data",
        "Facility",
        "Trade",
    ),
    ("Ltd", "GmbH", "sp. z o.o.", "& Sons", "Group", "Services", "Co.", "LLC", "S.A.", "B.V."),
)
FIRST_NAMES = (
    "Anna",
    "Tom",
    "Maria",
    "Piotr",
    "Eva",
    "John",
    "Ola",
    "Marek",
    "Lena",
    "Sam",
    "Nina",
    "Jakub",
    "Clara",
    "Igor",
    "Rosa",
    "Adam",
    "Zofia",
    "Paul",
    "Hana",
    "Luis",
)
LAST_NAMES = (
    "Kowalczyk",
    "Reyes",
    "Novak",
    "Schmidt",
    "Berg",
    "Lindqvist",
    "Moreau",
    "Costa",
    "Wiśniewska",
    "Okafor",
    "Tanaka",
    "Horvat",
    "Dubois",
    "Jansen",
    "Ferreira",
    "Łukasik",
)
CONTACT_ROLES = ("Account manager", "Project lead", "Field technician", "Sales", "Office manager")
TITLES = {
    Kind.meeting: (
        "Quarterly review",
        "Site visit",
        "Kick-off meeting",
        "Walk-through",
        "Handover",
        "Status call",
        "Contract talk",
        "Training session",
    ),
    Kind.promise: (
        "Send the quote",
        "Call back with the price",
        "Fix the reported fault",
        "Deliver the samples",
        "Send the corrected invoice",
        "Confirm the dates",
        "Replace the broken part",
        "Send the draft",
    ),
    Kind.deadline: (
        "Milestone delivery",
        "Monthly report",
        "Year-end statements",
        "Final invoice",
        "Installation complete",
        "Certificate renewal",
        "Audit documents",
        "Stock delivery",
    ),
}
EXCUSES = {
    ExcuseCategory.force_majeure: ("Road closed after the storm.", "Power cut at their office."),
    ExcuseCategory.personal: ("The technician was off sick.", "A family emergency."),
    ExcuseCategory.oversight: ("It slipped through their schedule.", "Had it down for next week."),
    ExcuseCategory.third_party: ("Their supplier shipped the wrong part.", "The courier lost it."),
    ExcuseCategory.plot_twist: ("Pulled onto an urgent job elsewhere.", "Management changed priorities."),
    ExcuseCategory.none_given: ("",),
    ExcuseCategory.other: ("Said it needed one more tweak.", "Claims our email went to spam."),
}
EXCUSE_CATEGORIES = tuple(EXCUSES)
CANCEL_REASONS = ("No longer needed.", "We moved the project.", "Agreed to drop it.", "")


@dataclass(frozen=True)
class Character:
    """How one vendor behaves: the shares of its outcomes, and how it explains itself."""

    cancelled: float
    rescheduled: float
    failing: float  # rescheduled or broken; the rest is kept
    on_time: float  # of the kept ones
    unlogged: float  # left open by us, so overdue: sloppy bookkeeping with this vendor
    kinds: tuple[int, int, int]
    excuses: tuple[float, ...]  # weights over EXCUSE_CATEGORIES


def draw_character(rng: Random, category: str) -> Character:
    """A quality in [0, 1] drawn once per vendor sets its rates, so scores spread over every standing."""
    quality = rng.random() ** 0.5  # most vendors are decent, some are a lesson
    kept = 0.4 + 0.595 * quality
    failing = 1 - kept
    favourite = rng.randrange(len(EXCUSE_CATEGORIES))
    return Character(
        cancelled=rng.uniform(0.01, 0.06),
        rescheduled=failing * rng.uniform(0.3, 0.7),
        failing=failing,
        on_time=0.25 + 0.74 * quality**0.6,
        unlogged=rng.uniform(0.0, 0.02),
        kinds=CATEGORIES[category],
        excuses=tuple(
            (4.0 if i == favourite else 1.0) * rng.uniform(0.3, 1.0) for i in range(len(EXCUSE_CATEGORIES))
        ),
    )


def commitment_counts(rng: Random, vendors: int, commitments: int) -> list[int]:
    """Split the commitments over the vendors: a long tail under a Zipf-Mandelbrot curve.

    1 / (rank + q) ** 1.2 with q = vendors / 27: at 2,000 vendors and a million commitments the
    biggest holds about 5,500, the top fifth nearly two thirds of all, the bottom half a seventh.
    A few newcomers get almost nothing (insufficient data). The counts add up to `commitments` exactly.
    """
    newcomers = vendors // 25
    counts = [rng.randint(0, 4) for _ in range(newcomers)]
    counts = [min(c, commitments - sum(counts[:i])) for i, c in enumerate(counts)]
    rest = commitments - sum(counts)
    q = vendors / 27
    weights = [1 / (rank + q) ** 1.2 for rank in range(1, vendors - newcomers + 1)]
    total = sum(weights)
    shares = [rest * w / total for w in weights]
    floors = [math.floor(s) for s in shares]
    # Largest remainders take the commitments the rounding down left over.
    by_remainder = sorted(range(len(shares)), key=lambda i: floors[i] - shares[i])
    for i in by_remainder[: rest - sum(floors)]:
        floors[i] += 1
    counts = floors + counts
    rng.shuffle(counts)  # the big vendors are not simply the first ids
    return counts


@dataclass(slots=True)
class Plan:
    """One commitment as planned, moments in microseconds since 1970; `previous` is a plan index."""

    vendor_id: int
    contact_id: int
    owner_id: int
    kind: Kind
    title: str
    due: int
    original_due: int
    created: int
    status: Status = Status.open
    done: int | None = None
    excuse_category: ExcuseCategory | None = None
    excuse: str = ""
    reason: str = ""
    resolved: int | None = None
    flagged: int | None = None  # when the scheduler flagged it overdue, if it was
    previous: int | None = None
    successor: int | None = None


@dataclass(frozen=True)
class VendorPlan:
    id: int
    contact_ids: tuple[int, ...]
    owner_id: int
    character: Character
    first_day: int  # days since 1970 of its first commitment
    quota: int


class _Planner:
    """Draws every commitment of every vendor from one seeded random source."""

    def __init__(self, rng: Random, now: datetime, owners: list[int], tz: str, grace: timedelta):
        self.rng, self.owners, self.zone = rng, owners, ZoneInfo(tz)
        self.grace = grace // timedelta(microseconds=1)
        self.now = (now - EPOCH) // timedelta(microseconds=1)
        self.today = self.now // DAY
        self.plans: list[Plan] = []
        self._offsets: dict[int, int] = {}

    def moment(self, day: int, seconds: int) -> int:
        """Local wall time on a day, in UTC microseconds; the offset at noon holds for working hours."""
        if day not in self._offsets:
            noon = datetime.combine(date.fromordinal(day + 719163), time(12), tzinfo=self.zone)
            self._offsets[day] = noon.utcoffset() // timedelta(microseconds=1)
        return day * DAY + seconds * US - self._offsets[day]

    def due(self, kind: Kind, day: int) -> int:
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        if weekday >= 5:
            day += 7 - weekday  # vendors make their dates on working days
        if kind == Kind.meeting:
            seconds = 9 * 3600 + 1800 * self.rng.randrange(16)
        elif kind == Kind.promise and self.rng.random() < 0.6:
            seconds = 17 * 3600
        else:
            seconds = 86399  # the end of the day: a date given without a time
        return self.moment(day, seconds)

    def vendor(self, vendor: VendorPlan) -> None:
        rng, ch = self.rng, vendor.character
        last_day = self.today + FUTURE_DAYS
        left = vendor.quota
        while left > 0:
            kind = rng.choices(KINDS, ch.kinds)[0]
            contact = vendor.contact_ids[0] if rng.random() < 0.7 else rng.choice(vendor.contact_ids)
            owner = vendor.owner_id if rng.random() < 0.8 else rng.choice(self.owners)
            due = self.due(kind, rng.randint(vendor.first_day, last_day))
            lead = rng.uniform(1, 60 if kind == Kind.deadline else 14) * DAY
            created = min(int(due - lead), self.now - rng.randrange(HOUR, DAY))
            plan = Plan(vendor.id, contact, owner, kind, rng.choice(TITLES[kind]), due, due, created)
            left -= self.chain(plan, ch, left)

    def chain(self, plan: Plan, ch: Character, room: int) -> int:
        """Plan a commitment and, while it is moved, its successors; returns how many it made."""
        made = 0
        while True:
            self.plans.append(plan)
            made += 1
            successor = self.fate(plan, ch, may_move=made < room)
            self.flag(plan)
            if successor is None:
                return made
            successor.previous = len(self.plans) - 1
            plan.successor = len(self.plans)  # where the successor is about to be appended
            plan = successor

    def fate(self, plan: Plan, ch: Character, may_move: bool) -> Plan | None:
        """Decide what became of the commitment; if it was moved, the successor to plan next."""
        rng = self.rng
        draw = rng.random()
        if draw < ch.cancelled:
            moment = plan.created + int((plan.due - plan.created) * rng.uniform(0.2, 0.95))
            if moment <= self.now:
                plan.status, plan.resolved, plan.reason = Status.cancelled, moment, rng.choice(CANCEL_REASONS)
            return None
        if rng.random() < ch.unlogged and plan.due < self.now:
            return None  # nobody ever logged what happened: it stays overdue
        failing = draw - ch.cancelled
        if failing < ch.rescheduled and may_move:
            asked = max(plan.due + rng.randint(-3 * DAY, DAY), plan.created + HOUR)
            if asked > self.now:
                return None  # the call has not come yet
            plan.status, plan.resolved = Status.rescheduled, asked
            self.excuse(plan, ch)
            day = max(plan.due, asked) // DAY + rng.randint(1, 14 if plan.kind == Kind.meeting else 21)
            successor = Plan(
                plan.vendor_id,
                plan.contact_id,
                plan.owner_id,
                plan.kind,
                plan.title,
                self.due(plan.kind, day),
                plan.original_due,
                asked,
            )
            return successor
        if failing < ch.failing:
            noticed = plan.due + rng.randint(2 * HOUR, 3 * DAY)
            if noticed <= self.now:
                plan.status, plan.resolved = Status.broken, noticed
                self.excuse(plan, ch)
            return None
        done = self.done_at(plan, on_time=rng.random() < ch.on_time)
        noticed = done + rng.randint(5 * MINUTE, 36 * HOUR)
        if noticed <= self.now:
            plan.status, plan.done, plan.resolved = Status.kept, done, noticed
        return None

    def flag(self, plan: Plan) -> None:
        """Still open when its grace ran out: the scheduler's next tick flagged it, as it does for real."""
        if plan.status == Status.cancelled:
            return
        tick = plan.due + self.grace + self.rng.randrange(5 * MINUTE)
        if tick <= self.now and (plan.resolved is None or tick < plan.resolved):
            plan.flagged = tick

    def done_at(self, plan: Plan, on_time: bool) -> int:
        rng = self.rng
        if plan.kind == Kind.meeting:
            if on_time:
                return plan.due + rng.randint(-10 * 60, 5 * 60) * US  # up to the 5 minutes' tolerance
            minutes = min(6 + rng.lognormvariate(math.log(12), 0.9), 240)
            return plan.due + int(minutes * MINUTE) + rng.randrange(60) * US
        if on_time:  # delivered on the day or early, never before it was promised
            return max(plan.due - rng.randrange(3 * DAY), plan.created + HOUR)
        hours = min(rng.lognormvariate(math.log(18), 1.1), 45 * 24)
        return plan.due + US + int(hours * HOUR)

    def excuse(self, plan: Plan, ch: Character) -> None:
        category = self.rng.choices(EXCUSE_CATEGORIES, ch.excuses)[0]
        plan.excuse_category, plan.excuse = category, self.rng.choice(EXCUSES[category])


@dataclass
class Generated:
    """What `generate` made, for the command to report."""

    vendors: int = 0
    contacts: int = 0
    commitments: int = 0
    events: int = 0
    buckets: int = 0
    statuses: Counter = field(default_factory=Counter)
    busiest_vendor_id: int | None = None
    busiest_count: int = 0
    complaints: Counter = field(default_factory=Counter)  # by how each one went
    users: list[User] = field(default_factory=list)
    password: str | None = None  # set when the owners were created now, with a generated password


def _owners(session: Session, now: datetime, password: str | None, result: Generated) -> list[User]:
    """The demo's users and two more editors; existing ones are reused, as they are."""
    created_password = password or secrets.token_urlsafe(12)
    users = []
    for email, name, role in DEMO_USERS + EXTRA_OWNERS:
        user = find_user(session, email)
        if user is None:
            user = create_user(
                session,
                email=email,
                password=created_password,
                role=role,
                now=now - timedelta(days=HISTORY_DAYS + 30),
                name=name,
            )
            result.password = None if password else created_password
        users.append(user)
    result.users = users
    return [u for u in users if u.role != Role.viewer and u.is_active]


def _next_id(session: Session, model) -> int:
    return (session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def _moment(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


def _iso(us: int | None) -> str | None:
    return None if us is None else _moment(us).isoformat()


def _vendor_rows(rng: Random, count: int, first_id: int, taken: set[str]) -> list[dict]:
    rows = []
    for i in range(count):
        name = " ".join(rng.choice(part) for part in NAME_PARTS)
        number = 2
        while name_key(name) in taken:  # a clash gets a branch number, as real companies do
            name, number = f"{name.rsplit(' #', 1)[0]} #{number}", number + 1
        taken.add(name_key(name))
        domain = f"{name_key(name).split()[0]}{first_id + i}.example"
        rows.append(
            {
                "id": first_id + i,
                "name": name,
                "name_key": name_key(name),
                "category": rng.choice(tuple(CATEGORIES)),
                "website": f"https://{domain}",
                "email": f"office@{domain}",
                "phone": f"+48 22 555 {rng.randrange(10000):04d}",
            }
        )
    return rows


def _contact_rows(rng: Random, vendor: dict, first_id: int) -> list[dict]:
    count = rng.choices((1, 2, 3), (4, 4, 2))[0]
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        rows.append(
            {
                "id": first_id + i,
                "vendor_id": vendor["id"],
                "name": f"{first} {last}",
                "role": rng.choice(CONTACT_ROLES),
                "email": f"{first.lower()}@{vendor['email'].split('@')[1]}",
                "phone": vendor["phone"],
                "created_at": vendor["created_at"],
            }
        )
    return rows


def _created_snapshot(plan: Plan) -> dict[str, Any]:
    """What ledger.snapshot shows changed when a commitment is logged: every field that has a value."""
    return {
        "kind": plan.kind.value,
        "title": plan.title,
        "notes": "",
        "due_at": _iso(plan.due),
        "contact_id": plan.contact_id,
        "owner_id": plan.owner_id,
        "status": Status.open.value,
        "excuse": "",
        "reason": "",
    }


def _resolution_change(plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the event that closed the commitment, as ledger._record writes them."""
    before: dict[str, Any] = {"status": Status.open.value}
    after: dict[str, Any] = {"status": plan.status.value}
    if plan.status == Status.kept:
        before["done_at"], after["done_at"] = None, _iso(plan.done)
    if plan.excuse_category is not None:
        before["excuse_category"], after["excuse_category"] = None, plan.excuse_category.value
    if plan.excuse:
        before["excuse"], after["excuse"] = "", plan.excuse
    if plan.reason:
        before["reason"], after["reason"] = "", plan.reason
    return before, after


def _events(plan: Plan, ids: list[int]) -> list[tuple]:
    """(actor_id, at, action, before, after) of every event in the commitment's history, in order."""
    after = _created_snapshot(plan)
    if plan.previous is not None:
        after["rescheduled_from"] = ids[plan.previous]
    history = [(plan.owner_id, plan.created, EventAction.created, {}, after)]
    if plan.flagged is not None:
        history.append(
            (None, plan.flagged, EventAction.flagged_overdue, {}, {"flagged_overdue_at": _iso(plan.flagged)})
        )
    if plan.resolved is not None:
        before, after = _resolution_change(plan)
        action = EventAction.resolved
        if plan.status == Status.rescheduled:
            action = EventAction.rescheduled
            after["rescheduled_to"] = ids[plan.successor]
        history.append((plan.owner_id, plan.resolved, action, before, after))
    return history


def _write_batch(
    session: Session, plans: list[Plan], order: list[int], ids: list[int], next_event_id: int
) -> int:
    """Insert the commitments of `order` (plan indexes) and their events; returns the next event id."""
    commitments, events = [], []
    for index in order:
        plan = plans[index]
        cid = ids[index]
        commitments.append(
            {
                "id": cid,
                "vendor_id": plan.vendor_id,
                "contact_id": plan.contact_id,
                "owner_id": plan.owner_id,
                "created_by_id": plan.owner_id,
                "kind": plan.kind,
                "title": plan.title,
                "due_at": _moment(plan.due),
                "original_due_at": _moment(plan.original_due),
                "status": plan.status,
                "done_at": _moment(plan.done),
                "lateness_us": None if plan.done is None else plan.done - plan.due,
                "excuse_category": plan.excuse_category,
                "excuse": plan.excuse,
                "reason": plan.reason,
                "resolved_at": _moment(plan.resolved),
                "resolved_by_id": None if plan.resolved is None else plan.owner_id,
                "rescheduled_from_id": None if plan.previous is None else ids[plan.previous],
                "created_at": _moment(plan.created),
                "updated_at": _moment(plan.resolved or plan.created),
                "flagged_overdue_at": _moment(plan.flagged),
            }
        )
        for actor_id, at, action, before, after in _events(plan, ids):
            events.append(
                {
                    "id": next_event_id,
                    "commitment_id": cid,
                    "vendor_id": plan.vendor_id,
                    "actor_id": actor_id,
                    "at": _moment(at),
                    "action": action,
                    "before": before,
                    "after": after,
                }
            )
            next_event_id += 1
    # Core inserts on the tables: one executemany each (the ORM's bulk path splits on NULLs). The rows
    # name what the plan decides; every other column gets what the model gives it (its default, or
    # NULL), so a column added to a model needs no edit here.
    session.execute(sa.insert(Commitment.__table__), commitments)
    session.execute(sa.insert(LedgerEvent.__table__), events)
    return next_event_id


def _bump_sequences(session: Session) -> None:
    """PostgreSQL's sequences do not see explicit ids: move them past what was written."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (Vendor, Contact, Commitment, LedgerEvent):
        table = model.__tablename__
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608 - our table names
                f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
            )
        )


def generate(
    session: Session,
    *,
    vendors: int,
    commitments: int,
    seed: int,
    now: datetime,
    rules: Rules,
    timezone: str = "UTC",
    append: bool = False,
    password: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    complaints: int = 0,
) -> Generated:
    """Fill the database with `vendors` vendors and exactly `commitments` commitments, as of `now`.

    The same seed and `now` give the same ledger. Commits once per batch, so SQLite's write-ahead
    log stays small; a database that already holds vendors is refused unless `append`.
    """
    if vendors < 1:
        raise InvalidInput("vendors", "Generate at least one vendor.")
    if commitments < 0:
        raise InvalidInput("commitments", "The number of commitments cannot be negative.")
    if not append and session.scalar(sa.select(Vendor.id).limit(1)) is not None:
        raise InvalidInput("append", "The database already holds vendors; pass --append to add to them.")
    rng = Random(seed)
    result = Generated(vendors=vendors, commitments=commitments)
    owners = [u.id for u in _owners(session, now, password, result)]

    taken = set(session.scalars(sa.select(Vendor.name_key)))
    vendor_rows = _vendor_rows(rng, vendors, _next_id(session, Vendor), taken)
    counts = commitment_counts(rng, vendors, commitments)
    contact_rows: list[dict] = []
    next_contact = _next_id(session, Contact)
    for row, quota in zip(vendor_rows, counts, strict=True):
        # Most vendors go back the whole three years, some came later, the newcomers (tiny quotas) lately.
        back = HISTORY_DAYS if rng.random() < 0.7 else rng.randint(90, HISTORY_DAYS)
        row["history_days"] = back if quota > 4 else rng.randint(10, 120)
        row["created_at"] = now - timedelta(days=row["history_days"] + 7)
        contact_rows += _contact_rows(rng, row, next_contact + len(contact_rows))
    history_days = [row.pop("history_days") for row in vendor_rows]
    session.execute(sa.insert(Vendor.__table__), vendor_rows)
    session.execute(sa.insert(Contact.__table__), contact_rows)
    result.contacts = len(contact_rows)

    planner = _Planner(rng, now, owners, timezone, rules.grace)
    contacts_of: dict[int, list[int]] = {}
    for row in contact_rows:
        contacts_of.setdefault(row["vendor_id"], []).append(row["id"])
    for row, quota, back in zip(vendor_rows, counts, history_days, strict=True):
        character = draw_character(rng, row["category"])
        planner.vendor(
            VendorPlan(
                row["id"],
                tuple(contacts_of[row["id"]]),
                rng.choice(owners),
                character,
                planner.today - back,
                quota,
            )
        )
    busiest = max(range(vendors), key=lambda i: counts[i])
    result.busiest_vendor_id, result.busiest_count = vendor_rows[busiest]["id"], counts[busiest]

    # Ids in the order the commitments were logged, as a real ledger fills up; a successor is
    # logged when its predecessor is moved, so it always gets the higher id.
    plans = planner.plans
    order = sorted(range(len(plans)), key=lambda i: plans[i].created)
    ids = [0] * len(plans)
    first = _next_id(session, Commitment)
    for rank, index in enumerate(order):
        ids[index] = first + rank
    next_event = first_event = _next_id(session, LedgerEvent)
    session.commit()
    for start in range(0, len(order), BATCH):
        next_event = _write_batch(session, plans, order[start : start + BATCH], ids, next_event)
        session.commit()
        if progress is not None:
            progress(min(start + BATCH, len(order)), len(order))
    result.events = next_event - first_event
    result.statuses = Counter(plan.status for plan in plans)
    _bump_sequences(session)
    result.buckets = tally.rebuild(session, rules, now)
    session.commit()
    if complaints:
        result.complaints = add_complaints(session, complaints=complaints, seed=seed, now=now, rules=rules)
        # Each complaint's settles_at and each vendor's rollup of its settled ones, as the tally job does.
        complaints_module.bring_up_to_date(session, rules, now)
        session.commit()
    return result


# -- complaints ------------------------------------------------------------------------------------

COMPLAINT_TITLES = (
    "Pallets arrived damaged",
    "Invoice does not match the order",
    "Technician never showed up",
    "Wrong items delivered",
    "No reply to our emails",
    "Repair did not hold",
    "Missing documents",
    "Rude on the phone",
)


def add_complaints(session: Session, *, complaints: int, seed: int, now: datetime, rules: Rules) -> Counter:
    """Add `complaints` complaints to the vendors already in the database, as of `now`.

    Realistic shares: busy vendors draw more complaints (one for about every ten commitments); each
    vendor answers as its own habit says (most answered, some late, some never, a few withdrawn by
    us); about a fifth of the answered ones name a dated answer, which is one of the vendor's own
    promises logged after the answer (so kept, broken or still open as that promise is), linked to
    the complaint. The commitments themselves are not changed beyond that link, so the scores are the
    same with or without complaints. Returns how many went each way; the caller commits.
    """
    rng = Random(seed * 7919 + 16)  # its own stream: the commitments of a seed stay as they were
    owners = list(
        session.scalars(
            sa.select(User.id).where(User.role != Role.viewer, User.disabled_at.is_(None)).order_by(User.id)
        )
    )
    per_vendor = dict(
        session.execute(sa.select(Commitment.vendor_id, sa.func.count()).group_by(Commitment.vendor_id)).all()
    )
    vendors = session.execute(sa.select(Vendor.id, Vendor.created_at).order_by(Vendor.id)).all()
    contacts: dict[int, list[int]] = {}
    for contact_id, vendor_id in session.execute(
        sa.select(Contact.id, Contact.vendor_id).order_by(Contact.id)
    ):
        contacts.setdefault(vendor_id, []).append(contact_id)
    # Promises that could be a dated answer: first of their chain, not moved, not linked yet.
    promises: dict[int, list[tuple[datetime, int]]] = {}
    for promise_id, vendor_id, created_at in session.execute(
        sa.select(Commitment.id, Commitment.vendor_id, Commitment.created_at)
        .where(
            Commitment.kind == Kind.promise,
            Commitment.status != Status.rescheduled,
            Commitment.rescheduled_from_id.is_(None),
            Commitment.complaint_id.is_(None),
        )
        .order_by(Commitment.vendor_id, Commitment.created_at)
    ):
        promises.setdefault(vendor_id, []).append((created_at, promise_id))
    habits = {vendor_id: rng.random() ** 0.6 for vendor_id, _ in vendors}  # how well each one answers
    weights = [per_vendor.get(vendor_id, 0) + 1 for vendor_id, _ in vendors]
    picked = rng.choices(range(len(vendors)), weights, k=complaints)
    rows, links, taken = [], [], set()
    went: Counter = Counter()
    first_id = _next_id(session, Complaint)
    for n, index in enumerate(picked):
        vendor_id, created_at = vendors[index]
        habit = habits[vendor_id]
        since = max(created_at, now - timedelta(days=HISTORY_DAYS))
        raised = since + (now - since) * rng.random() ** 0.9  # a little more of late
        deadline = answer_deadline(raised, rules)
        row = {
            "id": first_id + n,
            "vendor_id": vendor_id,
            "contact_id": rng.choice(contacts[vendor_id])
            if vendor_id in contacts and rng.random() < 0.8
            else None,
            "owner_id": rng.choice(owners),
            "created_by_id": rng.choice(owners),
            "title": rng.choice(COMPLAINT_TITLES),
            "details": "",
            "severity": rng.choices(tuple(Severity), (6, 3, 1))[0],
            "channel": rng.choices(tuple(Channel), (6, 3, 1, 1))[0],
            "raised_at": raised,
            "answer_due_at": deadline,
            "case_owner_name": "",
            "apologised": False,
            # One executemany wants every row to name the same columns.
            **dict.fromkeys(("acknowledged_at", "dated_answer_at", "resolution", "resolved_at", "satisfied")),
            "created_at": raised,
            "updated_at": raised,
        }
        if rng.random() < 0.03:
            row |= {
                "resolution": Resolution.withdrawn,
                "resolved_at": raised + timedelta(hours=rng.uniform(1, 72)),
            }
            went["withdrawn"] += 1
        elif rng.random() < 0.55 + 0.42 * habit:
            if rng.random() < 0.25 + 0.7 * habit:  # in time: within hours, before the deadline
                answered = raised + (deadline - raised) * rng.uniform(0.02, 0.98)
            else:  # late: a day to two weeks past the deadline
                answered = deadline + timedelta(hours=rng.lognormvariate(math.log(40), 0.8))
            if answered <= now:
                row |= {"acknowledged_at": answered, "apologised": rng.random() < 0.5}
                if rng.random() < 0.3 + 0.6 * habit:
                    row["case_owner_name"] = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                went["answered in time" if answered <= deadline else "answered late"] += 1
                dated = _dated_answer(rng, promises.get(vendor_id, ()), answered, taken)
                if dated is not None and rng.random() < 0.2:
                    taken.add(dated[1])
                    row["dated_answer_at"] = dated[0]
                    links.append({"promise_id": dated[1], "complaint_id": row["id"]})
                    went["with a dated answer"] += 1
                settled_by = row["dated_answer_at"] or answered
                if rng.random() < 0.6 and settled_by + timedelta(days=3) < now:
                    fixed = settled_by + timedelta(days=rng.uniform(0.5, 3))
                    row |= {
                        "resolution": rng.choices(tuple(Resolution)[:3], (6, 3, 1))[0],
                        "resolved_at": fixed,
                        "satisfied": rng.random() < 0.3 + 0.6 * habit,
                    }
            else:
                went["waiting (not due yet)" if deadline > now else "unanswered"] += 1
        else:
            went["waiting (not due yet)" if deadline > now else "unanswered"] += 1
        rows.append(row)
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(Complaint.__table__), rows[start : start + BATCH])
    if links:
        session.execute(
            sa.update(Commitment.__table__)
            .where(Commitment.__table__.c.id == sa.bindparam("promise_id"))
            .values(complaint_id=sa.bindparam("complaint_id")),
            links,
        )
    return went


def _dated_answer(rng: Random, promises, answered: datetime, taken: set[int]) -> tuple[datetime, int] | None:
    """One of the vendor's promises logged within two days after the answer: the dated answer it gave."""
    start = bisect_left(promises, (answered,))
    for created_at, promise_id in promises[start : start + 4]:
        if created_at - answered <= timedelta(days=2) and promise_id not in taken:
            return created_at, promise_id
    return None


def aware_moment(text: str) -> datetime:
    """--now: an ISO 8601 moment with its offset, so the history ends at the same instant everywhere."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text} is not an ISO 8601 moment such as 2026-06-30T12:00:00Z"
        ) from None
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError("give the moment a time zone offset, such as 2026-06-30T12:00:00Z")
    return moment


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vendors", type=int, required=True, help="how many vendors")
    parser.add_argument(
        "--commitments", type=int, required=True, help="how many commitments in all, successors included"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the same seed gives the same ledger (default: 1)"
    )
    parser.add_argument(
        "--now", type=aware_moment, default=None, help="the moment the history leads up to (default: now)"
    )
    parser.add_argument("--append", action="store_true", help="add to a database that already holds vendors")
    parser.add_argument("--complaints", type=int, default=0, help="how many complaints in all (default: 0)")
    return parser.parse_args(argv)


def report(result: Generated, seconds: float) -> None:
    print(
        f"Generated {result.vendors} vendors with {result.contacts} contacts, {result.commitments} "
        f"commitments and {result.events} ledger events, and {result.buckets} score buckets, "
        f"in {seconds:.1f} s."
    )
    print("Statuses: " + ", ".join(f"{s.value} {n}" for s, n in sorted(result.statuses.items())) + ".")
    if result.complaints:
        print("Complaints: " + ", ".join(f"{how} {n}" for how, n in sorted(result.complaints.items())) + ".")
    if result.busiest_vendor_id is not None:
        print(f"The busiest vendor, #{result.busiest_vendor_id}, has {result.busiest_count} commitments.")
    if result.password:
        emails = ", ".join(u.email for u in result.users)
        print(f"Created the owners {emails} with the password {result.password} (shown only now).")


def main(argv: list[str] | None = None) -> None:
    """Migrate the configured database, then fill it; a refusal ends the script with its reason."""
    args = parse_args(argv)
    app = create_app()
    started = perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % 100_000 == 0:
            print(f"{done} of {total} commitments written ({perf_counter() - started:.0f} s)", flush=True)

    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        try:
            result = generate(
                db.session,
                vendors=args.vendors,
                commitments=args.commitments,
                seed=args.seed,
                now=args.now or utcnow(),
                rules=app.config["VENDORTRACK_RULES"],
                timezone=app.config["VENDORTRACK_TIMEZONE"],
                append=args.append,
                password=app.config.get("VENDORTRACK_DEMO_PASSWORD"),
                progress=progress,
                complaints=args.complaints,
            )
            report(result, perf_counter() - started)  # in the session still: it names the owners
        except InvalidInput as refused:
            db.session.rollback()
            raise SystemExit(f"--{refused.field}: {refused.message}") from None
        finally:
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
