"""API for the caller themselves: whose token this is and what it may do."""

from __future__ import annotations

from vendortrack.views.api import schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented

bp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1", description="Who the token belongs to.")


@bp.route("/me")
@documented(bp, finds=False)
@bp.response(200, schemas.MeSchema)
def me():
    """The user the token belongs to, with their role."""
    return current_api_user()
