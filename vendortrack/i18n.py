"""Which language and time zone one user is written to in: an email, a digest, their pages.

What a request picks (the signed-in user, else the browser) is views/locale.py's: nothing here
reads the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from flask_babel import force_locale

from vendortrack.timeutil import user_zone

# Each language named in itself, as a picker shows it.
LANGUAGES = {"en": "English", "pl": "Polski", "hu": "Magyar", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"


def chosen_locale(user) -> str | None:
    locale = getattr(user, "locale", None)
    return locale if locale in LANGUAGES else None


def user_locale(user) -> str:
    """The language to write to `user` in when they are not the one asking: emails, the digest."""
    return chosen_locale(user) or DEFAULT_LANGUAGE


@contextmanager
def speaking(user) -> Iterator[None]:
    """Render what is inside in `user`'s language, whoever is asking."""
    # Flask-Babel's force_locale does nothing while `g` is empty (it tests `if not g`); give it a key.
    g.setdefault("_speaking", True)
    with force_locale(user_locale(user)):
        yield


def user_timezone(user) -> str:
    """The user's time zone, else the installation's (an anonymous visitor has none of their own)."""
    return user_zone(getattr(user, "timezone", None), current_app.config["VENDORTRACK_TIMEZONE"])
