"""The secret calendar feed, and the profile's controls for it: which commitments, and a new address."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField

from vendortrack import calendar_feed
from vendortrack.extensions import db
from vendortrack.models.user import CalendarScope, User
from vendortrack.unit_of_work import writing

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


class CalendarScopeForm(FlaskForm):
    calendar_scope = RadioField(
        _l("Show in the calendar"),
        choices=[
            (CalendarScope.mine.value, _l("My commitments")),
            (CalendarScope.all.value, _l("All commitments")),
        ],
    )


def feed_url(secret: str) -> str:
    # The configured base URL, as in emails: what a calendar app subscribes to from outside.
    return current_app.config["VENDORTRACK_BASE_URL"] + url_for("calendar.feed", secret=secret)


def profile_panel(user: User) -> dict:
    """What the profile page needs to show the feed: its address (made on first view) and forms."""
    secret = calendar_feed.ensure_secret(db.session, user)
    return {
        "calendar_url": feed_url(secret),
        "calendar_scope_form": CalendarScopeForm(formdata=None, calendar_scope=user.calendar_scope.value),
    }


@bp.get("/<secret>.ics")
def feed(secret: str):
    # No sign-in: the secret in the URL is the credential, and it opens this feed and nothing else.
    user = calendar_feed.feed_owner(db.session, secret)
    if user is None:
        abort(404)
    body = calendar_feed.build_feed(
        user,
        calendar_feed.feed_commitments(db.session, user),
        base_url=current_app.config["VENDORTRACK_BASE_URL"],
        default_tz=current_app.config["VENDORTRACK_TIMEZONE"],
    )
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="vendortrack.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/scope")
@login_required
def choose_scope():
    form = CalendarScopeForm()
    if form.validate_on_submit():
        with writing(db.session):
            current_user.calendar_scope = CalendarScope(form.calendar_scope.data)
        flash(_("Your calendar choice is saved."), "success")
    else:
        flash(_("Choose which commitments the calendar shows."), "danger")
    return redirect(url_for("auth.profile", _anchor="calendar"))


@bp.post("/secret")
@login_required
def new_secret():
    # The CSRF check (app-wide) is the only input: the button is the whole request.
    with writing(db.session):
        calendar_feed.regenerate_secret(current_user)
    flash(_("Your calendar feed has a new address; the old one no longer works."), "success")
    return redirect(url_for("auth.profile", _anchor="calendar"))
