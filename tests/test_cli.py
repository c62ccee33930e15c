"""The flask commands: users create, set-password, token and list; serve starts the whole thing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from vendortrack import ROOT
from vendortrack.accounts import find_user, user_for_token
from vendortrack.models import Role, User


@pytest.fixture
def flask_cli(app):
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(args=list(args), input=input)

    return run


def count_users(session) -> int:
    return session.scalar(sa.select(sa.func.count(User.id)))


def test_users_create_with_password_from_stdin_then_the_user_can_sign_in(flask_cli, session, client):
    result = flask_cli("users", "create", "Olga@Example.test", "--role", "editor", "--name", "Olga Owner",
                       "--password-stdin", input=PASSWORD + "\n")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "olga@example.test (editor)" in result.output
    user = find_user(session, "olga@example.test")
    assert user.role == Role.editor and user.name == "Olga Owner"
    assert user.check_password(PASSWORD)
    assert client.login(user).status_code == 302


def test_users_create_asks_for_the_password_twice(flask_cli, session):
    result = flask_cli("users", "create", "ada@example.test", "--role", "admin",
                       input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Repeat the password" in result.output
    assert PASSWORD not in result.output  # typed hidden
    assert find_user(session, "ada@example.test").check_password(PASSWORD)


def test_users_create_refuses_a_duplicate_email_and_creates_nothing(flask_cli, session, editor):
    before = count_users(session)

    result = flask_cli("users", "create", editor.email.upper(), "--role", "admin", "--password-stdin",
                       input="another password\n")  # fmt: skip

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
    result = flask_cli("users", "create", email, "--role", "viewer", "--password-stdin",
                       input=password + "\n")  # fmt: skip

    assert result.exit_code != 0
    assert message in result.output
    assert count_users(session) == 0


def test_users_create_refuses_an_unknown_role(flask_cli, session):
    result = flask_cli("users", "create", "x@example.test", "--role", "owner", "--password-stdin",
                       input=PASSWORD + "\n")  # fmt: skip

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
    result = flask_cli("users", "set-password", editor.email, "--password-stdin",
                       input="a brand new secret\n")  # fmt: skip

    assert result.exit_code == 0, result.output
    session.refresh(editor)
    assert editor.check_password("a brand new secret")
    assert not editor.check_password(PASSWORD)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_serve_migrates_loads_demo_data_and_answers_until_stopped(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env |= {"VENDORTRACK_CONFIG": "development", "VENDORTRACK_INSTANCE_PATH": str(tmp_path),
            "PORT": str(port)}  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/auth/login"
    try:
        deadline = time.monotonic() + 60
        while _get(url) != 200 and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _get(url) == 200, log.read_text()
        output = log.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "Sign in as demo@vendortrack.test with the password" in output

        server.send_signal(signal.SIGTERM)  # to `serve` alone: it must stop gunicorn too
        assert server.wait(timeout=40) == 0
        assert _get(url) is None
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_a_web_worker_sets_the_loaded_app_aside_and_collects_garbage_less_often():
    # In a process of its own: the hook changes the collector of the whole interpreter.
    code = ("import gc; from vendortrack import gunicorn_conf; before = gc.get_threshold(); "
            "gunicorn_conf.post_worker_init(None); print(before, gc.get_threshold(), gc.get_freeze_count() > 0)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["(700,", "10,", "10)", "(20000,", "50,", "100)", "True"]
