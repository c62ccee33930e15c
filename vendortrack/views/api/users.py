"""API for admins: users (list, create, change, disable, enable) and their API tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort

from vendortrack import accounts
from vendortrack.extensions import db
from vendortrack.models import ApiToken, User
from vendortrack.views.api import schemas, user_schemas
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now
from vendortrack.views.api.rows import get_or_404, ledger_write, paginate

bp = ApiBlueprint(
    "api_users", __name__, url_prefix="/api/v1/users", description="Users and their API tokens; admins only."
)


@bp.before_request
def admin_only() -> None:
    # Runs after `authenticate`; reads too, since the list names everyone who can sign in.
    if not current_api_user().is_admin:
        abort(403, message=_("Only an admin may manage users."))


def admin_documented(*, write: bool = False, finds: bool = True):
    """`documented`, plus the 403 every non-admin gets, reads included."""

    def decorate(view):
        view = documented(bp, write=write, finds=finds)(view)
        return view if write else bp.alt_response(403, response="FORBIDDEN")(view)

    return decorate


@bp.route("")
class Users(MethodView):
    @admin_documented(finds=False)
    @bp.arguments(schemas.PageArgsSchema, location="query")
    @bp.response(200, user_schemas.UserPageSchema)
    def get(self, args: dict[str, Any]):
        """Every user, by email, disabled ones included."""
        return paginate(sa.select(User).order_by(User.email, User.id), args)

    @admin_documented(write=True, finds=False)
    @bp.arguments(user_schemas.UserCreateSchema)
    @bp.response(201, user_schemas.UserSchema)
    def post(self, values: dict[str, Any]):
        """Add a user who can sign in at once with the password given."""
        with ledger_write():
            user = accounts.create_user(db.session, now=request_now(), **values)
        return user


@bp.route("/<id:user_id>")
class UserItem(MethodView):
    @admin_documented()
    @bp.response(200, user_schemas.UserSchema)
    def get(self, user_id: int):
        """One user."""
        return get_or_404(User, user_id)

    @admin_documented(write=True)
    @bp.arguments(user_schemas.UserPatchSchema)
    @bp.response(200, user_schemas.UserSchema)
    def patch(self, values: dict[str, Any], user_id: int):
        """Change a user's role, name or time zone; the last active admin stays an admin."""
        user = get_or_404(User, user_id)
        with ledger_write():
            if "role" in values:
                accounts.change_role(db.session, user, values["role"])
            if "name" in values:
                user.name = values["name"].strip()
            if "timezone" in values and values["timezone"] != user.timezone:
                user.timezone = values["timezone"]
                user.digest_next_at = None  # the digest job works out the next Monday afresh
        return user


@bp.route("/<id:user_id>/disable", methods=["POST"])
@admin_documented(write=True)
@bp.response(200, user_schemas.UserSchema)
def disable(user_id: int):
    """Sign a user out everywhere and stop their tokens; not yourself, nor the last active admin."""
    user = get_or_404(User, user_id)
    with ledger_write():
        accounts.disable_account(db.session, user, actor=current_api_user(), now=request_now())
    return user


@bp.route("/<id:user_id>/enable", methods=["POST"])
@admin_documented(write=True)
@bp.response(200, user_schemas.UserSchema)
def enable(user_id: int):
    """Let a disabled user sign in again; their tokens work again too."""
    user = get_or_404(User, user_id)
    with ledger_write():
        accounts.enable_user(user)
    return user


@bp.route("/<id:user_id>/tokens")
class Tokens(MethodView):
    @admin_documented()
    @bp.arguments(schemas.PageArgsSchema, location="query")
    @bp.response(200, user_schemas.ApiTokenPageSchema)
    def get(self, args: dict[str, Any], user_id: int):
        """The user's API tokens, newest first, revoked ones included; never their secrets."""
        user = get_or_404(User, user_id)
        tokens = sa.select(ApiToken).where(ApiToken.user_id == user.id)
        return paginate(tokens.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()), args)

    @admin_documented(write=True)
    @bp.response(201, user_schemas.IssuedTokenSchema)
    def post(self, user_id: int):
        """A new API token for the user, returned this once: only its hash is kept."""
        user = get_or_404(User, user_id)
        with ledger_write():
            secret = accounts.issue_token(db.session, user, now=request_now())
        return {"user_id": user.id, "token": secret}


@bp.route("/<id:user_id>/tokens/<id:token_id>/revoke", methods=["POST"])
@admin_documented(write=True)
@bp.response(200, user_schemas.ApiTokenSchema)
def revoke_token(user_id: int, token_id: int):
    """Stop one of the user's tokens at once; revoking a revoked token changes nothing."""
    user = get_or_404(User, user_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        abort(404, message=_("The user has no token #%(id)d.", id=token_id))
    with ledger_write():
        accounts.revoke_token(db.session, token, request_now())
    return token
