"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1 that records mail and fails on request."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from flask import Flask

from tests.conftest import _empty_all_tables, make_app
from tests.net import free_port  # aiosmtpd's start-up check cannot work with port=0
from vendortrack.extensions import db

HOST = "127.0.0.1"


class MailServer:
    """What the server saw: every attempt, and the messages it accepted (parsed, as a mail client would).

    `defer(n)` answers the next n messages with 451 (try again later); `refuse()` answers 550 from now on.
    `hold_after(n)` answers n more messages, then keeps the next ones unanswered, their data in hand,
    until `release()`: a sender stopped there cannot know the server took them.
    """

    def __init__(self) -> None:
        self.host, self.port = HOST, free_port()
        self.held = 0  # how many messages were kept unanswered for a while
        self.attempts: list[EmailMessage] = []
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._deferrals = 0
        self._refusing = False
        self._until_hold: int | None = None
        self._released = threading.Event()
        self._lock = threading.Lock()

    def defer(self, count: int) -> None:
        with self._lock:
            self._deferrals = count

    def refuse(self, refusing: bool = True) -> None:
        with self._lock:
            self._refusing = refusing

    def hold_after(self, count: int) -> None:
        with self._lock:
            self._until_hold = count
            self._released.clear()

    def release(self) -> None:
        with self._lock:
            self._until_hold = None
            self._released.set()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            hold = self._until_hold == 0
            if self._until_hold:
                self._until_hold -= 1
            self.held += hold
        while hold and not self._released.is_set():
            await asyncio.sleep(0.01)  # the server's loop keeps serving while this one waits
        with self._lock:
            self.attempts.append(message)
            if self._refusing:
                return "550 5.1.1 No such mailbox here"
            if self._deferrals:
                self._deferrals -= 1
                return "451 4.3.2 Please try again later"
            self.received.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]


@contextmanager
def mail_server() -> Iterator[MailServer]:
    """A running aiosmtpd server; as a fixture: `with mail_server() as server: yield server`."""
    with serving(MailServer()) as server:
        yield server


@contextmanager
def serving(server: MailServer) -> Iterator[MailServer]:
    """Listen on the server's port from now on: until then a sender finds the port closed."""
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


class SilentServer:
    """Accepts connections and never says a word: the server that hangs a sender without a timeout."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-smtp", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        held = []
        try:
            while not self._stop.is_set():
                try:
                    connection, _address = self._listener.accept()
                except TimeoutError:
                    continue
                held.append(connection)  # keep it open, and say nothing
                self.accepted += 1
        finally:
            for connection in held:
                connection.close()
            self._listener.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def smtp_settings(server: MailServer | SilentServer, **settings: str) -> dict[str, str]:
    """Settings that send through the given server, plain (no STARTTLS), retrying after 60 s at first."""
    return {
        "VENDORTRACK_SMTP_HOST": server.host,
        "VENDORTRACK_SMTP_PORT": str(server.port),
        "VENDORTRACK_SMTP_STARTTLS": "false",
        "VENDORTRACK_SMTP_TIMEOUT_SECONDS": "5",
        "VENDORTRACK_MAIL_RETRY_SECONDS": "60",
        "VENDORTRACK_MAIL_FROM": "Vendortrack <ledger@vendortrack.test>",
        "VENDORTRACK_BASE_URL": "https://vendortrack.test",
        **settings,
    }


@contextmanager
def app_with(database_url: str, instance: Path, **settings: str) -> Iterator[Flask]:
    """An app on the test database, emptied first, inside its app context (as conftest's `app`)."""
    app = make_app(database_url, instance, **settings)
    with app.app_context():
        _empty_all_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
