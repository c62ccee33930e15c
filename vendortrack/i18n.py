"""Which language and time zone a request, or an email to one user, is shown in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from flask_babel import force_locale
from flask_login import current_user

# Each language named in itself, as a picker shows it.
LANGUAGES = {"en": "English", "pl": "Polski", "hu": "Magyar", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"


def _chosen(user) -> str | None:
    locale = getattr(user, "locale", None)
    return locale if locale in LANGUAGES else None


def select_locale() -> str | None:
    """The signed-in user's setting (page or API token), else the browser's Accept-Language."""
    if not has_request_context():
        return None  # CLI and jobs: the default locale, or what `speaking` forces
    user = g.get("api_user") or current_user
    return _chosen(user) or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def user_locale(user) -> str:
    """The language to write to `user` in when they are not the one asking: emails, the digest."""
    return _chosen(user) or DEFAULT_LANGUAGE


@contextmanager
def speaking(user) -> Iterator[None]:
    """Render what is inside in `user`'s language, whoever is asking."""
    # Flask-Babel's force_locale does nothing while `g` is empty (it tests `if not g`); give it a key.
    g.setdefault("_speaking", True)
    with force_locale(user_locale(user)):
        yield


def user_timezone(user=None) -> str:
    user = current_user if user is None else user
    tz = getattr(user, "timezone", None) if user is not None else None
    return tz or current_app.config["VENDORTRACK_TIMEZONE"]


def select_timezone() -> str:
    return user_timezone()
