"""Users and API tokens: create, change role, disable, passwords and their policy, issue and check tokens."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from zxcvbn import zxcvbn

from vendortrack.i18n import LANGUAGES
from vendortrack.models import ApiToken, Role, User
from vendortrack.models.user import hash_token, new_session_token
from vendortrack.timeutil import is_timezone
from vendortrack.validation import InvalidInput

TOKEN_PREFIX = "vt_"  # noqa: S105 - a visible prefix, not a secret


# -- the password policy --------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordPolicy:
    """How long a password must be, and how hard to guess: zxcvbn's score, 0 (at once) to 4 (very hard)."""

    min_length: int = 10
    min_score: int = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PasswordPolicy:
        return cls(
            min_length=config["VENDORTRACK_PASSWORD_MIN_LENGTH"],
            min_score=config["VENDORTRACK_PASSWORD_MIN_SCORE"],
        )


# zxcvbn refuses longer input and takes longer the longer it is; a prefix that strong makes the
# whole password at least as strong.
ESTIMATED_LENGTH = 72
# zxcvbn keeps the words it is given (the user's name and email) in a module-level dictionary while
# it matches: one estimate at a time, so two threads' words never mix.
_ESTIMATING = threading.Lock()
# Why a password is too easy to guess, by the kind of its longest guessable part: zxcvbn's own
# feedback is English only, so it is read for its kind and said in our words.
TOO_GUESSABLE = {
    "common": _l(
        "Too easy to guess: this is one of the most common passwords. "
        "Add another word or two; uncommon words are better."
    ),
    "personal": _l(
        "Too easy to guess: it contains your name or email address. "
        "Add another word or two; uncommon words are better."
    ),
    "words": _l(
        "Too easy to guess: a common word or name is among the first things tried. "
        "Add another word or two; uncommon words are better."
    ),
    "keyboard": _l(
        "Too easy to guess: rows and patterns of keys, such as qwerty, are among the first things "
        "tried. Add another word or two; uncommon words are better."
    ),
    "repeat": _l(
        "Too easy to guess: repeated characters or words, such as aaa or abcabc, are among the first "
        "things tried. Add another word or two; uncommon words are better."
    ),
    "sequence": _l(
        "Too easy to guess: sequences, such as abc or 6543, are among the first things tried. "
        "Add another word or two; uncommon words are better."
    ),
    "date": _l(
        "Too easy to guess: dates and years are among the first things tried. "
        "Add another word or two; uncommon words are better."
    ),
    "other": _l("Too easy to guess. Add another word or two; uncommon words are better."),
}
_DICTIONARY_KINDS = {"passwords": "common", "user_inputs": "personal"}
_PATTERN_KINDS = {"spatial": "keyboard", "repeat": "repeat", "sequence": "sequence", "date": "date"}


def password_policy() -> PasswordPolicy:
    """The app's policy; its length and score are settings (config.py)."""
    return PasswordPolicy.from_config(current_app.config)


def _personal_words(user: User | None) -> list[str]:
    if user is None:
        return []
    words = [user.email or "", user.name or ""]
    return words + re.split(r"[\s@._+-]+", " ".join(words))


def _guessable_kind(match: dict[str, Any]) -> str:
    if match["pattern"] == "dictionary":
        return _DICTIONARY_KINDS.get(match["dictionary_name"], "words")
    if match["pattern"] == "regex":  # zxcvbn's one regex: recent years
        return "date"
    return _PATTERN_KINDS.get(match["pattern"], "other")


def check_password_strength(
    password: str, *, user: User | None = None, policy: PasswordPolicy | None = None
) -> str:
    """The password, if it is long enough and hard enough to guess (for this user: their name and
    email count against it); else InvalidInput on `password` saying why."""
    policy = policy or password_policy()
    password = password or ""
    if len(password) < policy.min_length:
        raise InvalidInput(
            "password",
            lazy_ngettext(
                "Use at least %(num)d character.", "Use at least %(num)d characters.", policy.min_length
            ),
        )
    with _ESTIMATING:
        estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=[w for w in _personal_words(user) if w])
    if estimate["score"] >= policy.min_score:
        return password
    longest = max(estimate["sequence"], key=lambda match: len(match["token"]), default=None)
    raise InvalidInput("password", TOO_GUESSABLE[_guessable_kind(longest) if longest else "other"])


def normalize_email(email: str) -> str:
    try:
        # No DNS look-up (servers may be offline); `.test` allowed for demo and staging accounts.
        checked = validate_email(email or "", check_deliverability=False, test_environment=True)
        return checked.normalized.lower()
    except EmailNotValidError:
        raise InvalidInput("email", _l("Enter a valid email address.")) from None


def password_hasher() -> PasswordHasher:
    """The app's one argon2 hasher; its cost is a setting (config.py), cheap only under test."""
    return current_app.config["PASSWORD_HASHER"]


def set_password(user: User, password: str) -> None:
    """A new password for the user, if the policy allows it (which also signs them out everywhere:
    a new session token); every way of setting one comes here."""
    user.set_password(check_password_strength(password, user=user), password_hasher())


def password_matches(user: User, password: str) -> bool:
    return user.check_password(password, password_hasher())


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == User.normalize_email(email or "")))


@cache
def _stand_in_hash(hasher: PasswordHasher) -> str:
    # Made by the hasher the users' own hashes come from, so an unknown email costs the same work.
    return hasher.hash(secrets.token_urlsafe(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None; the argon2 work is the same either way."""
    user = find_user(session, email)
    if user is None:
        hasher = password_hasher()
        with suppress(VerificationError):
            hasher.verify(_stand_in_hash(hasher), password or "")
        return None
    if not password_matches(user, password or "") or not user.is_active:
        return None
    return user


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role | str,
    now: datetime,
    name: str = "",
    timezone: str | None = None,
) -> User:
    email = normalize_email(email)
    if find_user(session, email) is not None:
        raise InvalidInput("email", _l("A user with this email already exists."))
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput("role", _l("Choose viewer, editor or admin.")) from None
    user = User(email=email, name=(name or "").strip(), role=role, timezone=timezone, created_at=now)
    set_password(user, password)
    try:
        # The unique index is the last word: the same address created twice at the same moment
        # (two admins, two workers) is refused like any taken address, not as a database error.
        with session.begin_nested():
            session.add(user)
    except sa.exc.IntegrityError:
        raise InvalidInput("email", _l("A user with this email already exists.")) from None
    return user


def set_role(user: User, role: Role | str) -> User:
    try:
        user.role = Role(role)
    except ValueError:
        raise InvalidInput("role", _l("Choose viewer, editor or admin.")) from None
    return user


# A keyword left out of `update_profile`: that part of the profile stays as it is.
UNCHANGED: Any = object()


def update_profile(
    user: User,
    *,
    name: str = UNCHANGED,
    timezone: str | None = UNCHANGED,
    locale: str | None = UNCHANGED,
    digest_enabled: bool = UNCHANGED,
) -> User:
    """What a user changes about themselves, from the profile page or the API.

    A new time zone, or the digest turned on or off, clears `digest_next_at`: the digest job then
    works out the next Monday afresh, on the user's clock.
    """
    if timezone is not UNCHANGED and timezone is not None and not is_timezone(timezone):
        raise InvalidInput("timezone", _l("Choose an IANA time zone, such as Europe/Warsaw."))
    if locale is not UNCHANGED and locale and locale not in LANGUAGES:
        raise InvalidInput("locale", _l("Choose one of the languages offered."))
    if name is not UNCHANGED:
        user.name = (name or "").strip()
    if locale is not UNCHANGED:
        user.locale = locale or None
    new_timezone = user.timezone if timezone is UNCHANGED else timezone or None
    new_digest = user.digest_enabled if digest_enabled is UNCHANGED else bool(digest_enabled)
    if new_timezone != user.timezone or new_digest != user.digest_enabled:
        user.digest_next_at = None
    user.timezone, user.digest_enabled = new_timezone, new_digest
    return user


def disable_user(user: User, *, now: datetime) -> User:
    """Sign the user out everywhere and refuse their sign-in and tokens; their history stays."""
    user.disabled_at = now
    user.session_token = new_session_token()
    return user


def end_sessions(user: User) -> User:
    """Sign the user out everywhere: a copied session or remember-me cookie stops naming them."""
    user.session_token = new_session_token()
    return user


def enable_user(user: User) -> User:
    user.disabled_at = None
    return user


def issue_token(session: Session, user: User, *, now: datetime) -> str:
    """A new API token for the user; only its hash is kept, so this is the one time it is seen."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(secret), created_at=now))
    session.flush()
    return secret


# Every API request runs it: one statement, built once (a statement reused skips rebuilding and re-keying).
_LIVE_TOKEN = (
    sa.select(ApiToken)
    .join(ApiToken.user)
    .options(contains_eager(ApiToken.user))
    .where(
        ApiToken.token_hash == sa.bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.disabled_at.is_(None),
    )
)
# How often a token's last use is written down: not on every request it makes.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# A live token not used for this long is listed for the admin, to revoke if no one needs it.
TOKEN_UNUSED_AFTER = timedelta(days=90)


def live_token(session: Session, secret: str) -> ApiToken | None:
    """The token with this secret, if it is not revoked and its user is active (loaded with it)."""
    return session.scalar(_LIVE_TOKEN, {"token_hash": hash_token(secret)})


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user a live token belongs to, or None."""
    token = live_token(session, secret)
    return token.user if token is not None else None


def token_use_due(token: ApiToken, now: datetime) -> bool:
    """Whether a use now should be written down: never used, or last written a minute or more ago."""
    return token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION


def note_token_use(session: Session, token: ApiToken, now: datetime) -> bool:
    """Write down that the token was used now, at most once a minute, whoever else uses it meanwhile.

    Conditional, so requests arriving together write it once; True when this one did.
    """
    if not token_use_due(token, now):
        return False
    written = session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token.id,
            sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if written:
        set_committed_value(token, "last_used_at", now)
    return bool(written)


def unused_tokens(session: Session, now: datetime) -> list[ApiToken]:
    """Live tokens not used for TOKEN_UNUSED_AFTER (or, never used, made that long ago), longest idle
    first; a disabled user's too, which would work again were the user enabled."""
    idle_since = sa.func.coalesce(ApiToken.last_used_at, ApiToken.created_at)
    return list(
        session.scalars(
            sa.select(ApiToken)
            .join(ApiToken.user)
            .options(contains_eager(ApiToken.user))
            .where(ApiToken.revoked_at.is_(None), idle_since <= now - TOKEN_UNUSED_AFTER)
            .order_by(idle_since, ApiToken.id)
        )
    )


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    return list(
        session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, token: ApiToken, now: datetime) -> ApiToken:
    """Stop the token working at once; revoking it again keeps the moment it first stopped."""
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def _active_admin_ids(session: Session) -> list[int]:
    # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) so two admins
    # demoting each other at the same moment cannot both pass the check and leave no admin at all.
    return list(
        session.scalars(
            sa.select(User.id)
            .where(User.role == Role.admin, User.disabled_at.is_(None))
            .order_by(User.id)
            .with_for_update()
        )
    )


def _keep_an_admin(session: Session, user: User, field: str) -> None:
    if user.role == Role.admin and user.is_active and _active_admin_ids(session) == [user.id]:
        raise InvalidInput(
            field,
            _l("%(email)s is the last active admin; make someone else an admin first.", email=user.email),
        )


def change_role(session: Session, user: User, role: Role | str) -> User:
    """set_role, refusing to demote the last active admin: someone must be able to manage users."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput("role", _l("Choose viewer, editor or admin.")) from None
    if role != Role.admin:
        _keep_an_admin(session, user, "role")
    return set_role(user, role)


def disable_account(session: Session, user: User, *, actor: User, now: datetime) -> User:
    """disable_user, refusing to lock out the actor themselves or the last active admin."""
    if user.id == actor.id:
        raise InvalidInput("user", _l("You cannot disable your own account."))
    if not user.is_active:
        return user  # already disabled: keep the moment it first happened
    _keep_an_admin(session, user, "user")
    return disable_user(user, now=now)
