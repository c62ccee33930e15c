"""Email: render a message from its templates, queue it in the outbox, deliver what is due.

Delivery goes through SMTP when VENDORTRACK_SMTP_HOST is set, else into a folder of .eml files
(the embedded default). Every message is a row first: a failure is retried with backoff or
marked failed with its error, never dropped.
"""

from __future__ import annotations

import re
import smtplib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, render_template, url_for
from flask_babel import get_locale
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vendortrack.i18n import DEFAULT_LANGUAGE
from vendortrack.models import MailKind, MailState, OutboxMessage

# A sender that claimed a message and then died leaves it "sending"; after this, another retries it.
STALE_CLAIM = timedelta(minutes=10)
BATCH = 200


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str = DEFAULT_LANGUAGE  # what it is written in: its Content-Language and its <html lang>


def render(name: str, subject: str, **context: Any) -> Rendered:
    """templates/email/<name>.txt and .html (the .html ending turns autoescaping on), in the language
    being spoken (the recipient's, inside i18n.speaking), which the HTML's root names."""
    language = str(get_locale()).replace("_", "-")  # a language tag: pt_BR is pt-BR
    return Rendered(
        subject=subject,
        text=render_template(f"email/{name}.txt", **context),
        html=render_template(f"email/{name}.html", mail_language=language, **context),
        language=language,
    )


def _automatic_headers(rendered: Rendered) -> dict[str, str]:
    """What every email the app sends says of itself: a machine sent it (RFC 3834, so vacation
    responders and ticket systems do not answer it), and the language it is written in."""
    return {"Auto-Submitted": "auto-generated", "Content-Language": rendered.language}


@contextmanager
def mail_context(app: Flask) -> Iterator[None]:
    """A request context on the public base URL, so url_for(..., _external=True) links work in mail."""
    with app.test_request_context("/", base_url=app.config["VENDORTRACK_BASE_URL"]):
        yield


def complaint_url(complaint_id: int) -> str:
    """A complaint's page, absolute, for emails and the digest: linked by its path, /complaints/<id>,
    so that mail does not depend on how the complaint pages' views are named."""
    return f"{url_for('index', _external=True)}complaints/{complaint_id}"


def queue(
    session: Session,
    *,
    recipient: str,
    kind: MailKind,
    period_key: str,
    rendered: Rendered,
    now: datetime,
    user_id: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """Put a message in the outbox unless one for this recipient, kind and period is there already.

    INSERT ... ON CONFLICT DO NOTHING: two processes queueing the same digest both succeed, and
    only one row exists. Returns whether this call queued it.
    """
    domain = parseaddr(current_app.config["VENDORTRACK_MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    values = {
        "recipient": recipient,
        "user_id": user_id,
        "kind": kind,
        "period_key": period_key,
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "headers": {**_automatic_headers(rendered), **(headers or {})},
        "message_id": make_msgid(uuid.uuid4().hex[:12], domain=domain),
        "state": MailState.queued,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["recipient", "kind", "period_key"])
        .returning(OutboxMessage.id)
    )  # rowcount is -1 here with psycopg 3: count the returned row instead
    return session.execute(statement).first() is not None


class DeliveryError(Exception):
    """Delivery failed; `temporary` ones (timeouts, disconnects, 4xx) are worth another try."""

    def __init__(self, message: str, *, temporary: bool):
        super().__init__(message)
        self.temporary = temporary


def as_email(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    # After the body: setting it drops the Content-* headers (Content-Language), and making the
    # message multipart moves them to its first part.
    for name, value in (row.headers or {}).items():
        message[name] = value
    return message


def _smtp_error(error: smtplib.SMTPResponseException) -> DeliveryError:
    text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error)
    return DeliveryError(f"{error.smtp_code} {text}", temporary=400 <= error.smtp_code < 500)


def deliver_smtp(message: EmailMessage, config: Mapping[str, Any]) -> None:
    try:
        with smtplib.SMTP(
            config["VENDORTRACK_SMTP_HOST"],
            config["VENDORTRACK_SMTP_PORT"],
            timeout=config["VENDORTRACK_SMTP_TIMEOUT"],
        ) as smtp:
            if config["VENDORTRACK_SMTP_STARTTLS"]:
                smtp.starttls()
            if config["VENDORTRACK_SMTP_USER"]:
                smtp.login(config["VENDORTRACK_SMTP_USER"], config["VENDORTRACK_SMTP_PASSWORD"] or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        raise DeliveryError(f"{code} {text!r}", temporary=400 <= code < 500) from error
    except smtplib.SMTPResponseException as error:
        raise _smtp_error(error) from error
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        # Timeouts, refused connections, disconnects: the server may be back later.
        raise DeliveryError(f"{type(error).__name__}: {error}", temporary=True) from error
    if refused:
        code, text = next(iter(refused.values()))
        raise DeliveryError(f"{code} {text!r}", temporary=400 <= code < 500)


def deliver_to_folder(message: EmailMessage, folder: Path) -> None:
    """Write the message as an .eml file; the rename makes it appear whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    name = message["Message-ID"].strip("<>").replace("/", "_")
    partial = folder / f".{name}.tmp"
    partial.write_bytes(bytes(message))
    partial.replace(folder / f"{name}.eml")


def deliver(message: EmailMessage, config: Mapping[str, Any]) -> None:
    if config["VENDORTRACK_SMTP_HOST"]:
        deliver_smtp(message, config)
    else:
        try:
            deliver_to_folder(message, config["VENDORTRACK_MAIL_DIR"])
        except OSError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}", temporary=True) from error


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(OutboxMessage.state == MailState.queued, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.state == MailState.sending, OutboxMessage.claimed_at <= now - STALE_CLAIM),
    )


def due_ids(session: Session, now: datetime) -> list[int]:
    """The messages a run at `now` delivers, in the order it tries them (a dry run lists the same)."""
    query = sa.select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at).limit(BATCH)
    return list(session.scalars(query))


# The longest wait between two attempts: once a mail server is back, the queue follows it within
# half an hour, however long it was down.
MAX_RETRY_GAP = timedelta(minutes=30)


def backoff(attempts: int, base: timedelta) -> timedelta:
    """1, 2, 4, 8, ... times the base after the 1st, 2nd, 3rd, ... failed attempt, at most MAX_RETRY_GAP."""
    return min(base * (2 ** min(attempts - 1, 30)), max(base, MAX_RETRY_GAP))


# A vendor's link (vendor_links.link_url: /v/<token>): its token is kept nowhere but as a hash, and
# in the ask's email only until that is delivered, after which the outbox's copy loses it.
_VENDOR_LINK_TOKEN = re.compile(r"/v/[A-Za-z0-9_-]{16,}")


def forget_secrets(body: str) -> str:
    return _VENDOR_LINK_TOKEN.sub("/v/…", body)


def send_due(session: Session, now: datetime, config: Mapping[str, Any]) -> dict[str, int]:
    """Deliver every message whose time has come; each is claimed first by a conditional UPDATE,
    committed, so a second sender skips it. Returns how many were sent, retried and failed."""
    done = {"sent": 0, "retried": 0, "failed": 0}
    ids = due_ids(session, now)
    session.commit()
    for message_id in ids:
        claimed = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(state=MailState.sending, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed != 1:
            continue  # another sender has it
        row = session.get(OutboxMessage, message_id, populate_existing=True)
        message = as_email(row, config["VENDORTRACK_MAIL_FROM"])
        session.commit()  # hold no transaction (on SQLite: the write lock) while the server talks
        try:
            deliver(message, config)
        except DeliveryError as error:
            row.last_error = str(error)[:2000]
            if error.temporary and row.attempts < config["VENDORTRACK_MAIL_MAX_ATTEMPTS"]:
                row.state = MailState.queued
                row.next_attempt_at = now + backoff(row.attempts, config["VENDORTRACK_MAIL_RETRY"])
                done["retried"] += 1
            else:
                row.state = MailState.failed
                done["failed"] += 1
        else:
            row.state, row.sent_at, row.last_error = MailState.sent, now, ""
            row.body_text, row.body_html = forget_secrets(row.body_text), forget_secrets(row.body_html)
            done["sent"] += 1
        session.commit()
    return done


def retry_now(row: OutboxMessage, now: datetime) -> OutboxMessage:
    """An admin's "retry now": a failed or waiting message goes out on the next outbox run."""
    if row.state in (MailState.failed, MailState.queued):
        row.state, row.next_attempt_at = MailState.queued, now
        if row.attempts >= current_app.config["VENDORTRACK_MAIL_MAX_ATTEMPTS"]:
            row.attempts = 0  # a person decided to try again: give it a full set of attempts
    return row
