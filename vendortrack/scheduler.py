"""The scheduler process: one APScheduler BlockingScheduler in UTC that runs each job every tick,
and the nightly ones (jobs.NIGHTLY) when it starts and then once a night.

Never started by create_app or a web worker: only `flask --app wsgi scheduler run` builds it.
The jobs claim their work in the database, so a second scheduler by mistake does no harm.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from vendortrack import jobs
from vendortrack.extensions import db

# A pause (a laptop asleep, a slow deploy) must not skip runs: run late rather than never,
# and once rather than once per missed tick.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 300, "max_instances": 1}


def run_job(app: Flask, name: str) -> None:
    with app.app_context():
        try:
            result = jobs.run(name, db.session)
            if any(result.values()):
                app.logger.info("job %s: %s", name, result)
        except Exception:
            app.logger.exception("job %s failed", name)
        finally:
            db.session.remove()


def build(app: Flask) -> BlockingScheduler:
    # One worker thread: the jobs run one after another, in the order below, never side by side.
    scheduler = BlockingScheduler(
        timezone=UTC, job_defaults=JOB_DEFAULTS, executors={"default": ThreadPoolExecutor(1)}
    )
    tick = app.config["VENDORTRACK_SCHEDULER_TICK"]
    start = datetime.now(UTC)
    nightly = CronTrigger(
        hour=jobs.NIGHTLY_AT.hour,
        minute=jobs.NIGHTLY_AT.minute,
        timezone=ZoneInfo(app.config["VENDORTRACK_TIMEZONE"]),
    )
    # overdue, unanswered, reminders, digests, outbox every tick; jobs.NIGHTLY once a night
    for name in jobs.JOBS:
        trigger = nightly if name in jobs.NIGHTLY else IntervalTrigger(seconds=tick, timezone=UTC)
        scheduler.add_job(
            run_job,
            trigger,
            args=[app, name],
            id=name,
            name=name,
            next_run_time=start,
            replace_existing=True,
        )
    return scheduler


def serve(app: Flask) -> None:
    """Run until SIGTERM or Ctrl-C; a job in progress finishes before the process exits."""
    scheduler = build(app)

    def stop(signum, frame):
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ticking = [name for name in jobs.JOBS if name not in jobs.NIGHTLY]
    app.logger.info(
        "scheduler: %s every %ss; %s nightly at %s",
        ", ".join(ticking),
        app.config["VENDORTRACK_SCHEDULER_TICK"],
        ", ".join(sorted(jobs.NIGHTLY)),
        jobs.NIGHTLY_AT.strftime("%H:%M"),
    )
    scheduler.start()
