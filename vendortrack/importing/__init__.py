"""CSV import of vendors, contacts and commitments: read, preview every row, then commit all or nothing.

reading.py reads the file, checking.py previews every row and names every problem, writing.py writes
a clean file through the ledger, uploads.py keeps a browser's file between its preview and its commit.
"""

from vendortrack.importing.checking import (
    DATE_FORMATS,
    Preview,
    RowPlan,
    check_timezone,
    default_date_format,
    parse_moment,
    preview,
)
from vendortrack.importing.reading import COLUMNS, Problem, Sheet, read_sheet, read_text, template_csv
from vendortrack.importing.uploads import MAX_UPLOAD_BYTES, TOO_LARGE, claim_upload, store_upload
from vendortrack.importing.writing import (
    ImportFailed,
    checked_plan,
    commit_import,
    default_actor,
    write_plan,
)

__all__ = [
    "COLUMNS",
    "DATE_FORMATS",
    "MAX_UPLOAD_BYTES",
    "TOO_LARGE",
    "ImportFailed",
    "Preview",
    "Problem",
    "RowPlan",
    "Sheet",
    "check_timezone",
    "checked_plan",
    "claim_upload",
    "commit_import",
    "default_actor",
    "default_date_format",
    "parse_moment",
    "preview",
    "read_sheet",
    "read_text",
    "store_upload",
    "template_csv",
    "write_plan",
]
