"""PostgreSQL restarted under load (issue 6, "Faults"): requests fail cleanly while it is down, then succeed.

    .venv/bin/python bench/faults.py [--before 5 --outage 10 --after 20 --clients 4 --timeout 10]

Leaves the shared PostgreSQL alone: it starts a throwaway cluster of its own (initdb into a temporary
directory owned by the `postgres` OS user, on a free port, with the binaries of
/usr/lib/postgresql/*/bin), migrates a database there, creates an editor with an API token, and serves
the app with gunicorn (2 workers, production settings). Client threads then send a steady stream of
API reads (GET /api/v1/vendors), API writes (POST /api/v1/vendors) and signed-in page reads
(GET /vendors/) while the cluster is stopped (`pg_ctl stop -m fast`) for --outage seconds and started
again; gunicorn is never restarted.

Pass, and exit 0, when: before the stop and after the start every answer is a 2xx; while the
database is away every answer is a 2xx (done before it went) or a 503 with the JSON error envelope
(API) or the HTML page (pages), none is a 500, none shows a traceback, none takes past --timeout;
the same gunicorn workers answer after as before; and every write answered 201 is in the database.
Otherwise it names each failure and exits 1. Everything it started is stopped and removed.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
EMAIL, PASSWORD = "bench@example.test", "a long bench password"
PHASES = ("before", "outage", "after")


@dataclass
class Answer:
    """One request: what was asked, when, and what came back (or the client-side error)."""

    kind: str
    started: float
    ended: float
    status: int | None = None
    content_type: str = ""
    body: str = ""
    retry_after: str = ""
    error: str = ""
    vendor_name: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        sys.exit("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


class Cluster:
    """A PostgreSQL cluster of our own in a temporary directory, run as the `postgres` OS user."""

    def __init__(self, directory: Path) -> None:
        self.bin, self.directory, self.port = pg_bin(), directory, free_port()
        self.data, self.log = directory / "data", directory / "postgresql.log"

    def _run(self, *argv: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-locale",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses={HOST} -k {self.directory} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"


def flask(env: dict[str, str], *args: str, stdin: str = "") -> str:
    argv = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def worker_pids(master: int) -> set[int]:
    """gunicorn's workers: the processes whose parent is the master."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.add(int(stat.parent.name))
    return children


def sign_in(base: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD}
    answer = browser.post(f"{base}/auth/login", data=form, timeout=10, allow_redirects=False)
    if answer.status_code != 302:
        sys.exit(f"could not sign in: {answer.status_code}")
    return browser


class Load:
    """Client threads, each cycling through an API read, an API write and a page read."""

    def __init__(self, base: str, api_token: str, browser: requests.Session, clients: int, timeout: float):
        self.base, self.timeout = base, timeout
        self.headers = {"Authorization": f"Bearer {api_token}"}
        self.cookies = browser.cookies
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.drive, args=(n,), daemon=True) for n in range(clients)]

    def request(self, session: requests.Session, kind: str, n: int) -> Answer:
        name = f"Bench vendor {n} {secrets.token_hex(4)}" if kind == "api write" else ""
        method, path, options = {
            "api read": ("GET", "/api/v1/vendors", {"headers": self.headers}),
            "api write": ("POST", "/api/v1/vendors", {"headers": self.headers, "json": {"name": name}}),
            "page read": ("GET", "/vendors/", {"cookies": self.cookies, "allow_redirects": False}),
        }[kind]
        answer = Answer(kind, time.monotonic(), 0.0, vendor_name=name)
        try:
            response = session.request(method, self.base + path, timeout=self.timeout, **options)
            answer.status, answer.body = response.status_code, response.text
            answer.content_type = response.headers.get("Content-Type", "")
            answer.retry_after = response.headers.get("Retry-After", "")
        except requests.RequestException as error:
            answer.error = f"{type(error).__name__}: {error}"
        answer.ended = time.monotonic()
        return answer

    def drive(self, number: int) -> None:
        kinds = ("api read", "api write", "page read")
        with requests.Session() as session:
            n = number
            while not self.stopping.is_set():
                answer = self.request(session, kinds[n % len(kinds)], n)
                with self.lock:
                    self.answers.append(answer)
                n += 1
                time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(self.timeout + 5)


def phase(answer: Answer, went: float, back: float) -> str:
    if answer.ended < went:
        return "before"
    if answer.started > back:
        return "after"
    return "outage"


def clean_unavailable(answer: Answer) -> bool:
    """A 503 a client can act on: the JSON envelope under /api/, the page elsewhere, a Retry-After."""
    if answer.status != 503 or "Traceback" in answer.body or not answer.retry_after:
        return False
    if not answer.kind.startswith("api"):
        return answer.content_type.startswith("text/html") and "Unavailable for a moment" in answer.body
    try:
        return json.loads(answer.body)["error"]["code"] == "unavailable"
    except (ValueError, KeyError, TypeError):
        return False


def judge(answers: list[Answer], went: float, back: float, timeout: float) -> list[str]:
    failures = []
    for answer in answers:
        when = phase(answer, went, back)
        label = f"{when}: {answer.kind} at +{answer.started - went:.2f}s"
        if answer.error:
            failures.append(f"{label}: no answer ({answer.error})")
        elif answer.seconds >= timeout:
            failures.append(f"{label}: took {answer.seconds:.1f}s")
        elif when != "outage" and not 200 <= answer.status < 300:
            failures.append(f"{label}: {answer.status} {answer.body[:200]!r}")
        elif when == "outage" and not (200 <= answer.status < 300 or clean_unavailable(answer)):
            failures.append(f"{label}: {answer.status} {answer.content_type} {answer.body[:200]!r}")
    if not any(a.status == 503 for a in answers if phase(a, went, back) == "outage"):
        failures.append("no request met the outage: it proved nothing")
    for when in ("before", "after"):
        if not any(phase(a, went, back) == when for a in answers):
            failures.append(f"no request {when} the outage")
    return failures


def summary(answers: list[Answer], went: float, back: float, stopped: float, started: float) -> str:
    lines = [
        f"database stop took {stopped - went:.1f}s, down {started - stopped:.1f}s, start took "
        f"{back - started:.1f}s"
    ]
    counts: dict[str, Counter] = defaultdict(Counter)
    times: dict[str, list[float]] = defaultdict(list)
    for answer in answers:
        when = phase(answer, went, back)
        counts[when][(answer.kind, answer.status or answer.error.split(":")[0])] += 1
        times[when].append(answer.seconds)
    for when in PHASES:
        if not times[when]:
            continue
        median, slowest = statistics.median(times[when]) * 1000, max(times[when]) * 1000
        total = len(times[when])
        lines.append(f"{when:7} {total:4} requests, median {median:.0f} ms, slowest {slowest:.0f} ms")
        for (kind, status), count in sorted(counts[when].items(), key=str):
            lines.append(f"          {kind:9} {status}: {count}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=float, default=5, help="seconds of load before the stop")
    parser.add_argument("--outage", type=float, default=10, help="seconds the database stays down")
    parser.add_argument("--after", type=float, default=20, help="seconds of load after the start")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a request may take")
    options = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="vendortrack-faults-"))
    cluster, gunicorn = Cluster(directory), None
    try:
        cluster.init()
        cluster.start()
        admin = sa.create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE vendortrack")
        admin.dispose()

        web_port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("VENDORTRACK_") and k not in ("DATABASE_URL", "SECRET_KEY")
        }
        env |= {
            "DATABASE_URL": cluster.url("vendortrack"),
            "SECRET_KEY": secrets.token_urlsafe(32),
            "VENDORTRACK_CONFIG": "production",
            "VENDORTRACK_SECURE_COOKIES": "false",
            "VENDORTRACK_TRUSTED_HOSTS": HOST,
            "VENDORTRACK_INSTANCE_PATH": str(directory / "instance"),
        }
        flask(env, "db", "upgrade")
        flask(env, "users", "create", EMAIL, "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n")
        api_token = flask(env, "users", "token", EMAIL).split()[-1]

        gunicorn_log = directory / "gunicorn.log"
        with gunicorn_log.open("w") as log:
            gunicorn = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    "2",
                    "--bind",
                    f"{HOST}:{web_port}",
                    "--timeout",
                    "30",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://{HOST}:{web_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/auth/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or gunicorn.poll() is not None:
                sys.exit(f"gunicorn did not start:\n{gunicorn_log.read_text()}")
            time.sleep(0.2)
        browser = sign_in(base)
        workers = worker_pids(gunicorn.pid)

        with Load(base, api_token, browser, options.clients, options.timeout) as load:
            time.sleep(options.before)
            went = time.monotonic()
            cluster.stop("fast")
            stopped = time.monotonic()
            time.sleep(options.outage)
            started = time.monotonic()
            cluster.start()
            back = time.monotonic()
            time.sleep(options.after)
        answers = sorted(load.answers, key=lambda a: a.started)

        failures = judge(answers, went, back, options.timeout)
        workers_after = worker_pids(gunicorn.pid) if gunicorn.poll() is None else set()
        if workers_after != workers:
            failures.append(f"gunicorn's workers changed: {sorted(workers)} -> {sorted(workers_after)}")
        engine = sa.create_engine(cluster.url("vendortrack"))
        with engine.connect() as connection:
            stored = set(connection.scalars(sa.text("SELECT name FROM vendor")))
        engine.dispose()
        created = [a.vendor_name for a in answers if a.kind == "api write" and a.status == 201]
        missing = [name for name in created if name not in stored]
        if missing:
            failures.append(f"{len(missing)} writes answered 201 are not in the database: {missing[:3]}")
        refused = [a.vendor_name for a in answers if a.kind == "api write" and a.status == 503]
        print(summary(answers, went, back, stopped, started))
        print(
            f"writes: {len(created)} answered 201, all stored: {not missing}; {len(refused)} answered 503, "
            f"of which stored anyway: {sum(name in stored for name in refused)}"
        )
        print(f"gunicorn workers before and after: {sorted(workers)} -> {sorted(workers_after)}")
        logged = gunicorn_log.read_text()
        print(
            f"gunicorn log: {logged.count('Database unavailable')} 'Database unavailable' (503) lines, "
            f"{logged.count('Database gone as a session ended')} 'Database gone as a session ended' lines, "
            f"{logged.count('Traceback')} tracebacks"
        )
        if failures and "Traceback" in logged:
            first = logged.index("Traceback")
            print("the first traceback in gunicorn's log:\n" + logged[first : first + 6000])
        for failure in failures[:20]:
            print(f"FAIL {failure}")
        if len(failures) > 20:
            print(f"... and {len(failures) - 20} more failures")
        print("PASS" if not failures else f"FAILED: {len(failures)} problems")
        return 1 if failures else 0
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            try:
                gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, signal.SIGKILL)
                gunicorn.wait()
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
