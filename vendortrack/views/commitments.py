"""Commitment pages (stub)."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("commitments", __name__, url_prefix="/commitments")


@bp.route("/")
@login_required
def index():
    return "commitments"
