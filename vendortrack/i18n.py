"""Which language and time zone a request is shown in."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user

LANGUAGES = ("en",)


def select_locale() -> str | None:
    if not has_request_context():
        return None  # CLI and jobs: the default locale
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def user_timezone(user=None) -> str:
    user = current_user if user is None else user
    tz = getattr(user, "timezone", None) if user is not None else None
    return tz or current_app.config["VENDORTRACK_TIMEZONE"]


def select_timezone() -> str:
    return user_timezone()
