"""What one request of each kind costs in the app itself: CPU time and SQL statements (issue 6).

    .venv/bin/python bench/request_cost.py [--database sqlite|postgresql] [--requests 300] [--seed 1]
                                           [--vendors 200] [--history 20000] [--profile KIND]

bench/load.py measures the whole server under load, where the machine's noise and the other
processes blur what a change did. This one drives the same requests as load.py's clients (the same
bodies, the same mix of outcomes) one at a time through the app in this process, with Flask's test
client instead of gunicorn and a socket, on the same kind of freshly seeded database. For each kind it
prints the median and p90 CPU time a request took (this thread's time.thread_time, which the other
processes on the machine do not inflate), how many SQL statements it ran, and on SQLite how long it
held the write lock (from BEGIN IMMEDIATE to COMMIT, CPU time): writers take turns, so the writes a
second can never pass 1000 / that figure, however many CPUs serve them. Last, the Python function
calls a request makes (cProfile, 100 requests): a count that the machine's noise does not move, for
comparing two versions of the code. --profile KIND runs that
kind again under cProfile and prints the 30 costliest functions. Bounded: --requests at most 5,000.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/load.py, beside this file

import load  # noqa: E402

from vendortrack.database import write_intent  # noqa: E402
from vendortrack.extensions import db  # noqa: E402


class InProcessClient(load.Client):
    """load.py's client, its requests sent through the test client rather than over a socket."""

    def __init__(self, app, token: str, vendor_ids: list[int], args: argparse.Namespace):
        super().__init__(0, 0, token, vendor_ids, args, load.Budget(1e9, 10**9))
        self.http = app.test_client()
        self.base = f"http://{load.HOST}"  # the trusted host the production settings name

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        response = self.http.open(
            path,
            base_url=self.base,
            method=method,
            json=body,
            headers={"Authorization": self.headers["Authorization"]},
        )
        return response.status_code, response.get_json(silent=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", default=load.POSTGRES_DEFAULT)
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind, 1 to 5,000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vendors", type=int, default=200)
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--profile", choices=load.EXPECTED, default=None)
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000:
        parser.error("--requests must be 1 to 5,000")
    args.clients, args.mix = 1, {}
    return args


@dataclass
class Costs:
    cpu: list[float] = field(default_factory=list)  # ms a request
    statements: list[int] = field(default_factory=list)  # a request
    locked: list[float] = field(default_factory=list)  # ms a write transaction held the write lock


class Meter:
    """Counts statements and times write transactions through the engine's events."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.statements, self.locked_since, self.locked = engine, 0, None, []
        self.events = {
            "before_cursor_execute": self.statement,
            "begin": self.begin,
            "commit": self.end,
            "rollback": self.end,
        }

    def statement(self, *_args) -> None:
        self.statements += 1

    def begin(self, _connection) -> None:
        # Registered after configure_sqlite's listeners: this runs once the write lock is taken.
        if write_intent.get() and self.engine.dialect.name == "sqlite":
            self.locked_since = time.thread_time()

    def end(self, _connection) -> None:
        if self.locked_since is not None:
            self.locked.append((time.thread_time() - self.locked_since) * 1000)
            self.locked_since = None

    def __enter__(self) -> Meter:
        for name, listener in self.events.items():
            sa.event.listen(self.engine, name, listener)
        return self

    def __exit__(self, *_exc) -> None:
        for name, listener in self.events.items():
            sa.event.remove(self.engine, name, listener)


def measure(client: InProcessClient, kind: str, count: int) -> Costs:
    costs = Costs()
    with Meter(db.engine) as meter:
        for _ in range(count):
            if kind == "resolve" and not client.open:
                client.log()
            meter.statements, meter.locked = 0, []
            started = time.thread_time()
            status, body = getattr(client, kind)()
            costs.cpu.append((time.thread_time() - started) * 1000)
            costs.statements.append(meter.statements)
            costs.locked += meter.locked
            if status != load.EXPECTED[kind]:
                raise SystemExit(f"{kind}: {status} {str(body)[:300]}")
    return costs


def calls(client: InProcessClient, kind: str, count: int = 100) -> float:
    """Python function calls a request makes, test client included: unlike time, the same on a busy
    machine as on an idle one, so two versions of the code compare exactly."""
    profiler = cProfile.Profile()
    profiler.runcall(measure, client, kind, count)
    return pstats.Stats(profiler).total_calls / count


def main() -> int:
    args = parse_args()
    run_dir = load.DATA / f"cost-{args.database}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    database = load.Database(args.database, run_dir, args.postgres)
    database.create()
    try:
        app = load.setup_app(load.environment(database, run_dir))
        seeded = load.seed_database(app, args)
        with app.app_context():
            client = InProcessClient(app, seeded.tokens[0], seeded.vendor_ids, args)
            measure(client, "log", 50)  # warm the caches: compiled statements, templates, the pool
            print(f"{args.requests} requests of each kind, one at a time, in process ({args.database})\n")
            heading = ("kind", "cpu p50 ms", "cpu p90 ms", "statements", "locked p50 ms", "calls")
            print(
                f"{heading[0]:10} {heading[1]:>11} {heading[2]:>11} {heading[3]:>11} {heading[4]:>14} "
                f"{heading[5]:>8}"
            )
            for kind in load.EXPECTED:
                costs = measure(client, kind, args.requests)
                p90 = statistics.quantiles(costs.cpu, n=10)[-1]
                locked = f"{statistics.median(costs.locked):14.2f}" if costs.locked else f"{'-':>14}"
                statements = statistics.median(costs.statements)
                print(
                    f"{kind:10} {statistics.median(costs.cpu):11.2f} {p90:11.2f} {statements:11.0f} "
                    f"{locked} {calls(client, kind):8.0f}"
                )
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(measure, client, args.profile, args.requests)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
