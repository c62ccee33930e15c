"""Loopback helpers for tests that start servers of their own (gunicorn, `flask serve`, SMTP)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request


def free_port() -> int:
    """A loopback port nobody listens on now (for servers that cannot be told to pick one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(url: str) -> int | None:
    """The HTTP status a GET answers, or None while nothing answers there."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
