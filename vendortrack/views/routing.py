"""The URL converter every route with an id uses, pages and API alike: `<id:vendor_id>`."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from vendortrack.views.api.schemas import ROW_ID_MAX


class RowIdConverter(IntegerConverter):
    """A positive id PostgreSQL's integer can hold; a larger one is a 404, never the driver's overflow."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=ROW_ID_MAX)
