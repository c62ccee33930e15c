"""Admin pages: users (invite, role, disable, enable), the scheduled jobs, the outbox, digest previews,
and the log of every ledger event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import defer
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from vendortrack import accounts, audit, digest, jobs, mail
from vendortrack.extensions import db
from vendortrack.forms import Form
from vendortrack.models import ApiToken, JobRun, MailKind, MailState, OutboxMessage, Role, User, Vendor
from vendortrack.permissions import admin_required, event_log_required
from vendortrack.security import is_local_path
from vendortrack.templating import ROLE_LABELS
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views.locale import current_timezone
from vendortrack.views.paging import paginate, text_arg
from vendortrack.views.saving import save

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in Role]


class InviteForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.viewer.value)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=1000)])


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


def _users_page(
    invite_form: InviteForm | None = None, failed: tuple[int, RoleForm] | None = None, status: int = 200
):
    """The list, with a refused form (the invite, or one row's role) shown as it was sent."""
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    role_forms = {u.id: RoleForm(formdata=None, data={"role": u.role.value}) for u in users}
    if failed is not None:
        role_forms[failed[0]] = failed[1]
    return render_template(
        "admin/users.html",
        users=users,
        role_forms=role_forms,
        invite_form=invite_form or InviteForm(formdata=None),
        password_min_length=accounts.password_policy().min_length,
        unused_tokens=accounts.unused_tokens(db.session, utcnow()),
        unused_days=accounts.TOKEN_UNUSED_AFTER.days,
    ), status


@bp.get("/users")
@admin_required
def users():
    return _users_page()


@bp.post("/users/invite")
@admin_required
def invite():
    form = InviteForm()
    if form.validate_on_submit() and (
        user := save(
            form,
            lambda: accounts.create_user(
                db.session,
                email=form.email.data,
                name=form.name.data or "",
                role=form.role.data,
                password=form.password.data,
                now=utcnow(),
            ),
        )
    ):
        flash(_("%(email)s can now sign in with the password you set.", email=user.email), "success")
        return redirect(url_for("admin.users"))
    return _users_page(invite_form=form, status=400)


@bp.post("/users/<id:user_id>/role")
@admin_required
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            with writing(db.session):
                accounts.change_role(db.session, user, form.role.data)
        except InvalidInput as error:
            form.role.errors.append(str(error))
            flash(str(error), "danger")
        else:
            flash(_("%(email)s is now: %(role)s.", email=user.email, role=ROLE_LABELS[user.role]), "success")
            # An admin who gave up the role can no longer see the list they were on.
            return redirect(url_for("admin.users") if current_user.is_admin else url_for("index"))
    return _users_page(failed=(user.id, form), status=400)


@bp.post("/users/<id:user_id>/disable")
@admin_required
def disable(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        with writing(db.session):
            accounts.disable_account(db.session, user, actor=current_user, now=utcnow())
    except InvalidInput as error:
        flash(str(error), "danger")
        return _users_page(status=400)
    flash(_("%(email)s is disabled and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/enable")
@admin_required
def enable(user_id: int):
    user = db.get_or_404(User, user_id)
    with writing(db.session):
        accounts.enable_user(user)
    flash(_("%(email)s can sign in again.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/tokens/<id:token_id>/revoke")
@admin_required
def revoke_token(token_id: int):
    """Stop an API token at once, from the list of those unused for long."""
    token = db.get_or_404(ApiToken, token_id)
    with writing(db.session):
        accounts.revoke_token(db.session, token, utcnow())
    flash(
        _("The API token of %(email)s is revoked: it stops working at once.", email=token.user.email),
        "success",
    )
    return redirect(url_for("admin.users", _anchor="unused-tokens"))


# -- scheduled jobs -------------------------------------------------------------------------------

RUNS_SHOWN = 20
STALE_TICKS = 5  # no run for this many ticks: the scheduler is most likely not running
JOB_LABELS = {
    "overdue": _l("Overdue check"),
    "unanswered": _l("Unanswered complaints check"),
    "reminders": _l("Due-soon reminders"),
    "digests": _l("Weekly digests"),
    "outbox": _l("Outbox sender"),
    "tally": _l("Score sums check"),
    "attempts": _l("Old sign-in attempts clean-up"),
}
# What each job's result counts, in words; a key not listed here is shown as it is.
RESULT_LABELS = {
    "flagged": _l("flagged overdue"),
    "unanswered": _l("complaints flagged unanswered"),
    "reminded": _l("reminded"),
    "emails": _l("emails queued"),
    "due": _l("digests due"),
    "queued": _l("digests queued"),
    "sent": _l("sent"),
    "retried": _l("to retry"),
    "failed": _l("failed"),
    "rebuilt": _l("every sum rebuilt from the ledger"),
    "rolled_up": _l("the settled months rolled up"),
    "vendors": _l("vendors checked"),
    "differences": _l("differences found"),
    "repaired": _l("vendors repaired"),
    "found": _l("found"),
    "removed": _l("old sign-in attempts removed"),
}


@dataclass(frozen=True)
class JobStatus:
    """One job as the jobs page shows it: its recent runs, newest first, and when it runs next."""

    name: str
    runs: list[JobRun]
    next_run_at: datetime | None  # None: never ran, so it runs when the scheduler next ticks
    stale: bool

    @property
    def label(self) -> str:
        return str(JOB_LABELS.get(self.name, self.name))

    @property
    def last(self) -> JobRun | None:
        return self.runs[0] if self.runs else None


def next_night(after: datetime, zone: str) -> datetime:
    """The first NIGHTLY_AT on the installation's clock after a moment, in UTC."""
    local = after.astimezone(ZoneInfo(zone))
    at = datetime.combine(local.date(), jobs.NIGHTLY_AT, tzinfo=local.tzinfo)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), jobs.NIGHTLY_AT, tzinfo=local.tzinfo)
    return at.astimezone(UTC)


def job_statuses(now: datetime, tick: timedelta, zone: str) -> list[JobStatus]:
    statuses = []
    for name in jobs.JOBS:
        runs = db.session.scalars(
            sa.select(JobRun)
            .where(JobRun.job == name)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .limit(RUNS_SHOWN)
        ).all()
        last = runs[0].started_at if runs else None
        if name in jobs.NIGHTLY:
            next_run_at = next_night(last, zone) if last else None
            stale = last is None or now - last > timedelta(days=1) + STALE_TICKS * tick
        else:
            next_run_at = last + tick if last else None
            stale = last is None or now - last > STALE_TICKS * tick
        statuses.append(JobStatus(name=name, runs=list(runs), next_run_at=next_run_at, stale=stale))
    return statuses


def run_duration(run: JobRun) -> str:
    if run.finished_at is None:
        return _("still running") if not run.error else "—"
    seconds = max((run.finished_at - run.started_at).total_seconds(), 0.0)
    if seconds < 60:
        return _("%(seconds)s s", seconds=format_decimal(round(seconds, 2)))
    minutes, rest = divmod(round(seconds), 60)
    return _("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=rest)


def run_result(result: dict[str, Any] | None) -> str:
    """{"flagged": 3, "emails": 2} as "flagged overdue: 3, emails queued: 2"; a list (what the tally
    check found) as its items, and left out when empty; a flag (the sums rebuilt) as its words alone."""
    if not result:
        return "—"
    shown = []
    for key, value in result.items():
        if value is True:
            shown.append(str(RESULT_LABELS.get(key, key)))
            continue
        if isinstance(value, list):
            if not value:
                continue
            value = "; ".join(str(item) for item in value)
        shown.append(f"{RESULT_LABELS.get(key, key)}: {value}")
    return ", ".join(shown)


@bp.get("/jobs")
@admin_required
def jobs_page():
    now = utcnow()
    tick = timedelta(seconds=current_app.config["VENDORTRACK_SCHEDULER_TICK"])
    statuses = job_statuses(now, tick, current_app.config["VENDORTRACK_TIMEZONE"])
    return render_template(
        "admin/jobs.html",
        statuses=statuses,
        run_duration=run_duration,
        run_result=run_result,
        # A nightly job's age says little about a scheduler that ticks every minute.
        scheduler_down=all(status.stale for status in statuses if status.name not in jobs.NIGHTLY),
        stale_after=STALE_TICKS * tick,
        tick_seconds=int(tick.total_seconds()),
    )


# -- outbox ---------------------------------------------------------------------------------------

MAIL_STATE_LABELS = {
    MailState.queued: _l("Queued"),
    MailState.sending: _l("Sending"),
    MailState.sent: _l("Sent"),
    MailState.failed: _l("Failed"),
}
MAIL_STATE_BADGES = {
    MailState.queued: "text-bg-primary",
    MailState.sending: "text-bg-info",
    MailState.sent: "text-bg-success",
    MailState.failed: "text-bg-danger",
}
MAIL_KIND_LABELS = {
    MailKind.overdue: _l("Overdue"),
    MailKind.reminder: _l("Reminder"),
    MailKind.digest: _l("Digest"),
}
RETRYABLE = (MailState.failed, MailState.queued)


def _choice(name: str, choices: type[MailState] | type[MailKind]):
    """A filter argument, or None for anything that is not one of the choices (as the other lists do)."""
    value = request.args.get(name, "")
    return choices(value) if value in set(choices) else None


@bp.get("/outbox")
@admin_required
def outbox():
    state, kind = _choice("state", MailState), _choice("kind", MailKind)
    query = (
        sa.select(OutboxMessage)
        .options(defer(OutboxMessage.body_text), defer(OutboxMessage.body_html))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
        ).all()
    )
    return render_template(
        "admin/outbox.html",
        page=paginate(query),
        state=state,
        kind=kind,
        counts={s: counts.get(s, 0) for s in MailState},
        retryable=RETRYABLE,
        STATE_LABELS=MAIL_STATE_LABELS,
        STATE_BADGES=MAIL_STATE_BADGES,
        MAIL_KIND_LABELS=MAIL_KIND_LABELS,
    )


# A stored message's HTML, framed on its own page: the app's own mail, but shown as a sandbox with no
# script, no form and no request outward, whatever it holds. Inline styles stay, as the mail client
# would show them; the page may be framed by the app alone.
MESSAGE_HTML_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "SAMEORIGIN",
}


@bp.get("/outbox/<id:message_id>")
@admin_required
def message(message_id: int):
    """One email as it was queued: its headers, its text and its HTML."""
    row = db.get_or_404(OutboxMessage, message_id)
    return render_template(
        "admin/message.html",
        m=row,
        retryable=RETRYABLE,
        STATE_LABELS=MAIL_STATE_LABELS,
        STATE_BADGES=MAIL_STATE_BADGES,
        MAIL_KIND_LABELS=MAIL_KIND_LABELS,
    )


@bp.get("/outbox/<id:message_id>/html")
@admin_required
def message_html(message_id: int):
    row = db.get_or_404(OutboxMessage, message_id)
    if not row.body_html:
        abort(404)
    return Response(row.body_html, mimetype="text/html", headers=MESSAGE_HTML_HEADERS)


@bp.post("/outbox/<id:message_id>/retry")
@admin_required
def retry_message(message_id: int):
    with writing(db.session):
        # Read inside the write, and locked on PostgreSQL (SQLite's write transaction holds the lock
        # already), so a sender cannot claim and deliver it between our read and our write, and
        # then send it again.
        message = db.session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            abort(404)
        retryable = message.state in RETRYABLE
        if retryable:
            mail.retry_now(message, utcnow())
    if retryable:
        flash(
            _("The message to %(recipient)s goes out on the next outbox run.", recipient=message.recipient),
            "success",
        )
    else:
        state = MAIL_STATE_LABELS[message.state]
        flash(
            _("Only a failed or queued message can be retried; this one is: %(state)s.", state=state),
            "warning",
        )
    back = request.form.get("next", "")
    return redirect(
        back if is_local_path(back) and back.startswith(url_for("admin.outbox")) else url_for("admin.outbox")
    )


@bp.get("/digest")
@admin_required
def digest_preview():
    """Any user's digest for any week, as they would get it: subject, HTML and text."""
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    raw_id, week = text_arg("user_id", 20), text_arg("week", 40)
    user, preview, error, status = None, None, None, 200
    if raw_id:
        user = db.session.get(User, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
        if user is None:
            error, status = _("User: there is no user #%(id)s.", id=raw_id), 404
        else:
            try:
                now = utcnow()
                end = digest.digest_end(user, week, now)
                preview = digest.preview(
                    db.session, user, end, digest.WeekCache.from_config(current_app.config), now=now
                )
            except InvalidInput as refused:
                error, status = str(refused), 400
    return render_template(
        "admin/digest.html", users=users, user=user, week=week, preview=preview, error=error
    ), status


# -- every ledger event ---------------------------------------------------------------------------

FILTER_ARGS = ("user_id", "vendor_id", "from", "to")


@bp.get("/events")
@event_log_required
def events():
    """Every change to every commitment, newest first, by user, vendor and time on the admin's clock."""
    tz = current_timezone()
    where, errors = audit.read_filter(db.session, request.args, tz)
    cursor, cursor_error = audit.read_cursor(db.session, request.args)
    if cursor_error:
        errors["page"] = cursor_error
    page = (
        None
        if errors
        else audit.events(
            db.session,
            user_id=where.user_id,
            vendor_id=where.vendor_id,
            since=where.since,
            until=where.until,
            per_page=current_app.config["VENDORTRACK_PAGE_SIZE"],
            **cursor,
        )
    )
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    vendors = db.session.execute(
        sa.select(Vendor.id, Vendor.name, Vendor.archived_at).order_by(Vendor.name_key)
    ).all()
    shown = {name: request.args.get(name, "")[:100] for name in FILTER_ARGS}
    return render_template(
        "admin/events.html",
        page=page,
        errors=errors,
        shown=shown,
        users=users,
        vendors=vendors,
        tz=tz,
        filters={name: value for name, value in shown.items() if value},
        filtered=any(shown.values()),
        paged=bool(cursor),
        SCHEDULER=audit.SCHEDULER,
    ), (400 if errors else 200)
