"""The unanswered complaints sweep: a complaint past its answer deadline with no answer is flagged
once, and its owner on our side is asked once, by email, whether the vendor has answered."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from tests import mailserver
from tests.conftest import NOW
from tests.mailserver import MailServer, app_with, smtp_settings
from vendortrack import complaints, jobs, ledger
from vendortrack.models import (
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    Kind,
    MailKind,
    MailState,
    OutboxMessage,
    Role,
)
from vendortrack.scores import scorecard

BASE_URL = "https://vendortrack.test"  # VENDORTRACK_BASE_URL in smtp_settings


@pytest.fixture
def smtp():
    with mailserver.mail_server() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, smtp):
    with app_with(database_url, tmp_path / "instance", **smtp_settings(smtp)) as app:
        yield app


def raise_complaint(
    session, vendor, owner, title: str, raised_at: datetime, logged_at: datetime | None = None
) -> Complaint:
    """A complaint raised with the vendor at `raised_at`, logged then unless `logged_at` says later."""
    return complaints.raise_complaint(
        session,
        vendor=vendor,
        title=title,
        severity="major",
        channel="email",
        raised_at=raised_at,
        actor=owner,
        now=logged_at or raised_at,
        rules=current_app.config["VENDORTRACK_RULES"],
    )


def outbox(session, kind: MailKind | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id).execution_options(populate_existing=True)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(session.scalars(query))


def flag_events(session) -> Counter[int]:
    return Counter(
        session.scalars(
            sa.select(ComplaintEvent.complaint_id).where(
                ComplaintEvent.action == ComplaintAction.flagged_unanswered
            )
        )
    )


def link(c: Complaint) -> str:
    return f"{BASE_URL}/complaints/{c.id}"


def flagged_at(session, c: Complaint) -> datetime | None:
    session.refresh(c)
    return c.flagged_unanswered_at


def test_a_complaint_unanswered_past_its_deadline_is_flagged_once_and_its_owner_asked_in_one_email(
    session, make_user, make_vendor
):
    ann, bob = (
        make_user(Role.editor, email="ann@example.test"),
        make_user(Role.editor, email="bob@example.test"),
    )
    acme, globex = make_vendor("Acme Printing"), make_vendor("Globex IT")
    anns = [
        raise_complaint(session, acme, ann, "Pallets arrived broken", NOW - timedelta(days=6)),
        raise_complaint(session, globex, ann, "Invoice charged twice", NOW - timedelta(days=3)),
    ]
    bobs = raise_complaint(session, acme, bob, "Wrong toner delivered", NOW - timedelta(days=4))
    answered_late = raise_complaint(session, acme, ann, "Banner misprinted", NOW - timedelta(days=8))
    complaints.answer(session, answered_late, at=NOW - timedelta(days=1), actor=ann, now=NOW)
    waiting_still_in_time = raise_complaint(
        session, globex, ann, "Laptop not imaged", NOW - timedelta(hours=1)
    )
    session.commit()
    assert waiting_still_in_time.answer_due_at > NOW

    assert jobs.run("unanswered", session, NOW) == {"unanswered": 3, "emails": 2}

    for c in [*anns, bobs]:
        assert flagged_at(session, c) == NOW
    for c in (answered_late, waiting_still_in_time):
        assert flagged_at(session, c) is None
    assert flag_events(session) == Counter({c.id: 1 for c in [*anns, bobs]})

    (to_ann,) = [m for m in outbox(session) if m.recipient == ann.email]
    assert to_ann.kind == MailKind.unanswered_complaint
    assert to_ann.subject == "2 complaints have no answer past their deadline: have the vendors answered?"
    for c in anns:
        assert c.title in to_ann.body_text and link(c) in to_ann.body_text
        assert f'href="{link(c)}"' in to_ann.body_html
    assert "Acme Printing" in to_ann.body_text and "Globex IT" in to_ann.body_text
    for c in (bobs, answered_late, waiting_still_in_time):
        assert c.title not in to_ann.body_text
    (to_bob,) = [m for m in outbox(session) if m.recipient == bob.email]
    assert to_bob.subject == "1 complaint has no answer past its deadline: has the vendor answered?"
    assert link(bobs) in to_bob.body_text
    assert "Has the vendor answered?" in to_bob.body_text

    # A rerun, a minute or an hour later, flags nothing and asks nobody again.
    for later in (NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=59)):
        assert jobs.run("unanswered", session, later) == {"unanswered": 0, "emails": 0}
    assert len(outbox(session)) == 2
    assert flag_events(session) == Counter({c.id: 1 for c in [*anns, bobs]})

    # Once its own deadline passes unanswered, the last one is asked about in an email of its own.
    after_deadline = waiting_still_in_time.answer_due_at + timedelta(minutes=1)
    assert jobs.run("unanswered", session, after_deadline) == {"unanswered": 1, "emails": 1}
    newest = outbox(session)[-1]
    assert newest.recipient == ann.email
    assert link(waiting_still_in_time) in newest.body_text and link(anns[0]) not in newest.body_text


def test_resolved_and_withdrawn_complaints_are_never_flagged(session, make_user, make_vendor):
    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    fixed = raise_complaint(session, acme, ann, "Fixed without a word", NOW - timedelta(days=7))
    complaints.resolve(session, fixed, "fixed", actor=ann, now=NOW - timedelta(days=2))
    withdrawn = raise_complaint(session, acme, ann, "Our own mistake", NOW - timedelta(days=7))
    complaints.resolve(session, withdrawn, "withdrawn", actor=ann, now=NOW - timedelta(days=6))
    session.commit()

    assert jobs.run("unanswered", session, NOW) == {"unanswered": 0, "emails": 0}
    assert flagged_at(session, fixed) is None and flagged_at(session, withdrawn) is None
    assert outbox(session) == [] and flag_events(session) == Counter()

    # Reopened with still no answer, the first one is waiting again: the next run asks about it.
    complaints.reopen(session, fixed, reason="It broke again", actor=ann, now=NOW)
    session.commit()
    later = NOW + timedelta(minutes=5)
    assert jobs.run("unanswered", session, later) == {"unanswered": 1, "emails": 1}
    assert flagged_at(session, fixed) == later


def test_a_complaint_logged_after_its_deadline_is_not_nagged_yet_counts_as_unanswered(
    session, make_user, make_vendor
):
    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    in_time = raise_complaint(session, acme, ann, "Logged the day it was raised", NOW - timedelta(days=5))
    history = raise_complaint(
        session,
        acme,
        ann,
        "Written down a week later",
        NOW - timedelta(days=9),
        logged_at=NOW - timedelta(days=2),
    )
    session.commit()
    assert history.created_at > history.answer_due_at

    assert jobs.run("unanswered", session, NOW) == {"unanswered": 1, "emails": 1}
    assert flagged_at(session, in_time) == NOW and flagged_at(session, history) is None
    (message,) = outbox(session)
    assert in_time.title in message.body_text and history.title not in message.body_text

    # Spared the email, not the figure: both count as unanswered in the vendor's responsiveness.
    rules = current_app.config["VENDORTRACK_RULES"]
    figures = scorecard.vendor_score(session, acme, rules, NOW).responsiveness
    assert (figures.counted, figures.unanswered) == (2, 2)


def test_an_unanswered_complaint_of_a_disabled_owner_is_flagged_but_nobody_is_mailed(
    session, make_user, make_vendor
):
    gone = make_user(Role.editor, email="gone@example.test")
    c = raise_complaint(session, make_vendor(), gone, "Cable never laid", NOW - timedelta(days=4))
    gone.disabled_at = NOW - timedelta(days=1)
    session.commit()

    assert jobs.run("unanswered", session, NOW) == {"unanswered": 1, "emails": 0}
    assert flagged_at(session, c) == NOW and outbox(session) == []


def test_the_question_arrives_once_through_the_mail_server_and_the_commitments_emails_are_unchanged(
    session, smtp: MailServer, make_user, make_vendor
):
    ann = make_user(Role.editor, email="ann@example.test")
    acme = make_vendor("Acme Printing")
    c = raise_complaint(session, acme, ann, "Pallets arrived broken", NOW - timedelta(days=6))
    ledger.log_commitment(
        session,
        vendor=acme,
        kind=Kind.promise,
        title="Quote for the brochures",
        actor=ann,
        due_at=NOW - timedelta(days=3),
        now=NOW - timedelta(days=10),
    )
    session.commit()

    assert jobs.run("overdue", session, NOW) == {"flagged": 1, "emails": 1}
    assert jobs.run("unanswered", session, NOW) == {"unanswered": 1, "emails": 1}
    assert jobs.run("outbox", session, NOW) == {"sent": 2, "retried": 0, "failed": 0}

    overdue, unanswered = (
        outbox(session, kind)[0] for kind in (MailKind.overdue, MailKind.unanswered_complaint)
    )
    assert "Quote for the brochures" in overdue.body_text and c.title not in overdue.body_text
    assert overdue.subject == "1 commitment is overdue: what happened?"
    assert c.title in unanswered.body_text and "Quote for the brochures" not in unanswered.body_text
    (message,) = [m for m in smtp.to(ann.email) if m["Subject"] == unanswered.subject]
    assert message["Auto-Submitted"] == "auto-generated"
    body = {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}
    assert link(c) in body["text/plain"] and f'href="{link(c)}"' in body["text/html"]
    assert unanswered.state == MailState.sent

    later = NOW + timedelta(hours=1)
    assert jobs.run("unanswered", session, later)["emails"] == 0
    assert jobs.run("outbox", session, later)["sent"] == 0
    assert len(smtp.attempts) == 2
