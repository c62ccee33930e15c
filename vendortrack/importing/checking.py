"""Checking an import's rows before anything is written: dates read, every problem by row and column."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack import complaints
from vendortrack.importing.reading import COMMITMENT_COLUMNS, COMPLAINT_COLUMNS, RECORDS, Problem, Sheet
from vendortrack.ledger import OUT_OF_RANGE, TITLE_MAX, check_notified_at, in_range
from vendortrack.models import Channel, ExcuseCategory, Kind, Resolution, Severity, Status, Vendor
from vendortrack.models.complaint import ComplaintStatus, status_of
from vendortrack.models.vendor import name_key
from vendortrack.timeutil import CLOCK_SKEW, is_aware, is_timezone, local_moment
from vendortrack.validation import InvalidInput, check_plain_text

DATE_FORMATS = ("auto", "iso", "dmy", "mdy")
# Languages whose users write 30/06/2026 day first; month first is American English only.
DAY_FIRST_LANGUAGES = frozenset({"pl", "ru", "uk", "de", "fr", "it", "es", "pt", "nl", "cs", "sk", "ro"})
# The model's column widths: PostgreSQL refuses longer text, so the preview must say so first.
MAX_LENGTH = {
    "vendor": 200,
    "category": 80,
    "website": 300,
    "email": 254,
    "phone": 50,
    "contact": 200,
    "contact_role": 120,
    "contact_email": 254,
    "contact_phone": 50,
    "title": TITLE_MAX,
    "case_owner": 200,
}
# Text over several lines keeps tabs and line breaks; every column above is one line.
MULTI_LINE = frozenset({"excuse", "reason", "notes"})
# The fields complaints.py names when it refuses, as the columns of the file that hold them.
COMPLAINT_FIELD_COLUMNS = {
    "acknowledged_at": "answered_at",
    "case_owner_name": "case_owner",
    "case_owner_contact_id": "case_owner",
    "contact_id": "contact",
    "vendor_id": "vendor",
    "details": "notes",
}
# Yes and no as people write them, in the languages vendortrack speaks.
YES = frozenset({"yes", "y", "true", "1", "x", "tak", "igen", "да"})
NO = frozenset({"no", "n", "false", "0", "nie", "nem", "нет"})


@dataclass
class RowPlan:
    """What one row will do."""

    row: int
    vendor: str
    vendor_new: bool
    contact: str | None = None
    contact_new: bool = False
    kind: Kind | None = None
    title: str = ""
    due_at: datetime | None = None
    status: Status = Status.open
    done_at: datetime | None = None
    new_due_at: datetime | None = None
    excuse_category: ExcuseCategory | None = None
    notified_at: datetime | None = None
    values: dict[str, str] = field(default_factory=dict)
    record: str = "commitment"
    complaint: ComplaintPlan | None = None

    @property
    def has_commitment(self) -> bool:
        return bool(self.title) and self.record == "commitment"

    @property
    def has_complaint(self) -> bool:
        return self.complaint is not None


@dataclass
class ComplaintPlan:
    """The complaint a row records: raised, perhaps answered, perhaps resolved."""

    severity: Severity | None = None
    channel: Channel = Channel.other
    raised_at: datetime | None = None
    answered_at: datetime | None = None
    case_owner: str = ""
    apologised: bool = False
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    satisfied: bool | None = None

    @property
    def status(self) -> ComplaintStatus:
        return status_of(self.resolution, self.answered_at)


@dataclass
class Preview:
    """What the file would do: a plan for every row with a vendor, and every problem found."""

    plans: list[RowPlan]
    problems: list[Problem]

    def counts(self) -> dict[str, int]:
        return {
            "vendors": sum(p.vendor_new for p in self.plans),
            "contacts": sum(p.contact_new for p in self.plans),
            "commitments": sum(p.has_commitment for p in self.plans),
            "complaints": sum(p.has_complaint for p in self.plans),
        }


_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_YMD = re.compile(r"(\d{4})\.\s?(\d{1,2})\.\s?(\d{1,2})\.?" + _TIME)  # Hungarian 2026.06.30.
_DMY_DOT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME)  # Polish, German 30.06.2026
_SLASH = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})" + _TIME)


def parse_moment(text: str, *, timezone: str, date_format: str = "auto") -> datetime:
    """A cell as a UTC moment; naive times are in `timezone`, a date alone is the end of that day."""
    text = text.strip()
    # Year first with dashes is ISO 8601 whatever the format chosen: it cannot be misread.
    if date_format in ("auto", "iso") or re.match(r"\d{4}-", text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            moment = None
        if moment is not None:
            if is_aware(moment):
                return moment.astimezone(ZoneInfo("UTC"))
            at = None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else moment.time()
            return local_moment(moment.date(), at, timezone)
    if date_format == "iso":
        raise ValueError(text)
    if match := _YMD.fullmatch(text):
        y, m, d = match.group(1, 2, 3)
        rest = match.groups()[3:]
    elif match := _DMY_DOT.fullmatch(text):
        d, m, y = match.group(1, 2, 3)
        rest = match.groups()[3:]
    elif match := _SLASH.fullmatch(text):
        # Slashes are ambiguous: day first (as in Europe) unless told mdy.
        d, m, y = match.group(1, 2, 3)
        if date_format == "mdy":
            d, m = m, d
        rest = match.groups()[3:]
    else:
        raise ValueError(text)
    day = date(int(y), int(m), int(d))
    at = time(int(rest[0]), int(rest[1]), int(rest[2] or 0)) if rest[0] is not None else None
    return local_moment(day, at, timezone)


def check_timezone(name: str) -> str:
    if not is_timezone(name):
        raise InvalidInput("timezone", _l("Unknown time zone %(name)s.", name=name))
    return name


def default_date_format(locale: str | None) -> str:
    """How a user's dates are read unless they choose: day first in most of Europe, month first in the US."""
    if not locale:
        return "auto"
    language, _sep, region = locale.replace("-", "_").partition("_")
    if language.casefold() == "en" and region.casefold() == "us":
        return "mdy"
    return "dmy" if language.casefold() in DAY_FIRST_LANGUAGES else "auto"


def _choice(enum: type, text: str) -> Any:
    return enum("_".join(text.casefold().replace("-", " ").split()))


def preview(
    session: Session, sheet: Sheet, *, timezone: str, now: datetime, date_format: str = "auto"
) -> Preview:
    """What every row will create and every problem by row and column; changes nothing."""
    problems = list(sheet.problems)
    plans: list[RowPlan] = []
    seen_vendors: dict[str, Vendor | None] = {}  # name_key -> existing vendor, or None if new here
    seen_contacts: set[tuple[str, str]] = set()
    first_names: dict[str, str] = {}  # name_key -> the name of the row that creates a new vendor

    def moment(number: int, column: str, text: str) -> datetime | None:
        try:
            parsed = parse_moment(text, timezone=timezone, date_format=date_format)
        except OverflowError:  # year 1 or 9999 moved across midnight UTC: outside the ledger's years
            parsed = None
        except ValueError:
            problems.append(Problem(number, column, _l("Not a date such as 2026-06-30 or 30.06.2026.")))
            return None
        if parsed is None or not in_range(parsed):
            problems.append(Problem(number, column, OUT_OF_RANGE))
            return None
        return parsed

    for number, values in sheet.rows:
        for column, limit in MAX_LENGTH.items():
            if len(values.get(column, "")) > limit:
                problems.append(Problem(number, column, _l("Longer than %(n)d characters.", n=limit)))
        for column in (*MAX_LENGTH, *MULTI_LINE):
            try:
                check_plain_text(column, values.get(column), multiline=column in MULTI_LINE)
            except InvalidInput as refused:
                problems.append(Problem(number, column, refused.message))
        name = " ".join(values.get("vendor", "").split())
        if not name:
            problems.append(Problem(number, "vendor", _l("Give the vendor a name.")))
            continue
        key = name_key(name)
        if len(key) > MAX_LENGTH["vendor"]:  # too long as typed (flagged above), or once casefolded: ß is ss
            if len(values["vendor"]) <= MAX_LENGTH["vendor"]:
                too_long = _l("Longer than %(n)d characters.", n=MAX_LENGTH["vendor"])
                problems.append(Problem(number, "vendor", too_long))
            continue
        if key not in seen_vendors:
            seen_vendors[key] = session.scalar(sa.select(Vendor).where(Vendor.name_key == key))
        vendor = seen_vendors[key]
        # A vendor new to the database is created by its first row; later rows find it.
        earlier = first_names.get(key)
        if vendor is None and earlier is None:
            first_names[key] = name
        plan = RowPlan(
            number,
            vendor.name if vendor else (earlier or name),
            vendor_new=vendor is None and earlier is None,
            values=values,
        )
        plans.append(plan)
        contact_name = " ".join(values.get("contact", "").split())
        if contact_name:
            plan.contact = contact_name
            existing = vendor is not None and any(
                c.name.casefold() == contact_name.casefold() for c in vendor.contacts
            )
            plan.contact_new = not existing and (key, contact_name.casefold()) not in seen_contacts
            seen_contacts.add((key, contact_name.casefold()))
        plan.title = values.get("title", "")
        record = values.get("record", "").casefold() or "commitment"
        if record not in RECORDS:
            problems.append(Problem(number, "record", _l("Unknown record; use commitment or complaint.")))
            continue
        plan.record = record
        if record == "complaint":
            if vendor is not None and vendor.is_archived:
                archived = _l("This vendor is archived; unarchive it to log more.")
                problems.append(Problem(number, "vendor", archived))
            plan.complaint = _check_complaint(number, values, problems, moment, now)
            continue
        for column in COMPLAINT_COLUMNS:
            if values.get(column):
                problems.append(Problem(number, column, _l("This column is for complaint rows only.")))
        if not plan.title:
            for column in (*COMMITMENT_COLUMNS, "notes"):
                if values.get(column):
                    problems.append(Problem(number, "title", _l("Give the commitment a title.")))
                    break
            continue
        if vendor is not None and vendor.is_archived:
            archived = _l("This vendor is archived; unarchive it to log more.")
            problems.append(Problem(number, "vendor", archived))
        try:
            plan.kind = _choice(Kind, values.get("kind") or Kind.promise.value)
        except ValueError:
            problems.append(Problem(number, "kind", _l("Unknown kind; use meeting, promise or deadline.")))
        try:
            plan.status = _choice(Status, values.get("status") or Status.open.value)
        except ValueError:
            problems.append(
                Problem(
                    number, "status", _l("Unknown status; use open, kept, broken, rescheduled or cancelled.")
                )
            )
        if values.get("due"):
            plan.due_at = moment(number, "due", values["due"])
        else:
            problems.append(Problem(number, "due", _l("This date is required.")))
        if values.get("done_at"):
            plan.done_at = moment(number, "done_at", values["done_at"])
            if plan.status != Status.kept:
                problems.append(Problem(number, "done_at", _l("Only a kept commitment has a done date.")))
            elif plan.done_at is not None and plan.done_at > now + CLOCK_SKEW:
                problems.append(Problem(number, "done_at", _l("It cannot have been kept in the future.")))
        elif plan.status == Status.kept:
            problems.append(Problem(number, "done_at", _l("A kept commitment needs the date it was kept.")))
        if values.get("new_due"):
            plan.new_due_at = moment(number, "new_due", values["new_due"])
            if plan.status != Status.rescheduled:
                only = _l("Only a rescheduled commitment has a new date.")
                problems.append(Problem(number, "new_due", only))
        elif plan.status == Status.rescheduled:
            problems.append(Problem(number, "new_due", _l("A rescheduled commitment needs its new date.")))
        if values.get("notified_at"):
            if plan.status != Status.rescheduled:
                only = _l("Only a moved commitment has a notice.")
                problems.append(Problem(number, "notified_at", only))
            elif (notified_at := moment(number, "notified_at", values["notified_at"])) is not None:
                try:
                    plan.notified_at = check_notified_at(notified_at, now)
                except InvalidInput as refused:
                    problems.append(Problem(number, "notified_at", refused.message))
        if values.get("excuse_category"):
            try:
                plan.excuse_category = _choice(ExcuseCategory, values["excuse_category"])
            except ValueError:
                choices = ", ".join(c.value for c in ExcuseCategory)
                unknown = _l("Unknown excuse category; use one of %(choices)s.", choices=choices)
                problems.append(Problem(number, "excuse_category", unknown))
    return Preview(plans, problems)


def _yes_or_no(text: str) -> bool | None:
    word = text.strip().casefold()
    return True if word in YES else False if word in NO else None


def _check_complaint(
    number: int,
    values: dict[str, str],
    problems: list[Problem],
    moment: Callable[[int, str, str], datetime | None],
    now: datetime,
) -> ComplaintPlan:
    """A complaint row's plan, its problems added by column; its moments checked by complaints.py's rules."""
    plan = ComplaintPlan(case_owner=" ".join(values.get("case_owner", "").split()))

    def problem(column: str, message: Any) -> None:
        problems.append(Problem(number, column, message))

    if not values.get("title"):
        problem("title", _l("Say in a few words what went wrong."))
    for column in COMMITMENT_COLUMNS:
        if values.get(column):
            problem(column, _l("This column is for commitment rows only."))
    try:
        plan.severity = _choice(Severity, values.get("severity", ""))
    except ValueError:
        problem("severity", _l("Choose minor, major or critical."))
    try:
        plan.channel = _choice(Channel, values.get("channel") or Channel.other.value)
    except ValueError:
        problem("channel", _l("Choose email, phone, meeting or other."))
    for column in ("apologised", "satisfied"):
        if values.get(column) and _yes_or_no(values[column]) is None:
            problem(column, _l("Write yes or no."))
    plan.apologised = bool(_yes_or_no(values.get("apologised", "")))
    if values.get("raised_at"):
        plan.raised_at = moment(number, "raised_at", values["raised_at"])
    else:
        problem("raised_at", _l("This date is required."))
    if values.get("answered_at"):
        plan.answered_at = moment(number, "answered_at", values["answered_at"])
    elif plan.case_owner or values.get("apologised"):
        problem(
            "answered_at", _l("Give the date the vendor answered: the owner and the apology are part of it.")
        )
    if values.get("resolution"):
        try:
            plan.resolution = _choice(Resolution, values["resolution"])
        except ValueError:
            problem("resolution", _l("Choose fixed, compensated, declined or withdrawn."))
        if not values.get("resolved_at"):
            problem("resolved_at", _l("A resolved complaint needs the date it was resolved."))
    elif values.get("resolved_at"):
        problem("resolution", _l("Choose fixed, compensated, declined or withdrawn."))
    if values.get("resolved_at"):
        plan.resolved_at = moment(number, "resolved_at", values["resolved_at"])
    if values.get("satisfied"):
        if plan.resolution in (None, Resolution.withdrawn):
            problem(
                "satisfied", _l("Only for a complaint the vendor resolved: fixed, compensated or declined.")
            )
        else:
            plan.satisfied = _yes_or_no(values["satisfied"])
    if plan.raised_at is not None:
        try:
            complaints.check_moments(
                raised_at=plan.raised_at,
                acknowledged_at=plan.answered_at,
                resolved_at=plan.resolved_at,
                now=now,
            )
        except InvalidInput as refused:
            problem(COMPLAINT_FIELD_COLUMNS.get(refused.field, refused.field), refused.message)
    return plan
