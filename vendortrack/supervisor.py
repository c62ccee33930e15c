"""The processes `flask serve` runs side by side, the web server and the scheduler, and stops together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import click
from flask_babel import gettext as _

from config import DEFAULT_HOST
from vendortrack import ROOT


@dataclass(frozen=True)
class Process:
    """One long-running process of the installation, started and stopped together with the others."""

    name: str
    argv: list[str]
    env: Mapping[str, str] | None = None  # None: this process's own environment


def web_process(
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 1,
    access_log: bool = False,
    env: Mapping[str, str] | None = None,
) -> Process:
    # One thread a worker (gunicorn's sync worker): the work is CPU in Python, so a second thread only
    # queues for the GIL, and one holding SQLite's write lock waits behind it while every other writer
    # waits for the lock (BENCHMARKS.md, "One thread a worker"). No --timeout: it is set once, in
    # vendortrack/gunicorn_conf.py, which the README's recipe starts gunicorn with too.
    from gunicorn.config import Config as GunicornConfig

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # Newer gunicorns open a control socket at one path per user; two checkouts would fight over it.
    quiet = ["--no-control-socket"] if "control_socket_disable" in GunicornConfig().settings else []
    # A line a request would bury the address and the one-time demo password printed just before.
    access = ["--access-logfile", "-"] if access_log else []
    return Process(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            bind,
            "--chdir",
            str(ROOT),
            "--config",
            "python:vendortrack.gunicorn_conf",
            *access,
            *quiet,
            "wsgi:app",
        ],
        env,
    )


def scheduler_process(env: Mapping[str, str] | None = None) -> Process:
    return Process("scheduler", [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], env)


def links_base_url(config: Mapping[str, object], host: str, port: int) -> str:
    """Where links in emails, the calendar feed and unsubscribe point: VENDORTRACK_BASE_URL when it is
    set, else the address `serve` listens on (loopback when it listens on every address)."""
    if config["VENDORTRACK_BASE_URL_SET"]:
        return str(config["VENDORTRACK_BASE_URL"])
    host = {"0.0.0.0": DEFAULT_HOST, "::": "::1", "": DEFAULT_HOST}.get(host, host)  # noqa: S104 - a name, not a bind
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def embedded_processes(host: str, port: int, base_url: str, access_log: bool = False) -> list[Process]:
    """What `serve` runs side by side: the web server and the one scheduler, both making links to
    `base_url` (each reads its settings afresh from the environment it is given)."""
    env = {**os.environ, "VENDORTRACK_BASE_URL": base_url}
    return [web_process(host, port, access_log=access_log, env=env), scheduler_process(env)]


class _Stop(Exception):
    """SIGTERM arrived: stop the children like Ctrl-C would."""


def run_processes(processes: Sequence[Process], poll_seconds: float = 0.5) -> int:
    """Run the processes until one ends or we are told to stop, then stop the rest; its exit code."""

    def on_term(signum, frame):
        raise _Stop

    previous = signal.signal(signal.SIGTERM, on_term)
    children: list[subprocess.Popen] = []
    code = 0
    try:
        children = [subprocess.Popen(p.argv, env=p.env) for p in processes]  # noqa: S603 - our own argv
        while all(child.poll() is None for child in children):
            time.sleep(poll_seconds)
        ended = next(i for i, child in enumerate(children) if child.returncode is not None)
        code = children[ended].returncode
        if code:
            click.echo(
                _(
                    "%(name)s stopped with exit code %(code)d; stopping the rest.",
                    name=processes[ended].name,
                    code=code,
                ),
                err=True,
            )
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        signal.signal(signal.SIGTERM, previous)
    return code
