"""The file an import reads: its columns and their spreadsheet names, CSV text as rows of them, a template.

A row is a commitment unless its `record` column says complaint: a complaint row shares the vendor,
contact, title and notes columns with commitments, and has columns of its own (COMPLAINT_COLUMNS).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from vendortrack.validation import InvalidInput

SNIFF_CHARS = 64 * 1024
VENDOR_EXTRAS = ("category", "website", "email", "phone")
CONTACT_EXTRAS = ("contact_role", "contact_email", "contact_phone")
# What a row records: a commitment (the default) or a complaint.
RECORDS = ("commitment", "complaint")
# The columns only a commitment row fills, and those only a complaint row fills.
COMMITMENT_COLUMNS = (
    "kind",
    "due",
    "status",
    "done_at",
    "new_due",
    "notified_at",
    "excuse_category",
    "excuse",
    "reason",
)
COMPLAINT_COLUMNS = (
    "severity",
    "channel",
    "raised_at",
    "answered_at",
    "case_owner",
    "apologised",
    "resolution",
    "resolved_at",
    "satisfied",
)
COLUMNS = (
    "record",
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
    "notified_at",
    *COMPLAINT_COLUMNS,
)
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
    "details": "notes",
    "row type": "record",
    "record type": "record",
    "entry": "record",
    "notified": "notified_at",
    "warned at": "notified_at",
    "notice given": "notified_at",
    "raised": "raised_at",
    "complained at": "raised_at",
    "answered": "answered_at",
    "acknowledged at": "answered_at",
    "acknowledged": "answered_at",
    "first answer": "answered_at",
    "owner at vendor": "case_owner",
    "apologized": "apologised",
    "resolved": "resolved_at",
    "how raised": "channel",
}


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
    {
        "vendor": "Example IT Services",
        "kind": "deadline",
        "title": "Install the new server",
        "due": "2025-05-09",
        "status": "rescheduled",
        "new_due": "2025-05-23",
        "notified_at": "2025-05-08 17:45",
        "excuse_category": "third_party",
        "excuse": "The parts are stuck in customs",
    },
    {
        "record": "complaint",
        "vendor": "Example Print Ltd",
        "contact": "Anna Nowak",
        "title": "Brochures delivered with smudged ink",
        "notes": "About a third of the boxes",
        "severity": "major",
        "channel": "email",
        "raised_at": "2025-03-17 09:15",
        "answered_at": "2025-03-17 14:00",
        "case_owner": "Anna Nowak",
        "apologised": "yes",
        "resolution": "compensated",
        "resolved_at": "2025-03-24 12:00",
        "satisfied": "yes",
    },
)


def template_csv() -> bytes:
    """A file to start from: every column, a kept, a broken, an open and a moved commitment and a
    complaint; UTF-8 with BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in TEMPLATE_ROWS:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
