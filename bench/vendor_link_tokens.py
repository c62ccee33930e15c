"""Whether the vendor link page's 404 tells anything by its time (issue 17): random tokens against a
revoked link's and an expired link's.

    .venv/bin/python bench/vendor_link_tokens.py [--database-url URL] [--requests 10000] [--links 2000]
                                                 [--vendors 50] [--history 5000] [--seed 1]

Makes a fresh database as bench/load.py does (a SQLite file under bench/.data/; with --database-url,
a PostgreSQL server on this machine, on which the run makes a database of its own beside the one the
URL names and drops it at the end), migrates it, generates a ledger (bench/generate.py), and asks the
contacts about --links new commitments, so the token index holds that many rows. One link is
revoked and one made more than VENDORTRACK_LINK_MAX_DAYS ago (expired). Then it GETs /v/<token>
through Flask's test client with the production settings, --requests times each, interleaved so the
machine's noise falls on all three alike: a new random token, the revoked link's, the expired
link's. It prints the median, p10 and p90 wall time of each and the ratios of the medians
(random/revoked, random/expired). It exits 1 if any answer is not the one 404 page, byte for byte,
or a ratio is off 1 by more than --tolerance (default 5 %).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import secrets
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/load.py, beside this file

import load  # noqa: E402

from bench.generate import generate  # noqa: E402
from vendortrack import ledger, mail, vendor_links  # noqa: E402
from vendortrack.accounts import create_user  # noqa: E402
from vendortrack.extensions import db  # noqa: E402
from vendortrack.models import Kind, Role, Vendor  # noqa: E402
from vendortrack.vendors import add_contact  # noqa: E402

KINDS = ("random", "revoked", "expired")
WARM_UP = 300  # requests of each kind before timing: compiled statements, templates, the pool


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server on this machine (its maintenance database); default: SQLite",
    )
    parser.add_argument("--requests", type=int, default=10_000, help="of each kind, 100 to 100,000")
    parser.add_argument("--links", type=int, default=2_000, help="links in the database, 2 to 100,000")
    parser.add_argument("--vendors", type=int, default=50)
    parser.add_argument("--history", type=int, default=5_000, help="generated commitments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.05, help="how far a ratio may be off 1")
    args = parser.parse_args()
    if not 100 <= args.requests <= 100_000 or not 2 <= args.links <= 100_000:
        parser.error("--requests must be 100 to 100,000 and --links 2 to 100,000")
    if not 1 <= args.vendors <= 5000 or not 0 <= args.history <= 1_000_000:
        parser.error("--vendors must be 1 to 5,000 and --history 0 to 1,000,000")
    if args.database_url and sa.make_url(args.database_url).host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--database-url must name a server on this machine (127.0.0.1)")
    return args


def seed(app, args: argparse.Namespace) -> dict[str, str]:
    """The ledger, --links links, and the paths of the revoked and the expired one."""
    now = datetime.now(UTC)
    rules = vendor_links.LinkRules.from_config(app.config)
    with app.app_context(), mail.mail_context(app):
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        generate(
            db.session,
            vendors=args.vendors,
            commitments=args.history,
            seed=args.seed,
            now=now,
            rules=app.config["VENDORTRACK_RULES"],
            password=secrets.token_urlsafe(16),
        )
        asker = create_user(
            db.session,
            email="asker@vendortrack.test",
            password=secrets.token_urlsafe(16),
            role=Role.editor,
            now=now,
            name="Asker",
        )
        vendors = db.session.scalars(sa.select(Vendor).order_by(Vendor.id)).all()
        rng, tokens = random.Random(args.seed), []
        for number in range(args.links):
            vendor = rng.choice(vendors)
            contact = (
                vendor.contacts[0] if vendor.contacts else add_contact(db.session, vendor, name="C", now=now)
            )
            # The last link was made long ago: it has expired by now.
            at = now - rules.max_age - timedelta(days=1) if number == args.links - 1 else now
            asked = ledger.log_commitment(
                db.session,
                vendor=vendor,
                kind=Kind.meeting,
                title=f"Asked about {number}",
                due_at=now + timedelta(days=rng.randint(1, 60)),
                actor=asker,
                now=at,
                contact=contact,
            )
            link, token = vendor_links.ask(
                db.session, asked, contact=contact, actor=asker, now=at, rules=rules, send_email=False
            )
            tokens.append((link, token))
            if number % 500 == 499:
                db.session.commit()
        revoked_link, revoked = tokens[0]
        vendor_links.revoke(db.session, revoked_link, actor=asker, now=now)
        db.session.commit()
        paths = {"revoked": f"/v/{revoked}", "expired": f"/v/{tokens[-1][1]}"}
        db.session.remove()
        db.engine.dispose()
    return paths


def measure(app, paths: dict[str, str], requests: int) -> tuple[dict[str, list[float]], set[bytes], set[int]]:
    client = app.test_client()
    base = f"http://{load.HOST}"  # the trusted host the production settings name
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    bodies, statuses = set(), set()
    with app.app_context():
        for round_number in range(WARM_UP + requests):
            order = list(KINDS)
            random.shuffle(order)  # no kind always first, where a cache might favour it
            for kind in order:
                path = f"/v/{secrets.token_urlsafe(24)}" if kind == "random" else paths[kind]
                started = time.perf_counter()
                response = client.get(path, base_url=base)
                elapsed = time.perf_counter() - started
                if round_number >= WARM_UP:
                    times[kind].append(elapsed * 1000)
                bodies.add(response.get_data())
                statuses.add(response.status_code)
        db.session.remove()
        db.engine.dispose()
    return times, bodies, statuses


def main() -> int:
    args = parse_args()
    kind = "postgresql" if args.database_url else "sqlite"
    run_dir = load.DATA / f"link-tokens-{kind}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    database = load.Database(kind, run_dir, args.database_url or load.POSTGRES_DEFAULT)
    database.create()
    try:
        app = load.setup_app(load.environment(database, run_dir))
        started = time.perf_counter()
        paths = seed(app, args)
        print(
            f"{kind}: {args.history:,} commitments, {args.links:,} links, seeded in "
            f"{time.perf_counter() - started:.0f} s; {args.requests:,} GET /v/<token> of each kind, "
            "interleaved, through the test client\n"
        )
        times, bodies, statuses = measure(app, paths, args.requests)
    finally:
        database.drop()
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"{'token':10} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8}")
    medians = {}
    for name in KINDS:
        deciles = statistics.quantiles(times[name], n=10)
        medians[name] = statistics.median(times[name])
        print(f"{name:10} {medians[name]:10.3f} {deciles[0]:8.3f} {deciles[-1]:8.3f}")
    ratios = {other: medians["random"] / medians[other] for other in ("revoked", "expired")}
    print()
    for other, ratio in ratios.items():
        print(f"random / {other}: {ratio:.3f}")
    failures = []
    if statuses != {404} or len(bodies) != 1:
        failures.append(f"answers differ: statuses {sorted(statuses)}, {len(bodies)} different bodies")
    failures += [
        f"random / {other} is {ratio:.3f}, more than {args.tolerance:.0%} off 1"
        for other, ratio in ratios.items()
        if abs(ratio - 1) > args.tolerance
    ]
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
