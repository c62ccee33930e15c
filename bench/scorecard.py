"""Benchmark of the scores API on SQLite at a procurement department's scale (issues 3 and 16).

    .venv/bin/python bench/scorecard.py [--vendors 2000 --commitments 1000000 --seed 1 --db PATH]
                                        [--rounds 15] [--complaints 100000]

Generates (once) a SQLite ledger with bench/generate.py's generator under bench/.data/, then
measures in one run, each --rounds times after one warm-up: GET /api/v1/scorecard through the app
in-process, the bare `SELECT vendor_id, COUNT(*) FROM commitment GROUP BY vendor_id` through the
same engine (interleaved with it, so both see the same machine), GET /api/v1/vendors/<id>/score
for the vendor with the most commitments, and the SQL statements one scorecard request runs.
A database is reused when its sidecar .json names the same vendors, commitments and seed, and
migrated to the latest schema first, its score sums brought up to date as the tally job does.

With --complaints N (issue 16), a copy of that database gets N complaints (bench/generate.py's
`add_complaints`, which changes no commitment beyond linking dated answers to promises), its
complaint rollups built as the tally job builds them; the scorecard is then measured on both
databases in the same rounds, alternating, and the ratio of the medians reported (target <= 1.25).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import io
import json
import secrets
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: config.py lives at the root

from bench import generate as generate_module  # noqa: E402
from bench.generate import generate  # noqa: E402
from config import DevelopmentConfig  # noqa: E402
from vendortrack import complaints as complaints_module  # noqa: E402
from vendortrack import create_app  # noqa: E402
from vendortrack.accounts import find_user, issue_token  # noqa: E402
from vendortrack.database import write_intent  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.gunicorn_conf import ALLOCATIONS_BETWEEN_COLLECTIONS  # noqa: E402
from vendortrack.scores import tally  # noqa: E402

DATA = ROOT / "bench" / ".data"
BARE_SQL = "SELECT vendor_id, COUNT(*) FROM commitment GROUP BY vendor_id"
READER = "pat@vendortrack.test"  # the demo's viewer, one of the generator's users
TARGETS = {"scorecard_ms": 300.0, "ratio": 2.0, "vendor_ms": 100.0, "complaints_ratio": 1.25}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vendors", type=int, default=2000)
    parser.add_argument("--commitments", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: under bench/.data/)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--complaints", type=int, default=0, help="also measure on a copy with this many complaints"
    )
    parser.add_argument(
        "--collector",
        choices=("worker", "default"),
        default="default",
        help="worker: the garbage collector as a web worker sets it (gunicorn_conf.post_worker_init)",
    )
    return parser.parse_args()


def bench_app(path: Path) -> Flask:
    environ = {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": secrets.token_urlsafe(32)}
    return create_app(DevelopmentConfig(environ, instance_path=path.parent))


def migrate(path: Path) -> None:
    """Bring a reused database to the latest schema, and its score sums up to date as the nightly
    tally job would: no request builds them."""
    app = bench_app(path)
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        rules, now = app.config["VENDORTRACK_RULES"], datetime.now(UTC)
        tally.bring_up_to_date(db.session, rules, now)
        db.session.commit()
        complaints_module.bring_up_to_date(db.session, rules, now)  # the nightly job's step for complaints
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def prepare(args: argparse.Namespace) -> tuple[Path, dict]:
    """The database for these parameters, generated unless a matching one is already there."""
    name = f"scorecard-v{args.vendors}-c{args.commitments}-s{args.seed}.sqlite"
    path = args.db.resolve() if args.db else DATA / name
    sidecar = path.with_name(path.name + ".json")
    # The generator's own text too: a changed generator makes a different ledger from the same seed.
    generator = hashlib.sha256(Path(generate_module.__file__).read_bytes()).hexdigest()[:16]
    wanted = {
        "vendors": args.vendors,
        "commitments": args.commitments,
        "seed": args.seed,
        "generator": generator,
    }
    if path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            migrate(path)  # a file made before the latest migration: bring its schema up to date
            return path, meta | {"reused": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), sidecar):
        stale.unlink(missing_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    app = bench_app(path)
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        started = time.perf_counter()
        result = generate(
            db.session,
            vendors=args.vendors,
            commitments=args.commitments,
            seed=args.seed,
            now=now,
            rules=app.config["VENDORTRACK_RULES"],
            password=secrets.token_urlsafe(16),
        )
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    meta = wanted | {
        "now": now.isoformat(),
        "busiest_vendor_id": result.busiest_vendor_id,
        "busiest_count": result.busiest_count,
        "events": result.events,
        "generate_seconds": round(seconds, 1),
    }
    sidecar.write_text(json.dumps(meta, indent=2))
    return path, meta | {"reused": False}


def with_complaints(path: Path, meta: dict, complaints: int) -> tuple[Path, dict]:
    """A copy of the database with complaints added, made once and reused while its sidecar matches."""
    copy = path.with_name(path.stem + f"-k{complaints}.sqlite")
    sidecar = copy.with_name(copy.name + ".json")
    wanted = {k: meta[k] for k in ("vendors", "commitments", "seed", "generator", "now")} | {
        "complaints": complaints
    }
    if copy.exists() and sidecar.exists() and json.loads(sidecar.read_text()).get("wanted") == wanted:
        migrate(copy)
        return copy, json.loads(sidecar.read_text())
    for stale in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm"), sidecar):
        stale.unlink(missing_ok=True)
    shutil.copyfile(path, copy)  # checkpointed: the last connection to close merged its write-ahead log
    app = bench_app(copy)
    rules, now = app.config["VENDORTRACK_RULES"], datetime.fromisoformat(meta["now"])
    with app.app_context():
        started = time.perf_counter()
        went = generate_module.add_complaints(
            db.session, complaints=complaints, seed=meta["seed"], now=now, rules=rules
        )
        db.session.commit()
        complaints_module.bring_up_to_date(db.session, rules, datetime.now(UTC))
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    made = {"wanted": wanted, "went": dict(went), "add_seconds": round(seconds, 1)}
    sidecar.write_text(json.dumps(made, indent=2))
    return copy, made


def timed(action, cpu: list[float] | None = None) -> float:
    """Wall time in ms; with `cpu`, the thread's CPU time in ms appended to it too (the test client
    serves the request in this thread, SQLite included): a machine busy with others inflates the wall
    time of a request by the time it waits for a CPU, not its CPU time."""
    started, started_cpu = time.perf_counter(), time.thread_time()
    action()
    if cpu is not None:
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in the samples' unit."""
    return statistics.median(samples), statistics.quantiles(samples, n=10, method="inclusive")[8]


def count_statements(engine: sa.Engine, action) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def _reader(path: Path) -> tuple[Flask, dict, sa.Engine]:
    """The app on a database, and a viewer's token for its API."""
    app = bench_app(path)
    with app.app_context():
        token = issue_token(db.session, find_user(db.session, READER), now=datetime.now(UTC))
        db.session.commit()
        engine = db.engine
        db.session.remove()
    return app, {"Authorization": f"Bearer {token}"}, engine


def measure(
    path: Path, meta: dict, rounds: int, complained: Path | None = None, collector: str = "default"
) -> dict:
    app, headers, engine = _reader(path)
    # As of now, as a page asks: the complaint rollups cover moments after they were last moved on.
    as_of = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    client = app.test_client()
    vendor_id = meta["busiest_vendor_id"]

    def scorecard():
        response = client.get(f"/api/v1/scorecard?as_of={as_of}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    other = None
    if complained is not None:
        other_app, other_headers, other_engine = _reader(complained)
        other_client = other_app.test_client()

        def other():
            response = other_client.get(f"/api/v1/scorecard?as_of={as_of}", headers=other_headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            return response

    def vendor_score():
        response = client.get(f"/api/v1/vendors/{vendor_id}/score?as_of={as_of}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def bare_sql():
        token = write_intent.set(False)  # a read, begun with a plain BEGIN as a GET request's is
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(BARE_SQL).all()
        finally:
            write_intent.reset(token)

    lines = len(scorecard().get_json()["items"])  # warm-up: caches, and the buckets if not current
    groups = len(bare_sql())
    counted = vendor_score().get_json()["counted"]
    with_complaints, complaint_ratios, with_complaints_cpu, board_cpu = [], [], [], []
    if other is not None:
        assert len(other().get_json()["items"]) == lines  # its warm-up
    if collector == "worker":
        # What post_worker_init does once the app is loaded: the loaded app set aside, a collection
        # every 20,000 allocations, not 700 (BENCHMARKS.md, "Load", change 17).
        gc.freeze()
        gc.set_threshold(*ALLOCATIONS_BETWEEN_COLLECTIONS)
    board, bare, ratios, one = [], [], [], []
    for i in range(rounds):
        # Which of the two goes first alternates, so neither always follows the other's warm caches.
        if other is not None and i % 2:
            with_complaints.append(timed(other, with_complaints_cpu))
        board.append(timed(scorecard, board_cpu))
        if other is not None and not i % 2:
            with_complaints.append(timed(other, with_complaints_cpu))
        if other is not None:
            complaint_ratios.append(with_complaints[-1] / board[-1])
        bare.append(timed(bare_sql))
        ratios.append(board[-1] / bare[-1])
        one.append(timed(vendor_score))
    statements = count_statements(engine, scorecard)
    other_statements = count_statements(other_engine, other) if other is not None else None
    return {
        "with_complaints": with_complaints,
        "with_complaints_cpu": with_complaints_cpu,
        "board_cpu": board_cpu,
        "complaint_ratios": complaint_ratios,
        "other_statements": other_statements,
        "board": board,
        "bare": bare,
        "ratios": ratios,
        "one": one,
        "statements": statements,
        "lines": lines,
        "groups": groups,
        "counted": counted,
    }


def report(path: Path, meta: dict, rounds: int, m: dict) -> None:
    board_median, board_p90 = summary(m["board"])
    bare_median, bare_p90 = summary(m["bare"])
    one_median, one_p90 = summary(m["one"])
    ratio = board_median / bare_median
    made = "reused" if meta["reused"] else f"generated in {meta['generate_seconds']} s"
    print(
        f"database   {path} ({made}; {meta['vendors']} vendors, {meta['commitments']} commitments, "
        f"seed {meta['seed']}, as of {meta['now']})"
    )
    print(f"rounds     {rounds} after one warm-up; times in ms")
    print()
    print(f"{'measure':<52} {'median':>9} {'p90':>9}  target")
    rows = [
        (
            f"a) GET /api/v1/scorecard ({m['lines']} vendors)",
            board_median,
            board_p90,
            f"<= {TARGETS['scorecard_ms']:.0f}",
            board_median <= TARGETS["scorecard_ms"],
        ),
        (f"b) bare GROUP BY vendor_id ({m['groups']} groups)", bare_median, bare_p90, "", None),
        (
            "   a/b (median of a / median of b)",
            ratio,
            None,
            f"<= {TARGETS['ratio']:.0f}",
            ratio <= TARGETS["ratio"],
        ),
        (
            f"c) GET /api/v1/vendors/{meta['busiest_vendor_id']}/score ({meta['busiest_count']} commitments, "
            f"{m['counted']} counted)",
            one_median,
            one_p90,
            f"<= {TARGETS['vendor_ms']:.0f}",
            one_median <= TARGETS["vendor_ms"],
        ),
        ("d) SQL statements per scorecard request", m["statements"], None, "", None),
    ]
    for name, median, p90, target, met in rows:
        p90_text = f"{p90:9.1f}" if p90 is not None else " " * 9
        median_text = f"{median:9.2f}" if isinstance(median, float) else f"{median:9d}"
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"{name:<52} {median_text} {p90_text}  {target} {verdict}".rstrip())
    per_round = statistics.median(m["ratios"])
    print()
    print(f"a/b per round: median {per_round:.2f}, min {min(m['ratios']):.2f}, max {max(m['ratios']):.2f}")
    if m["with_complaints"]:
        k_median, k_p90 = summary(m["with_complaints"])
        ratio = k_median / board_median
        went = ", ".join(f"{how} {n}" for how, n in sorted(meta["complaints"]["went"].items()))
        print()
        print(f"with complaints: {meta['complaints']['wanted']['complaints']} complaints ({went})")
        print(
            f"{'e) GET /api/v1/scorecard, the same ledger with complaints':<52} {k_median:9.2f} {k_p90:9.1f}"
        )
        verdict = "met" if ratio <= TARGETS["complaints_ratio"] else "MISSED"
        target = TARGETS["complaints_ratio"]
        print(f"{'   e/a (median of e / median of a)':<52} {ratio:9.2f} {'':9}  <= {target} {verdict}")
        cpu_a, cpu_e = statistics.median(m["board_cpu"]), statistics.median(m["with_complaints_cpu"])
        print(
            f"CPU time of a request (median): a) {cpu_a:.2f}, e) {cpu_e:.2f}, e/a {cpu_e / cpu_a:.2f}"
            f"  <= {target} {'met' if cpu_e / cpu_a <= target else 'MISSED'}"
        )
        r = m["complaint_ratios"]
        print(f"e/a per round: median {statistics.median(r):.2f}, min {min(r):.2f}, max {max(r):.2f}")
        print(f"SQL statements per scorecard request with complaints: {m['other_statements']}")


def main() -> None:
    args = parse_args()
    path, meta = prepare(args)
    complained = None
    if args.complaints:
        complained, meta["complaints"] = with_complaints(path, meta, args.complaints)
    print(f"collector  {args.collector}")
    report(path, meta, args.rounds, measure(path, meta, args.rounds, complained, args.collector))


if __name__ == "__main__":
    main()
