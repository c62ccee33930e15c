"""Who may do what: loading the signed-in user, the role checks every write goes through, and who
reads the event log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from vendortrack.extensions import db
from vendortrack.models import WRITERS, Role, User


def configure_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        # The session holds a rotating token, not the id: changing it signs the user out.
        return db.session.scalar(sa.select(User).where(User.session_token == session_token))


def role_required(*roles: Role) -> Callable:
    """Sign-in required, and 403 unless the user holds one of the roles."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = role_required(*WRITERS)
admin_required = role_required(Role.admin)

# Who may read events (the README's "Who may read what"). A commitment's own history is read with the
# commitment, by anyone who may read the ledger: its page, GET /api/v1/commitments/{id}/history. The
# events across the ledger, which say who did what everywhere, are the event log, and the event log is
# an admin's wherever it is offered: its page, /api/v1/events, and the events in every export.
EVENT_LOG_READERS = (Role.admin,)
event_log_required = role_required(*EVENT_LOG_READERS)


def reads_event_log(user: User) -> bool:
    return user.is_authenticated and user.role in EVENT_LOG_READERS
