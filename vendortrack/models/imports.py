"""A CSV file uploaded for import, kept between its preview and its commit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vendortrack.extensions import db


class ImportUpload(db.Model):
    """The bytes as uploaded, with the choices made for reading them.

    Kept in the database rather than on a worker's disk, so the preview and the commit may land
    on different workers. `committed_at` marks the one upload whose rows went into the ledger.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    date_format: Mapped[str] = mapped_column(sa.String(8), default="auto")
    created_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]
