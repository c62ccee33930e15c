"""Load test over loopback of what `flask serve` runs: gunicorn on wsgi:app plus the scheduler (issue 6).

    .venv/bin/python bench/load.py [--database sqlite|postgresql] [--workers 2] [--clients 16]
                                   [--seconds 60] [--seed 1] [--vendors 200] [--history 20000]
                                   [--threads N] [--worker-class gthread] [--mix log=40,...] [--json F]

Makes a fresh database (a SQLite file under bench/.data/, or a new PostgreSQL database vt_load_<pid>
on the local server, dropped at the end), migrates it, fills it with --history generated commitments
over --vendors vendors, and gives every client an editor of its own with an API token. Then starts
what `flask serve` starts, `supervisor.web_process` (gunicorn on 127.0.0.1, a free port) and
`supervisor.scheduler_process` (its tick shortened to 10 s so its jobs run during the load), and
drives them for --seconds with --clients threads, each on one keep-alive connection, in this mix:

    log        40 %  POST /api/v1/vendors/<id>/commitments
    resolve    35 %  POST /api/v1/commitments/<id>/resolve: kept 1/2, broken 1/4, rescheduled 1/4,
                     of a commitment the same client logged (so no two clients race for one)
    list       15 %  GET  /api/v1/commitments?vendor_id=<id>&status=open&per_page=20
    score       5 %  GET  /api/v1/vendors/<id>/score (the vendor's report, trend and explanation)
    scorecard   5 %  GET  /api/v1/scorecard (every vendor ranked)

Afterwards it stops both processes with SIGTERM and checks: no answer other than the expected 200/201
(nor a 5xx in the access log), no "database is locked" or traceback in any log, every acknowledged
write in the database (the commitment, its status, a reschedule's successor, the ledger event), the
scorecard's monthly sums of every month written to equal to a recount, and each gunicorn worker's
peak RSS (sampled every 0.25 s from /proc) under 200 MB. It prints per kind the count, the rate, the
p50/p95/p99 latency and the errors, and exits non-zero when a check fails. Bounded: at most
--max-requests requests and 600 s; nothing but 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: config.py lives at the root

from bench.generate import generate  # noqa: E402
from config import ProductionConfig  # noqa: E402
from vendortrack import create_app  # noqa: E402
from vendortrack.accounts import create_user, issue_token  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.models import Commitment, EventAction, LedgerEvent, Role, ScoreBucket, Vendor  # noqa: E402
from vendortrack.scores import tally  # noqa: E402
from vendortrack.scores.rules import Rules  # noqa: E402
from vendortrack.supervisor import scheduler_process, web_process  # noqa: E402

DATA = ROOT / "bench" / ".data"
HOST = "127.0.0.1"
MIX = "log=40,resolve=35,list=15,score=5,scorecard=5"  # percent of the requests, --mix to change
WRITES = ("log", "resolve")
OUTCOMES = ("kept", "kept", "broken", "rescheduled")
KINDS = ("meeting", "promise", "deadline")
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
EXPECTED = {"log": 201, "resolve": 200, "list": 200, "score": 200, "scorecard": 200}
RSS_LIMIT_MB = 200.0
TARGET = {"writes_per_s": 300.0, "write_p95_ms": 100.0}  # on SQLite with 2 workers
TICK_SECONDS = "10"
LOG_PROBLEMS = re.compile(r"database is locked|Traceback|\bERROR\b|CRITICAL", re.IGNORECASE)
# gunicorn's default access log line: ... "GET /path HTTP/1.1" 200 123 "-" "agent"
ACCESS_STATUS = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" (\d{3}) ')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres",
        default=POSTGRES_DEFAULT,
        help="the local server's maintenance database; vt_load_<pid> is made beside it",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, 1 to 8")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per worker (default: web_process's)"
    )
    parser.add_argument(
        "--worker-class", default=None, help="gunicorn's, to compare (default: web_process's)"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, 1 to 64")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to drive the load, 1 to 600")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many in all")
    parser.add_argument("--seed", type=int, default=1, help="the generated history and the clients' choices")
    parser.add_argument("--vendors", type=int, default=200)
    parser.add_argument("--history", type=int, default=20_000, help="generated commitments before the load")
    parser.add_argument("--mix", default=MIX, help=f"the share of each kind of request (default {MIX})")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, SQLite file)")
    args = parser.parse_args()
    if not 1 <= args.workers <= 8 or not 1 <= args.clients <= 64 or not 1 <= args.seconds <= 600:
        parser.error("--workers must be 1 to 8, --clients 1 to 64 and --seconds 1 to 600")
    if not 1 <= args.max_requests <= 1_000_000 or not 1 <= args.vendors <= 5000:
        parser.error("--max-requests must be 1 to 1,000,000 and --vendors 1 to 5,000")
    if not 0 <= args.history <= 1_000_000:
        parser.error("--history must be 0 to 1,000,000")
    try:
        args.mix = {kind: int(share) for kind, share in (part.split("=") for part in args.mix.split(","))}
    except ValueError:
        parser.error(f"--mix must look like {MIX}")
    if not set(args.mix) <= set(EXPECTED) or sum(args.mix.values()) <= 0 or min(args.mix.values()) < 0:
        parser.error(f"--mix names the kinds {', '.join(EXPECTED)} with shares of 0 or more")
    if urlsplit(args.postgres).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--postgres must be a server on this machine (127.0.0.1)")
    return args


# -- the database ----------------------------------------------------------------------------------


class Database:
    """A fresh database for one run: a SQLite file in the run's folder, or a PostgreSQL database."""

    def __init__(self, kind: str, run_dir: Path, postgres: str):
        self.kind = kind
        self.maintenance = postgres
        if kind == "sqlite":
            self.name = "load.sqlite"
            self.url = f"sqlite:///{run_dir / self.name}"
        else:
            self.name = f"vt_load_{os.getpid()}"
            self.url = urlsplit(postgres)._replace(path=f"/{self.name}").geturl()

    def create(self) -> None:
        if self.kind == "postgresql":
            with psycopg.connect(self.maintenance, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        """Only the database this run made; the server itself is shared and keeps running."""
        if self.kind == "postgresql":
            with psycopg.connect(self.maintenance, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
                )


def environment(database: Database, run_dir: Path) -> dict[str, str]:
    """The settings of the app in this process and in the two it starts: production, as gunicorn runs."""
    return {
        "VENDORTRACK_CONFIG": "production",
        "DATABASE_URL": database.url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "VENDORTRACK_INSTANCE_PATH": str(run_dir),
        "VENDORTRACK_MAIL_DIR": str(run_dir / "mail"),
        "VENDORTRACK_SCHEDULER_TICK_SECONDS": TICK_SECONDS,
        "VENDORTRACK_BASE_URL": f"http://{HOST}",
        "VENDORTRACK_TRUSTED_HOSTS": HOST,
    }


def setup_app(environ: dict[str, str]) -> Flask:
    return create_app(ProductionConfig(environ))


@dataclass
class Seeded:
    vendor_ids: list[int]
    tokens: list[str]
    seconds: float


def seed_database(app: Flask, args: argparse.Namespace) -> Seeded:
    """Migrate, generate the history, one editor and token per client, and the scorecard's sums."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    rules = app.config["VENDORTRACK_RULES"]
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        generate(
            db.session,
            vendors=args.vendors,
            commitments=args.history,
            seed=args.seed,
            now=now,
            rules=rules,
            password=secrets.token_urlsafe(16),
        )
        password = secrets.token_urlsafe(16)
        tokens = []
        for i in range(args.clients):
            user = create_user(
                db.session,
                email=f"load{i:02d}@vendortrack.test",
                password=password,
                role=Role.editor,
                now=now,
                name=f"Load client {i}",
            )
            tokens.append(issue_token(db.session, user, now=now))
        db.session.commit()
        tally.bring_up_to_date(db.session, rules, now)  # the rollups, so no request has to make them
        db.session.commit()
        vendor_ids = list(db.session.scalars(sa.select(Vendor.id).where(Vendor.archived_at.is_(None))))
        db.session.remove()
        db.engine.dispose()
    return Seeded(vendor_ids, tokens, time.perf_counter() - started)


# -- the processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    web: subprocess.Popen
    scheduler: subprocess.Popen
    logs: dict[str, Path]
    argv: list[str]


def start(environ: dict[str, str], run_dir: Path, port: int, args: argparse.Namespace) -> Server:
    extra = {} if args.threads is None else {"threads": args.threads}
    web = web_process(HOST, port, workers=args.workers, access_log=True, **extra)  # its statuses are checked
    if args.worker_class:  # to compare: placed before the app, the last argument
        web.argv[-1:-1] = ["--worker-class", args.worker_class]
    env = os.environ | environ
    logs = {name: run_dir / f"{name}.log" for name in ("access", "web", "scheduler")}
    web_popen = subprocess.Popen(
        web.argv, cwd=ROOT, env=env, stdout=logs["access"].open("wb"), stderr=logs["web"].open("wb")
    )
    scheduler_popen = subprocess.Popen(
        scheduler_process().argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=logs["scheduler"].open("wb"),
    )
    return Server(web_popen, scheduler_popen, logs, web.argv)


def wait_ready(server: Server, port: int, token: str, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        for name, process in (("gunicorn", server.web), ("scheduler", server.scheduler)):
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} exited with {process.returncode} before the load; see {server.logs}"
                )
        request = f"GET /api/v1/me HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        with contextlib.suppress(OSError, EOFError):  # not listening, or not answering, yet
            conn = HttpConnection(port)
            try:
                if conn.exchange(request.encode())[0] == 200:
                    return time.perf_counter() - started
            finally:
                conn.close()
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {HOST}:{port} within {timeout:.0f} s")


def stop(process: subprocess.Popen, name: str, timeout: float = 30.0) -> str:
    """SIGTERM and wait, as `flask serve` stops its children; a kill is reported as a failure."""
    if process.poll() is not None:
        return f"{name} had already exited with {process.returncode}"
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"{name} did not stop within {timeout:.0f} s of SIGTERM and was killed"
    return ""


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class RssSampler(threading.Thread):
    """Each gunicorn worker's (the master's children) and the scheduler's peak RSS, from /proc, and
    the CPU time each used from the first sample to the last."""

    def __init__(self, server: Server, every: float = 0.25):
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.peaks: dict[str, float] = {}
        self.cpu_first: dict[str, float] = {}
        self.cpu_last: dict[str, float] = {}
        self.done = threading.Event()

    def sample(self) -> None:
        named = {f"worker {pid}": pid for pid in children(self.server.web.pid)}
        named |= {"master": self.server.web.pid, "scheduler": self.server.scheduler.pid}
        for name, pid in named.items():
            mb, cpu = rss_mb(pid), cpu_seconds(pid)
            if mb is not None:
                self.peaks[name] = max(self.peaks.get(name, 0.0), mb)
            if cpu is not None:
                self.cpu_first.setdefault(name, cpu)
                self.cpu_last[name] = cpu

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.every)
        self.sample()

    def cpu_used(self) -> dict[str, float]:
        return {name: self.cpu_last[name] - self.cpu_first[name] for name in self.cpu_last}


# -- the clients -----------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server acknowledged, to look for in the database afterwards."""

    logged: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (vendor_id, title)
    resolved: dict[int, str] = field(default_factory=dict)  # id -> final status
    successors: dict[int, int] = field(default_factory=dict)  # successor id -> rescheduled id
    months: set[tuple[int, datetime]] = field(default_factory=set)  # (vendor_id, month) written to


@dataclass
class Sample:
    kind: str
    status: int
    ms: float
    ended: float


class Budget:
    """The run's bound: a deadline and a number of requests, shared by every client."""

    def __init__(self, seconds: float, requests: int):
        self.deadline = time.perf_counter() + seconds
        self.left = requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        if time.perf_counter() >= self.deadline:
            return False
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


class HttpConnection:
    """Just enough HTTP/1.1 for gunicorn's answers to the load: a request out, status, length and body in.

    The load runs on the same CPUs as the server it measures, and http.client (its headers parsed
    by the email package) cost each request about half a millisecond of them.
    """

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """The answer's status, its body, and whether the connection stays open after it."""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _sep, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        headers = {}
        for line in lines:
            name, _colon, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise RuntimeError("the load's client reads answers with a Content-Length only")
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buffer) < length:
                self._receive()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        else:  # the body runs to the end of the connection
            with contextlib.suppress(EOFError):
                while True:
                    self._receive()
            body, self.buffer, keep_alive = self.buffer, b"", False
        return int(status), body, keep_alive

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class Client(threading.Thread):
    def __init__(
        self,
        number: int,
        port: int,
        token: str,
        vendor_ids: list[int],
        args: argparse.Namespace,
        budget: Budget,
    ):
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.port, self.budget, self.mix = number, port, budget, args.mix
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.head = f"Host: {HOST}:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        self.vendor_ids = vendor_ids
        self.rng = random.Random(args.seed * 1000 + number)
        self.open: list[tuple[int, int, datetime]] = []  # (id, vendor_id, due_at) of its own open ones
        self.samples: list[Sample] = []
        self.ledger = Ledger()
        self.failures: list[str] = []
        self.conn: HttpConnection | None = None
        self.logged = 0

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        """Send one request and read its answer; the body is decoded for writes and failures only."""
        payload = b"" if body is None else json.dumps(body).encode()
        request = (
            f"{method} {path} HTTP/1.1\r\n{self.head}Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = HttpConnection(self.port)
            try:
                status, data, keep_alive = self.conn.exchange(request)
                break
            except (EOFError, BrokenPipeError, ConnectionResetError) as error:
                # A kept-alive connection the server closed between two requests: one retry on a new one,
                # but only for reads; a write might have landed, and a second one would be a second write.
                self.conn.close()
                self.conn = None
                if attempt == 2 or method != "GET":
                    return 0, str(error)
        if not keep_alive:
            self.conn.close()
            self.conn = None
        if method == "GET" and status == 200:
            return status, None  # the reads' answers are timed, not checked: no CPU spent on them
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data[:200]

    def run(self) -> None:
        kinds, weights = list(self.mix), list(self.mix.values())
        while self.budget.take():
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "resolve" and not self.open:
                kind = "log"
            started = time.perf_counter()
            status, body = getattr(self, kind)()
            ended = time.perf_counter()
            self.samples.append(Sample(kind, status, (ended - started) * 1000, ended))
            if status != EXPECTED[kind] and len(self.failures) < 20:
                self.failures.append(f"{kind}: {status} {str(body)[:300]}")
        if self.conn is not None:
            self.conn.close()

    def vendor(self) -> int:
        return self.rng.choice(self.vendor_ids)

    def log(self) -> tuple[int, Any]:
        vendor_id = self.vendor()
        self.logged += 1
        title = f"Load {self.number}-{self.logged}"
        # Due within the next five weeks, as most new commitments are: this month's sums and next.
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=self.rng.randrange(30, 50_000))
        body = {"kind": self.rng.choice(KINDS), "title": title, "due_at": due.isoformat()}
        status, body = self.call("POST", f"/api/v1/vendors/{vendor_id}/commitments", body)
        if status == 201:
            self.ledger.logged[body["id"]] = (vendor_id, title)
            self.ledger.months.add((vendor_id, tally.month_start(due)))
            self.open.append((body["id"], vendor_id, due))
        return status, body

    def resolve(self) -> tuple[int, Any]:
        commitment_id, vendor_id, due = self.open.pop(self.rng.randrange(len(self.open)))
        outcome = self.rng.choice(OUTCOMES)
        body: dict[str, Any] = {"status": outcome}
        if outcome == "broken":
            body |= {"excuse_category": "third_party", "excuse": "The courier lost it."}
        elif outcome == "rescheduled":
            new_due = due + timedelta(days=7)
            body |= {"new_due_at": new_due.isoformat(), "excuse_category": "oversight"}
        status, answer = self.call("POST", f"/api/v1/commitments/{commitment_id}/resolve", body)
        if status == 200:
            self.ledger.resolved[commitment_id] = outcome
            if outcome == "rescheduled":
                successor = answer["rescheduled_to"]
                self.ledger.successors[successor] = commitment_id
                self.ledger.months.add((vendor_id, tally.month_start(new_due)))
                self.open.append((successor, vendor_id, new_due))
        return status, answer

    def list(self) -> tuple[int, Any]:
        return self.call("GET", f"/api/v1/commitments?vendor_id={self.vendor()}&status=open&per_page=20")

    def score(self) -> tuple[int, Any]:
        return self.call("GET", f"/api/v1/vendors/{self.vendor()}/score")

    def scorecard(self) -> tuple[int, Any]:
        return self.call("GET", "/api/v1/scorecard")


# -- the checks ------------------------------------------------------------------------------------


def chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def verify(app: Flask, ledger: Ledger) -> list[str]:
    """Every acknowledged write, read back from the database directly; the problems found."""
    problems: list[str] = []
    rules = app.config["VENDORTRACK_RULES"]
    with app.app_context():
        session = db.session
        wanted = set(ledger.logged) | set(ledger.resolved) | set(ledger.successors)
        rows, events = {}, {}
        for part in chunks(sorted(wanted)):
            for row in session.execute(
                sa.select(
                    Commitment.id,
                    Commitment.vendor_id,
                    Commitment.title,
                    Commitment.status,
                    Commitment.rescheduled_from_id,
                ).where(Commitment.id.in_(part))
            ):
                rows[row.id] = row
            actions = sa.select(LedgerEvent.commitment_id, LedgerEvent.action)
            for commitment_id, action in session.execute(actions.where(LedgerEvent.commitment_id.in_(part))):
                events.setdefault(commitment_id, set()).add(EventAction(action))
        for commitment_id, (vendor_id, title) in ledger.logged.items():
            row = rows.get(commitment_id)
            if row is None or (row.vendor_id, row.title) != (vendor_id, title):
                problems.append(f"logged commitment #{commitment_id} ({title}) is missing or changed")
            elif EventAction.created not in events.get(commitment_id, ()):
                problems.append(f"logged commitment #{commitment_id} has no 'created' event")
        for commitment_id, outcome in ledger.resolved.items():
            row = rows.get(commitment_id)
            action = EventAction.rescheduled if outcome == "rescheduled" else EventAction.resolved
            if row is None or row.status != outcome:
                problems.append(f"commitment #{commitment_id} resolved {outcome} but is {row and row.status}")
            elif action not in events.get(commitment_id, ()):
                problems.append(f"commitment #{commitment_id} resolved {outcome} without its event")
        for successor, rescheduled in ledger.successors.items():
            row = rows.get(successor)
            if row is None or row.rescheduled_from_id != rescheduled:
                problems.append(f"successor #{successor} of #{rescheduled} is missing")
        problems += check_buckets(session, rules, ledger.months)
        db.session.remove()
        db.engine.dispose()
    return problems


def check_buckets(session, rules: Rules, months: set[tuple[int, datetime]]) -> list[str]:
    """The scorecard's monthly sums of every month written to equal a recount from the commitments:
    a write that lost a race for a bucket would leave it short without any error."""
    problems = []
    for vendor_id, start in sorted(months):
        month = (
            Commitment.vendor_id == vendor_id,
            Commitment.due_at >= start,
            Commitment.due_at < tally.next_month(start),
        )
        facts = session.execute(tally.facts_query().where(*month))
        expected = tally.bucket_for(vendor_id, start, (tally.to_fact(r) for r in facts), rules) or {}
        bucket = session.get(ScoreBucket, (vendor_id, start))
        for name in ("counted", "kept_on_time", "kept_late", "broken", "rescheduled", "overdue", "cancelled"):
            stored = getattr(bucket, name) if bucket else 0
            if stored != expected.get(name, 0):
                problems.append(
                    f"vendor #{vendor_id}, month {start:%Y-%m}: {name} is {stored}, "
                    f"a recount gives {expected.get(name, 0)}"
                )
                break
    return problems


def scan_logs(server: Server) -> tuple[list[str], dict[str, int]]:
    """Lines of the error logs that name a lock, a traceback or an error; the access log's statuses."""
    problems = []
    for name in ("web", "scheduler"):
        for line in server.logs[name].read_text(errors="replace").splitlines():
            if LOG_PROBLEMS.search(line):
                problems.append(f"{name}.log: {line.strip()[:300]}")
    statuses: dict[str, int] = {}
    for line in server.logs["access"].read_text(errors="replace").splitlines():
        match = ACCESS_STATUS.search(line)
        if match:
            statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
    return problems, statuses


# -- the report ------------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summarize(samples: list[Sample], seconds: float) -> dict[str, dict[str, float]]:
    groups = {kind: [s for s in samples if s.kind == kind] for kind in EXPECTED}
    groups["writes"] = [s for s in samples if s.kind in WRITES]
    groups["all"] = samples
    table = {}
    for kind, group in groups.items():
        latencies = [s.ms for s in group]
        errors = sum(1 for s in group if s.status != EXPECTED[s.kind])
        table[kind] = {
            "count": len(group),
            "per_s": len(group) / seconds,
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "max": max(latencies, default=float("nan")),
            "errors": errors,
        }
    return table


def print_table(table: dict[str, dict[str, float]]) -> None:
    print(
        f"{'kind':<10} {'count':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>6}"
    )
    for kind, row in table.items():
        if not row["count"] and kind in EXPECTED:
            continue  # a kind the mix left out
        if kind == "writes":
            print("-" * 72)
        print(
            f"{kind:<10} {row['count']:>7} {row['per_s']:>8.1f} {row['p50']:>8.1f} {row['p95']:>8.1f} "
            f"{row['p99']:>8.1f} {row['max']:>8.0f} {row['errors']:>6}"
        )


def machine(database: Database) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = next(
        (
            int(line.split()[1]) // 2**20
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    engine = f"SQLite {sqlite3.sqlite_version}"
    if database.kind == "postgresql":
        with psycopg.connect(database.maintenance) as conn:
            engine = "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory} GiB RAM, Python {platform.python_version()}, {engine}, "
        f"load average {load:.2f} before the run"
    )


def main() -> int:
    args = parse_args()
    run_dir = DATA / f"load-{os.getpid()}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    database = Database(args.database, run_dir, args.postgres)
    print(f"machine: {machine(database)}")
    database.create()
    server = None
    failures: list[str] = []
    finished = False
    try:
        environ = environment(database, run_dir)
        app = setup_app(environ)
        seeded = seed_database(app, args)
        print(
            f"database: {args.database} ({database.name}), {len(seeded.vendor_ids)} vendors, "
            f"{args.history} generated commitments, {args.clients} editors with tokens; "
            f"seeded in {seeded.seconds:.1f} s"
        )
        port = free_port()
        server = start(environ, run_dir, port, args)
        print(f"gunicorn: {' '.join(server.argv[1:])}")
        print(
            f"ready in {wait_ready(server, port, seeded.tokens[0]):.1f} s; {args.clients} clients for "
            f"{args.seconds:.0f} s (at most {args.max_requests} requests)"
        )
        sampler = RssSampler(server)
        sampler.start()
        own_cpu = time.process_time()
        budget = Budget(args.seconds, args.max_requests)
        started = time.perf_counter()
        clients = [
            Client(i, port, seeded.tokens[i], seeded.vendor_ids, args, budget) for i in range(args.clients)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=args.seconds + 120)
            if client.is_alive():
                failures.append(f"{client.name} was still waiting for an answer 120 s after the end")
        elapsed = time.perf_counter() - started
        own_cpu = time.process_time() - own_cpu
        load_after = os.getloadavg()[0]  # the other processes on the machine: the run's noise
        sampler.done.set()
        sampler.join()
        for process, name in ((server.web, "gunicorn"), (server.scheduler, "scheduler")):
            message = stop(process, name)
            if message:
                failures.append(message)

        samples = [s for c in clients for s in c.samples]
        table = summarize(samples, elapsed)
        print(
            f"\n{len(samples)} requests in {elapsed:.1f} s ({args.workers} workers, {args.clients} "
            f"clients, {args.database})\n"
        )
        print_table(table)
        for client in clients:
            failures += [f"{client.name}: {failure}" for failure in client.failures]

        log_problems, statuses = scan_logs(server)
        failures += log_problems
        server_errors = sum(n for status, n in statuses.items() if status.startswith("5"))
        if server_errors:
            failures.append(f"{server_errors} responses with a 5xx status in the access log: {statuses}")
        ledger = Ledger()
        for client in clients:
            ledger.logged |= client.ledger.logged
            ledger.resolved |= client.ledger.resolved
            ledger.successors |= client.ledger.successors
            ledger.months |= client.ledger.months
        missing = verify(app, ledger)
        failures += missing[:20]
        if len(missing) > 20:
            failures.append(f"... and {len(missing) - 20} more problems with acknowledged writes")

        workers = {name: mb for name, mb in sampler.peaks.items() if name.startswith("worker")}
        heaviest = max(workers.values(), default=0.0)
        print(f"\naccess log: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
        print(
            f"acknowledged writes checked in the database: {len(ledger.logged)} logged, "
            f"{len(ledger.resolved)} resolved, {len(ledger.successors)} successors, "
            f"{len(ledger.months)} monthly sums recounted; {len(missing)} problems"
        )
        print("peak RSS (MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(sampler.peaks.items())))
        cpu = sampler.cpu_used()
        web_cpu = sum(seconds for name, seconds in cpu.items() if name.startswith("worker"))
        print(
            f"CPU during the load: workers {web_cpu:.1f} s ({web_cpu * 1000 / max(len(samples), 1):.2f} ms "
            f"a request), scheduler {cpu.get('scheduler', 0):.1f} s, these clients {own_cpu:.1f} s, "
            f"of {elapsed * (os.cpu_count() or 1):.0f} s of CPU the machine had; load average "
            f"{load_after:.2f} at the end"
        )
        if heaviest > RSS_LIMIT_MB:
            failures.append(f"a worker reached {heaviest:.0f} MB, over {RSS_LIMIT_MB:.0f} MB")
        if not workers:
            failures.append("no gunicorn worker was found to sample")
        writes = table["writes"]
        verdict = ""
        if args.database == "sqlite":
            met = writes["per_s"] >= TARGET["writes_per_s"] and writes["p95"] < TARGET["write_p95_ms"]
            verdict = (
                f"; target on SQLite >= {TARGET['writes_per_s']:.0f} writes/s with p95 < "
                f"{TARGET['write_p95_ms']:.0f} ms: {'met' if met else 'MISSED'}"
            )
        print(f"writes: {writes['per_s']:.1f}/s, p95 {writes['p95']:.1f} ms{verdict}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "database": args.database,
                        "workers": args.workers,
                        "clients": args.clients,
                        "seconds": elapsed,
                        "table": table,
                        "rss_mb": sampler.peaks,
                        "statuses": statuses,
                        "cpu_seconds": cpu | {"clients": own_cpu},
                        "failures": failures,
                        "finished": datetime.now(UTC).isoformat(),
                    },
                    indent=1,
                )
            )
        finished = True
    finally:
        if server is not None:
            for process in (server.web, server.scheduler):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        database.drop()
        if finished and not failures and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    if failures:
        print(f"\nFAILED ({len(failures)}; logs kept in {run_dir.relative_to(ROOT)}):")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(
        "\nOK: no error answer, no lock, every acknowledged write present, workers under "
        f"{RSS_LIMIT_MB:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
