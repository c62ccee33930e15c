"""The digest in the browser, and one-click unsubscribe from it through a signed link."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from vendortrack.digest import user_id_for_unsubscribe
from vendortrack.extensions import csrf, db
from vendortrack.models import User

bp = Blueprint("digest", __name__)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail clients send RFC 8058 one-click POSTs without a form
def unsubscribe(token: str):
    user_id = user_id_for_unsubscribe(token)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    if request.method == "POST":
        db.session.execute(
            sa.update(User).where(User.id == user.id).values(digest_enabled=False, digest_next_at=None)
        )
        db.session.commit()
        return render_template("digest/unsubscribed.html", email=user.email, message=_("Unsubscribed."))
    # A GET only asks: link scanners in mail systems open links, and must not unsubscribe anyone.
    return render_template("digest/unsubscribe.html", email=user.email, token=token)
