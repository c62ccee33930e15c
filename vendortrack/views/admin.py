"""Admin pages (stub)."""

from flask import Blueprint

from vendortrack.permissions import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@admin_required
def users():
    return "users"
