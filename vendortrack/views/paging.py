"""One page of a list for the HTML views, with the page number checked before it reaches SQL."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_sqlalchemy.pagination import Pagination

from vendortrack.extensions import db

MAX_PAGE = 100_000  # far past any real list; a larger offset overflows SQLite's integers


def paginate(query: sa.Select) -> Pagination:
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return db.paginate(
        query, page=page, per_page=current_app.config["VENDORTRACK_PAGE_SIZE"], error_out=False
    )


def text_arg(name: str, limit: int) -> str:
    """A free-text query argument, trimmed, bounded, and without the NUL PostgreSQL refuses."""
    return request.args.get(name, "").replace("\x00", "").strip()[:limit]
