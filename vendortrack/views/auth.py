"""Sign in, sign out, and the user's own profile (time zone, weekly digest, password)."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from vendortrack import accounts, throttle
from vendortrack.accounts import authenticate, check_password_strength, end_sessions, update_profile
from vendortrack.extensions import db
from vendortrack.forms import Form
from vendortrack.i18n import LANGUAGES
from vendortrack.security import is_local_path
from vendortrack.timeutil import TIMEZONES, utcnow
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views.calendar import profile_panel

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class ProfileForm(Form):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    timezone = SelectField(_l("Time zone"), choices=[("", _l("The installation's default"))])
    # None (no choice made) reads as "", the browser's choice, so a form without it is still valid.
    locale = SelectField(
        _l("Language"), choices=[("", _l("As my browser asks"))], filters=[lambda value: value or ""]
    )
    digest_enabled = BooleanField(_l("Send me the weekly digest"), default=True)
    current_password = PasswordField(_l("Current password"), validators=[Length(max=1000)])
    new_password = PasswordField(_l("New password"), validators=[Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [("", _("The installation's default"))] + [(tz, tz) for tz in TIMEZONES]
        self.locale.choices = [("", _("As my browser asks")), *LANGUAGES.items()]


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_page = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_page if is_local_path(next_page) else url_for("index"))
    form = LoginForm()
    if form.validate_on_submit():
        now, address = utcnow(), request.remote_addr
        limits = throttle.Limits.from_config(current_app.config)
        # The count and the attempt in one write, so tries sent at once cannot each find room left.
        with writing(db.session):
            # Asked before the password is even checked, and the same for any email, known or not.
            wait = throttle.retry_after(db.session, form.email.data, address, now, limits)
            if not wait:
                user = authenticate(db.session, form.email.data, form.password.data)
                throttle.record_attempt(db.session, form.email.data, address, now, succeeded=user is not None)
        if wait:
            return _too_many_attempts(form, wait)
        # One answer for an unknown address and a wrong password: nothing to learn by trying.
        if user is None:
            flash(_("Wrong email or password."), "danger")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(next_page if is_local_path(next_page) else url_for("index"))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


def _too_many_attempts(form: LoginForm, wait: timedelta):
    minutes = max(1, math.ceil(wait / timedelta(minutes=1)))
    message = ngettext(
        "Too many sign-in attempts. Try again in %(num)d minute.",
        "Too many sign-in attempts. Try again in %(num)d minutes.",
        minutes,
    )
    flash(message, "danger")
    retry = str(max(1, math.ceil(wait.total_seconds())))
    return render_template("auth/login.html", form=form), 429, {"Retry-After": retry}


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # A new token, so a copy of this session cookie (or a remember-me cookie) stops working too.
        with writing(db.session):
            end_sessions(current_user._get_current_object())
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _profile_page(form: ProfileForm, status: int):
    user = current_user._get_current_object()
    calendar = profile_panel(user)
    return render_template(
        "auth/profile.html",
        form=form,
        password_min_length=accounts.password_policy().min_length,
        tokens=accounts.tokens_of(db.session, user),
        **calendar,
    ), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.timezone.data = current_user.timezone or ""
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        try:
            if form.new_password.data:
                if not accounts.password_matches(current_user, form.current_password.data or ""):
                    raise InvalidInput("current_password", _("Your current password is wrong."))
                check_password_strength(form.new_password.data, user=current_user)
        except InvalidInput as error:
            getattr(form, error.field, form.new_password).errors.append(str(error.message))
            return _profile_page(form, 400)
        with writing(db.session):
            update_profile(
                current_user._get_current_object(),
                name=form.name.data or "",
                timezone=form.timezone.data or None,
                locale=form.locale.data or None,
                digest_enabled=bool(form.digest_enabled.data),
            )
            if form.new_password.data:
                accounts.set_password(current_user, form.new_password.data)  # also rotates the session token
        login_user(current_user._get_current_object())  # keep this browser signed in under the new token
        refresh()  # say it in the language just chosen
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return _profile_page(form, 400 if form.errors else 200)
