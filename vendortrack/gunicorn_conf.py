"""gunicorn's hooks for vendortrack's web workers: `flask serve` and the README's recipe pass it
with `--config python:vendortrack.gunicorn_conf`."""

from __future__ import annotations

import gc

# A request allocates thousands of short-lived objects (rows, ORM states, the answer), and at
# Python's default the collector ran every 700 of them, a measurable share of a request's CPU; every
# 20,000 it is a small one, for a few MB more of a worker's memory (BENCHMARKS.md, "Load"). What the
# app holds for its whole life is set aside once, never scanned.
ALLOCATIONS_BETWEEN_COLLECTIONS = (20_000, 50, 100)


def post_worker_init(worker) -> None:
    gc.freeze()
    gc.set_threshold(*ALLOCATIONS_BETWEEN_COLLECTIONS)
