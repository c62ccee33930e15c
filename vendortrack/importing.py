"""CSV import of vendors, contacts and commitments: read, preview every row, then commit all or nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack import ledger
from vendortrack.ledger import OUT_OF_RANGE, TITLE_MAX, in_range
from vendortrack.models import Commitment, ExcuseCategory, ImportUpload, Kind, Status, User, Vendor
from vendortrack.models.vendor import name_key
from vendortrack.scores import tally
from vendortrack.timeutil import CLOCK_SKEW, is_aware, local_moment
from vendortrack.validation import InvalidInput
from vendortrack.vendors import add_contact, create_vendor, update_vendor

DATE_FORMATS = ("auto", "iso", "dmy", "mdy")
# Languages whose users write 30/06/2026 day first; month first is American English only.
DAY_FIRST_LANGUAGES = frozenset({"pl", "ru", "uk", "de", "fr", "it", "es", "pt", "nl", "cs", "sk", "ro"})
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # some 50,000 rows: past that, split the file
PROGRESS_EVERY = 50  # rows written between two progress reports
SNIFF_CHARS = 64 * 1024
VENDOR_EXTRAS = ("category", "website", "email", "phone")
CONTACT_EXTRAS = ("contact_role", "contact_email", "contact_phone")
COLUMNS = (
    "vendor",
    *VENDOR_EXTRAS,
    "contact",
    *CONTACT_EXTRAS,
    "kind",
    "title",
    "due",
    "status",
    "done_at",
    "new_due",
    "excuse_category",
    "excuse",
    "reason",
    "notes",
)
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
}
# Headers as spreadsheets write them, in the folded form of `_header_key`.
SYNONYMS = {
    "supplier": "vendor",
    "vendor name": "vendor",
    "supplier name": "vendor",
    "company": "vendor",
    "date": "due",
    "deadline": "due",
    "due date": "due",
    "due at": "due",
    "when": "due",
    "done": "done_at",
    "done at": "done_at",
    "kept at": "done_at",
    "completed": "done_at",
    "new due": "new_due",
    "new due date": "new_due",
    "rescheduled to": "new_due",
    "contact name": "contact",
    "contact person": "contact",
    "role": "contact_role",
    "type": "kind",
    "commitment": "title",
    "promise": "title",
    "outcome": "status",
    "excuse category": "excuse_category",
    "vendor email": "email",
    "vendor phone": "phone",
    "vendor category": "category",
    "vendor website": "website",
    "web": "website",
    "url": "website",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
}


class ImportFailed(Exception):
    """The import could not be committed; nothing was written. `row` and `column` say where."""

    def __init__(self, row: int, column: str, message: Any):
        super().__init__(row, column, message)
        self.row, self.column, self.message = row, column, message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Problem:
    row: int  # the line in the spreadsheet: the header is row 1
    column: str
    message: Any

    def __str__(self) -> str:
        return f"{self.row}/{self.column}: {self.message}"


@dataclass
class Sheet:
    """The file as rows of canonical columns, with problems found in its header."""

    rows: list[tuple[int, dict[str, str]]]
    problems: list[Problem] = field(default_factory=list)


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
    values: dict[str, str] = field(default_factory=dict)

    @property
    def has_commitment(self) -> bool:
        return bool(self.title)


@dataclass
class Preview:
    plans: list[RowPlan]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return {
            "vendors": sum(p.vendor_new for p in self.plans),
            "contacts": sum(p.contact_new for p in self.plans),
            "commitments": sum(p.has_commitment for p in self.plans),
        }


# -- reading --------------------------------------------------------------------------------------


def _header_key(header: str) -> str:
    return " ".join(header.replace("_", " ").replace("-", " ").split()).casefold()


def canonical_column(header: str) -> str | None:
    key = _header_key(header)
    for column in COLUMNS:
        if key == _header_key(column):
            return column
    return SYNONYMS.get(key)


def _delimiter(text: str) -> str:
    # A bounded sample: the sniffer's patterns are slow on a long line, and ten lines tell enough.
    sample = "\n".join(text[:SNIFF_CHARS].splitlines()[:10])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        return ";" if first.count(";") > first.count(",") else ","


def read_sheet(data: bytes) -> Sheet:
    """The rows of a CSV file in UTF-8 (BOM or not), comma- or semicolon-separated."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file", _l("The file is not UTF-8 text; save it as CSV UTF-8.")) from None
    return read_text(text)


def read_text(text: str) -> Sheet:
    """The rows of CSV text, as `read_sheet` reads a file's."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InvalidInput("file", _l("The file is empty."))
    # NUL and lone surrogates are not text a database takes; they mean a binary file or a bad encoder.
    if "\x00" in text or _has_surrogate(text):
        raise InvalidInput("file", _l("The file is not CSV text; save it as CSV UTF-8."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return _read_rows(reader)
    except csv.Error as error:
        raise InvalidInput("file", _l("The file is not valid CSV: %(error)s", error=str(error))) from None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_rows(reader: Iterator[list[str]]) -> Sheet:
    headers = next(reader)
    columns: list[str | None] = []
    problems: list[Problem] = []
    for header in headers:
        column = canonical_column(header)
        if header.strip() and column is None:
            problems.append(Problem(1, header.strip(), _l("Unknown column; rename or remove it.")))
        elif column is not None and column in columns:
            problems.append(Problem(1, header.strip(), _l("This column appears twice.")))
        columns.append(column)
    if "vendor" not in columns:
        problems.append(Problem(1, "vendor", _l("The file needs a vendor column.")))
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {col: cell.strip() for col, cell in zip(columns, cells, strict=False) if col}
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            problems.append(Problem(number, "", _l("This row has more cells than the header.")))
        rows.append((number, values))
    return Sheet(rows, problems)


# -- dates ----------------------------------------------------------------------------------------

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


# -- preview --------------------------------------------------------------------------------------


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
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
            problems.append(Problem(number, column, _l("Not a date such as 2026-06-30 or 30.06.2026.")))
            return None
        if not in_range(parsed):
            problems.append(Problem(number, column, OUT_OF_RANGE))
            return None
        return parsed

    for number, values in sheet.rows:
        for column, limit in MAX_LENGTH.items():
            if len(values.get(column, "")) > limit:
                problems.append(Problem(number, column, _l("Longer than %(n)d characters.", n=limit)))
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
        if not plan.title:
            for column in (
                "kind",
                "due",
                "status",
                "done_at",
                "new_due",
                "excuse_category",
                "excuse",
                "reason",
                "notes",
            ):
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
        if values.get("excuse_category"):
            try:
                _choice(ExcuseCategory, values["excuse_category"])
            except ValueError:
                choices = ", ".join(c.value for c in ExcuseCategory)
                unknown = _l("Unknown excuse category; use one of %(choices)s.", choices=choices)
                problems.append(Problem(number, "excuse_category", unknown))
    return Preview(plans, problems)


# -- commit ---------------------------------------------------------------------------------------


def default_actor(session: Session) -> User | None:
    """The first active admin: whose name the history records when nobody is named."""
    from vendortrack.models import Role

    return session.scalar(
        sa.select(User).where(User.role == Role.admin, User.disabled_at.is_(None)).order_by(User.id).limit(1)
    )


def checked_plan(
    session: Session, sheet: Sheet, *, timezone: str, now: datetime, date_format: str = "auto"
) -> Preview:
    """The preview, or ImportFailed naming the first problem: only a clean file may be written."""
    plan = preview(session, sheet, timezone=timezone, now=now, date_format=date_format)
    if plan.problems:
        first = plan.problems[0]
        raise ImportFailed(first.row, first.column, first.message)
    return plan


def write_plan(
    session: Session, plan: Preview, *, actor: User, now: datetime, every: int = PROGRESS_EVERY
) -> Iterator[int]:
    """Write every row through the ledger, yielding how many are written every `every` rows and at the end.

    A failure rolls the session back and raises ImportFailed; the caller commits after the last yield.
    """
    row = 0
    try:
        # The score sums are recounted once per vendor and month, after the last row, not per row.
        with tally.batched(session):
            for done, row_plan in enumerate(plan.plans, start=1):
                row = row_plan.row
                _write_row(session, row_plan, actor=actor, now=now)
                if done % every == 0 and done < len(plan.plans):
                    yield done
    except InvalidInput as error:
        session.rollback()
        raise ImportFailed(row, error.field, error.message) from None
    except Exception:
        session.rollback()
        raise
    yield len(plan.plans)


def commit_import(
    session: Session,
    sheet: Sheet,
    *,
    actor: User,
    now: datetime,
    timezone: str,
    date_format: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> Preview:
    """Write every row through the ledger, or nothing: the caller commits, a failure rolls back.

    `progress(done, total)` hears how far the writing got, every PROGRESS_EVERY rows and at the end.
    """
    plan = checked_plan(session, sheet, timezone=timezone, now=now, date_format=date_format)
    for done in write_plan(session, plan, actor=actor, now=now):
        if progress is not None:
            progress(done, len(plan.plans))
    return plan


def _write_row(session: Session, plan: RowPlan, *, actor: User, now: datetime) -> None:
    values = plan.values
    key = name_key(plan.vendor)
    vendor = session.scalar(sa.select(Vendor).where(Vendor.name_key == key))
    extras = {name: values[name] for name in VENDOR_EXTRAS if values.get(name)}
    if vendor is None:
        vendor = create_vendor(session, now=now, name=plan.vendor, **extras)
    elif extras:
        update_vendor(session, vendor, **extras)
    contact = None
    if plan.contact:
        contact = next((c for c in vendor.contacts if c.name.casefold() == plan.contact.casefold()), None)
        if contact is None:
            contact = add_contact(
                session,
                vendor,
                now=now,
                name=plan.contact,
                role=values.get("contact_role", ""),
                email=values.get("contact_email", ""),
                phone=values.get("contact_phone", ""),
            )
    if not plan.has_commitment:
        return
    commitment: Commitment = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=plan.kind,
        title=plan.title,
        due_at=plan.due_at,
        actor=actor,
        now=now,
        contact=contact,
        notes=values.get("notes", ""),
    )
    category = _choice(ExcuseCategory, values["excuse_category"]) if values.get("excuse_category") else None
    match plan.status:
        case Status.kept:
            ledger.resolve_kept(session, commitment, actor=actor, now=now, done_at=plan.done_at)
        case Status.broken:
            ledger.resolve_broken(
                session,
                commitment,
                actor=actor,
                now=now,
                excuse_category=category,
                excuse=values.get("excuse", ""),
            )
        case Status.rescheduled:
            # A moved date in the file is history, confirmed by committing the previewed rows.
            ledger.reschedule(
                session,
                commitment,
                actor=actor,
                now=now,
                new_due_at=plan.new_due_at,
                excuse_category=category,
                excuse=values.get("excuse", ""),
                confirm_past=True,
            )
        case Status.cancelled:
            ledger.cancel(session, commitment, actor=actor, now=now, reason=values.get("reason", ""))


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", _l("Unknown time zone %(name)s.", name=name)) from None
    return name


def default_date_format(locale: str | None) -> str:
    """How a user's dates are read unless they choose: day first in most of Europe, month first in the US."""
    if not locale:
        return "auto"
    language, _sep, region = locale.replace("-", "_").partition("_")
    if language.casefold() == "en" and region.casefold() == "us":
        return "mdy"
    return "dmy" if language.casefold() in DAY_FIRST_LANGUAGES else "auto"


# -- uploads from the browser ---------------------------------------------------------------------

TOO_LARGE = _l("The file is larger than %(mb)d MB; split it into smaller files.", mb=MAX_UPLOAD_BYTES >> 20)
UPLOADS_KEPT = timedelta(days=1)  # an upload never committed is dropped when its owner uploads again after


def store_upload(
    session: Session,
    *,
    user: User,
    filename: str,
    data: bytes,
    timezone: str,
    date_format: str,
    now: datetime,
) -> ImportUpload:
    """Keep an uploaded file for its preview and commit; refuse one too large or not CSV text at all."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput("file", TOO_LARGE)
    read_sheet(data)
    check_timezone(timezone)
    if date_format not in DATE_FORMATS:
        raise InvalidInput("date_format", _l("Choose one of the date formats."))
    session.execute(
        sa.delete(ImportUpload).where(
            ImportUpload.user_id == user.id,
            ImportUpload.committed_at.is_(None),
            ImportUpload.created_at < now - UPLOADS_KEPT,
        )
    )
    filename = filename.replace("\x00", "")[:255]  # the browser's name for it: PostgreSQL refuses NUL
    upload = ImportUpload(
        user_id=user.id,
        filename=filename,
        data=data,
        timezone=timezone,
        date_format=date_format,
        created_at=now,
    )
    session.add(upload)
    session.flush()
    return upload


def claim_upload(session: Session, upload: ImportUpload, *, now: datetime) -> None:
    """Mark the upload committed, in the transaction that writes its rows; a second claim is refused.

    A conditional UPDATE, so two clicks or two workers cannot both import the same file.
    """
    claimed = session.execute(
        sa.update(ImportUpload)
        .where(ImportUpload.id == upload.id, ImportUpload.committed_at.is_(None))
        .values(committed_at=now)
    ).rowcount
    if claimed != 1:
        raise InvalidInput("file", _l("This file was already imported; nothing was imported again."))


TEMPLATE_ROWS = (
    {
        "vendor": "Example Print Ltd",
        "category": "Printing",
        "website": "https://print.example",
        "email": "office@print.example",
        "phone": "+48 22 555 01 00",
        "contact": "Anna Nowak",
        "contact_role": "Account manager",
        "contact_email": "anna@print.example",
        "kind": "deadline",
        "title": "Deliver 500 brochures",
        "due": "2025-03-14",
        "status": "kept",
        "done_at": "2025-03-13 16:30",
    },
    {
        "vendor": "Example Print Ltd",
        "contact": "Anna Nowak",
        "kind": "meeting",
        "title": "Proof review at our office",
        "due": "2025-04-02 10:00",
        "status": "broken",
        "excuse_category": "third_party",
        "excuse": "Their courier did not turn up",
    },
    {
        "vendor": "Example IT Services",
        "category": "IT",
        "kind": "promise",
        "title": "Send the quote for new laptops",
        "due": "2027-01-15",
        "status": "open",
        "notes": "Asked for three options",
    },
)


def template_csv() -> bytes:
    """A file to start from: every column, and a kept, a broken and an open commitment; UTF-8 with BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in TEMPLATE_ROWS:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
