"""Vendor pages: list, search, create, edit, archive; contacts. (stub, filled in below)"""

from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("vendors", __name__, url_prefix="/vendors")


@login_required
def home():
    return redirect(url_for("vendors.index"))


@bp.route("/")
@login_required
def index():
    return "vendors"
