"""The flask commands: users create, set-password, token and list; serve starts the whole thing."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import DevelopmentConfig
from tests.conftest import PASSWORD, make_app
from tests.net import free_port, status_of
from tests.test_scheduler import wait_for
from vendortrack import ROOT, calendar_feed, ledger
from vendortrack.accounts import create_user, find_user, password_matches, user_for_token
from vendortrack.extensions import db
from vendortrack.models import Kind, Role, User
from vendortrack.supervisor import embedded_processes, links_base_url
from vendortrack.timeutil import utcnow
from vendortrack.vendors import create_vendor


@pytest.fixture
def flask_cli(app):
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(args=list(args), input=input)

    return run


def count_users(session) -> int:
    return session.scalar(sa.select(sa.func.count(User.id)))


def test_users_create_with_password_from_stdin_then_the_user_can_sign_in(flask_cli, session, client):
    result = flask_cli(
        "users",
        "create",
        "Olga@Example.test",
        "--role",
        "editor",
        "--name",
        "Olga Owner",
        "--password-stdin",
        input=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert "olga@example.test (editor)" in result.output
    user = find_user(session, "olga@example.test")
    assert user.role == Role.editor and user.name == "Olga Owner"
    assert password_matches(user, PASSWORD)
    assert client.login(user).status_code == 302


def test_users_create_asks_for_the_password_twice(flask_cli, session):
    result = flask_cli(
        "users", "create", "ada@example.test", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert "Repeat the password" in result.output
    assert PASSWORD not in result.output  # typed hidden
    assert password_matches(find_user(session, "ada@example.test"), PASSWORD)


def test_users_create_refuses_a_duplicate_email_and_creates_nothing(flask_cli, session, editor):
    before = count_users(session)

    result = flask_cli(
        "users",
        "create",
        editor.email.upper(),
        "--role",
        "admin",
        "--password-stdin",
        input="another password\n",
    )

    assert result.exit_code != 0
    assert "email: A user with this email already exists." in result.output
    assert count_users(session) == before
    assert find_user(session, editor.email).role == Role.editor


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "email: Enter a valid email address."),
        ("short@example.test", "short", "password: Use at least 10 characters."),
        ("empty@example.test", "", "password: Use at least 10 characters."),
    ],
)
def test_users_create_refuses_bad_input_naming_the_field(flask_cli, session, email, password, message):
    result = flask_cli(
        "users", "create", email, "--role", "viewer", "--password-stdin", input=password + "\n"
    )

    assert result.exit_code != 0
    assert message in result.output
    assert count_users(session) == 0


def test_users_create_refuses_an_unknown_role(flask_cli, session):
    result = flask_cli(
        "users", "create", "x@example.test", "--role", "owner", "--password-stdin", input=PASSWORD + "\n"
    )

    assert result.exit_code != 0
    assert "--role" in result.output
    assert count_users(session) == 0


def test_users_token_prints_a_working_token_on_its_last_line(flask_cli, session, viewer):
    result = flask_cli("users", "token", viewer.email)

    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("vt_") and " " not in token
    assert user_for_token(session, token) == viewer


def test_users_token_for_an_unknown_email_fails(flask_cli):
    result = flask_cli("users", "token", "nobody@example.test")

    assert result.exit_code != 0
    assert "No user has the email nobody@example.test." in result.output


def test_users_list_shows_every_user_with_role(flask_cli, editor, viewer):
    result = flask_cli("users", "list")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(editor.email in line and "editor" in line and "Edith Editor" in line for line in lines)
    assert any(viewer.email in line and "viewer" in line for line in lines)


def test_users_set_password_replaces_the_old_one(flask_cli, session, editor):
    result = flask_cli(
        "users", "set-password", editor.email, "--password-stdin", input="a brand new secret\n"
    )

    assert result.exit_code == 0, result.output
    session.refresh(editor)
    assert password_matches(editor, "a brand new secret")
    assert not password_matches(editor, PASSWORD)


@pytest.mark.slow
def test_serve_migrates_loads_demo_data_and_answers_until_stopped(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env |= {
        "VENDORTRACK_CONFIG": "development",
        "VENDORTRACK_INSTANCE_PATH": str(tmp_path),
        "PORT": str(port),
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/auth/login"
    try:
        deadline = time.monotonic() + 60
        while status_of(url) != 200 and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
        assert status_of(url) == 200, log.read_text()
        output = log.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "Sign in as demo@vendortrack.test with the password" in output

        server.send_signal(signal.SIGTERM)  # to `serve` alone: it must stop gunicorn too
        assert server.wait(timeout=40) == 0
        assert status_of(url) is None
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http URL
        return response.read().decode()


@pytest.fixture
def ledger_with_an_overdue_promise(tmp_path) -> dict:
    """A SQLite installation (not a first start: no demo data) whose scheduler has an email to send at once."""
    url = f"sqlite:///{tmp_path / 'vendortrack.sqlite'}"
    app = make_app(url, tmp_path / "instance")
    now = utcnow()
    with app.app_context():
        upgrade()
        owner = create_user(
            db.session,
            email="owner@example.test",
            password=PASSWORD,
            role=Role.editor,
            now=now - timedelta(days=30),
        )
        vendor = create_vendor(db.session, name="Acme Printing", now=now - timedelta(days=30))
        promise = ledger.log_commitment(
            db.session,
            vendor=vendor,
            kind=Kind.promise,
            title="The brochure quote",
            due_at=now - timedelta(days=3),
            actor=owner,
            now=now - timedelta(days=10),
        )
        secret = calendar_feed.ensure_secret(db.session, owner)
        db.session.commit()
        found = {"commitment": promise.id, "secret": secret}
        db.session.remove()
        db.engine.dispose()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VENDORTRACK_") and k not in ("DATABASE_URL", "SECRET_KEY", "PORT")
    }
    env |= {
        "DATABASE_URL": url,
        "VENDORTRACK_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "serve-test-key",
        "VENDORTRACK_CONFIG": "development",
        "VENDORTRACK_SCHEDULER_TICK_SECONDS": "1",
        "VENDORTRACK_MAIL_DIR": str(tmp_path / "mail"),
    }
    return found | {"env": env, "mail": tmp_path / "mail", "log": tmp_path / "serve.log"}


@pytest.mark.slow
def test_make_run_on_another_port_puts_that_port_in_every_link_and_logs_no_request(
    ledger_with_an_overdue_promise,
):
    installation = ledger_with_an_overdue_promise
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log: Path = installation["log"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve"],
            cwd=ROOT,
            env=installation["env"] | {"PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert wait_for(lambda: status_of(f"{base}/auth/login") == 200 or server.poll() is not None, 60), (
            log.read_text()
        )
        assert status_of(f"{base}/auth/login") == 200, log.read_text()
        assert (
            f"Links in emails and the calendar feed use {base}; set VENDORTRACK_BASE_URL" in log.read_text()
        )

        # The web process: the calendar feed links to the commitment on this port.
        feed = _get_text(f"{base}/calendar/{installation['secret']}.ics")
        assert f"{base}/commitments/{installation['commitment']}" in feed.replace("\r\n ", "")

        # The scheduler it started: the overdue email links to the same address.
        mail_dir: Path = installation["mail"]
        assert wait_for(lambda: any(mail_dir.glob("*.eml")), 30), log.read_text()
        (eml,) = mail_dir.glob("*.eml")
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert (
            f"{base}/commitments/{installation['commitment']}" in message.get_body(("plain",)).get_content()
        )
        assert f"{base}/commitments/{installation['commitment']}" in message.get_body(("html",)).get_content()
        assert "127.0.0.1:5000" not in eml.read_text()

        # No access log: the requests above left no line behind the banner.
        assert '"GET /auth/login' not in log.read_text()
        assert "/calendar/" not in log.read_text()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.mark.slow
def test_serve_with_a_base_url_set_keeps_it_for_every_link_and_says_so(ledger_with_an_overdue_promise):
    installation = ledger_with_an_overdue_promise
    port = free_port()
    env = installation["env"] | {"PORT": str(port), "VENDORTRACK_BASE_URL": "https://vendors.example.com/"}
    log: Path = installation["log"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        mail_dir: Path = installation["mail"]
        assert wait_for(lambda: any(mail_dir.glob("*.eml")) or server.poll() is not None, 60), log.read_text()
        (eml,) = mail_dir.glob("*.eml")
        text = (
            email.message_from_bytes(eml.read_bytes(), policy=policy.default)
            .get_body(("plain",))
            .get_content()
        )
        assert f"https://vendors.example.com/commitments/{installation['commitment']}" in text
        assert f":{port}" not in text
        banner = (
            "Links in emails and the calendar feed use https://vendors.example.com (VENDORTRACK_BASE_URL)."
        )
        assert banner in log.read_text()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def settings(tmp_path, **environ: str) -> dict:
    return DevelopmentConfig(environ, instance_path=tmp_path).as_dict()


def test_links_follow_the_address_serve_listens_on_unless_the_base_url_is_set(tmp_path):
    unset = settings(tmp_path)
    assert links_base_url(unset, "127.0.0.1", 5101) == "http://127.0.0.1:5101"
    assert (
        links_base_url(unset, "127.0.0.1", 5000) == unset["VENDORTRACK_BASE_URL"] == "http://127.0.0.1:5000"
    )
    # Listening on every address: a link to 0.0.0.0 leads nowhere; loopback at least works here.
    assert links_base_url(unset, "0.0.0.0", 8080) == "http://127.0.0.1:8080"  # noqa: S104
    assert links_base_url(unset, "::", 8080) == "http://[::1]:8080"
    assert links_base_url(unset, "::1", 8080) == "http://[::1]:8080"

    configured = settings(tmp_path, VENDORTRACK_BASE_URL="https://vendors.example.com/")
    assert links_base_url(configured, "127.0.0.1", 5101) == "https://vendors.example.com"


def test_serve_gives_the_web_server_and_the_scheduler_the_same_base_url():
    web, scheduler = embedded_processes("127.0.0.1", 5101, "http://127.0.0.1:5101")

    assert web.env["VENDORTRACK_BASE_URL"] == scheduler.env["VENDORTRACK_BASE_URL"] == "http://127.0.0.1:5101"
    for name in ("PATH", "HOME"):  # everything else they inherit
        if name in os.environ:
            assert web.env[name] == scheduler.env[name] == os.environ[name]


def test_the_access_log_is_off_unless_asked_for():
    quiet, _scheduler = embedded_processes("127.0.0.1", 5101, "http://127.0.0.1:5101")
    loud, _scheduler = embedded_processes("127.0.0.1", 5101, "http://127.0.0.1:5101", access_log=True)

    assert "--access-logfile" not in quiet.argv
    at = loud.argv.index("--access-logfile")
    assert loud.argv[at + 1] == "-"  # to the terminal, beside the banner


def test_a_web_worker_sets_the_loaded_app_aside_and_collects_garbage_less_often():
    # In a process of its own: the hook changes the collector of the whole interpreter.
    code = (
        "import gc; from vendortrack import gunicorn_conf; before = gc.get_threshold(); "
        "gunicorn_conf.post_worker_init(None); print(before, gc.get_threshold(), gc.get_freeze_count() > 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["(700,", "10,", "10)", "(20000,", "50,", "100)", "True"]
