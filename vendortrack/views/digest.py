"""The digest in the browser, and one-click unsubscribe from it through a secret link."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
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
    week, now = text_arg("week", 40), utcnow()
    try:
        end = digest.digest_end(user, week, now)
    except InvalidInput as error:
        return None, str(error)
    # As of now for the week in progress: never figures as of its end, which has not come.
    cache = digest.WeekCache.from_config(current_app.config)
    return digest.preview(db.session, user, end, cache, now=now), None


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


@bp.route("/unsubscribe/<secret>", methods=["GET", "POST"])
@csrf.exempt  # the secret is the proof; mail clients send RFC 8058 one-click POSTs without a form
def unsubscribe(secret: str):
    # The pages name no one: whoever holds a forwarded digest learns no address from its link.
    if request.method == "POST":
        with writing(db.session):
            done = digest.unsubscribe(db.session, secret)
        if done:
            return render_template("digest/unsubscribed.html")
    # A GET only asks: link scanners in mail systems open links, and must not unsubscribe anyone.
    elif digest.unsubscribe_link_works(db.session, secret):
        return render_template("digest/unsubscribe.html", secret=secret)
    return render_template("digest/unsubscribe_gone.html"), 404
