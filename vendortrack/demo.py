"""Demo data for a first look: three users and a year of seven vendors' history, logged through the
ledger, with the complaints we raised and how two of the vendors answered them, and what two of them
answered (or never opened) when we asked through their own links."""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from vendortrack import complaints, ledger, mail, vendor_links
from vendortrack.accounts import create_user
from vendortrack.models import (
    Channel,
    Commitment,
    Complaint,
    Contact,
    Kind,
    MailKind,
    MailState,
    OutboxMessage,
    Role,
    Severity,
    Status,
    User,
    Vendor,
)
from vendortrack.models import ExcuseCategory as X
from vendortrack.scores.rules import Rules
from vendortrack.vendors import add_contact, create_vendor

DEMO_ADMIN = "demo@vendortrack.test"
DEMO_USERS = (
    (DEMO_ADMIN, "Dana Demo", Role.admin),
    ("sam@vendortrack.test", "Sam Staff", Role.editor),
    ("pat@vendortrack.test", "Pat Procurement", Role.viewer),
)
SEED = 2011  # the same seed gives the same year of history, relative to `now`

KEPT, BROKEN, RESCHEDULED, CANCELLED = "kept", "broken", "rescheduled", "cancelled"


@dataclass(frozen=True)
class Habits:
    """How a vendor treats one kind of commitment: shares of outcomes and how late it comes."""

    kept: float
    broken: float
    rescheduled: float
    late_share: float  # of the kept ones, how many come late
    late: tuple[int, int]  # how late, in minutes


@dataclass(frozen=True)
class ComplaintPlan:
    """A complaint we raised with a vendor, and what the vendor did about it (seeds 003 and 004):
    hide, or apologise, name who owns the case and give a dated answer it keeps."""

    title: str
    details: str
    days_ago: int  # when it was raised: that working day, at 10:00
    severity: Severity
    channel: Channel
    answered_after: timedelta | None = None  # None: the vendor never answered
    case_owner: int | None = None  # which of the vendor's contacts took the case; None: nobody named
    apologised: bool = False
    # The vendor committed, in its first answer, to a full answer this long after it; and kept it.
    dated_answer: timedelta | None = None


@dataclass(frozen=True)
class AskPlan:
    """A commitment we asked the vendor's contact about through their own link, and what they did:
    confirmed it, proposed another time with a reason (our owner accepted: a move with the notice
    given when it was proposed), or never opened the link. Then what became of it."""

    title: str
    kind: Kind
    days_ago: int  # due that working day at 10:00
    asked_ahead: timedelta  # we asked this long before it was due
    answered_after: timedelta | None  # after the ask, at the server's clock; None: never opened
    move_by: timedelta | None = None  # proposed this much later (the next working day, at a weekend)
    reason: str = ""  # why it has to move
    late: timedelta = timedelta(0)  # kept this late, at its time (the new one, when moved)
    broken: str | None = None  # not done at all: broken, with this written down of it


@dataclass(frozen=True)
class Profile:
    name: str
    category: str
    website: str
    phone: str
    notes: str
    contacts: tuple[tuple[str, str], ...]  # (name, role); the first one makes most commitments
    counts: dict[Kind, int]  # commitments of each kind that came due over the past year
    meetings: Habits
    deliveries: Habits  # promises and deadlines
    titles: dict[Kind, tuple[str, ...]]
    excuses: tuple[tuple[X, str], ...]
    fresh_excuses: bool = False  # never the same excuse twice: the salesman's talent
    cancelled: int = 0
    upcoming: int = 2
    overdue: int = 0
    # How many hours before the old due time the vendor tells us of a move, at least and at most
    # (negative: after it had passed). SCORING.md §11 counts anything under a day as last-minute.
    notice: tuple[float, float] = (-2, 20)
    complaints: tuple[ComplaintPlan, ...] = ()
    asks: tuple[AskPlan, ...] = ()  # through the link of its first contact


RELIABLE = Habits(kept=0.95, broken=0.0, rescheduled=0.05, late_share=0.04, late=(6, 12))
EVERYDAY_EXCUSES = (
    (X.third_party, "Our supplier shipped the wrong part."),
    (X.personal, "The technician was off sick."),
    (X.force_majeure, "Road closed after the storm."),
    (X.oversight, "It slipped through our schedule."),
    (X.plot_twist, "We were pulled onto an urgent job elsewhere."),
    (X.none_given, ""),
)

SALESMAN = "Brightline Office Systems"
SALESMAN_EXCUSES = (
    (X.force_majeure, "The underpass on the ring road flooded; he had to turn back."),
    (X.force_majeure, "Power cut at their office, and the offer was on the server."),
    (X.force_majeure, "A storm took the phone lines down in his area."),
    (X.force_majeure, "Snowed in at a client two towns away."),
    (X.personal, "Twisted his ankle getting out of the car."),
    (X.personal, "His daughter fell ill and he had to fetch her from school."),
    (X.personal, "Emergency at the dentist, could not speak all afternoon."),
    (X.personal, "His car broke down on the motorway."),
    (X.personal, "Moving house this week, everything is in boxes."),
    (X.oversight, "Had it in his calendar for the following week."),
    (X.oversight, "Sent the offer to a wrong address."),
    (X.oversight, "Thought we had agreed on the other office."),
    (X.oversight, "Forgot to press send before the weekend."),
    (X.oversight, "Mixed us up with another customer."),
    (X.third_party, "The warehouse never confirmed the stock."),
    (X.third_party, "Pricing has not approved the discount yet."),
    (X.third_party, "The courier lost the parcel with the samples."),
    (X.third_party, "Their ordering system was down all day."),
    (X.third_party, "The installer subcontractor cancelled on him."),
    (X.plot_twist, "Sent to a trade fair abroad at a day's notice."),
    (X.plot_twist, "Management redrew the sales regions overnight."),
    (X.plot_twist, "A bigger customer needed him urgently."),
    (X.plot_twist, "The price list changed in the middle of the week."),
    (X.none_given, "Did not pick up the phone or answer emails."),
    (X.none_given, "Voicemail full; no reply to the message either."),
    (X.none_given, "Read the message and never replied."),
    (X.other, "Said the offer needed one more tweak."),
    (X.other, "Claimed our email must have landed in his spam."),
    (X.other, "Says the contract template is being translated."),
)

# The good vendor's account manager answers within hours, and warns of a move days ahead.
NORTHWIND_ASKS = (
    AskPlan(
        "Firewall upgrade walk-through",
        Kind.meeting,
        days_ago=45,
        asked_ahead=timedelta(days=6),
        answered_after=timedelta(hours=2),
    ),
    AskPlan(
        "Disaster recovery rehearsal",
        Kind.meeting,
        days_ago=26,
        asked_ahead=timedelta(days=9),
        answered_after=timedelta(hours=3),
        move_by=timedelta(days=2),
        reason="Our restore server is being replaced that week; we need two more days to have it back.",
    ),
    AskPlan(
        "Licence audit report",
        Kind.promise,
        days_ago=12,
        asked_ahead=timedelta(days=4),
        answered_after=timedelta(hours=1),
    ),
)
# The salesman never opens two of the links, and answers the third after days.
SALESMAN_ASKS = (
    AskPlan(
        "Toner contract renewal meeting",
        Kind.meeting,
        days_ago=54,
        asked_ahead=timedelta(days=5),
        answered_after=None,
        broken="Never opened the link we sent him, and never came.",
    ),
    AskPlan(
        "Revised copier lease offer",
        Kind.promise,
        days_ago=33,
        asked_ahead=timedelta(days=4),
        answered_after=None,
        broken="The link we sent was never opened; no offer came either.",
    ),
    AskPlan(
        "Showroom visit for the new chairs",
        Kind.meeting,
        days_ago=15,
        asked_ahead=timedelta(days=8),
        answered_after=timedelta(days=3, hours=6),
        late=timedelta(minutes=40),
    ),
)
# Where the contacts answer from, as their answers record it (documentation addresses, RFC 5737).
ANSWERED_FROM = "203.0.113.25"

PROFILES = (
    Profile(
        name="Northwind IT Services",
        category="IT",
        website="https://northwind-it.example",
        phone="+48 22 555 0101",
        notes="Support contract for laptops, network and Microsoft 365.",
        contacts=(("Anna Kowalczyk", "Account manager"), ("Tom Reyes", "Field technician")),
        counts={Kind.meeting: 8, Kind.promise: 10, Kind.deadline: 3},
        meetings=Habits(0.9, 0.0, 0.1, late_share=0.15, late=(6, 20)),
        deliveries=Habits(0.85, 0.05, 0.1, late_share=0.2, late=(60, 24 * 60)),
        titles={
            Kind.meeting: (
                "Quarterly IT review",
                "Server room walk-through",
                "New laptop handover",
                "Backup restore test",
            ),
            Kind.promise: (
                "Renewal quote for Microsoft 365",
                "Fix the VPN for remote staff",
                "Replace the office router",
                "Patch the file server",
                "Set up the new printer queue",
            ),
            Kind.deadline: ("Mail migration to the new tenant", "Network documentation delivered"),
        },
        excuses=EVERYDAY_EXCUSES,
        cancelled=1,
        notice=(48, 120),  # plans its moves: we hear of them days ahead
        asks=NORTHWIND_ASKS,
        complaints=(
            ComplaintPlan(
                "VPN drops for remote staff every afternoon",
                "Since the router swap, remote staff lose the VPN around 14:00 each day.",
                days_ago=96,
                severity=Severity.major,
                channel=Channel.phone,
                answered_after=timedelta(hours=2),
                case_owner=1,
                apologised=True,
                dated_answer=timedelta(days=3),
            ),
            ComplaintPlan(
                "New laptop handed over without disk encryption",
                "Found at the handover check: BitLocker was off on the finance laptop.",
                days_ago=52,
                severity=Severity.critical,
                channel=Channel.email,
                answered_after=timedelta(hours=3),
                case_owner=0,
                apologised=True,
            ),
            ComplaintPlan(
                "Printer queue lost after the update",
                "",
                days_ago=19,
                severity=Severity.minor,
                channel=Channel.email,
                answered_after=timedelta(hours=1),
                case_owner=1,
                apologised=True,
            ),
            ComplaintPlan(
                "Backup report not sent for two weeks",
                "The weekly backup report stopped arriving; we cannot tell whether backups run.",
                days_ago=8,
                severity=Severity.major,
                channel=Channel.email,
                answered_after=timedelta(hours=4),
                case_owner=0,
                apologised=True,
                dated_answer=timedelta(days=2),
            ),
        ),
    ),
    Profile(
        name="Kowalski & Partners Accounting",
        category="Accounting",
        website="https://kowalski-accounting.example",
        phone="+48 22 555 0202",
        notes="Bookkeeping, payroll and VAT returns.",
        contacts=(("Ewa Kowalski", "Partner"), ("Jan Nowicki", "Payroll specialist")),
        counts={Kind.meeting: 6, Kind.promise: 8, Kind.deadline: 10},
        meetings=RELIABLE,
        deliveries=RELIABLE,
        titles={
            Kind.meeting: ("Monthly close review", "Year-end planning", "Budget walk-through"),
            Kind.promise: (
                "Send the VAT summary",
                "Answer the payroll question",
                "Send the signed engagement letter",
            ),
            Kind.deadline: ("Monthly VAT return filed", "Quarterly management accounts", "Payroll run"),
        },
        excuses=((X.personal, "The partner was ill; a colleague took over."),),
        upcoming=3,
    ),
    Profile(
        name="Inkwell Print House",
        category="Printing",
        website="https://inkwell-print.example",
        phone="+48 22 555 0303",
        notes="Catalogues, leaflets, banners and business cards.",
        contacts=(("Piotr Zielinski", "Print manager"),),
        counts={Kind.meeting: 4, Kind.promise: 9, Kind.deadline: 6},
        meetings=Habits(0.9, 0.05, 0.05, late_share=0.2, late=(6, 15)),
        deliveries=Habits(0.75, 0.1, 0.15, late_share=0.3, late=(120, 30 * 60)),
        titles={
            Kind.meeting: ("Press check for the catalogue", "Paper selection meeting"),
            Kind.promise: ("Proofs for the spring catalogue", "Paper samples", "Quote for 5,000 leaflets"),
            Kind.deadline: (
                "Trade fair banners delivered",
                "Business cards for new staff",
                "Autumn catalogue delivered",
            ),
        },
        excuses=(
            (X.third_party, "The paper mill delayed the coated stock."),
            (X.force_majeure, "The press was down after a power surge."),
            (X.oversight, "The proof went out in the wrong colour profile."),
        ),
        cancelled=1,
    ),
    Profile(
        name="Solid Ground Builders",
        category="Construction",
        website="https://solidground-build.example",
        phone="+48 22 555 0404",
        notes="Warehouse extension: walls, roof and first fix.",
        contacts=(("Marek Wojcik", "Site manager"), ("Laura Bianchi", "Project estimator")),
        counts={Kind.meeting: 7, Kind.promise: 6, Kind.deadline: 7},
        meetings=Habits(0.75, 0.1, 0.15, late_share=0.4, late=(10, 40)),
        deliveries=Habits(0.5, 0.15, 0.35, late_share=0.6, late=(12 * 60, 3 * 24 * 60)),
        titles={
            Kind.meeting: (
                "Site visit for the warehouse extension",
                "Walk-through with the architect",
                "Progress meeting on site",
            ),
            Kind.promise: (
                "Revised cost estimate",
                "Details of the drywall subcontractor",
                "Photos of the roof work",
            ),
            Kind.deadline: (
                "Milestone 1: foundations",
                "Milestone 2: walls and roof",
                "Electrical first fix",
                "Scaffolding removed",
            ),
        },
        excuses=(
            (X.force_majeure, "Three days of rain stopped the concrete pour."),
            (X.third_party, "The steel delivery came a week late."),
            (X.third_party, "The electrician subcontractor did not turn up."),
            (X.plot_twist, "The crew was moved to another site."),
            (X.none_given, ""),
        ),
        overdue=1,
        upcoming=3,
        notice=(-6, 20),
    ),
    Profile(
        name="Sparkle Office Cleaning",
        category="Cleaning",
        website="https://sparkle-clean.example",
        phone="+48 22 555 0505",
        notes="Daily cleaning of both floors; windows every quarter.",
        contacts=(("Grace Mensah", "Team leader"),),
        counts={Kind.meeting: 5, Kind.promise: 7, Kind.deadline: 4},
        meetings=RELIABLE,
        deliveries=Habits(0.9, 0.05, 0.05, late_share=0.05, late=(30, 180)),
        titles={
            Kind.meeting: ("Monthly quality walk-round", "Key handover for the new office"),
            Kind.promise: (
                "Deep clean of the kitchen",
                "Carpet shampoo in meeting room B",
                "New cleaning rota",
            ),
            Kind.deadline: ("Window cleaning, all floors",),
        },
        excuses=((X.personal, "Two of the team were off with flu."),),
    ),
    Profile(
        name=SALESMAN,
        category="Office equipment",
        website="https://brightline-office.example",
        phone="+48 22 555 0606",
        notes="Copier lease and office furniture. Charming on the phone; check every date twice.",
        contacts=(("Max Hollis", "Senior account manager"),),
        counts={Kind.meeting: 10, Kind.promise: 14, Kind.deadline: 5},
        meetings=Habits(0.7, 0.2, 0.1, late_share=1.0, late=(10, 90)),
        deliveries=Habits(0.15, 0.65, 0.2, late_share=1.0, late=(4 * 60, 4 * 24 * 60)),
        titles={
            Kind.meeting: (
                "Demo of the new copier range",
                "Contract review over coffee",
                "Showroom visit",
                "Lease renewal talk",
            ),
            Kind.promise: (
                "Copier lease offer",
                "Toner samples",
                "Call back about the discount",
                "Draft service contract",
                "Check stock of the A3 model",
                "Price comparison by email",
            ),
            Kind.deadline: (
                "Install the new copier",
                "Deliver the office chairs",
                "Credit note for the faulty shredder",
            ),
        },
        excuses=SALESMAN_EXCUSES,
        fresh_excuses=True,
        asks=SALESMAN_ASKS,
        overdue=2,
        upcoming=2,
        notice=(-8, 3),  # rings when the time has come, or has gone
        complaints=(
            ComplaintPlan(
                "Wrong copier model installed",
                "We ordered the A3 colour model; an A4 mono one was installed and the old one taken away.",
                days_ago=68,
                severity=Severity.critical,
                channel=Channel.email,
                answered_after=timedelta(days=7, hours=5),  # a week on, and nobody owns it
            ),
            ComplaintPlan(
                "Invoiced for chairs never delivered",
                "The invoice charges 12 office chairs; none has arrived.",
                days_ago=40,
                severity=Severity.major,
                channel=Channel.phone,
            ),
            ComplaintPlan(
                "Copier jams on every second page",
                "Three calls and two emails to Max Hollis; voicemail, then nothing.",
                days_ago=23,
                severity=Severity.major,
                channel=Channel.email,
            ),
        ),
    ),
    Profile(
        name="Greenleaf Catering",
        category="Catering",
        website="https://greenleaf-catering.example",
        phone="+48 22 555 0707",
        notes="Board lunches and the two staff parties a year.",
        contacts=(("Sofia Lindqvist", "Events coordinator"),),
        counts={Kind.meeting: 3, Kind.promise: 6, Kind.deadline: 5},
        meetings=Habits(0.85, 0.05, 0.1, late_share=0.2, late=(6, 25)),
        deliveries=Habits(0.85, 0.1, 0.05, late_share=0.2, late=(15, 90)),
        titles={
            Kind.meeting: ("Menu tasting for the summer party",),
            Kind.promise: ("Allergen list for the menu", "Updated menu prices"),
            Kind.deadline: ("Lunch for the board meeting", "Christmas party catering"),
        },
        excuses=(
            (X.third_party, "The fish supplier let them down."),
            (X.oversight, "The order was booked for the wrong day."),
        ),
        cancelled=1,
    ),
)

CANCEL_REASONS = (
    "We postponed the project.",
    "No longer needed after the budget review.",
    "We moved this in-house.",
)


@dataclass
class DemoResult:
    """What load_demo did: whether it loaded anything, and the login to show once."""

    loaded: bool
    admin_email: str = DEMO_ADMIN
    # Set only when generated here: the one time anyone sees it.
    password: str | None = None
    users: list[User] = field(default_factory=list)
    vendors: int = 0
    commitments: int = 0
    complaints: int = 0


def load_demo(session: Session, now: datetime, *, seed: int = SEED, rules: Rules | None = None) -> DemoResult:
    """Fill an empty database with demo users and a year of vendor history; the caller commits.

    If any vendor exists it does nothing. The password is the app's VENDORTRACK_DEMO_PASSWORD
    when set, else a random one returned in the result. A InvalidInput leaves the caller to roll back.
    The complaints' answer deadlines follow `rules`, by default the app's (SCORING.md §10).
    """
    if session.scalar(sa.select(Vendor.id).limit(1)) is not None:
        return DemoResult(loaded=False)
    configured = current_app.config.get("VENDORTRACK_DEMO_PASSWORD") if has_app_context() else None
    if rules is None:
        rules = current_app.config["VENDORTRACK_RULES"] if has_app_context() else Rules()
    password = configured or secrets.token_urlsafe(12)
    result = DemoResult(loaded=True, password=None if configured else password)
    links = vendor_links.LinkRules.from_config(current_app.config) if has_app_context() else None
    mailed_before = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    start = now - timedelta(days=420)
    for email, name, role in DEMO_USERS:
        # A demo address already taken raises InvalidInput("email"): its password is not ours to print.
        result.users.append(
            create_user(session, email=email, password=password, role=role, now=start, name=name)
        )
    history = _History(
        session, now, random.Random(seed), rules, editor=result.users[1], admin=result.users[0], links=links
    )
    for profile in PROFILES:
        history.vendor(profile, start)
    # The asks and answers through the links email as they would have, with links to the app's address.
    with mail.mail_context(current_app._get_current_object()) if has_app_context() else nullcontext():
        history.play()
    # A past year's emails went out when it happened: none is left for the outbox to send now.
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id > mailed_before, OutboxMessage.state == MailState.queued)
        .values(state=MailState.sent, sent_at=OutboxMessage.created_at, attempts=1)
        .execution_options(synchronize_session=False)
    )
    # And, delivered, they keep no vendor link's token, as the outbox's own sending leaves them.
    for message in session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.id > mailed_before, OutboxMessage.kind == MailKind.vendor_ask
        )
    ):
        message.body_text = mail.forget_secrets(message.body_text)
        message.body_html = mail.forget_secrets(message.body_html)
    result.vendors = len(PROFILES)
    result.commitments = session.scalar(sa.select(sa.func.count(Commitment.id))) or 0
    result.complaints = session.scalar(sa.select(sa.func.count(Complaint.id))) or 0
    return result


Action = Callable[[datetime], None]


class _History:
    """Plans every commitment with the seeded random first, then plays the ledger calls in time order.

    Each ledger call gets the moment it happened as its `now`, so the events read like a real
    year; drawing all random numbers up front keeps the data the same for the same seed.
    """

    def __init__(
        self,
        session: Session,
        now: datetime,
        rng: random.Random,
        rules: Rules,
        *,
        editor: User,
        admin: User,
        links: vendor_links.LinkRules | None = None,
    ):
        self.session, self.now, self.rng, self.rules = session, now, rng, rules
        self.editor, self.admin = editor, admin
        self.links = links or vendor_links.LinkRules()
        self._queue: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()

    def at(self, moment: datetime, action: Action) -> None:
        heapq.heappush(self._queue, (min(moment, self.now), next(self._order), action))

    def play(self) -> None:
        while self._queue:
            moment, _, action = heapq.heappop(self._queue)
            action(moment)

    # -- planning ---------------------------------------------------------------------------------

    def vendor(self, profile: Profile, start: datetime) -> None:
        vendor = create_vendor(
            self.session,
            now=start,
            name=profile.name,
            category=profile.category,
            website=profile.website,
            phone=profile.phone,
            notes=profile.notes,
            email="office@" + profile.website.removeprefix("https://"),
        )
        contacts = [
            add_contact(
                self.session,
                vendor,
                now=start,
                name=name,
                role=role,
                phone=profile.phone,
                email=self._email(name, profile),
            )
            for name, role in profile.contacts
        ]
        excuses = self._excuse_source(profile)
        for kind, count in profile.counts.items():
            habits = profile.meetings if kind == Kind.meeting else profile.deliveries
            outcomes = self._outcomes(habits, count, profile.cancelled if kind == Kind.promise else 0)
            days_ago = sorted((self.rng.uniform(3, 360) for _ in outcomes), reverse=True)
            taken: set[date] = set()  # one commitment of a kind per day, or it reads like a typo
            for outcome, ago in zip(outcomes, days_ago, strict=True):
                due = self._due(kind, self.now - timedelta(days=ago))
                while due.date() in taken:
                    due = self._due(kind, due - timedelta(days=1))
                taken.add(due.date())
                self._plan(
                    vendor,
                    self._contact(contacts),
                    kind,
                    self._title(profile, kind),
                    due,
                    outcome,
                    habits,
                    excuses,
                    profile.notice,
                )
        for _ in range(profile.overdue):
            due = self._due(Kind.promise, self.now - timedelta(days=self.rng.uniform(2, 9)))
            self._plan(
                vendor,
                contacts[0],
                Kind.promise,
                self._title(profile, Kind.promise),
                due,
                None,
                profile.deliveries,
                excuses,
                profile.notice,
            )
        for i in range(profile.upcoming):
            kind = (Kind.meeting, Kind.promise, Kind.deadline)[i % 3]
            due = self._due(kind, self.now + timedelta(days=self.rng.uniform(1, 30)))
            self._plan(
                vendor,
                self._contact(contacts),
                kind,
                self._title(profile, kind),
                due,
                None,
                profile.deliveries,
                excuses,
                profile.notice,
            )
        # After every random draw of this vendor: complaints take none, so the commitments' history
        # stays what this seed always gave.
        for plan in profile.complaints:
            self._complaint(vendor, contacts, plan)
        for ask in profile.asks:
            self._ask(vendor, contacts[0], ask)

    def _ask(self, vendor: Vendor, contact: Contact, plan: AskPlan) -> None:
        """Log it, ask the contact about it through their link, then their answer (if any) at the
        server's clock, our owner's decision on a proposed move, and what became of it."""
        due = self._working_day_at_ten(self.now - timedelta(days=plan.days_ago))
        asked = due - plan.asked_ahead
        moved_to = self._working_day_at_ten(due + plan.move_by) if plan.move_by else None
        made: dict[str, Any] = {}

        def log(m: datetime) -> None:
            made["commitment"] = ledger.log_commitment(
                self.session,
                vendor=vendor,
                kind=plan.kind,
                title=plan.title,
                due_at=due,
                actor=self.editor,
                now=m,
                contact=contact,
                owner=self.editor,
            )

        def ask(m: datetime) -> None:
            made["link"], _token = vendor_links.ask(
                self.session,
                made["commitment"],
                contact=contact,
                actor=self.editor,
                now=m,
                rules=self.links,
                send_email=True,
            )

        def answer(m: datetime) -> None:
            link = made["link"]
            vendor_links.record_open(self.session, link, m)
            if moved_to is None:
                vendor_links.confirm(self.session, link, now=m, address=ANSWERED_FROM)
                return
            proposal = vendor_links.propose(
                self.session, link, due_at=moved_to, reason=plan.reason, now=m, address=ANSWERED_FROM
            )
            # Our owner agrees an hour later: a move, told when the contact proposed it.
            self.at(
                m + timedelta(hours=1),
                lambda a: vendor_links.accept(self.session, proposal, actor=self.editor, now=a),
            )

        def settle(m: datetime) -> None:
            commitment = made["commitment"]
            while commitment.status == Status.rescheduled:  # the move's follow-up carries it on
                commitment = commitment.rescheduled_to
            if plan.broken is not None:
                ledger.resolve_broken(
                    self.session,
                    commitment,
                    actor=self.editor,
                    now=m,
                    excuse_category=X.none_given,
                    excuse=plan.broken,
                )
            else:
                done = commitment.due_at + plan.late
                ledger.resolve_kept(self.session, commitment, actor=self.editor, now=m, done_at=done)

        self.at(asked - timedelta(hours=1), log)
        self.at(asked, ask)
        if plan.answered_after is not None:
            self.at(asked + plan.answered_after, answer)
        self.at((moved_to or due) + plan.late + timedelta(hours=2), settle)

    def _working_day_at_ten(self, day: datetime) -> datetime:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day.date(), time(10, 0), tzinfo=day.tzinfo)

    def _complaint(self, vendor: Vendor, contacts: list[Contact], plan: ComplaintPlan) -> None:
        """Raise it on a working day at 10:00, then the vendor's answer, dated answer and its keeping."""
        day = self.now - timedelta(days=plan.days_ago)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        raised = datetime.combine(day.date(), time(10, 0), tzinfo=day.tzinfo)

        def answer(complaint: Complaint, m: datetime) -> None:
            owner = contacts[plan.case_owner] if plan.case_owner is not None else None
            complaints.answer(
                self.session,
                complaint,
                at=m,
                actor=self.editor,
                now=m,
                case_owner_contact=owner,
                apologised=plan.apologised,
            )
            if plan.dated_answer is None:
                return
            promise = complaints.give_dated_answer(
                self.session, complaint, due_at=m + plan.dated_answer, at=m, actor=self.editor, now=m
            )
            done = promise.due_at - timedelta(hours=5)  # the full answer came a little early
            self.at(
                done + timedelta(hours=1),
                lambda k: ledger.resolve_kept(self.session, promise, actor=self.editor, now=k, done_at=done),
            )

        def raise_it(m: datetime) -> None:
            complaint = complaints.raise_complaint(
                self.session,
                vendor=vendor,
                title=plan.title,
                details=plan.details,
                severity=plan.severity,
                channel=plan.channel,
                raised_at=m,
                contact=contacts[0],
                actor=self.editor,
                now=m,
                rules=self.rules,
            )
            if plan.answered_after is not None:
                self.at(raised + plan.answered_after, lambda a: answer(complaint, a))

        self.at(raised, raise_it)

    def _email(self, name: str, profile: Profile) -> str:
        return name.split()[0].lower() + "@" + profile.website.removeprefix("https://")

    def _contact(self, contacts: list[Contact]) -> Contact:
        # The first contact makes most of the commitments, as in life.
        return contacts[0] if len(contacts) == 1 or self.rng.random() < 0.7 else self.rng.choice(contacts)

    def _title(self, profile: Profile, kind: Kind) -> str:
        return self.rng.choice(profile.titles[kind])

    def _outcomes(self, habits: Habits, count: int, cancelled: int) -> list[str]:
        broken = round(count * habits.broken)
        rescheduled = round(count * habits.rescheduled)
        kept = max(count - broken - rescheduled - cancelled, 0)
        outcomes = [KEPT] * kept + [BROKEN] * broken + [RESCHEDULED] * rescheduled + [CANCELLED] * cancelled
        self.rng.shuffle(outcomes)
        return outcomes

    def _excuse_source(self, profile: Profile) -> Callable[[], tuple[X, str]]:
        if not profile.fresh_excuses:
            return lambda: self.rng.choice(profile.excuses)
        pool = list(profile.excuses)
        self.rng.shuffle(pool)
        # A new excuse each time; should he outrun the list, the oldest ones come back.
        return lambda: pool.pop() if len(pool) > 1 else pool[0]

    def _due(self, kind: Kind, day: datetime) -> datetime:
        step = timedelta(days=1 if day > self.now else -1)
        while day.weekday() >= 5:  # vendors make their dates on working days
            day += step
        if kind == Kind.meeting:
            at = time(self.rng.randint(9, 15), self.rng.choice((0, 30)))
        elif kind == Kind.promise:
            at = time(17, 0)
        else:
            at = time(23, 59, 59)
        return datetime.combine(day.date(), at, tzinfo=day.tzinfo)

    def _minutes(self, span: tuple[int, int]) -> timedelta:
        return timedelta(minutes=self.rng.randint(*span))

    def _plan(
        self,
        vendor: Vendor,
        contact: Contact,
        kind: Kind,
        title: str,
        due: datetime,
        outcome: str | None,
        habits: Habits,
        excuses: Callable[[], tuple[X, str]],
        notice: tuple[float, float],
    ) -> None:
        """Log one commitment ahead of its date, then whatever became of it (None: nothing yet)."""
        lead = timedelta(days=self.rng.uniform(1, 45 if kind == Kind.deadline else 12))
        owner = self.editor if self.rng.random() < 0.75 else self.admin
        fate = self._fate(kind, due, outcome, habits, excuses, notice)

        def log(moment: datetime) -> None:
            commitment = ledger.log_commitment(
                self.session,
                vendor=vendor,
                kind=kind,
                title=title,
                due_at=due,
                actor=self.editor,
                now=moment,
                contact=contact,
                owner=owner,
            )
            if fate is not None:
                fate(commitment)

        self.at(due - lead, log)

    def _fate(
        self,
        kind: Kind,
        due: datetime,
        outcome: str | None,
        habits: Habits,
        excuses: Callable[[], tuple[X, str]],
        notice: tuple[float, float],
    ) -> Callable[[Commitment], None] | None:
        """Draw now what will happen to a commitment, as a function that schedules it once logged."""
        rng = self.rng
        if outcome == KEPT:
            if rng.random() < habits.late_share:
                done = due + self._minutes(habits.late)
            elif kind == Kind.meeting:
                done = due + timedelta(minutes=rng.randint(0, 3))  # on time, give or take the door
            else:
                done = due - timedelta(minutes=rng.randint(0, 6 * 60))  # delivered that day or earlier
            done = min(done, self.now)
            noticed = done + timedelta(minutes=rng.randint(20, 6 * 60))
            return lambda c: self.at(
                noticed,
                lambda m: ledger.resolve_kept(
                    self.session, c, actor=self.editor, now=m, done_at=min(done, m)
                ),
            )
        if outcome == BROKEN:
            category, text = excuses()
            noticed = due + timedelta(hours=rng.uniform(2, 30))
            return lambda c: self.at(
                noticed,
                lambda m: ledger.resolve_broken(
                    self.session, c, actor=self.editor, now=m, excuse_category=category, excuse=text
                ),
            )
        if outcome == CANCELLED:
            reason = rng.choice(CANCEL_REASONS)
            noticed = due - timedelta(hours=rng.uniform(2, 20))
            return lambda c: self.at(
                noticed, lambda m: ledger.cancel(self.session, c, actor=self.admin, now=m, reason=reason)
            )
        if outcome == RESCHEDULED:
            category, text = excuses()
            # When the vendor tells us (the profile's notice): logged then, so notified_at is that moment.
            told = due - timedelta(hours=rng.uniform(*notice))
            new_due = due + timedelta(days=rng.randint(3, 14))
            if new_due + timedelta(days=2) > self.now:
                then = None  # still ahead (or just missed): left open, maybe overdue
            else:
                then = KEPT if rng.random() < habits.kept / max(habits.kept + habits.broken, 0.01) else BROKEN
            follow_up = self._fate(kind, new_due, then, habits, excuses, notice)

            def move(c: Commitment) -> None:
                def act(m: datetime) -> None:
                    successor = ledger.reschedule(
                        self.session,
                        c,
                        actor=self.editor,
                        now=m,
                        new_due_at=new_due,
                        excuse_category=category,
                        excuse=text,
                    )
                    if follow_up is not None:
                        follow_up(successor)

                # Days of notice can reach back before we logged the commitment: then it is moved
                # an hour after it was logged, the earliest the ledger can hear of the move.
                self.at(max(told, c.created_at + timedelta(hours=1)), act)

            return move
        return None
