"""Admin pages: the list of users, inviting one, changing a role, disabling and enabling."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from vendortrack import accounts
from vendortrack.extensions import db
from vendortrack.ledger import LedgerError
from vendortrack.models import Role, User
from vendortrack.permissions import admin_required
from vendortrack.templating import ROLE_LABELS
from vendortrack.timeutil import utcnow

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in Role]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.viewer.value)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=1000)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


def _users_page(invite_form: InviteForm | None = None, failed: tuple[int, RoleForm] | None = None,
                status: int = 200):  # fmt: skip
    """The list, with a refused form (the invite, or one row's role) shown as it was sent."""
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    role_forms = {u.id: RoleForm(formdata=None, data={"role": u.role.value}) for u in users}
    if failed is not None:
        role_forms[failed[0]] = failed[1]
    return render_template(
        "admin/users.html", users=users, role_forms=role_forms,
        invite_form=invite_form or InviteForm(formdata=None),
    ), status  # fmt: skip


@bp.get("/users")
@admin_required
def users():
    return _users_page()


@bp.post("/users/invite")
@admin_required
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                db.session, email=form.email.data, name=form.name.data or "", role=form.role.data,
                password=form.password.data, now=utcnow(),
            )  # fmt: skip
        except LedgerError as error:
            db.session.rollback()
            getattr(form, error.field, form.email).errors.append(str(error))
        except sa.exc.IntegrityError:  # the same address invited twice at the same moment
            db.session.rollback()
            form.email.errors.append(_("A user with this email already exists."))
        else:
            db.session.commit()
            flash(_("%(email)s can now sign in with the password you set.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return _users_page(invite_form=form, status=400)


@bp.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            accounts.change_role(db.session, user, form.role.data)
        except LedgerError as error:
            db.session.rollback()
            form.role.errors.append(str(error))
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("%(email)s is now: %(role)s.", email=user.email, role=ROLE_LABELS[user.role]), "success")
            # An admin who gave up the role can no longer see the list they were on.
            return redirect(url_for("admin.users") if current_user.is_admin else url_for("index"))
    return _users_page(failed=(user.id, form), status=400)


@bp.post("/users/<int:user_id>/disable")
@admin_required
def disable(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        accounts.disable_account(db.session, user, actor=current_user, now=utcnow())
    except LedgerError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _users_page(status=400)
    db.session.commit()
    flash(_("%(email)s is disabled and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enable")
@admin_required
def enable(user_id: int):
    user = db.get_or_404(User, user_id)
    accounts.enable_user(user)
    db.session.commit()
    flash(_("%(email)s can sign in again.", email=user.email), "success")
    return redirect(url_for("admin.users"))
