"""gunicorn's settings and hooks for vendortrack's web workers: `flask serve` and the README's recipe
both pass it with `--config python:vendortrack.gunicorn_conf`, so both run with the same timeout."""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

from config import read_setting

# A sync worker busy with one request longer than this is killed. The largest import (5 MB, some
# 100,000 short rows) takes minutes at the import's rate in BENCHMARKS.md: hence minutes, not
# gunicorn's 30 s. A --timeout on gunicorn's command line would override it.
timeout = read_setting("VENDORTRACK_REQUEST_TIMEOUT_SECONDS")

# A request allocates thousands of short-lived objects (rows, ORM states, the answer), and at
# Python's default the collector ran every 700 of them, a measurable share of a request's CPU; every
# 20,000 it is a small one, for a few MB more of a worker's memory (BENCHMARKS.md, "Load"). What the
# app holds for its whole life is set aside once, never scanned.
ALLOCATIONS_BETWEEN_COLLECTIONS = (20_000, 50, 100)


class RequestTimedOut(Exception):
    """A request ran to its deadline and was stopped there, for the app to answer it (errors.py)."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped at its deadline of {seconds:g} s")
        self.seconds = seconds


def deadline_for(timeout: float) -> float:
    """A tenth of the timeout before it, and at least a second: time to roll back and answer, and for
    a statement running in SQLite's C code (which no signal interrupts) to end first."""
    return timeout - max(1.0, timeout / 10)


class RequestDeadline:
    """Around the app in a sync worker: at the deadline SIGALRM raises RequestTimedOut wherever the
    request is, so the app answers it (JSON under /api/, a page elsewhere) and rolls back, instead of
    gunicorn killing the worker and its client getting gunicorn's bare 500."""

    def __init__(self, app: Callable[..., Iterable[bytes]], seconds: float):
        self.app = app
        self.seconds = seconds
        self._armed = False
        self._in_request = False
        signal.signal(signal.SIGALRM, self._expired)  # the worker's main thread, which runs requests
        self._unraisable_before = sys.unraisablehook
        sys.unraisablehook = self._swallowed

    def _expired(self, signum: int, frame: Any) -> None:
        if self._armed:  # an alarm from a request already answered is no one's
            if frame is not None and frame.f_code is _SWALLOWED_CODE:
                # Raised in the hook, it would be swallowed too: ask again once the hook has returned.
                signal.setitimer(signal.ITIMER_REAL, 0.001)
                return
            self._armed = False
            raise RequestTimedOut(self.seconds)

    def _swallowed(self, unraisable: Any) -> None:
        """An alarm that fell while Python ran a finaliser or a weakref callback (the collector runs
        them anywhere) raised there, and Python swallows what those raise: the request would run on
        past its deadline. Ask again at once, now in the request's own code."""
        if isinstance(unraisable.exc_value, RequestTimedOut) and self._in_request:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            return
        self._unraisable_before(unraisable)

    def _disarm(self) -> None:
        self._armed = self._in_request = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        self._armed = self._in_request = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self._disarm()
            raise
        # gunicorn's timeout runs until the answer is sent, and a streamed one (the import's progress)
        # is still being worked out while it goes: the deadline holds as long.
        return ClosingIterator(answer, self._disarm)


_SWALLOWED_CODE = RequestDeadline._swallowed.__code__


def post_worker_init(worker) -> None:
    gc.freeze()
    gc.set_threshold(*ALLOCATIONS_BETWEEN_COLLECTIONS)
    # Only the sync worker is killed for one long request: gthread's heartbeat comes from its main
    # loop whatever its threads do (and a signal reaches the main thread alone).
    from gunicorn.workers.sync import SyncWorker

    if isinstance(worker, SyncWorker) and worker.cfg.timeout:
        worker.wsgi = RequestDeadline(worker.wsgi, deadline_for(worker.cfg.timeout))
