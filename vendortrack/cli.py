"""flask commands: users, demo data, and `serve`, the embedded default's web server."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_migrate import upgrade

from config import DEFAULT_PORT
from vendortrack import jobs
from vendortrack.accounts import create_user, find_user, issue_token, set_password
from vendortrack.demo import DEMO_ADMIN, DemoResult, load_demo
from vendortrack.extensions import db
from vendortrack.models import Role, User, Vendor
from vendortrack.supervisor import embedded_processes, links_base_url, run_processes
from vendortrack.timeutil import CLOCK_SKEW, is_aware, utcnow
from vendortrack.validation import InvalidInput

if TYPE_CHECKING:
    from vendortrack.jobs import DryRun

users_cli = AppGroup("users", help="Create and list users, set passwords, issue API tokens.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process: overdue flags, reminders, digests, mail.")
jobs_cli = AppGroup("jobs", help="Run one scheduled job once, for cron users and tests.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")
tally_cli = AppGroup("tally", help="The monthly score sums: prove them against the ledger, repair them.")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(serve)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(tally_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(import_command)


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduler in the foreground until SIGTERM; only one per installation."""
    from flask import current_app

    from vendortrack import scheduler

    scheduler.serve(current_app._get_current_object())


class AwareMoment(click.ParamType):
    """An ISO 8601 moment with its time zone offset, such as 2026-06-30T12:00:00Z."""

    name = "moment"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(
                _("%(value)s is not an ISO 8601 moment such as 2026-06-30T12:00:00Z.", value=value),
                param,
                ctx,
            )
        if not is_aware(moment):
            self.fail(_("Give the moment a time zone offset, such as 2026-06-30T12:00:00Z."), param, ctx)
        return moment


@jobs_cli.command("run")
@click.argument("name", type=click.Choice(sorted(jobs.JOBS)))
@click.option("--now", type=AwareMoment(), default=None, help="Run as if it were this moment (default: now).")
@click.option("--dry-run", is_flag=True, help="Print what the job would do; write nothing, send nothing.")
@click.option("--force", is_flag=True, help="Run even with a --now ahead of the clock.")
def jobs_run(name: str, now: datetime | None, dry_run: bool, force: bool) -> None:
    """Run one job once, as of --now, and print what it did."""
    if dry_run:
        describe_dry_run(name, jobs.dry_run(name, db.engine, now or utcnow()))
        return
    clock = utcnow()
    if now is not None and now > clock + CLOCK_SKEW and not force:
        # A future moment would date its flags and emails in the future, in the real ledger and outbox.
        raise click.ClickException(
            _(
                "--now %(now)s is ahead of the clock (%(clock)s): the job would record events and mail dated "
                "in the future. Nothing was run. See what it would do with --dry-run, or run it anyway "
                "with --force.",
                now=now.isoformat(),
                clock=clock.isoformat(timespec="seconds"),
            )
        )
    result = jobs.run(name, db.session, now)
    click.echo(f"{name}: " + ", ".join(f"{key}={value}" for key, value in result.items()))


def describe_dry_run(name: str, dry: DryRun) -> None:
    """The dry run's result as `jobs run` prints a real one, then each commitment and message it names."""
    result = ", ".join(f"{key}={value}" for key, value in dry.result.items())
    click.echo(_("%(job)s, dry run (nothing written, nothing sent): %(result)s", job=name, result=result))
    for label, commitments in ((_("Would flag as overdue"), dry.flagged), (_("Would remind"), dry.reminded)):
        for c in commitments:
            click.echo(
                _(
                    "%(what)s: #%(id)d %(title)s (%(vendor)s), due %(due)s, owner %(owner)s",
                    what=label,
                    id=c.id,
                    title=c.title,
                    vendor=c.vendor.name,
                    due=f"{c.due_at:%Y-%m-%d %H:%M} UTC",
                    owner=c.owner.email,
                )
            )
    for label, messages in ((_("Would queue"), dry.queued), (_("Would deliver"), dry.deliveries)):
        for m in messages:
            click.echo(
                _(
                    "%(what)s: %(kind)s email to %(recipient)s: %(subject)s (attempt %(attempt)d)",
                    what=label,
                    kind=m.kind.value,
                    recipient=m.recipient,
                    subject=m.subject,
                    attempt=m.attempts + 1,
                )
            )


@tally_cli.command("check")
@click.option("--repair", is_flag=True, help="Rewrite what differs, one transaction per vendor.")
def tally_check(repair: bool) -> None:
    """Recount every vendor's score sums from the ledger and print each difference.

    Exits 1 when anything differed (repaired or not), 0 when the sums agree with the ledger.
    """
    from vendortrack import complaints
    from vendortrack.scores import responsiveness, tally

    rules = current_app.config["VENDORTRACK_RULES"]
    now = utcnow()
    checked = tally.check(db.session, rules, now, repair=repair)
    answering = responsiveness.check(db.session, rules, repair=repair)
    if answering.worked_out_elsewise and not checked.counted_elsewise:
        # Never built, or under another half-life, time zone or working days: only a rebuild helps.
        if repair:
            complaints.bring_up_to_date(db.session, rules, now)
            db.session.commit()
            click.echo(_("The complaint sums were worked out under other settings, or never: rebuilt them."))
        else:
            click.echo(
                _(
                    "The complaint sums were worked out under other settings, or never. "
                    "Run again with --repair to rebuild them."
                )
            )
        sys.exit(1)
    checked.differences += answering.differences
    checked.repaired_vendors += answering.repaired_vendors
    if checked.counted_elsewise:
        if checked.rebuilt:
            click.echo(_("The sums were counted under other settings, or never: rebuilt them all."))
        else:
            click.echo(
                _(
                    "The sums were counted under other settings, or never. "
                    "Run again with --repair to rebuild them."
                )
            )
        sys.exit(1)
    for difference in checked.differences:
        click.echo(str(difference))
    if not checked.differences:
        click.echo(
            ngettext(
                "No differences: the sums of %(num)d vendor agree with the ledger.",
                "No differences: the sums of %(num)d vendors agree with the ledger.",
                checked.vendors,
            )
        )
        return
    if repair:
        click.echo(
            ngettext(
                "Repaired %(num)d vendor: its sums are now a recount of the ledger.",
                "Repaired %(num)d vendors: their sums are now a recount of the ledger.",
                checked.repaired_vendors,
            )
        )
    else:
        click.echo(_("Run again with --repair to rewrite them from the ledger."))
    sys.exit(1)


def refused(error: InvalidInput) -> click.ClickException:
    """A ledger refusal as a command-line error: nothing was written, the message names the field."""
    db.session.rollback()
    return click.ClickException(_("%(field)s: %(message)s", field=error.field, message=str(error.message)))


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, as `echo "$PW" | flask users create ...` sends it; the newline is not part of it.
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(_("Password"), hide_input=True, confirmation_prompt=_("Repeat the password"))


def get_user(email: str) -> User:
    user = find_user(db.session, email)
    if user is None:
        raise click.ClickException(_("No user has the email %(email)s.", email=email))
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What they may do.")
@click.option("--name", default="", help="Their name as shown in the app.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a user; asks for the password twice unless --password-stdin."""
    password = read_password(password_stdin)
    try:
        user = create_user(db.session, email=email, password=password, role=role, name=name, now=utcnow())
    except InvalidInput as error:
        raise refused(error) from None
    db.session.commit()
    click.echo(_("Created %(email)s (%(role)s).", email=user.email, role=user.role.value))


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give a user a new password; signs them out everywhere."""
    user = get_user(email)
    try:
        set_password(user, read_password(password_stdin))
    except InvalidInput as error:
        raise refused(error) from None
    db.session.commit()
    click.echo(_("New password set for %(email)s.", email=user.email))


@users_cli.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for the user; it is shown this once."""
    user = get_user(email)
    if not user.is_active:
        raise click.ClickException(_("%(email)s is disabled; enable the account first.", email=user.email))
    secret = issue_token(db.session, user, now=utcnow())
    db.session.commit()
    click.echo(
        _(
            'API token for %(email)s, shown once; send it as "Authorization: Bearer <token>":',
            email=user.email,
        )
    )
    click.echo(secret)


@users_cli.command("list")
def users_list() -> None:
    """List every user with role and state."""
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    if not users:
        click.echo(_("No users yet. Create one with: flask --app wsgi users create EMAIL --role admin"))
        return
    width = max(len(u.email) for u in users)
    for user in users:
        state = _("disabled") if user.disabled_at else _("active")
        click.echo(f"{user.email:<{width}}  {user.role.value:<6}  {state:<8}  {user.name}".rstrip())


@demo_cli.command("load")
def demo_load() -> None:
    """Load demo users and a year of vendor history into an empty database."""
    try:
        result = load_demo(db.session, utcnow())
    except InvalidInput as error:
        raise refused(error) from None
    if not result.loaded:
        click.echo(_("The database already has vendors; demo data was not loaded."))
        return
    db.session.commit()
    click.echo(
        _(
            "Loaded demo data: %(users)d users, %(vendors)d vendors, %(commitments)d commitments.",
            users=len(result.users),
            vendors=result.vendors,
            commitments=result.commitments,
        )
    )
    click.echo(login_hint(result))


def login_hint(result: DemoResult | None) -> str:
    """How to sign in: the demo login, with its password only the one time it was generated."""
    if result is not None and result.loaded:
        others = ", ".join(f"{u.email} ({u.role.value})" for u in result.users[1:])
        if result.password:
            return _(
                "Sign in as %(email)s with the password %(password)s (shown only now; the same "
                "password opens %(others)s).",
                email=result.admin_email,
                password=result.password,
                others=others,
            )
        return _(
            "Sign in as %(email)s with the password in VENDORTRACK_DEMO_PASSWORD (also for %(others)s).",
            email=result.admin_email,
            others=others,
        )
    if find_user(db.session, DEMO_ADMIN) is not None:
        return _(
            "Sign in as %(email)s with the password printed at the first start (or "
            "VENDORTRACK_DEMO_PASSWORD; reset it with: flask --app wsgi users set-password %(email)s).",
            email=DEMO_ADMIN,
        )
    return _("Sign in with your account; create one with: flask --app wsgi users create EMAIL --role admin")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path: str) -> None:
    """Write the whole ledger to FILE as one JSON document (restore it with `restore`)."""
    import os

    from vendortrack import backup

    partial = f"{path}.partial"
    try:
        # Written aside and renamed, so FILE is never half a backup.
        with open(partial, "w", encoding="utf-8") as out:
            counts = backup.write_backup(db.session, out, utcnow())
        os.replace(partial, path)
    except backup.BackupError as error:
        raise click.ClickException(error.message) from None
    except OSError as error:
        message = _("Cannot write %(path)s: %(error)s", path=path, error=error.strerror)
        raise click.ClickException(message) from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    click.echo(
        _(
            "Backed up %(rows)d rows of %(tables)d tables to %(path)s.",
            rows=sum(counts.values()),
            tables=len(counts),
            path=path,
        )
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(path: str) -> None:
    """Load a backup FILE into this database, which must be migrated to head and hold no rows."""
    from vendortrack import backup

    try:
        with open(path, encoding="utf-8") as stream:
            document = backup.read_backup(stream)
        counts = backup.restore(db.session, document, current_app.config["VENDORTRACK_RULES"], utcnow())
    except backup.BackupError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(
        _(
            "Restored %(rows)d rows of %(tables)d tables from %(path)s.",
            rows=sum(counts.values()),
            tables=len(counts),
            path=path,
        )
    )


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--commit", is_flag=True, help="Write the rows; without it, only show the preview.")
@click.option("--as", "as_email", default=None, help="The user the history names (default: the first admin).")
@click.option(
    "--timezone", default=None, help="The zone of times without an offset (default: the installation's)."
)
@click.option(
    "--date-format",
    type=click.Choice(["auto", "iso", "dmy", "mdy"]),
    default="auto",
    show_default=True,
    help="How to read dates such as 03/04/2026.",
)
@with_appcontext
def import_command(
    path: str, commit: bool, as_email: str | None, timezone: str | None, date_format: str
) -> None:
    """Preview a CSV of vendors, contacts and commitments; with --commit, import it all or nothing."""
    from vendortrack import importing

    now = utcnow()
    try:
        zone = importing.check_timezone(timezone or current_app.config["VENDORTRACK_TIMEZONE"])
        with open(path, "rb") as stream:
            sheet = importing.read_sheet(stream.read())
    except InvalidInput as error:
        raise refused(error) from None
    actor = get_user(as_email) if as_email else importing.default_actor(db.session)
    if actor is None:
        raise click.ClickException(_("No admin to record the import; name a user with --as EMAIL."))
    plan = importing.preview(db.session, sheet, timezone=zone, now=now, date_format=date_format)
    for row in plan.plans:
        click.echo(describe_row(row))
    for problem in plan.problems:
        message = _(
            "Problem in row %(row)d, column %(column)s: %(message)s",
            row=problem.row,
            column=problem.column or "-",
            message=str(problem.message),
        )
        click.echo(message, err=True)
    counts = plan.counts()
    if plan.problems:
        db.session.rollback()
        raise click.ClickException(_("%(n)d problems; nothing was imported.", n=len(plan.problems)))
    if not commit:
        db.session.rollback()
        click.echo(
            _(
                "Preview only: %(vendors)d new vendors, %(contacts)d new contacts, %(commitments)d "
                "commitments. Nothing was changed; run again with --commit to import.",
                **counts,
            )
        )
        if counts["complaints"]:
            click.echo(_("Complaints: %(n)d.", n=counts["complaints"]))
        return
    # A bar only for a file long enough to wait for; on stderr, so stdout stays the preview and the result.
    bar = click.progressbar(
        length=len(plan.plans), label=_("Importing"), file=sys.stderr, hidden=len(plan.plans) <= 200
    )
    try:
        with bar:
            importing.commit_import(
                db.session,
                sheet,
                actor=actor,
                now=now,
                rules=current_app.config["VENDORTRACK_RULES"],
                timezone=zone,
                date_format=date_format,
                progress=lambda done, _total: bar.update(done - bar.pos),
            )
    except importing.ImportFailed as error:
        db.session.rollback()
        message = _(
            "Row %(row)d, column %(column)s: %(message)s; nothing was imported.",
            row=error.row,
            column=error.column,
            message=str(error.message),
        )
        raise click.ClickException(message) from None
    db.session.commit()
    click.echo(
        _(
            "Imported %(vendors)d new vendors, %(contacts)d new contacts and %(commitments)d commitments.",
            **counts,
        )
    )
    if counts["complaints"]:
        click.echo(_("Complaints: %(n)d.", n=counts["complaints"]))


def describe_row(row) -> str:
    """One preview line: what the row creates or finds."""
    vendor = (
        _("new vendor %(name)s", name=row.vendor) if row.vendor_new else _("vendor %(name)s", name=row.vendor)
    )
    parts = [vendor]
    if row.contact:
        parts.append(
            _("new contact %(name)s", name=row.contact)
            if row.contact_new
            else _("contact %(name)s", name=row.contact)
        )
    if row.has_commitment:
        due = f"{row.due_at:%Y-%m-%d %H:%M} UTC" if row.due_at else "?"
        kind = row.kind.value if row.kind else "?"
        parts.append(
            _(
                '%(kind)s "%(title)s" due %(due)s, %(status)s',
                kind=kind,
                title=row.title,
                due=due,
                status=row.status.value,
            )
        )
    if row.has_complaint:
        raised = f"{row.complaint.raised_at:%Y-%m-%d %H:%M} UTC" if row.complaint.raised_at else "?"
        parts.append(
            _(
                'complaint "%(title)s" raised %(raised)s, %(status)s',
                title=row.title,
                raised=raised,
                status=row.complaint.status.value,
            )
        )
    return _("Row %(row)d: %(what)s", row=row.row, what="; ".join(parts))


# -- serve: the embedded default ------------------------------------------------------------------


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    envvar="PORT",
    show_default=True,
    help="Port to listen on (or the PORT environment variable).",
)
@click.option(
    "--access-log", is_flag=True, help="Log every request (off by default, so the banner stays readable)."
)
@with_appcontext
def serve(host: str, port: int, access_log: bool) -> None:
    """Migrate, load demo data on first start, and run the web server (gunicorn) in the foreground."""
    upgrade()
    result = None
    # "First start" means nothing of anyone's yet: no vendors and no users.
    if (
        db.session.scalar(sa.select(Vendor.id).limit(1)) is None
        and db.session.scalar(sa.select(User.id).limit(1)) is None
    ):
        try:
            result = load_demo(db.session, utcnow())
        except InvalidInput as error:
            raise refused(error) from None
        db.session.commit()
        click.echo(
            _(
                "Loaded demo data: %(vendors)d vendors, %(commitments)d commitments.",
                vendors=result.vendors,
                commitments=result.commitments,
            )
        )
    hint = login_hint(result)
    db.session.remove()
    db.engine.dispose()  # the workers open their own connections
    shown_host = f"[{host}]" if ":" in host else host
    base_url = links_base_url(current_app.config, host, port)
    click.echo(_("vendortrack is at http://%(host)s:%(port)d/", host=shown_host, port=port))
    if current_app.config["VENDORTRACK_BASE_URL_SET"]:
        click.echo(
            _("Links in emails and the calendar feed use %(url)s (VENDORTRACK_BASE_URL).", url=base_url)
        )
    else:
        click.echo(
            _(
                "Links in emails and the calendar feed use %(url)s; set VENDORTRACK_BASE_URL if people "
                "reach the app at another address.",
                url=base_url,
            )
        )
    click.echo(hint)
    sys.exit(run_processes(embedded_processes(host, port, base_url, access_log=access_log)))
