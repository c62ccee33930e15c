"""What a client sends is bounded: a body past the limit is refused before a byte of it is read, JSON
no database can store is refused in words, and a request past its deadline is answered, not killed."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from config import ConfigError, DevelopmentConfig, read_setting
from tests.conftest import make_app
from tests.net import free_port, status_of
from vendortrack import ROOT, importing
from vendortrack.extensions import db
from vendortrack.gunicorn_conf import RequestDeadline, RequestTimedOut, deadline_for
from vendortrack.models import Commitment, ImportUpload, Vendor
from vendortrack.supervisor import web_process

MB = 1024 * 1024
# gunicorn kills a worker busy this long; the live server's requests are stopped a second before.
TIMEOUT_SECONDS = 2


class ClaimedBody(io.RawIOBase):
    """A request body that claims `size` bytes and counts how many of them the server reads."""

    def __init__(self, size: int):
        self.size, self.position, self.bytes_read = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the body by seeking to its end

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self.size if whence == io.SEEK_END else offset
        return self.position

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.position)
        buffer[:n] = b"a" * n
        self.position += n
        self.bytes_read += n
        return n


def vendors(session) -> int:
    count = session.scalar(sa.select(sa.func.count()).select_from(Vendor))
    session.rollback()  # the test's transaction takes SQLite's write lock: let a live server write
    return count


def many_rows(n: int) -> str:
    return "vendor,title,due\n" + "".join(f"Vendor {i % 50},Promise {i},2026-06-30\n" for i in range(n))


def api_error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


# --- The size of a request ---------------------------------------------------------------------------


def test_json_past_the_limit_is_refused_with_413_in_the_apis_shape_before_a_byte_is_read(
    client, auth, session
):
    body = ClaimedBody(400 * MB)

    response = client.post(
        "/api/v1/vendors", headers=auth, input_stream=body, content_type="application/json"
    )

    assert response.status_code == 413
    error = api_error(response)
    assert error["code"] == "too_large"
    assert error["message"] == "The request is larger than the 1 MB this server accepts; send less at once."
    assert body.bytes_read == 0
    assert vendors(session) == 0


def test_a_real_body_just_past_the_limit_creates_nothing(client, auth, session):
    response = client.post("/api/v1/vendors", headers=auth, json={"name": "Acme", "notes": "x" * MB})

    assert response.status_code == 413
    assert api_error(response)["code"] == "too_large"
    assert vendors(session) == 0


def test_a_form_past_the_limit_is_answered_with_a_page_before_a_byte_is_read(client, editor, session):
    client.login(editor)
    body = ClaimedBody(50 * MB)

    response = client.post("/vendors/new", input_stream=body, content_type="multipart/form-data; boundary=b")

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert '<h1 class="h3">Too large to accept</h1>' in page
    assert "The request is larger than the 1 MB this server accepts; send less at once." in page
    assert body.bytes_read == 0
    assert vendors(session) == 0


def test_an_anonymous_100_mb_sign_in_is_refused_before_the_csrf_check_reads_it(client):
    body = ClaimedBody(100 * MB)

    response = client.post("/auth/login", input_stream=body, content_type="multipart/form-data; boundary=b")

    assert response.status_code == 413
    assert "Too large to accept" in response.get_data(as_text=True)
    assert body.bytes_read == 0


def test_the_limit_is_a_setting_which_its_413_names(database_url, tmp_path, auth):
    small = make_app(database_url, tmp_path / "instance", VENDORTRACK_MAX_REQUEST_KB="64")
    try:
        body = {"name": "Acme", "notes": "x" * 70_000}
        response = small.test_client().post("/api/v1/vendors", headers=auth, json=body)
    finally:
        with small.app_context():
            db.engine.dispose()

    assert response.status_code == 413
    assert api_error(response)["message"] == (
        "The request is larger than the 64 kB this server accepts; send less at once."
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VENDORTRACK_MAX_REQUEST_KB", "32"),
        ("VENDORTRACK_MAX_REQUEST_KB", "1 MB"),
        ("VENDORTRACK_REQUEST_TIMEOUT_SECONDS", "1"),
    ],
)
def test_a_limit_that_cannot_work_stops_the_start_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        DevelopmentConfig({name: value}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match=name):
        read_setting(name, {name: value})  # as gunicorn's configuration reads it


def test_the_longest_text_a_vendor_holds_fits_even_with_every_character_escaped(client, auth, session):
    notes = "\U0001f4e6" * 10_000  # 12 bytes each as a JSON escape pair: the most a character can cost
    body = json.dumps({"name": "Acme", "notes": notes})
    assert len(body) > 100_000

    response = client.post("/api/v1/vendors", headers=auth, data=body, content_type="application/json")

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["notes"] == notes


def big_import_file() -> str:
    """Just under the import's 5 MB in 40 rows: a real file's size, without the time 50,000 rows take."""
    row_size = (importing.MAX_UPLOAD_BYTES - 4096) // 40
    rows = [f"Vendor {i},Promise {i},2026-06-30,{'n' * (row_size - 40)}" for i in range(40)]
    return "vendor,title,due,notes\n" + "\n".join(rows) + "\n"


def test_the_import_page_still_takes_a_file_up_to_its_own_limit(client, editor, session):
    client.login(editor)
    text = big_import_file()
    assert 4.9 * MB < len(text) <= importing.MAX_UPLOAD_BYTES
    form = {
        "csrf_token": client.csrf_token(),
        "timezone": "UTC",
        "date_format": "auto",
        "file": FileStorage(io.BytesIO(text.encode()), filename="big.csv", content_type="text/csv"),
    }
    boundary, body = encode_multipart(form)

    response = client.post("/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}")

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 1


def test_the_import_api_still_takes_a_file_up_to_its_own_limit(client, auth):
    response = client.post("/api/v1/import", headers=auth, json={"csv": big_import_file()})

    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.get_json()["counts"] == {"vendors": 40, "contacts": 0, "commitments": 40, "complaints": 0}


# --- JSON that cannot be read -----------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("POST", "/api/v1/vendors"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/import"),
    ("POST", "/api/v1/vendors/1/commitments"),
]
UNREADABLE = {
    "a lone surrogate": '{"name": "\\ud800", "csv": "\\udfff"}',
    "a lone surrogate as a key": '{"\\udc00": "x"}',
    "100,000 nested brackets": "[" * 100_000 + "]" * 100_000,
    "NaN": '{"name": NaN}',
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_json_no_database_can_store_is_refused_in_words_on_every_endpoint(
    client, auth, session, make_vendor, method, path, body
):
    make_vendor("Acme")  # the commitments' vendor, should its id be 1

    response = client.open(path, method=method, headers=auth, data=body, content_type="application/json")

    assert response.status_code == 400
    error = api_error(response)
    assert error["code"] == "bad_request"
    assert error["message"] == "The body is not valid JSON."
    assert vendors(session) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 0


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_a_thousand_levels_of_nesting_are_read_and_refused_field_by_field(
    client, auth, session, method, path
):
    body = '{"name": ' + "[" * 1000 + "]" * 1000 + "}"

    response = client.open(path, method=method, headers=auth, data=body, content_type="application/json")

    assert response.status_code in (404, 422), response.get_data(as_text=True)[:500]
    assert api_error(response)["code"] in ("not_found", "validation_error")
    assert vendors(session) == 0


def test_nul_characters_are_still_found_however_deep(client, auth):
    body = {"name": "Acme", "nested": [[{"deeper": "a\x00b"}]]}

    response = client.post("/api/v1/vendors", headers=auth, json=body)

    assert response.status_code == 422
    assert api_error(response)["fields"] == {"nested.0.0.deeper": ["Text cannot contain NUL characters."]}


# --- A request past its deadline ---------------------------------------------------------------------


def test_the_deadline_leaves_gunicorn_a_tenth_of_its_timeout_and_at_least_a_second():
    assert deadline_for(300) == 270
    assert deadline_for(30) == 27
    assert deadline_for(TIMEOUT_SECONDS) == 1


def readme_gunicorn_argv() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = re.findall(r"^ExecStart=\S+/gunicorn (.*)$", readme, re.M)
    return shlex.split(line)


@pytest.mark.parametrize("way", ["flask serve", "the README's systemd unit"])
def test_every_way_of_starting_the_web_process_takes_its_timeout_from_the_setting(way):
    # After `python -m gunicorn`, or the README's path to it.
    argv = web_process("127.0.0.1", 5000).argv[3:] if way == "flask serve" else readme_gunicorn_argv()
    assert "--timeout" not in argv and "-t" not in argv
    env = os.environ | {"VENDORTRACK_REQUEST_TIMEOUT_SECONDS": "77"}

    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", *argv[:-1], "--print-config", argv[-1]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    settings = dict(re.findall(r"^(\w+)\s+= (.*)$", printed, re.M))
    assert settings["timeout"] == "77"
    assert settings["worker_class"] == "sync"  # the worker whose requests the deadline stops
    assert settings["threads"] == "1"


@pytest.fixture
def deadline(app):
    """Give the app's next request the deadline a sync worker gives it, in this (main) thread."""
    previous, previous_hook = signal.getsignal(signal.SIGALRM), sys.unraisablehook
    wrapped = app.wsgi_app

    def within(seconds: float) -> None:
        app.wsgi_app = RequestDeadline(wrapped, seconds)

    yield within
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    sys.unraisablehook = previous_hook
    app.wsgi_app = wrapped


def test_a_deadline_that_falls_inside_a_finaliser_still_stops_the_request():
    """Python swallows an exception raised in a finaliser; the deadline must not be lost with it."""

    class SlowToCollect:
        def __del__(self):
            busy_until = time.monotonic() + 0.5
            while time.monotonic() < busy_until:  # the alarm comes in here
                pass

    def slow_app(environ, start_response):
        SlowToCollect()  # collected at once: its finaliser runs in the request
        time.sleep(10)
        start_response("200 OK", [])
        return [b"too late"]

    previous_handler, previous_hook = signal.getsignal(signal.SIGALRM), sys.unraisablehook
    try:
        started = time.monotonic()
        with pytest.raises(RequestTimedOut):
            RequestDeadline(slow_app, 0.2)({}, lambda *args: None)
        assert time.monotonic() - started < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        sys.unraisablehook = previous_hook


def test_an_import_page_past_the_deadline_shows_a_page_and_imports_nothing(client, editor, session, deadline):
    client.login(editor)
    form = {
        "csrf_token": client.csrf_token(),
        "timezone": "UTC",
        "date_format": "auto",
        "file": FileStorage(
            io.BytesIO(many_rows(20_000).encode()), filename="v.csv", content_type="text/csv"
        ),
    }
    boundary, body = encode_multipart(form)
    preview = client.post("/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert preview.status_code == 302
    token = client.csrf_token()
    deadline(1)

    started = time.monotonic()
    response = client.post(f"{preview.headers['Location']}/commit", data={"csrf_token": token})

    assert time.monotonic() - started < 5
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Unavailable for a moment" in page
    assert "The request took longer than 1 second and was stopped; nothing it was saving was kept." in page
    assert vendors(session) == 0
    upload = session.scalars(sa.select(ImportUpload)).one()
    assert upload.committed_at is None  # it may be committed again, smaller or later


# --- The same, from gunicorn as `flask serve` starts it ----------------------------------------------


@dataclass
class LiveServer:
    base: str
    port: int
    log: Path


@pytest.fixture(scope="module")
def live_server(database_url, tmp_path_factory) -> LiveServer:
    """gunicorn as `flask serve` runs it (one sync worker), on the tests' database, timing out in 2 s."""
    instance = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VENDORTRACK_") and k not in ("DATABASE_URL", "SECRET_KEY", "PORT")
    }
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "limits-test-key",
        "VENDORTRACK_CONFIG": "development",
        "VENDORTRACK_INSTANCE_PATH": str(instance),
        "VENDORTRACK_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    }
    log = instance / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            web_process("127.0.0.1", port, workers=1).argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while status_of(f"{base}/auth/login") != 200 and time.monotonic() - started < 60:
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        assert status_of(f"{base}/auth/login") == 200, log.read_text()
        yield LiveServer(base, port, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def call(server: LiveServer, method: str, path: str, headers: dict, body: dict | None = None):
    """(status, JSON body) of a request to the live server."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.base + path, data=data, method=method, headers=headers)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http URL
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def raw_exchange(server: LiveServer, head: str, body_start: bytes) -> tuple[str, float]:
    """Send a request's head and the start of its body, never the rest: the answer, and how soon."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        started = time.monotonic()
        connection.sendall(head.replace("\n", "\r\n").encode() + body_start)
        answer, elapsed = b"", None
        while chunk := connection.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                elapsed = elapsed or time.monotonic() - started
        return answer.decode(), elapsed


def test_gunicorn_answers_a_body_claiming_400_mb_at_once_without_waiting_for_it(live_server, auth, session):
    head = (
        "POST /api/v1/vendors HTTP/1.1\n"
        f"Host: 127.0.0.1:{live_server.port}\n"
        f"{next(iter(auth))}: {next(iter(auth.values()))}\n"
        "Content-Type: application/json\n"
        f"Content-Length: {400 * MB}\n\n"
    )

    answer, elapsed = raw_exchange(live_server, head, b'{"name": "Acme", "notes": "')

    status_line, _, body = answer.partition("\r\n")
    assert status_line.startswith("HTTP/1.1 413 ")
    assert json.loads(body.partition("\r\n\r\n")[2])["error"]["code"] == "too_large"
    assert elapsed < 0.9  # not the deadline's 503 a second in, which a server reading the body would give
    assert vendors(session) == 0


def test_gunicorn_answers_an_anonymous_100_mb_sign_in_at_once_with_a_page(live_server):
    head = (
        "POST /auth/login HTTP/1.1\n"
        f"Host: 127.0.0.1:{live_server.port}\n"
        "Content-Type: multipart/form-data; boundary=b\n"
        f"Content-Length: {100 * MB}\n\n"
    )

    answer, elapsed = raw_exchange(live_server, head, b"--b\r\n")

    assert answer.startswith("HTTP/1.1 413 ")
    assert "Too large to accept" in answer
    assert elapsed < 0.9


def test_an_api_import_past_the_deadline_is_answered_in_json_and_imports_nothing(live_server, auth, session):
    status, body = call(
        live_server, "POST", "/api/v1/import", auth, {"csv": many_rows(20_000), "commit": True}
    )

    assert status == 503
    assert body["error"]["code"] == "timed_out"
    assert body["error"]["message"].startswith("The request took longer than 1 second and was stopped")
    assert vendors(session) == 0
    # The same worker answers the next request: stopped, not killed.
    assert call(live_server, "GET", "/api/v1/vendors", auth)[0] == 200
    assert "WORKER TIMEOUT" not in live_server.log.read_text()


def _waiting_for_a_lock(session) -> int:
    # On a connection of its own: a transaction sees the server's activity as it was when it began.
    with session.get_bind().connect() as connection:
        return connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def test_a_write_waiting_for_a_lock_past_the_deadline_is_answered_and_leaves_nothing_waiting(
    live_server, auth, session
):
    # Another writer holds the lock the API's write needs: SQLite's write lock, or the vendor table.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE vendor IN EXCLUSIVE MODE"))
    else:
        session.connection()  # test code begins with BEGIN IMMEDIATE
    try:
        status, body = call(live_server, "POST", "/api/v1/vendors", auth, {"name": "Acme"})

        assert status == 503
        assert body["error"]["code"] == "timed_out"
        if session.get_bind().dialect.name == "postgresql":
            # The statement was cancelled on the server, not left waiting behind a closed connection.
            waited = time.monotonic()
            while _waiting_for_a_lock(session) and time.monotonic() - waited < 3:
                time.sleep(0.1)
            assert _waiting_for_a_lock(session) == 0
    finally:
        session.rollback()
    assert vendors(session) == 0
    assert call(live_server, "POST", "/api/v1/vendors", auth, {"name": "Acme"})[0] == 201
    assert "WORKER TIMEOUT" not in live_server.log.read_text()
