"""API for the caller themselves: whose token this is, what it may do, and their own profile."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from vendortrack import accounts
from vendortrack.views.api import schemas, user_schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented
from vendortrack.views.api.rows import ledger_write

bp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1", description="Who the token belongs to.")


# The endpoint is named so that `guard.SELF_SERVICE` can let viewers write here and nowhere else.
@bp.route("/me", endpoint="me")
class Me(MethodView):
    @documented(bp, finds=False)
    @bp.response(200, schemas.MeSchema)
    def get(self):
        """The user the token belongs to, with their role."""
        return current_api_user()

    @documented(bp, write=True, finds=False)
    @bp.arguments(user_schemas.MePatchSchema)
    @bp.response(200, schemas.MeSchema)
    def patch(self, values: dict[str, Any]):
        """Change your own name, time zone, language or weekly digest; viewers too, as on their profile."""
        user = current_api_user()
        with ledger_write():
            accounts.update_profile(user, **values)
        return user
