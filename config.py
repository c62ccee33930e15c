"""Settings for vendortrack, read from the environment once and checked at start-up."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from vendortrack import timeutil
from vendortrack.scores.rules import Rules

ROOT = Path(__file__).resolve().parent
# Where `flask serve` listens unless told otherwise, and so where links point by default.
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000


class ConfigError(RuntimeError):
    """A setting holds a value the app cannot run with; the message names it."""


def _number(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
        return value

    return parse


def _half_life(name: str, raw: str) -> float:
    # Under a day, old weights underflow to zero and the figures stop meaning anything.
    value = _number(float, 0, 36500)(name, raw)
    if 0 < value < 1:
        raise ConfigError(f"{name} must be 0 (no decay) or at least 1 day, got {raw!r}")
    return value


def _timezone(name: str, raw: str) -> str:
    # The zones a user may pick are the ones the pages can format: the installation's must be one.
    if not timeutil.is_timezone(raw):
        raise ConfigError(f"{name} must be an IANA time zone such as Europe/Warsaw, got {raw!r}")
    return raw


def _flag(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _text(name: str, raw: str) -> str:
    return raw


def _hosts(name: str, raw: str) -> list[str]:
    hosts = [host.strip() for host in raw.split(",") if host.strip()]
    if not hosts:
        raise ConfigError(f"{name} must name at least one host, got {raw!r}")
    for host in hosts:
        # A pasted URL would never match a Host header: say so at start-up, not with 400s later.
        if any(ch in host for ch in "/@ \t"):
            raise ConfigError(f"{name} must list host names such as vendors.example.com, got {host!r}")
    return hosts


def _database_url(raw: str) -> str:
    # psycopg 3 is the only PostgreSQL driver installed; accept the short forms people paste.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


class Config:
    """Production-safe defaults; subclasses relax what the embedded default may."""

    ENV_NAME = "production"
    TESTING = False
    REQUIRE_SECRET_KEY = True
    REQUIRE_TRUSTED_HOSTS = True

    # Every environment setting: name -> (parser, default). A default of None means "unset".
    SETTINGS: dict[str, tuple[Callable[[str, str], Any], str | None]] = {
        "SECRET_KEY": (_text, None),
        "DATABASE_URL": (_text, None),
        "VENDORTRACK_TIMEZONE": (_timezone, "UTC"),
        "VENDORTRACK_BASE_URL": (_text, None),
        # The embedded default's port (`make run`, `serve`); with no base URL set, links follow it.
        "PORT": (_number(int, 1, 65535), str(DEFAULT_PORT)),
        "VENDORTRACK_GRACE_HOURS": (_number(float, 0, 24 * 365), "24"),
        "VENDORTRACK_HALF_LIFE_DAYS": (_half_life, "180"),
        "VENDORTRACK_MEETING_TOLERANCE_MINUTES": (_number(float, 0, 24 * 60), "5"),
        "VENDORTRACK_DEADLINE_TOLERANCE_MINUTES": (_number(float, 0, 24 * 60), "0"),
        "VENDORTRACK_WEIGHT_RELIABILITY": (_number(float, 0, 1), "0.6"),
        "VENDORTRACK_ACK_WORKING_DAYS": (_number(int, 0, 30), "1"),
        "VENDORTRACK_PAGE_SIZE": (_number(int, 1, 500), "50"),
        "VENDORTRACK_DEMO_PASSWORD": (_text, None),
        "VENDORTRACK_SECURE_COOKIES": (_flag, None),
        "VENDORTRACK_TRUSTED_HOSTS": (_hosts, None),
        "VENDORTRACK_PROXY_HOPS": (_number(int, 0, 5), "0"),
        "VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT": (_number(int, 1, 1000), "5"),
        "VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS": (_number(int, 1, 100_000), "20"),
        "VENDORTRACK_LOGIN_WINDOW_MINUTES": (_number(float, 1, 24 * 60), "15"),
        "VENDORTRACK_PASSWORD_MIN_LENGTH": (_number(int, 8, 128), "10"),
        "VENDORTRACK_PASSWORD_MIN_SCORE": (_number(int, 0, 4), "3"),
        "VENDORTRACK_SMTP_HOST": (_text, None),
        "VENDORTRACK_SMTP_PORT": (_number(int, 1, 65535), "587"),
        "VENDORTRACK_SMTP_USER": (_text, None),
        "VENDORTRACK_SMTP_PASSWORD": (_text, None),
        "VENDORTRACK_SMTP_STARTTLS": (_flag, "true"),
        "VENDORTRACK_SMTP_TIMEOUT_SECONDS": (_number(float, 0.1, 600), "10"),
        "VENDORTRACK_MAIL_FROM": (_text, "vendortrack <vendortrack@localhost>"),
        "VENDORTRACK_MAIL_DIR": (_text, None),
        "VENDORTRACK_MAIL_RETRY_SECONDS": (_number(float, 0, 86400), "60"),
        "VENDORTRACK_MAIL_MAX_ATTEMPTS": (_number(int, 1, 1000), "60"),
        "VENDORTRACK_SCHEDULER_TICK_SECONDS": (_number(int, 1, 3600), "60"),
        "VENDORTRACK_REMINDER_HOURS": (_number(float, 0, 24 * 30), "24"),
        "VENDORTRACK_DIGEST_MIN_MOVE": (_number(float, 0, 100), "1.0"),
        "VENDORTRACK_LINK_GRACE_DAYS": (_number(float, 0, 365), "14"),
        "VENDORTRACK_LINK_MAX_DAYS": (_number(float, 1, 365), "90"),
        "VENDORTRACK_LINK_ANSWERS_PER_LINK": (_number(int, 1, 10_000), "20"),
        "VENDORTRACK_LINK_ANSWERS_PER_ADDRESS": (_number(int, 1, 100_000), "60"),
        # A form's longest fields with every character escaped come to under 200 KB; the import keeps
        # its own, larger limit (importing.MAX_UPLOAD_BYTES).
        "VENDORTRACK_MAX_REQUEST_KB": (_number(int, 64, 1024 * 1024), "1024"),
        # Read by gunicorn (vendortrack/gunicorn_conf.py), not by the app: minutes, for the largest import.
        "VENDORTRACK_REQUEST_TIMEOUT_SECONDS": (_number(int, 2, 24 * 3600), "300"),
    }

    def __init__(self, environ: Mapping[str, str] | None = None, instance_path: Path | None = None):
        environ = os.environ if environ is None else environ
        self.INSTANCE_PATH = Path(
            instance_path or environ.get("VENDORTRACK_INSTANCE_PATH") or ROOT / "instance"
        )
        self._apply({name: self.read(name, environ) for name in self.SETTINGS})

    @classmethod
    def read(cls, name: str, environ: Mapping[str, str]) -> Any:
        parse, default = cls.SETTINGS[name]
        raw = environ.get(name)
        if raw is None or raw == "":
            raw = default
        return None if raw is None else parse(name, raw)

    def _apply(self, v: dict[str, Any]) -> None:
        self.SECRET_KEY = v["SECRET_KEY"] or self.fallback_secret_key()
        # Every password is hashed and checked with this one hasher: argon2id at the library's own
        # recommended cost (RFC 9106's low-memory profile).
        self.PASSWORD_HASHER = PasswordHasher()
        self.SQLALCHEMY_DATABASE_URI = _database_url(v["DATABASE_URL"] or self.default_database_url())
        # A server can drop a pooled connection (a restart): test each one as it is handed out. A SQLite
        # file cannot, and the test would cost every request a statement.
        is_server = not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite")
        self.SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": is_server}
        self.VENDORTRACK_TIMEZONE = v["VENDORTRACK_TIMEZONE"]
        # Unset, links follow the address the embedded default serves on: `serve` passes its own
        # (another --port or PORT) to the processes it starts, so they all agree (supervisor.links_base_url).
        self.VENDORTRACK_BASE_URL_SET = v["VENDORTRACK_BASE_URL"] is not None
        # A job run by hand beside `PORT=5101 make run` links to 5101 too when given the same PORT.
        self.VENDORTRACK_BASE_URL = (
            v["VENDORTRACK_BASE_URL"] or f"http://{DEFAULT_HOST}:{v['PORT']}"
        ).rstrip("/")
        self.VENDORTRACK_GRACE = timedelta(hours=v["VENDORTRACK_GRACE_HOURS"])
        self.VENDORTRACK_HALF_LIFE_DAYS = v["VENDORTRACK_HALF_LIFE_DAYS"]
        self.VENDORTRACK_MEETING_TOLERANCE = timedelta(minutes=v["VENDORTRACK_MEETING_TOLERANCE_MINUTES"])
        self.VENDORTRACK_DEADLINE_TOLERANCE = timedelta(minutes=v["VENDORTRACK_DEADLINE_TOLERANCE_MINUTES"])
        self.VENDORTRACK_WEIGHT_RELIABILITY = v["VENDORTRACK_WEIGHT_RELIABILITY"]
        # The scoring rules, built once: views, commands and jobs hand this one object to the domain.
        self.VENDORTRACK_RULES = Rules(
            grace=self.VENDORTRACK_GRACE,
            half_life_days=self.VENDORTRACK_HALF_LIFE_DAYS,
            meeting_tolerance=self.VENDORTRACK_MEETING_TOLERANCE,
            deadline_tolerance=self.VENDORTRACK_DEADLINE_TOLERANCE,
            weight_reliability=self.VENDORTRACK_WEIGHT_RELIABILITY,
            ack_working_days=v["VENDORTRACK_ACK_WORKING_DAYS"],
            timezone=self.VENDORTRACK_TIMEZONE,
        )
        self.VENDORTRACK_PAGE_SIZE = v["VENDORTRACK_PAGE_SIZE"]
        self.VENDORTRACK_DEMO_PASSWORD = v["VENDORTRACK_DEMO_PASSWORD"]
        # Mail: SMTP when a host is set, else .eml files in a folder (the embedded default).
        self.VENDORTRACK_SMTP_HOST = v["VENDORTRACK_SMTP_HOST"]
        self.VENDORTRACK_SMTP_PORT = v["VENDORTRACK_SMTP_PORT"]
        self.VENDORTRACK_SMTP_USER = v["VENDORTRACK_SMTP_USER"]
        self.VENDORTRACK_SMTP_PASSWORD = v["VENDORTRACK_SMTP_PASSWORD"]
        self.VENDORTRACK_SMTP_STARTTLS = v["VENDORTRACK_SMTP_STARTTLS"]
        self.VENDORTRACK_SMTP_TIMEOUT = v["VENDORTRACK_SMTP_TIMEOUT_SECONDS"]
        self.VENDORTRACK_MAIL_FROM = v["VENDORTRACK_MAIL_FROM"]
        self.VENDORTRACK_MAIL_DIR = Path(v["VENDORTRACK_MAIL_DIR"] or self.INSTANCE_PATH / "outbox")
        self.VENDORTRACK_MAIL_RETRY = timedelta(seconds=v["VENDORTRACK_MAIL_RETRY_SECONDS"])
        self.VENDORTRACK_MAIL_MAX_ATTEMPTS = v["VENDORTRACK_MAIL_MAX_ATTEMPTS"]
        self.VENDORTRACK_SCHEDULER_TICK = v["VENDORTRACK_SCHEDULER_TICK_SECONDS"]
        self.VENDORTRACK_REMINDER_LEAD = timedelta(hours=v["VENDORTRACK_REMINDER_HOURS"])
        self.VENDORTRACK_DIGEST_MIN_MOVE = v["VENDORTRACK_DIGEST_MIN_MOVE"]
        # Past it a request is refused with 413 from its Content-Length, before the body is read; the
        # import raises it for its own routes. Form fields may fill it too (Flask's own cap: 500 KB),
        # so the one limit the 413 names is the one that holds.
        self.MAX_CONTENT_LENGTH = self.MAX_FORM_MEMORY_SIZE = v["VENDORTRACK_MAX_REQUEST_KB"] * 1024
        secure = v["VENDORTRACK_SECURE_COOKIES"]
        self.SESSION_COOKIE_SECURE = self.ENV_NAME == "production" if secure is None else secure
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Flask 3.1 answers 400 to a Host header not in this list; None (development) accepts any.
        self.TRUSTED_HOSTS = v["VENDORTRACK_TRUSTED_HOSTS"]
        if self.TRUSTED_HOSTS is None and self.REQUIRE_TRUSTED_HOSTS:
            raise ConfigError(
                "VENDORTRACK_TRUSTED_HOSTS must be set in production "
                "(the host names the app answers to, comma-separated)"
            )
        # How many reverse proxies stand in front; their X-Forwarded-* headers are believed only then.
        self.VENDORTRACK_PROXY_HOPS = v["VENDORTRACK_PROXY_HOPS"]
        # Sign-in throttling (vendortrack/throttle.py): failures allowed per account and per address.
        self.VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT = v["VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT"]
        self.VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS = v["VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS"]
        self.VENDORTRACK_LOGIN_WINDOW = timedelta(minutes=v["VENDORTRACK_LOGIN_WINDOW_MINUTES"])
        # The vendor's links (vendor_links.LinkRules): how long they work, and answers per hour.
        self.VENDORTRACK_LINK_GRACE = timedelta(days=v["VENDORTRACK_LINK_GRACE_DAYS"])
        self.VENDORTRACK_LINK_MAX_AGE = timedelta(days=v["VENDORTRACK_LINK_MAX_DAYS"])
        self.VENDORTRACK_LINK_ANSWERS_PER_LINK = v["VENDORTRACK_LINK_ANSWERS_PER_LINK"]
        self.VENDORTRACK_LINK_ANSWERS_PER_ADDRESS = v["VENDORTRACK_LINK_ANSWERS_PER_ADDRESS"]
        # The password policy (accounts.PasswordPolicy): a length floor, and zxcvbn's score from 0 to 4.
        self.VENDORTRACK_PASSWORD_MIN_LENGTH = v["VENDORTRACK_PASSWORD_MIN_LENGTH"]
        self.VENDORTRACK_PASSWORD_MIN_SCORE = v["VENDORTRACK_PASSWORD_MIN_SCORE"]
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=14)
        self.WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still submits
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_DEFAULT_TIMEZONE = self.VENDORTRACK_TIMEZONE
        self.BOOTSTRAP_SERVE_LOCAL = True  # never a CDN: the app must work offline
        self.API_TITLE = "vendortrack"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"

    def fallback_secret_key(self) -> str:
        if self.REQUIRE_SECRET_KEY:
            raise ConfigError("SECRET_KEY must be set in production (a long random string)")
        # The embedded default keeps one generated key under instance/, so sessions survive restarts.
        path = self.INSTANCE_PATH / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def default_database_url(self) -> str:
        return f"sqlite:///{self.INSTANCE_PATH / 'vendortrack.sqlite'}"

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class DevelopmentConfig(Config):
    """The embedded default behind `make run`: SQLite and a generated key under instance/."""

    ENV_NAME = "development"
    REQUIRE_SECRET_KEY = False
    REQUIRE_TRUSTED_HOSTS = False


class ProductionConfig(Config):
    """gunicorn behind a proxy: a real SECRET_KEY and the trusted hosts are required, cookies are Secure."""


class TestConfig(DevelopmentConfig):
    """What the test suite runs with; the database comes from the fixture."""

    ENV_NAME = "test"
    TESTING = True

    def _apply(self, v: dict[str, Any]) -> None:
        super()._apply(v)
        self.WTF_CSRF_ENABLED = True
        # The suite signs users up and in by the thousand: argon2's cheapest parameters. A hash names
        # the parameters it was made with, so it verifies under either cost.
        self.PASSWORD_HASHER = PasswordHasher.from_parameters(CHEAPEST)


CONFIGS = {"development": DevelopmentConfig, "production": ProductionConfig, "test": TestConfig}


def read_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting as the app reads it, for what starts before any app: gunicorn's configuration."""
    return Config.read(name, os.environ if environ is None else environ)


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    name = environ.get("VENDORTRACK_CONFIG", "development")
    if name not in CONFIGS:
        raise ConfigError(f"VENDORTRACK_CONFIG must be one of {', '.join(CONFIGS)}, got {name!r}")
    return CONFIGS[name](environ)
