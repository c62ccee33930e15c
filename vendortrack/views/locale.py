"""Which language and time zone a request is shown in: Flask-Babel's selectors, and the views' own."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from vendortrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, chosen_locale, user_timezone


def select_locale() -> str | None:
    """The signed-in user's setting (page or API token), else the browser's Accept-Language."""
    if not has_request_context():
        return None  # CLI and jobs: the default locale, or what `speaking` forces
    user = g.get("api_user") or current_user
    return chosen_locale(user) or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_timezone() -> str:
    return current_timezone()


def current_timezone() -> str:
    """The time zone of whoever is asking: their setting, else the installation's."""
    return user_timezone(current_user if has_request_context() else None)
