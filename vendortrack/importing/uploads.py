"""Files uploaded from the browser, kept for their preview and their commit, each committed once."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack.importing.checking import DATE_FORMATS, check_timezone
from vendortrack.importing.reading import read_sheet
from vendortrack.models import ImportUpload, User
from vendortrack.validation import InvalidInput

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # some 50,000 rows: past that, split the file
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
