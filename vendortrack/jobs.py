"""The scheduled jobs: overdue sweep, unanswered complaints sweep, due-soon reminders, weekly digests,
the outbox sender, and the nightly tally check and clean-up of old sign-in attempts.

Each is a function of (session, now, config) that claims its work with a conditional UPDATE,
commits, and returns what it did, so two scheduler processes, or a restart halfway, never flag,
remind or mail anything twice. The scheduler process and `flask jobs run` both call these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext
from sqlalchemy.orm import Session, joinedload

from vendortrack import complaints, digest, mail, throttle
from vendortrack.database import write_intent
from vendortrack.i18n import speaking, user_timezone
from vendortrack.models import (
    Commitment,
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    EventAction,
    JobRun,
    LedgerEvent,
    MailKind,
    OutboxMessage,
    Status,
    User,
)
from vendortrack.scores import responsiveness, tally
from vendortrack.scores.rules import is_unanswered_by, was_logged_before
from vendortrack.timeutil import utcnow

Config = Mapping[str, Any]


# What the owners' emails list, each in the order its email lists them.
Owned = type[Commitment] | type[Complaint]
LISTED_IN = {
    Commitment: (Commitment.due_at, Commitment.id),
    Complaint: (Complaint.answer_due_at, Complaint.id),
}


def _by_owner(session: Session, model: Owned, ids: list[int]) -> dict[User, list[Any]]:
    groups: dict[User, list[Any]] = defaultdict(list)
    for start in range(0, len(ids), 5000):  # keep IN lists within every database's limits
        rows = session.scalars(
            sa.select(model)
            .where(model.id.in_(ids[start : start + 5000]))
            .options(joinedload(model.vendor), joinedload(model.owner))
            .order_by(*LISTED_IN[model])
        )
        for row in rows:
            groups[row.owner].append(row)
    return groups


def _tell_owners(
    session: Session,
    ids: list[int],
    kind: MailKind,
    now: datetime,
    subject: Callable,
    template: str,
    model: Owned = Commitment,
    **context: Any,
) -> int:
    """One email per owner listing their commitments (or complaints) of this run; disabled owners get none."""
    queued = 0
    period = f"{now:%Y-%m-%dT%H:%M}#{min(ids)}" if ids else ""
    listed = "complaints" if model is Complaint else "commitments"  # as the templates name them
    for owner, rows in _by_owner(session, model, ids).items():
        if not owner.is_active:
            continue
        with speaking(owner):
            rendered = mail.render(
                template,
                subject(len(rows)),
                owner=owner,
                tz=user_timezone(owner),
                **{listed: rows},
                **context,
            )
        queued += mail.queue(
            session,
            recipient=owner.email,
            user_id=owner.id,
            kind=kind,
            period_key=period,
            rendered=rendered,
            now=now,
        )
    return queued


def flag_overdue(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """Flag each open commitment past due plus grace, once, and ask its owner what happened.

    Only what was in the ledger when it came due: one logged after its due time (history written
    down, a follow-up moved into the past) was entered by someone who knew, and is not nagged. It
    still counts as overdue in the scores (SCORING.md §2); only the flag and the email are spared.
    """
    flagged = session.execute(
        sa.update(Commitment)
        .where(
            config["VENDORTRACK_RULES"].is_overdue(Commitment.status, Commitment.due_at, now),
            Commitment.flagged_overdue_at.is_(None),
            was_logged_before(Commitment.created_at, Commitment.due_at),
        )
        .values(flagged_overdue_at=now)
        .returning(Commitment.id, Commitment.vendor_id)
        .execution_options(synchronize_session=False)
    ).all()
    if flagged:
        session.execute(
            sa.insert(LedgerEvent),
            [
                {
                    "commitment_id": row.id,
                    "vendor_id": row.vendor_id,
                    "actor_id": None,
                    "at": now,
                    "action": EventAction.flagged_overdue,
                    "before": {},
                    "after": {"flagged_overdue_at": now.isoformat()},
                }
                for row in flagged
            ],
        )
    ids = sorted(row.id for row in flagged)
    emails = _tell_owners(
        session,
        ids,
        MailKind.overdue,
        now,
        lambda n: ngettext(
            "%(num)d commitment is overdue: what happened?",
            "%(num)d commitments are overdue: what happened?",
            n,
        ),
        "overdue",
    )
    session.commit()
    return {"flagged": len(ids), "emails": emails}


def flag_unanswered(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """Flag each open complaint whose answer deadline passed with no answer, once, and ask its owner
    on our side whether the vendor has answered since (SCORING.md §10).

    Resolved and withdrawn complaints are left alone: nothing is waiting on them. As with overdue
    commitments, a complaint logged after its deadline (history) was logged by someone who knew,
    and is not nagged; it still counts as unanswered in the responsiveness.
    """
    flagged = session.execute(
        sa.update(Complaint)
        .where(
            is_unanswered_by(Complaint.acknowledged_at, Complaint.answer_due_at, now),
            Complaint.resolution.is_(None),
            Complaint.flagged_unanswered_at.is_(None),
            was_logged_before(Complaint.created_at, Complaint.answer_due_at),
        )
        .values(flagged_unanswered_at=now)
        .returning(Complaint.id, Complaint.vendor_id)
        .execution_options(synchronize_session=False)
    ).all()
    if flagged:
        session.execute(
            sa.insert(ComplaintEvent),
            [
                {
                    "complaint_id": row.id,
                    "vendor_id": row.vendor_id,
                    "actor_id": None,
                    "at": now,
                    "action": ComplaintAction.flagged_unanswered,
                    "before": {},
                    "after": {"flagged_unanswered_at": now.isoformat()},
                    "reason": "",
                }
                for row in flagged
            ],
        )
    ids = sorted(row.id for row in flagged)
    emails = _tell_owners(
        session,
        ids,
        MailKind.unanswered_complaint,
        now,
        lambda n: ngettext(
            "%(num)d complaint has no answer past its deadline: has the vendor answered?",
            "%(num)d complaints have no answer past their deadline: have the vendors answered?",
            n,
        ),
        "unanswered_complaint",
        Complaint,
        complaint_url=mail.complaint_url,
    )
    session.commit()
    return {"unanswered": len(ids), "emails": emails}


def remind_due_soon(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """A set time before a commitment is due, remind its owner once, to nudge the vendor in time."""
    reminded = session.scalars(
        sa.update(Commitment)
        .where(
            Commitment.status == Status.open,
            Commitment.reminded_at.is_(None),
            Commitment.due_at > now,
            Commitment.due_at <= now + config["VENDORTRACK_REMINDER_LEAD"],
        )
        .values(reminded_at=now)
        .returning(Commitment.id)
        .execution_options(synchronize_session=False)
    ).all()
    ids = sorted(reminded)
    emails = _tell_owners(
        session,
        ids,
        MailKind.reminder,
        now,
        lambda n: ngettext("Due soon: %(num)d commitment", "Due soon: %(num)d commitments", n),
        "reminder",
    )
    session.commit()
    return {"reminded": len(ids), "emails": emails}


def send_digests(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """The weekly digest, Monday 08:00 on each subscriber's clock, once per week however late we run."""
    default_tz = config["VENDORTRACK_TIMEZONE"]
    subscribers = sa.and_(User.digest_enabled.is_(True), User.disabled_at.is_(None))
    # New subscribers (and those who changed time zone) get their first digest the next Monday.
    for user in session.scalars(sa.select(User).where(subscribers, User.digest_next_at.is_(None))):
        session.execute(
            sa.update(User)
            .where(User.id == user.id, User.digest_next_at.is_(None))
            .values(digest_next_at=user.next_digest_at(now, default_tz))
        )
    session.commit()
    due = session.execute(
        sa.select(User.id, User.digest_next_at)
        .where(subscribers, User.digest_next_at <= now)
        .order_by(User.digest_next_at, User.id)
    ).all()
    sent = 0
    week = digest.WeekCache.from_config(config)
    for user_id, scheduled in due:
        user = session.get(User, user_id)
        claimed = session.execute(
            sa.update(User)
            .where(User.id == user_id, User.digest_next_at == scheduled)
            .values(digest_next_at=user.next_digest_at(now, default_tz))
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            session.rollback()
            continue  # another scheduler took this one
        sent += digest.queue_digest(session, user, scheduled, now, week)
        session.commit()
    return {"due": len(due), "queued": sent}


def send_outbox(session: Session, now: datetime, config: Config) -> dict[str, int]:
    return mail.send_due(session, now, config)


FOUND_SHOWN = 20  # differences a tally run keeps in its result, for the jobs page


def check_tally(session: Session, now: datetime, config: Config) -> dict[str, Any]:
    """Bring the score sums to the settings and the month (a rebuild, or the rollups moved on), then
    recount them from the ledger and repair what differs: the cache proves itself every night."""
    rules = config["VENDORTRACK_RULES"]
    brought = tally.bring_up_to_date(session, rules, now)
    session.commit()
    # The complaint rollups move on to now every night (and their deadlines follow changed settings).
    complaints.bring_up_to_date(session, rules, now)
    session.commit()
    checked = tally.check(session, rules, now, repair=True)
    answering = responsiveness.check(session, rules, repair=True)
    differences = checked.differences + answering.differences
    # What was done before the check is said only when it was: a 0 would read as a count.
    done = {"rebuilt": True} if brought == "rebuild" else {"rolled_up": True} if brought == "roll_up" else {}
    return done | {
        "vendors": checked.vendors,
        "differences": len(differences),
        "repaired": checked.repaired_vendors + answering.repaired_vendors,
        "found": [str(difference) for difference in differences[:FOUND_SHOWN]],
    }


PRUNE_BATCH = 10_000  # attempts removed per transaction, so sign-ins wait for none of it for long


def prune_sign_in_attempts(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """Remove the sign-in attempts that have left the throttle's window: nothing reads them again."""
    limits = throttle.Limits.from_config(config)
    removed = 0
    while True:
        batch = throttle.prune_attempts(session, now, limits, at_most=PRUNE_BATCH)
        session.commit()
        removed += batch
        if batch < PRUNE_BATCH:
            return {"removed": removed}


JOBS: dict[str, Callable[[Session, datetime, Config], dict[str, Any]]] = {
    "overdue": flag_overdue,
    # Its own job, run right after the overdue sweep on every tick: its result and its run history
    # stay about complaints, and a failure in either sweep does not hold the other back.
    "unanswered": flag_unanswered,
    "reminders": remind_due_soon,
    "digests": send_digests,
    "outbox": send_outbox,
    "tally": check_tally,
    "attempts": prune_sign_in_attempts,
}
# Run once a night at this hour of the installation's time zone (and when the scheduler starts),
# not every tick: a recount reads the whole ledger, and old sign-in attempts only take up room.
NIGHTLY = frozenset({"tally", "attempts"})
NIGHTLY_AT = time(3, 0)


def run(name: str, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Run one job as of `now`, recorded as a JobRun (started, finished, result or error)."""
    app = current_app._get_current_object()
    now = now or utcnow()
    record = JobRun(job=name, started_at=utcnow(), result={})
    session.add(record)
    session.commit()
    # Jobs write: on SQLite they take the write lock when a transaction begins, even in a
    # context (mail rendering's test request) that would otherwise read only.
    intent = write_intent.set(True)
    try:
        with mail.mail_context(app):
            result = JOBS[name](session, now, app.config)
    except Exception as error:
        session.rollback()
        record.error = f"{type(error).__name__}: {error}"[:2000]
        record.finished_at = utcnow()
        session.commit()
        raise
    finally:
        write_intent.reset(intent)
    record.result, record.finished_at = result, utcnow()
    session.commit()
    return result


# -- a dry run: what a job would do, kept nowhere ------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """What a job would do at `now`: its result, and whom and what it would flag, remind, mail or send."""

    result: dict[str, int]
    flagged: list[Commitment]
    reminded: list[Commitment]
    queued: list[OutboxMessage]  # the messages it would put in the outbox
    deliveries: list[OutboxMessage]  # the outbox job: the messages it would try to deliver


def dry_run(name: str, engine: sa.Engine, now: datetime) -> DryRun:
    """Run the job inside one transaction that is rolled back, its own commits turned into savepoints:
    it reads and decides exactly as a real run would, and nothing it writes is kept, not even a JobRun.

    The outbox job only lists what is due: a delivered email cannot be rolled back.
    """
    app = current_app._get_current_object()
    intent = write_intent.set(True)
    try:
        with engine.connect() as connection, mail.mail_context(app):
            outer = connection.begin()
            session = Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            try:
                if name == "outbox":
                    deliveries = _messages(session, OutboxMessage.id.in_(mail.due_ids(session, now)))
                    return DryRun({"due": len(deliveries)}, [], [], [], deliveries)
                # Stamped with this very moment already (a real run at the same --now): not this run's doing.
                flagged_before = _stamped(session, Commitment.flagged_overdue_at, now)
                reminded_before = _stamped(session, Commitment.reminded_at, now)
                last_message = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
                result = JOBS[name](session, now, app.config)
                return DryRun(
                    result,
                    _commitments(session, Commitment.flagged_overdue_at == now, flagged_before),
                    _commitments(session, Commitment.reminded_at == now, reminded_before),
                    _messages(session, OutboxMessage.id > last_message, OutboxMessage.created_at == now),
                    [],
                )
            finally:
                session.close()
                outer.rollback()
    finally:
        write_intent.reset(intent)


def _stamped(session: Session, column: sa.ColumnElement, now: datetime) -> set[int]:
    return set(session.scalars(sa.select(Commitment.id).where(column == now)))


def _commitments(session: Session, stamped: sa.ColumnElement[bool], before: set[int]) -> list[Commitment]:
    rows = session.scalars(
        sa.select(Commitment)
        .where(stamped)
        .order_by(Commitment.due_at, Commitment.id)
        .options(joinedload(Commitment.vendor), joinedload(Commitment.owner))
    )
    return [c for c in rows if c.id not in before]


def _messages(session: Session, *where: sa.ColumnElement[bool]) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).where(*where).order_by(OutboxMessage.id)))
