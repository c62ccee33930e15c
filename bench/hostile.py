"""Hostile input over loopback against what `flask serve` runs (issue 15, "Figures"): how many answer 5xx.

    .venv/bin/python bench/hostile.py [--database sqlite|postgresql] [--seconds 60] [--big-mb 32]
                                      [--json F] [--keep]

Makes a fresh database as bench/load.py does (a SQLite file under bench/.data/, or a PostgreSQL
database on the local server, dropped at the end), migrates it, and makes an admin, an editor and a
second editor kept for the time zones, each with a password and an API token, and a vendor with a
contact and an open commitment. Starts gunicorn as `flask serve` does (`supervisor.web_process`:
2 workers, production settings) on a free port of 127.0.0.1, signs the three in, and sends one
family of bad input after the other:

    sizes        a --big-mb JSON body to the API; --big-mb form and multipart bodies to the sign-in
                 page (anonymous) and the vendor form; an import past its own limit; a Content-Length
                 of 400 MB of which 1 MB is sent (a server that reads before it refuses waits for the rest)
    encodings    lone surrogates (escaped and raw), invalid UTF-8, NUL and control characters in names
                 and titles, through the API, the forms, the import and query strings; then the lists read
    ids          every route of the app's URL map that takes an id, with ids past PostgreSQL's integer,
                 SQLite's and any (pages and API, each method), and page numbers as large
    dates        years 1 and 9999 on the API and on the commitment forms, for users whose zone moves them
                 past the calendar (UTC+14 and UTC-11)
    zones        "Factory" and "localtime" set through PATCH /api/v1/me and the profile form, each then
                 followed by every page that user can read
    json         deep nesting, wrong types, bodies that are not objects, numbers past a float or past
                 Python's digit limit, PATCH without a body, "commit": 0, wrong content types
    concurrency  8 threads at once: four archive and unarchive one vendor, four disable and enable one user

It prints, per family, the requests sent, how many answered 5xx and how many got no answer in time;
then each 5xx, the tracebacks in gunicorn's log, and each worker's memory at the end (VmRSS and its
peak VmHWM, from /proc/<pid>/status). It exits 1 when a request answered 5xx or went unanswered, or a
worker ends over 200 MB. Bounded: each request has a timeout, nothing is sent after --seconds, and
nothing but 127.0.0.1 is contacted. gunicorn's own 414 for a request line over its limit is no 5xx.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: config.py lives at the root

from bench.load import (  # noqa: E402
    DATA,
    HOST,
    POSTGRES_DEFAULT,
    RSS_LIMIT_MB,
    Database,
    children,
    environment,
    free_port,
    machine,
    setup_app,
    stop,
)
from vendortrack import ledger  # noqa: E402
from vendortrack.accounts import create_user, issue_token  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.models import Kind, Role  # noqa: E402
from vendortrack.scores import tally  # noqa: E402
from vendortrack.supervisor import web_process  # noqa: E402
from vendortrack.vendors import add_contact, create_vendor  # noqa: E402

FAMILIES = ("sizes", "encodings", "ids", "dates", "zones", "json", "concurrency")
# Past PostgreSQL's integer, past SQLite's (and PostgreSQL's bigint), past any 64-bit integer.
HUGE_IDS = ("2147483648", "9223372036854775808", "99999999999999999999")
ID_ARGUMENT = re.compile(r"<(?:int|id)(?:\([^)]*\))?:(\w+)>")
ANY_ARGUMENT = re.compile(r"<[^>]+>")
TIMEOUT = (5, 30)  # connect, read: a request past it counts as unanswered
LYING_LENGTH = 400 * 2**20
THREADS, ROUNDS = 8, 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres", default=POSTGRES_DEFAULT, help="the local server's maintenance database"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="stop sending after this, 5 to 300")
    parser.add_argument("--big-mb", type=int, default=32, help="the oversized bodies, 1 to 256 MB")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (gunicorn's log)")
    args = parser.parse_args()
    if not 5 <= args.seconds <= 300 or not 1 <= args.big_mb <= 256:
        parser.error("--seconds must be 5 to 300 and --big-mb 1 to 256")
    if urlsplit(args.postgres).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--postgres must be a server on this machine (127.0.0.1)")
    return args


# -- the installation ------------------------------------------------------------------------------


@dataclass
class Seeded:
    password: str
    users: dict[str, int]  # admin, editor, zoned, spare -> id
    tokens: dict[str, str]  # admin, editor, zoned -> API token
    vendor_id: int
    spare_vendor_id: int
    commitment_id: int
    routes: list[tuple[str, str]]  # (method, rule) of every route that takes an id
    pages: list[str]  # every page with no argument a signed-in user may GET


def seed(app: Flask) -> Seeded:
    now = datetime.now(UTC)
    password = secrets.token_urlsafe(16)
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        session = db.session
        people = {
            "admin": Role.admin,
            "editor": Role.editor,
            "zoned": Role.editor,
            "spare": Role.viewer,  # disabled and enabled by the concurrency family
        }
        users = {
            name: create_user(
                session,
                email=f"{name}@hostile.test",
                password=password,
                role=role,
                now=now,
                name=name.title(),
            )
            for name, role in people.items()
        }
        vendor = create_vendor(session, now=now, name="Hostile Vendor")
        spare_vendor = create_vendor(session, now=now, name="Archived And Back")
        contact = add_contact(session, vendor, now=now, name="Hostile Contact")
        commitment = ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title="The quote",
            due_at=now + timedelta(days=7),
            actor=users["editor"],
            now=now,
            contact=contact,
        )
        tokens = {name: issue_token(session, users[name], now=now) for name in ("admin", "editor", "zoned")}
        session.commit()
        tally.bring_up_to_date(session, app.config["VENDORTRACK_RULES"], now)
        session.commit()
        seeded = Seeded(
            password,
            {name: user.id for name, user in users.items()},
            tokens,
            vendor.id,
            spare_vendor.id,
            commitment.id,
            [],
            [],
        )
        db.session.remove()
        db.engine.dispose()
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        arguments = ANY_ARGUMENT.findall(rule.rule)
        if rule.rule.startswith("/static") or not arguments:
            if not arguments and "GET" in methods and not rule.rule.startswith(("/api/", "/static")):
                seeded.pages.append(rule.rule)
            continue
        if len(ID_ARGUMENT.findall(rule.rule)) == len(arguments):
            seeded.routes += [(method, rule.rule) for method in methods]
    return seeded


def start_gunicorn(environ: dict[str, str], run_dir: Path, port: int) -> tuple[subprocess.Popen, Path]:
    web = web_process(HOST, port, workers=2)
    log = run_dir / "web.log"
    process = subprocess.Popen(  # noqa: S603 - our own argv
        web.argv, cwd=ROOT, env=os.environ | environ, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://{HOST}:{port}/auth/login", timeout=2).status_code == 200:
                return process, log
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not answer on {HOST}:{port} within 60 s")


def sign_in(base: str, email: str, password: str) -> tuple[requests.Session, str]:
    """A browser's session, and the CSRF token its forms carry."""
    browser = requests.Session()
    page = browser.get(f"{base}/auth/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = browser.post(
        f"{base}/auth/login",
        data={"csrf_token": token, "email": email, "password": password},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"could not sign in as {email}: {answer.status_code}")
    page = browser.get(f"{base}/auth/profile", timeout=TIMEOUT).text
    return browser, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# -- sending ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    family: str
    label: str
    status: int | None  # None: no answer in time (or the connection broke)
    error: str = ""


@dataclass
class Run:
    base: str
    port: int
    deadline: float
    outcomes: list[Outcome] = field(default_factory=list)
    not_sent: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def send(self, family: str, method: str, path: str, *, via=None, label: str = "", **kwargs):
        """One request through requests (a session, or none); its answer, or None."""
        label = f"{method} {path}" + (f" ({label})" if label else "")
        if time.monotonic() > self.deadline:
            self.not_sent[family] += 1
            return None
        try:
            answer = (via or requests).request(
                method, self.base + path, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            self.record(Outcome(family, label, None, type(error).__name__))
            return None
        self.record(Outcome(family, label, answer.status_code))
        return answer

    def raw(self, family: str, label: str, request: bytes, wait: float = 10.0) -> None:
        """Bytes no HTTP library would send (a lying Content-Length, invalid UTF-8 in the request line)."""
        if time.monotonic() > self.deadline:
            self.not_sent[family] += 1
            return
        status, error = None, ""
        with socket.create_connection((HOST, self.port), timeout=wait) as conn:
            with contextlib.suppress(OSError):  # a server that refuses early may close before we finish
                conn.sendall(request)
            received = b""
            try:
                while b"\r\n" not in received:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received += chunk
            except OSError as problem:
                error = type(problem).__name__
            if received.startswith(b"HTTP/"):
                status = int(received.split(b" ", 2)[1])
        self.record(Outcome(family, label, status, error or ("" if status else "no answer")))


# -- the families ----------------------------------------------------------------------------------


@dataclass
class Context:
    run: Run
    seeded: Seeded
    big: int  # bytes
    browsers: dict[str, tuple[requests.Session, str]]  # signed-in sessions and their CSRF tokens

    def api(
        self, family: str, method: str, path: str, *, who: str = "editor", raw: bytes | None = None, **kw
    ):
        """A request with `who`'s token; `raw` is sent as the JSON body, byte for byte."""
        headers = {"Authorization": f"Bearer {self.seeded.tokens[who]}"} | kw.pop("headers", {})
        if raw is not None:
            headers.setdefault("Content-Type", "application/json")
            kw["data"] = raw
        return self.run.send(family, method, path, headers=headers, **kw)

    def page(
        self, family: str, method: str, path: str, *, who: str = "editor", form: dict | None = None, **kw
    ):
        """A request from `who`'s signed-in browser; a form carries its CSRF token."""
        browser, csrf = self.browsers[who]
        if form is not None:
            kw["data"] = {"csrf_token": csrf, **form}
        return self.run.send(family, method, path, via=browser, **kw)


def sizes(ctx: Context) -> None:
    run, s, big = ctx.run, ctx.seeded, ctx.big
    mb = f"{big // 2**20} MB"
    notes = b'{"name": "Big", "notes": "' + b"a" * big + b'"}'
    ctx.api("sizes", "POST", "/api/v1/vendors", label=f"{mb} JSON", raw=notes)
    login = {"email": "a@b.test", "password": "x" * big}
    run.send("sizes", "POST", "/auth/login", label=f"{mb} form, anonymous", data=login)
    upload = {"password": ("big.bin", b"x" * big)}
    run.send("sizes", "POST", "/auth/login", label=f"{mb} multipart, anonymous", files=upload)
    vendor = {"name": "Big Form", "notes": "n" * big}
    ctx.page("sizes", "POST", "/vendors/new", label=f"{mb} form", form=vendor)
    ctx.page("sizes", "POST", "/vendors/new", label=f"{mb} multipart", form=vendor, files=upload)
    csv = "vendor\n" + "Row vendor\n" * (6 * 2**20 // 11)  # past the import's own 5 MB
    ctx.api("sizes", "POST", "/api/v1/import", label="6 MB CSV", json={"csv": csv})
    head = (
        f"POST /api/v1/vendors HTTP/1.1\r\nHost: {HOST}:{run.port}\r\nAuthorization: Bearer "
        f"{s.tokens['editor']}\r\nContent-Type: application/json\r\nContent-Length: {LYING_LENGTH}\r\n\r\n"
    )
    label = "POST /api/v1/vendors (Content-Length 400 MB, 1 MB sent)"
    run.raw("sizes", label, head.encode() + b'{"name": "' + b"a" * 2**20, wait=5)


ODD_TEXT = {  # as JSON string literals
    "escaped lone surrogate": b'"\\ud800 Odd"',
    "raw surrogate bytes": b'"\xed\xa0\x80 Odd"',
    "invalid UTF-8": b'"\xff\xfe Odd"',
    "NUL": b'"Nul\\u0000 Odd"',
    "escape sequence": b'"Esc\\u001b[31m Odd"',
    "C1 control": b'"C1\\u0085 Odd"',
    "DEL": b'"Del\\u007f Odd"',
    "line separator": b'"Ls\\u2028 Odd"',
}
ODD_FORM_BYTES = {
    "raw surrogate bytes": b"\xed\xa0\x80",
    "invalid UTF-8": b"\xff\xfe",
    "NUL": b"\x00",
    "escape sequence": b"\x1b[31m",
    "C1 control": "\u0085".encode(),
}


def encodings(ctx: Context) -> None:
    run, s = ctx.run, ctx.seeded
    for label, text in ODD_TEXT.items():
        ctx.api("encodings", "POST", "/api/v1/vendors", label=label, raw=b'{"name": ' + text + b"}")
        title = b'{"kind": "promise", "title": ' + text + b', "due_at": "2026-09-01T10:00:00Z"}'
        ctx.api("encodings", "POST", f"/api/v1/vendors/{s.vendor_id}/commitments", label=label, raw=title)
        ctx.api("encodings", "PATCH", "/api/v1/me", who="zoned", label=label, raw=b'{"name": ' + text + b"}")
        csv = b'{"csv": "vendor,title,kind,due\\n' + text.strip(b'"') + b',T,promise,2026-09-01\\n"}'
        ctx.api("encodings", "POST", "/api/v1/import", label=label, raw=csv)
    for label, odd in ODD_FORM_BYTES.items():
        vendor = {"name": b"Form " + odd + secrets.token_hex(3).encode()}
        ctx.page("encodings", "POST", "/vendors/new", label=label, form=vendor)
        commitment = {
            "kind": "promise",
            "title": b"Title " + odd,
            "due_date": "2026-09-01",
            "owner_id": s.users["editor"],
            "contact_id": 0,
            "status": "open",
        }
        ctx.page("encodings", "POST", f"/commitments/new/{s.vendor_id}", label=label, form=commitment)
    for query in ("%ED%A0%80", "%FF%FE", "%00", "%1B%5B31m", "\u0085"):
        ctx.api("encodings", "GET", f"/api/v1/vendors?q={query}")
        ctx.page("encodings", "GET", f"/vendors/?q={query}")
    host = f"Host: {HOST}:{run.port}\r\nConnection: close\r\n".encode()
    for target in (b"/vendors/\xff\xfe", b"/api/v1/vendors?q=\xed\xa0\x80"):
        run.raw(
            "encodings", f"GET {target!r} (raw bytes)", b"GET " + target + b" HTTP/1.1\r\n" + host + b"\r\n"
        )
    bearer = b"GET /api/v1/me HTTP/1.1\r\n" + host + b"Authorization: Bearer \xff\r\n\r\n"
    run.raw("encodings", "GET /api/v1/me (Authorization: Bearer \\xff)", bearer)
    # What was stored, read back: a name that was taken must not break a page, a list or an export.
    for path in ("/vendors/", f"/vendors/{s.vendor_id}", "/export/ledger.json", "/export/vendors.csv"):
        ctx.page("encodings", "GET", path, label="read back")
    ctx.api("encodings", "GET", "/api/v1/vendors?per_page=200", label="read back")


def ids(ctx: Context) -> None:
    # As an admin, who may reach every route: what is tried is the id, not the role.
    for method, rule in ctx.seeded.routes:
        for huge in HUGE_IDS:
            path = ID_ARGUMENT.sub(huge, rule)
            if rule.startswith("/api/"):
                body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
                ctx.api("ids", method, path, who="admin", **body)
            else:
                ctx.page("ids", method, path, who="admin", form={} if method == "POST" else None)
    for huge in HUGE_IDS:
        for query in ("vendor_id", "owner_id", "page", "per_page"):
            ctx.api("ids", "GET", f"/api/v1/commitments?{query}={huge}", who="admin")
        ctx.api("ids", "GET", f"/api/v1/events?before={huge}", who="admin")
        for page in ("/vendors/", "/commitments/", "/admin/events"):
            ctx.page("ids", "GET", f"{page}?page={huge}", who="admin")


def _fresh_commitment(ctx: Context) -> int | None:
    body = {"kind": "deadline", "title": "Edge", "due_at": "2026-01-05T10:00:00Z"}
    path = f"/api/v1/vendors/{ctx.seeded.vendor_id}/commitments"
    answer = ctx.api("dates", "POST", path, label="a fresh one to resolve", json=body)
    return answer.json()["id"] if answer is not None and answer.status_code == 201 else None


EDGE_MOMENTS = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "10000-01-01T00:00:00Z",
)


def dates(ctx: Context) -> None:
    s = ctx.seeded
    editor = s.users["editor"]
    # Past the calendar once the user's zone moves them to UTC: year 1 at UTC+14, 9999 at UTC-11.
    for zone, day in (("Pacific/Kiritimati", "0001-01-01"), ("Pacific/Pago_Pago", "9999-12-31")):
        ctx.api("dates", "PATCH", "/api/v1/me", label=zone, json={"timezone": zone})
        for due_time in ("", "00:00", "23:59"):
            form = {"kind": "promise", "title": f"Due {day}", "due_date": day, "due_time": due_time}
            form |= {"owner_id": editor, "contact_id": 0, "status": "open"}
            label = f"{day} {due_time} in {zone}"
            ctx.page("dates", "POST", f"/commitments/new/{s.vendor_id}", label=label, form=form)
        commitment = _fresh_commitment(ctx)
        if commitment is not None:
            edit = {"kind": "deadline", "title": "Edge", "due_date": day, "owner_id": editor, "contact_id": 0}
            ctx.page("dates", "POST", f"/commitments/{commitment}/edit", label=day, form=edit)
            for status, field_name in (("kept", "done_date"), ("rescheduled", "new_due_date")):
                resolve = {"status": status, field_name: day, "confirm_past": "y"}
                path = f"/commitments/{commitment}/resolve"
                ctx.page("dates", "POST", path, label=f"{status} {day}", form=resolve)
            ctx.page("dates", "GET", f"/commitments/{commitment}", label="read back")
    ctx.api("dates", "PATCH", "/api/v1/me", label="back to the default zone", json={"timezone": None})
    for moment in EDGE_MOMENTS:
        body = {"kind": "promise", "title": "Edge", "due_at": moment}
        ctx.api("dates", "POST", f"/api/v1/vendors/{s.vendor_id}/commitments", label=moment, json=body)
        ctx.api("dates", "PATCH", f"/api/v1/commitments/{s.commitment_id}", json={"due_at": moment})
        commitment = _fresh_commitment(ctx)
        outcomes = ({"status": "kept", "done_at": moment}, {"status": "rescheduled", "new_due_at": moment})
        for body in outcomes if commitment is not None else ():
            body |= {"confirm_past": True} if body["status"] == "rescheduled" else {}
            ctx.api("dates", "POST", f"/api/v1/commitments/{commitment}/resolve", label=moment, json=body)
        encoded = moment.replace("+", "%2B")
        for path in ("/api/v1/scorecard", f"/api/v1/vendors/{s.vendor_id}/score"):
            ctx.api("dates", "GET", f"{path}?as_of={encoded}")
        ctx.api("dates", "GET", f"/api/v1/commitments?due_from={encoded}&due_to={encoded}")


def zones(ctx: Context) -> None:
    s = ctx.seeded
    pages = [*s.pages, f"/vendors/{s.vendor_id}", f"/commitments/{s.commitment_id}"]
    for zone in ("Factory", "localtime"):
        ctx.api("zones", "PATCH", "/api/v1/me", who="zoned", label=zone, json={"timezone": zone})
        for page in pages:
            ctx.page("zones", "GET", page, who="zoned", label=f"as a user in {zone}")
        profile = {"name": "Zoned", "timezone": zone, "locale": "", "digest_enabled": "y"}
        ctx.page("zones", "POST", "/auth/profile", who="zoned", label=zone, form=profile)
        ctx.page("zones", "GET", "/auth/profile", who="zoned", label=f"after choosing {zone}")
    ctx.api("zones", "PATCH", "/api/v1/me", who="zoned", label="back to the default", json={"timezone": None})


DEEP = 100_000
ODD_BODIES = {
    f"{DEEP:,} nested arrays": b"[" * DEEP + b"]" * DEEP,
    f"{DEEP:,} nested objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    f"a name {DEEP:,} arrays deep": b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "an array": b"[]",
    "null": b"null",
    "a string": b'"Vendor"',
    "a number past a float": b"1e999",
    "a name that is a number": b'{"name": 123}',
    "a name that is a list": b'{"name": ["Acme"]}',
    "a name that is an object": b'{"name": {"a": 1}}',
    "a null name": b'{"name": null}',
    "NaN": b'{"name": NaN}',
    "Infinity": b'{"name": "Inf", "notes": Infinity}',
    "a number past a float, in a field": b'{"name": "Big", "notes": 1e400}',
    "an integer of 5,000 digits": b'{"name": ' + b"9" * 5000 + b"}",
    "cut short": b'{"name": "Acme',
    "a key twice": b'{"name": "Twice", "name": "Again"}',
    "empty": b"",
}


def json_shapes(ctx: Context) -> None:
    s = ctx.seeded
    for label, body in ODD_BODIES.items():
        ctx.api("json", "POST", "/api/v1/vendors", label=label, raw=body)
    for path in (f"/api/v1/vendors/{s.vendor_id}", f"/api/v1/commitments/{s.commitment_id}", "/api/v1/me"):
        ctx.api("json", "PATCH", path, label="no body")
        ctx.api("json", "PATCH", path, label="null", raw=b"null")
    for commit in (0, 1, "yes", None, [True]):
        body = {"csv": "vendor\nCommit Test", "commit": commit}
        ctx.api("json", "POST", "/api/v1/import", label=f"commit: {json.dumps(commit)}", json=body)
    ctx.api("json", "POST", "/api/v1/import", label="csv: 123", json={"csv": 123})
    wrong = (
        {"status": ["kept"]},
        {"status": "kept", "done_at": 123},
        {"status": "broken", "excuse_category": 5},
    )
    for body in wrong:
        path = f"/api/v1/commitments/{s.commitment_id}/resolve"
        ctx.api("json", "POST", path, label=json.dumps(body), json=body)
    for contact in (10**30, -1, "1", 1.5):
        body = {"kind": "promise", "title": "Ids", "due_at": "2026-09-01T10:00:00Z", "contact_id": contact}
        path = f"/api/v1/vendors/{s.vendor_id}/commitments"
        ctx.api("json", "POST", path, label=f"contact_id {contact}", json=body)
    types = {
        "text/plain": b'{"name": "Plain"}',
        "application/json; charset=utf-16": '{"name": "Sixteen"}'.encode("utf-16"),
        "application/x-www-form-urlencoded": b"name=Form",
    }
    for content_type, body in types.items():
        ctx.api(
            "json",
            "POST",
            "/api/v1/vendors",
            label=content_type,
            raw=body,
            headers={"Content-Type": content_type},
        )
    for query in ("page=1&page=2", "per_page=abc", "archived=maybe", "page=-1"):
        ctx.api("json", "GET", f"/api/v1/vendors?{query}")


def concurrency(ctx: Context) -> None:
    s = ctx.seeded
    vendor = (
        f"/api/v1/vendors/{s.spare_vendor_id}/archive",
        f"/api/v1/vendors/{s.spare_vendor_id}/unarchive",
    )
    user = (f"/api/v1/users/{s.users['spare']}/disable", f"/api/v1/users/{s.users['spare']}/enable")

    def writer(number: int) -> None:
        with requests.Session() as session:
            for turn in range(ROUNDS):
                path = (vendor if number % 2 else user)[turn % 2]
                ctx.api("concurrency", "POST", path, who="admin", via=session)

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


ACTIONS = {
    "sizes": sizes,
    "encodings": encodings,
    "ids": ids,
    "dates": dates,
    "zones": zones,
    "json": json_shapes,
    "concurrency": concurrency,
}


# -- the report ------------------------------------------------------------------------------------


def memory(pid: int) -> tuple[float, float] | None:
    """VmRSS and VmHWM (its peak) in MB, from /proc/<pid>/status."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines if line.startswith("Vm")}
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


COLUMNS = ("requests", "5xx", "no answer", "not sent", "seconds")


def report(run: Run, seconds: dict[str, float]) -> dict[str, dict]:
    """The table, printed; by family: requests sent, 5xx, unanswered, not sent for want of time."""
    table = {}
    for family in FAMILIES:
        mine = [o for o in run.outcomes if o.family == family]
        table[family] = {
            "requests": len(mine),
            "5xx": sum(1 for o in mine if o.status is not None and o.status >= 500),
            "no answer": sum(1 for o in mine if o.status is None),
            "not sent": run.not_sent[family],
            "seconds": round(seconds.get(family, 0.0), 1),
        }
    table["all"] = {key: round(sum(row[key] for row in table.values()), 1) for key in COLUMNS}
    print("\n" + f"{'family':<12}" + "".join(f"{column:>11}" for column in COLUMNS))
    for family, row in table.items():
        print(f"{family:<12}" + "".join(f"{row[column]:>11}" for column in COLUMNS))
    return table


def verdict(table: dict[str, dict], workers: dict[int, tuple[float, float] | None]) -> list[str]:
    families = {family: row for family, row in table.items() if family != "all"}
    failures = [f"{row['5xx']} answered 5xx in {family}" for family, row in families.items() if row["5xx"]]
    failures += [f"{row['no answer']} unanswered in {f}" for f, row in families.items() if row["no answer"]]
    over = [f"worker {pid} at {m[0]:.0f} MB" for pid, m in workers.items() if m and m[0] > RSS_LIMIT_MB]
    return failures + [f"{line}, over {RSS_LIMIT_MB:.0f} MB" for line in over]


def main() -> int:
    args = parse_args()
    run_dir = DATA / f"hostile-{os.getpid()}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    database = Database(args.database, run_dir, args.postgres)
    print(f"machine: {machine(database)}")
    database.create()
    web, finished = None, False
    failures: list[str] = []
    try:
        environ = environment(database, run_dir) | {"VENDORTRACK_SECURE_COOKIES": "false"}  # plain HTTP
        seeded = seed(setup_app(environ))
        port = free_port()
        web, log = start_gunicorn(environ, run_dir, port)
        base = f"http://{HOST}:{port}"
        workers_before = set(children(web.pid))
        print(f"gunicorn on {base}, workers {sorted(workers_before)}, database {args.database}")
        users = ("admin", "editor", "zoned")
        browsers = {who: sign_in(base, f"{who}@hostile.test", seeded.password) for who in users}
        run = Run(base, port, time.monotonic() + args.seconds)
        ctx = Context(run, seeded, args.big_mb * 2**20, browsers)
        seconds = {}
        for family in FAMILIES:
            started = time.monotonic()
            ACTIONS[family](ctx)
            seconds[family] = time.monotonic() - started
        table = report(run, seconds)
        errors = [o for o in run.outcomes if o.status is None or o.status >= 500]
        print("\n5xx and unanswered:" if errors else "")
        for outcome in errors:
            print(f"  {outcome.family:<12} {outcome.status or outcome.error:<12} {outcome.label[:140]}")
        workers = {pid: memory(pid) for pid in children(web.pid)}
        ends = [f"{pid}: RSS {m[0]:.0f}, peak {m[1]:.0f}" for pid, m in sorted(workers.items()) if m]
        print("\nworkers at the end (MB): " + ", ".join(ends))
        if replaced := workers_before - set(workers):
            print(f"workers replaced during the run (killed or crashed): {sorted(replaced)}")
        tracebacks = log.read_text(errors="replace").count("Traceback")
        print(f"tracebacks in gunicorn's log: {tracebacks} ({log.relative_to(ROOT)})")
        failures = verdict(table, workers)
        if args.json:
            figures = {
                "database": args.database,
                "big_mb": args.big_mb,
                "table": table,
                "workers_mb": {pid: {"rss": m[0], "peak": m[1]} for pid, m in workers.items() if m},
                "workers_replaced": len(replaced),
                "tracebacks": tracebacks,
                "errors": [o.__dict__ for o in errors],
                "finished": datetime.now(UTC).isoformat(),
            }
            args.json.write_text(json.dumps(figures, indent=1))
        finished = True
    finally:
        if web is not None and (message := stop(web, "gunicorn")):
            failures.append(message)
        database.drop()
        if finished and not failures and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    if failures:
        print(f"\nFAILED: {'; '.join(failures)} (logs in {run_dir.relative_to(ROOT)})")
        return 1
    print(f"\nOK: no 5xx, every request answered, every worker under {RSS_LIMIT_MB:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
