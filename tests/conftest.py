"""Fixtures: an app on a migrated SQLite file, and on PostgreSQL when the suite is given one.

The app is built once per database and shared: building one costs more than most tests. Each test
starts on empty tables, with the settings the app was built with and an outbox of its own.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from config import TestConfig
from vendortrack import create_app, importing
from vendortrack.accounts import create_user, issue_token
from vendortrack.database import write_intent
from vendortrack.extensions import db
from vendortrack.models import Role, User, Vendor
from vendortrack.scores import tally
from vendortrack.validation import InvalidInput
from vendortrack.vendors import create_vendor

PG_URL = os.environ.get("VENDORTRACK_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)

DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="VENDORTRACK_TEST_DATABASE_URL is not set"),
    ),
]


def pytest_configure(config) -> None:
    """Compile the message catalogs the pages are translated with, as installing the package does:
    a .po edited since the install is what the tests read."""
    config.addinivalue_line(
        "markers",
        "own_app: the test adds routes to its app, so it gets an app of its own, not the shared one",
    )
    config.addinivalue_line("markers", "slow: takes many seconds (processes, installs, thousands of writes)")
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller compiled them
        return
    from build_catalogs import compile_catalogs

    compile_catalogs(Path(__file__).resolve().parent.parent)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: started last, one of them would keep a worker busy alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _pg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_app(database_url: str, instance: Path, **settings: str) -> Flask:
    environ = {"SECRET_KEY": "test-secret-" + uuid.uuid4().hex, "DATABASE_URL": database_url}
    environ.update(settings)
    return create_app(TestConfig(environ, instance_path=instance))


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A database migrated to head, one per test session, so parallel runs never collide."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        admin_engine = None
    else:
        base = _pg_url(PG_URL)
        name = f"vt_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # A test database need not survive a power cut: commits stop waiting for the disk.
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
        url = base.set(database=name).render_as_string(hide_password=False)
    app = make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if admin_engine is not None:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


def _empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # TRUNCATE gives each table new files (so rows come back in the order written, as in a new
        # database), which costs: only the tables the test wrote to, found in one query.
        written = db.session.scalars(
            sa.text(" UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT FROM \"{t}\")" for t in tables))
        ).all()
        if written:
            quoted = ", ".join(f'"{t}"' for t in written)
            db.session.execute(sa.text(f"TRUNCATE {quoted} CASCADE"))
        # Every id starts at 1 again, a table's whose rows were rolled back too.
        db.session.execute(sa.text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"))
    else:
        for table in tables:
            db.session.execute(sa.text(f'DELETE FROM "{table}"'))
    # An empty ledger's score sums, counted under the app's rules, as the tally job builds them for a
    # new installation: the ledger's writes then keep them in step.
    tally.rebuild(db.session, current_app.config["VENDORTRACK_RULES"], NOW)
    db.session.commit()


@pytest.fixture(autouse=True)
def test_code_writes():
    """Test code runs like a command: its transactions take SQLite's write lock up front.

    A fixture that serves pages from this thread (the live server) may lower it for one test;
    it must not leak into the next.
    """
    token = write_intent.set(True)
    yield
    write_intent.reset(token)


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory) -> Iterator[Flask]:
    """The app the tests of one database share: Flask allows no new routes after its first request."""
    app = make_app(database_url, tmp_path_factory.mktemp("instance"))
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def _test_app(app: Flask, instance: Path) -> Iterator[Flask]:
    """The app in a context of its own, on empty tables; what the test changes in its config is undone."""
    built_with = dict(app.config)
    app.config["VENDORTRACK_MAIL_DIR"] = instance / "outbox"  # the test's own, as a new app's would be
    try:
        with app.app_context():
            _empty_all_tables()
            yield app
            db.session.remove()
    finally:
        app.config.clear()
        app.config.update(built_with)


@pytest.fixture
def app(request, database_url, tmp_path) -> Iterator[Flask]:
    if request.node.get_closest_marker("own_app"):
        app = make_app(database_url, tmp_path / "instance")
        with _test_app(app, tmp_path / "instance"):
            yield app
        with app.app_context():
            db.engine.dispose()
    else:
        with _test_app(request.getfixturevalue("shared_app"), tmp_path / "instance") as app:
            yield app


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served on a free loopback port from a thread, for a browser or an HTTP client."""
    # The test thread only reads while the browser (or a client) writes: its transactions must not hold
    # SQLite's write lock (BEGIN IMMEDIATE) or the server's writes would wait on it.
    db.session.commit()
    write_intent.set(False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Polled for shutdown every 50 ms, not the default 500: each test using it ends by stopping it.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def session(app):
    return db.session


class WebClient(FlaskClient):
    """A test client that signs in and sends the CSRF token the way a browser's form would."""

    def open(self, *args, **kwargs):
        # A request would reuse the test's app context, and with it `g` (the signed-in user) and
        # the test's database session. Run each in a fresh context, as in production: end the
        # test's transaction first (on SQLite it may hold the write lock), so the test then reads
        # what the request wrote.
        if has_app_context():
            db.session.commit()
        # The request hook sets this thread's write intent from the method; put it back after, or a
        # GET would leave the test (and the next one) reading like a page view, not a job.
        intent = write_intent.set(write_intent.get())
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            write_intent.reset(intent)

    def csrf_token(self) -> str:
        page = self.get("/auth/login").get_data(as_text=True)
        if 'name="csrf_token"' not in page:  # signed in: the login page redirects
            page = self.get("/auth/profile").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def login(self, user: User, password: str = PASSWORD):
        return self.submit("/auth/login", {"email": user.email, "password": password})

    def submit(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def client(app) -> WebClient:
    app.test_client_class = WebClient
    return app.test_client()


@pytest.fixture
def make_user(session):
    def make(role: Role = Role.editor, email: str | None = None, **kwargs) -> User:
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.test"
        user = create_user(session, email=email, password=PASSWORD, role=role, now=NOW, **kwargs)
        session.commit()
        return user

    return make


@pytest.fixture
def editor(make_user) -> User:
    return make_user(Role.editor, name="Edith Editor")


@pytest.fixture
def viewer(make_user) -> User:
    return make_user(Role.viewer, name="Victor Viewer")


@pytest.fixture
def admin(make_user) -> User:
    return make_user(Role.admin, name="Ada Admin")


@pytest.fixture
def api_clock_at_now(monkeypatch):
    """The API's one clock read answers NOW, as the ledger functions in the tests are given."""
    from vendortrack.views.api import guard

    monkeypatch.setattr(guard, "utcnow", lambda: NOW)


@pytest.fixture
def auth(editor, token_for) -> str:
    """An editor's API token."""
    return token_for(editor)


@pytest.fixture
def make_vendor(session):
    def make(name: str | None = None, **values) -> Vendor:
        vendor = create_vendor(session, now=NOW, name=name or f"Vendor {uuid.uuid4().hex[:6]}", **values)
        session.commit()
        return vendor

    return make


@pytest.fixture
def token_for(session):
    """Headers carrying a fresh Bearer token for the user."""

    def make(user: User) -> dict[str, str]:
        secret = issue_token(session, user, now=NOW)
        session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def ledger_refuses_import_row(monkeypatch):
    """Call with a row number: an import's commit then meets the ledger refusing that row mid-write."""

    def refuse_at(number: int) -> None:
        write_row = importing.writing._write_row

        def refuse(session, plan, **kwargs):
            if plan.row == number:
                raise InvalidInput("title", "Refused by the ledger.")
            write_row(session, plan, **kwargs)

        monkeypatch.setattr(importing.writing, "_write_row", refuse)

    return refuse_at
