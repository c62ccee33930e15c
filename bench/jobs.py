"""Benchmark of the scheduled jobs on SQLite (issue 4, "Fast"): the overdue sweep and the weekly digest.

    .venv/bin/python bench/jobs.py [--commitments 1000000 --overdue 10000 --recipients 500]
                                   [--vendors 2000 --seed 1 --repeat 3] [--partial-index]

Builds once, under bench/.data/, a SQLite ledger with bench/generate.py's generator (events and
score buckets included), adds the digest subscribers, and turns it into the case the issue names with
a few UPDATEs: `--overdue` commitments just became overdue (open, due_at + grace a few seconds before
`now`, never flagged), every other open commitment past its grace already flagged, the rest resolved
or not yet due. Then, each --repeat times on a fresh copy of that file, in this process:

- jobs.flag_overdue(session, now, config) inside mail.mail_context: the flags, the events and the
  owners' emails queued in the outbox (target: at most 5 s);
- jobs.send_digests(session, now, config): every subscriber's digest built and queued, nothing
  sent (target: at most 30 s).

--partial-index adds, to the copies only, an index on due_at of open unflagged commitments (a schema
change the lead would make with a migration), to measure what it would buy. Nothing leaves the
machine: mail is queued in the database and never delivered.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import secrets
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: config.py lives at the root

from bench.generate import generate  # noqa: E402
from config import DevelopmentConfig  # noqa: E402
from vendortrack import create_app, jobs, mail  # noqa: E402
from vendortrack.accounts import password_hasher  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.models import (  # noqa: E402
    Commitment,
    EventAction,
    LedgerEvent,
    MailKind,
    OutboxMessage,
    Role,
    Status,
    User,
)

DATA = ROOT / "bench" / ".data"
# A Monday evening in UTC: every subscriber's Monday 08:00, from Tokyo to Los Angeles, has passed.
NOW = datetime(2026, 6, 29, 18, 0, tzinfo=UTC)
ZONES = ("UTC", "Europe/Warsaw", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")
TARGETS = {"overdue": 5.0, "digests": 30.0}
PARTIAL_INDEX = (
    "CREATE INDEX ix_bench_commitment_open_unflagged_due_at ON commitment (due_at) "
    "WHERE status = 'open' AND flagged_overdue_at IS NULL"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commitments", type=int, default=1_000_000, help="20,000 to 5,000,000")
    parser.add_argument("--overdue", type=int, default=10_000, help="how many have just become overdue")
    parser.add_argument("--recipients", type=int, default=500, help="digest subscribers due now")
    parser.add_argument("--vendors", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="1 to 10 runs of each job")
    parser.add_argument("--only", choices=("overdue", "digests"), help="run one of the two jobs")
    parser.add_argument(
        "--zones",
        type=int,
        default=len(ZONES),
        help=f"spread the subscribers over the first 1 to {len(ZONES)} of {', '.join(ZONES)}",
    )
    parser.add_argument("--partial-index", action="store_true", help="add the partial index to the copies")
    parser.add_argument(
        "--profile", action="store_true", help="an extra, uncounted run of each job under cProfile first"
    )
    args = parser.parse_args()
    if not 20_000 <= args.commitments <= 5_000_000 or not 1 <= args.repeat <= 10:
        parser.error("--commitments must be 20,000 to 5,000,000 and --repeat 1 to 10")
    if not 1 <= args.zones <= len(ZONES):
        parser.error(f"--zones must be 1 to {len(ZONES)}")
    if not 0 < args.overdue <= args.commitments // 10 or not 0 < args.recipients <= 5000:
        parser.error("--overdue must be at most a tenth of --commitments, --recipients at most 5000")
    return args


def bench_app(path: Path) -> Flask:
    environ = {
        "DATABASE_URL": f"sqlite:///{path}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "VENDORTRACK_MAIL_DIR": str(path.parent / "jobs-mail"),
    }
    return create_app(DevelopmentConfig(environ, instance_path=path.parent))


def stored(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy keeps it in SQLite, for the raw SQL below."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _close(app: Flask) -> None:
    db.session.remove()
    db.engine.dispose()  # the last connection closes: SQLite folds the WAL back into the file


def add_subscribers(session, count: int, now: datetime) -> list[int]:
    """`count` editors with the digest on, due this Monday 08:00 in their own zones, in one INSERT."""
    password_hash = password_hasher().hash(secrets.token_urlsafe(16))  # once: nobody signs in as them
    rows = []
    for i in range(count):
        zone = ZONES[i % len(ZONES)]
        scheduled = User(timezone=zone).next_digest_at(now - timedelta(days=7), "UTC")
        rows.append(
            {
                "email": f"subscriber{i:04d}@vendortrack.test",
                "name": f"Subscriber {i}",
                "password_hash": password_hash,
                "role": Role.editor,
                "timezone": zone,
                "session_token": secrets.token_urlsafe(32),
                "created_at": now - timedelta(days=400),
                "digest_enabled": True,
                "digest_next_at": scheduled,
            }
        )
    session.execute(sa.insert(User), rows)
    return list(
        session.scalars(
            sa.select(User.id).where(User.email.like("subscriber%@vendortrack.test")).order_by(User.id)
        )
    )


def make_just_overdue(session, count: int, now: datetime, grace: timedelta, owners: list[int]) -> None:
    """Past-grace open commitments flagged already; then `count` resolved ones reopened, just overdue."""
    session.execute(
        sa.update(Commitment)
        .where(
            Commitment.status == Status.open,
            Commitment.flagged_overdue_at.is_(None),
            Commitment.due_at <= now - grace,
        )
        .values(flagged_overdue_at=now - timedelta(days=1))  # by some earlier run
    )
    # Spread evenly over the whole history (every n-th resolved one), and over the owners.
    resolved = sa.select(Commitment.id).where(
        Commitment.status != Status.open, Commitment.due_at < now - grace
    )
    ids = list(session.scalars(resolved.order_by(Commitment.id)))
    step = max(len(ids) // count, 1)
    chosen = ids[::step][:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} resolved commitments to reopen; generate more")
    # One UPDATE with a per-row owner and due moment: due_at + grace lands 1..59 s before `now`.
    session.execute(
        sa.text("CREATE TEMP TABLE bench_pick (id INTEGER PRIMARY KEY, owner_id INTEGER, due_at DATETIME)")
    )
    due = now - grace
    session.execute(
        sa.text("INSERT INTO bench_pick VALUES (:id, :owner_id, :due_at)"),
        [
            {
                "id": cid,
                "owner_id": owners[i % len(owners)],
                "due_at": stored(due - timedelta(seconds=1 + i % 59)),
            }
            for i, cid in enumerate(chosen)
        ],
    )
    session.execute(
        sa.text(
            "UPDATE commitment SET status = 'open', owner_id = p.owner_id, due_at = p.due_at, "
            "done_at = NULL, lateness_us = NULL, excuse_category = NULL, excuse = '', reason = '', "
            "resolved_at = NULL, resolved_by_id = NULL, flagged_overdue_at = NULL, reminded_at = p.due_at "
            "FROM bench_pick AS p WHERE commitment.id = p.id"
        )
    )
    session.execute(sa.text("DROP TABLE bench_pick"))


def prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The base database for these parameters, built unless a matching one is already there."""
    wanted = {
        "commitments": args.commitments,
        "overdue": args.overdue,
        "recipients": args.recipients,
        "vendors": args.vendors,
        "seed": args.seed,
        "now": NOW.isoformat(),
        "version": 1,
    }
    path = DATA / f"jobs-c{args.commitments}-o{args.overdue}-r{args.recipients}-s{args.seed}.sqlite"
    sidecar = path.with_name(path.name + ".json")
    if path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            return path, meta | {"reused": True}
    DATA.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), sidecar):
        stale.unlink(missing_ok=True)
    app = bench_app(path)
    started = time.perf_counter()
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        generated = generate(
            db.session,
            vendors=args.vendors,
            commitments=args.commitments,
            seed=args.seed,
            now=NOW,
            rules=app.config["VENDORTRACK_RULES"],
            timezone="UTC",
        )
        subscribers = add_subscribers(db.session, args.recipients, NOW)
        db.session.commit()
        make_just_overdue(db.session, args.overdue, NOW, app.config["VENDORTRACK_GRACE"], subscribers)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        _close(app)
    meta = wanted | {
        "build_seconds": round(time.perf_counter() - started, 1),
        "events": generated.events,
        "statuses": {s.value: n for s, n in generated.statuses.items()},
    }
    sidecar.write_text(json.dumps(meta, indent=1))
    return path, meta | {"reused": False}


def fresh_copy(base: Path, args: argparse.Namespace) -> Path:
    copy = base.with_name(base.stem + "-run.sqlite")
    for stale in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(base, copy)
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        if args.partial_index:
            conn.execute(PARTIAL_INDEX)
        if args.zones < len(ZONES):  # fewer zones: fewer distinct weeks for the digest to sum up
            rows = conn.execute("SELECT id FROM user WHERE email LIKE 'subscriber%' ORDER BY id").fetchall()
            for i, (user_id,) in enumerate(rows):
                zone = ZONES[i % args.zones]
                at = User(timezone=zone).next_digest_at(NOW - timedelta(days=7), "UTC")
                conn.execute(
                    "UPDATE user SET timezone = ?, digest_next_at = ? WHERE id = ?",
                    (zone, stored(at), user_id),
                )
        conn.commit()
    return copy


def timed(
    base: Path, args: argparse.Namespace, name: str, run: Callable[[Flask], dict[str, int]], profile: bool
) -> tuple[float, dict[str, int]]:
    """One run of a job on a fresh copy: wall seconds and what it returned."""
    app = bench_app(fresh_copy(base, args))
    with app.app_context(), mail.mail_context(app):
        db.session.execute(sa.select(sa.func.count()).select_from(Commitment)).scalar()  # open the file
        db.session.commit()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = run(app)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        check(name, result, args)
        _close(app)
    if profiler:
        print(f"\n-- profile of one {name} run --")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return seconds, result


def check(name: str, result: dict[str, int], args: argparse.Namespace) -> None:
    """The run did the whole job: a fast wrong answer is no benchmark."""
    session = db.session
    if name == "overdue":
        events = session.scalar(
            sa.select(sa.func.count())
            .select_from(LedgerEvent)
            .where(LedgerEvent.action == EventAction.flagged_overdue, LedgerEvent.at == NOW)
        )
        queued = session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == MailKind.overdue)
        )
        assert result["flagged"] == args.overdue == events, (result, events)
        assert result["emails"] == queued == args.recipients, (result, queued)
    else:
        queued = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == MailKind.digest)
        )
        assert result["queued"] == queued >= args.recipients, (result, queued)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> int:
    args = parse_args()
    print(f"machine: {machine()}")
    started = time.perf_counter()
    base, meta = prepare(args)
    how = "reused" if meta["reused"] else f"built in {meta['build_seconds']} s"
    print(
        f"database: {base.relative_to(ROOT)} ({base.stat().st_size // 2**20} MiB, {how}): "
        f"{args.commitments} commitments, {meta.get('events', '?')} events, {args.overdue} just overdue, "
        f"{args.recipients} digest subscribers; now = {NOW.isoformat()}"
        + ("; with the partial index" if args.partial_index else "")
        + (f"; subscribers in {args.zones} time zone(s)" if args.zones < len(ZONES) else "")
    )
    runs = {
        "overdue": lambda app: jobs.flag_overdue(db.session, NOW, app.config),
        "digests": lambda app: jobs.send_digests(db.session, NOW, app.config),
    }
    missed = []
    for name, run in runs.items():
        if args.only and name != args.only:
            continue
        figures, result = [], {}
        if args.profile:  # an extra run: the profiler's overhead stays out of the figures
            timed(base, args, name, run, profile=True)
        for _ in range(args.repeat):
            seconds, result = timed(base, args, name, run, profile=False)
            figures.append(seconds)
        median = statistics.median(figures)
        ok = median <= TARGETS[name]
        missed += [] if ok else [name]
        each = ", ".join(f"{s:.2f}" for s in figures)
        print(
            f"{name}: median {median:.2f} s of {args.repeat} (runs: {each}); "
            f"target <= {TARGETS[name]:.0f} s: {'met' if ok else 'MISSED'}; result {result}"
        )
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
