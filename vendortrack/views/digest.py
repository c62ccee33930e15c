"""The digest in the browser, and one-click unsubscribe from it through a signed link."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from vendortrack import digest
from vendortrack.extensions import csrf, db
from vendortrack.models import User
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views.paging import text_arg
from vendortrack.week import WEEK

bp = Blueprint("digest", __name__)


def week_or_error(user: User) -> tuple[digest.Preview | None, str | None]:
    """The user's digest for ?week= (their latest one without it), or the message saying why not."""
    week = text_arg("week", 40)
    try:
        end = digest.digest_end(user, week, utcnow())
    except InvalidInput as error:
        return None, str(error)
    return digest.preview(db.session, user, end, digest.WeekCache.from_config(current_app.config)), None


def week_links(preview: digest.Preview) -> dict[str, str]:
    """?week= values of the week before and the week after the one shown."""
    start, tz = preview.week.start, preview.tz
    return {
        "previous": digest.week_name(start - WEEK, tz),
        "this": digest.week_name(start, tz),
        "next": digest.week_name(preview.week.end, tz),
    }


@bp.get("/digest")
@login_required
def show():
    preview, error = week_or_error(current_user)
    return render_template(
        "digest/show.html",
        preview=preview,
        error=error,
        weeks=week_links(preview) if preview else None,
        week_value=text_arg("week", 40),
    ), (400 if error else 200)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail clients send RFC 8058 one-click POSTs without a form
def unsubscribe(token: str):
    user_id = digest.user_id_for_unsubscribe(token)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    if request.method == "POST":
        with writing(db.session):
            db.session.execute(
                sa.update(User).where(User.id == user.id).values(digest_enabled=False, digest_next_at=None)
            )
        return render_template("digest/unsubscribed.html", email=user.email, message=_("Unsubscribed."))
    # A GET only asks: link scanners in mail systems open links, and must not unsubscribe anyone.
    return render_template("digest/unsubscribe.html", email=user.email, token=token)
