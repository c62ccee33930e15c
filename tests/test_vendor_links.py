"""The vendor's own link, called as plain functions of (session, now): asking, answering, deciding."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import complaints, ledger, mail, vendor_links
from vendortrack.models import (
    AnswerState,
    ComplaintAction,
    EventAction,
    Kind,
    MailKind,
    OutboxMessage,
    Status,
    VendorLink,
)
from vendortrack.scores import asks
from vendortrack.scores.rules import Rules
from vendortrack.validation import InvalidInput
from vendortrack.vendors import add_contact

RULES = Rules()
LINKS = vendor_links.LinkRules()
ASKED = NOW - timedelta(days=3)
HOUR = timedelta(hours=1)


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Kovács Építő Kft.")


@pytest.fixture
def contact(session, vendor):
    person = add_contact(session, vendor, name="Kovács Anna", email="anna@kovacs.test", now=NOW)
    person.language = "hu"
    session.commit()
    return person


@pytest.fixture
def meeting(session, vendor, contact, editor):
    logged = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Site survey",
        due_at=NOW + timedelta(days=2),
        actor=editor,
        now=ASKED,
        contact=contact,
    )
    session.commit()
    return logged


@pytest.fixture
def in_mail(app):
    with mail.mail_context(app):
        yield


def ask_about(session, item, contact, editor, *, at=ASKED, send_email=True):
    link, token = vendor_links.ask(
        session, item, contact=contact, actor=editor, now=at, rules=LINKS, send_email=send_email
    )
    session.commit()
    return link, token


def mails(session, kind):
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def test_an_ask_emails_the_contact_their_link_in_their_language_and_keeps_only_its_hash(
    session, meeting, contact, editor, in_mail
):
    link, token = ask_about(session, meeting, contact, editor)
    assert len(token) >= 32 and token not in link.token_hash
    assert link.token_hash == vendor_links.token_hash(token)
    (message,) = mails(session, MailKind.vendor_ask)
    assert message.recipient == "anna@kovacs.test"
    assert message.headers["Content-Language"] == "hu"
    assert f"/v/{token}" in message.body_text
    assert "Site survey" in message.body_text
    assert link.expires_at == ASKED + timedelta(days=90)


def test_a_copied_link_sends_nothing_and_a_contact_without_email_can_only_be_copied(
    session, vendor, meeting, editor, in_mail
):
    silent = add_contact(session, vendor, name="No Mail", now=NOW)
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        vendor_links.ask(
            session, meeting, contact=silent, actor=editor, now=ASKED, rules=LINKS, send_email=True
        )
    assert refused.value.field == "contact_id"
    session.rollback()
    link, _token = ask_about(session, meeting, silent, editor, send_email=False)
    assert link.emailed_to == ""
    assert mails(session, MailKind.vendor_ask) == []


def test_another_vendors_contact_cannot_be_asked(session, make_vendor, meeting, editor, in_mail):
    stranger = add_contact(session, make_vendor("Other Kft."), name="Stranger", email="s@o.test", now=NOW)
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        vendor_links.ask(
            session, meeting, contact=stranger, actor=editor, now=ASKED, rules=LINKS, send_email=True
        )
    assert refused.value.field == "contact_id"


def test_a_token_opens_its_link_until_revoked_expired_or_its_item_resolved_past_the_grace(
    session, meeting, contact, editor, in_mail
):
    link, token = ask_about(session, meeting, contact, editor)
    assert vendor_links.find_open(session, token, NOW, LINKS) == link
    assert vendor_links.find_open(session, token + "x", NOW, LINKS) is None
    assert vendor_links.find_open(session, token, ASKED + timedelta(days=90), LINKS) is None  # expired

    ledger.resolve_kept(session, meeting, actor=editor, now=NOW)
    session.commit()
    assert vendor_links.find_open(session, token, NOW + timedelta(days=13), LINKS) == link
    assert vendor_links.find_open(session, token, NOW + timedelta(days=14), LINKS) is None
    assert vendor_links.link_state(link, NOW + timedelta(days=14), LINKS) == vendor_links.LinkState.closed

    vendor_links.revoke(session, link, actor=editor, now=NOW)
    session.commit()
    assert vendor_links.find_open(session, token, NOW, LINKS) is None
    state = session.scalar(sa.select(vendor_links.state_sql(NOW, LINKS)).where(VendorLink.id == link.id))
    assert state == "revoked"


def test_a_confirmation_is_in_the_history_by_the_contact_and_changes_nothing(
    session, meeting, contact, editor, in_mail
):
    link, _token = ask_about(session, meeting, contact, editor)
    answer = vendor_links.confirm(session, link, now=NOW, address="203.0.113.9")
    session.commit()
    assert answer.state == AnswerState.recorded
    assert meeting.status == Status.open
    event = meeting.events[-1]
    assert event.action == EventAction.vendor_answered
    assert event.actor_id is None and event.actor_contact_id == contact.id
    assert event.at == NOW
    assert link.first_answered_at == NOW
    assert mails(session, MailKind.vendor_answer) == []  # nothing needs the owner


def test_an_accepted_proposal_reschedules_with_the_notice_given_when_it_was_proposed(
    session, meeting, contact, editor, in_mail
):
    link, _token = ask_about(session, meeting, contact, editor)
    proposed_at = NOW - timedelta(hours=5)
    new_time = NOW + timedelta(days=5)
    answer = vendor_links.propose(
        session, link, due_at=new_time, reason="Crane broke down", now=proposed_at, address="203.0.113.9"
    )
    session.commit()
    assert answer.state == AnswerState.waiting
    (told_owner,) = mails(session, MailKind.vendor_answer)
    assert told_owner.recipient == editor.email and "Crane broke down" in told_owner.body_text

    vendor_links.accept(session, answer, actor=editor, now=NOW)
    session.commit()
    assert meeting.status == Status.rescheduled
    assert meeting.notified_at == proposed_at
    assert meeting.excuse == "Crane broke down"
    follow_up = meeting.rescheduled_to
    assert follow_up.due_at == new_time
    assert link.commitment_id == follow_up.id  # the link follows the meeting to its new time
    assert answer.state == AnswerState.accepted
    (told_vendor,) = mails(session, MailKind.vendor_told)
    assert told_vendor.recipient == "anna@kovacs.test"


def test_a_declined_proposal_changes_nothing_and_the_vendor_is_told_with_our_note(
    session, meeting, contact, editor, in_mail
):
    link, _token = ask_about(session, meeting, contact, editor)
    answer = vendor_links.propose(
        session, link, due_at=NOW + timedelta(days=9), reason="Holidays", now=NOW, address=None
    )
    vendor_links.decline(session, answer, actor=editor, now=NOW, note="We need it this week")
    session.commit()
    assert meeting.status == Status.open and answer.state == AnswerState.declined
    (told,) = mails(session, MailKind.vendor_told)
    assert "We need it this week" in told.body_text


def test_a_newer_proposal_replaces_the_one_still_waiting(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    first = vendor_links.propose(
        session, link, due_at=NOW + timedelta(days=4), reason="a", now=NOW, address=None
    )
    second = vendor_links.propose(
        session, link, due_at=NOW + timedelta(days=6), reason="b", now=NOW, address=None
    )
    session.commit()
    session.refresh(first)
    assert first.state == AnswerState.superseded and second.state == AnswerState.waiting
    with pytest.raises(InvalidInput):
        vendor_links.accept(session, first, actor=editor, now=NOW)


def test_a_proposal_in_the_past_or_without_a_reason_is_refused(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    with pytest.raises(InvalidInput) as refused:
        vendor_links.propose(session, link, due_at=NOW - HOUR, reason="late", now=NOW, address=None)
    assert refused.value.field == "proposed_due_at"
    with pytest.raises(InvalidInput) as refused:
        vendor_links.propose(session, link, due_at=NOW + HOUR, reason="  ", now=NOW, address=None)
    assert refused.value.field == "message"


def test_a_confirmed_report_of_done_keeps_it_at_the_reported_time(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    done_at = meeting.due_at + timedelta(hours=2)
    later = done_at + timedelta(hours=1)
    answer = vendor_links.report_done(session, link, done_at=done_at, note="", now=later, address=None)
    vendor_links.accept(session, answer, actor=editor, now=later + HOUR)
    session.commit()
    assert meeting.status == Status.kept and meeting.done_at == done_at
    assert meeting.lateness() == timedelta(hours=2)


def test_cannot_recorded_broken_with_the_vendors_reason(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    answer = vendor_links.cannot(session, link, reason="Lost the contract", now=NOW, address=None)
    vendor_links.accept(session, answer, actor=editor, now=NOW)
    session.commit()
    assert meeting.status == Status.broken and meeting.excuse == "Lost the contract"


def test_nothing_is_answered_on_a_settled_commitment(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    ledger.resolve_kept(session, meeting, actor=editor, now=NOW)
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        vendor_links.confirm(session, link, now=NOW, address=None)
    assert refused.value.field == "status"


@pytest.fixture
def complaint(session, vendor, contact, editor):
    raised = complaints.raise_complaint(
        session,
        vendor=vendor,
        title="Cracked tiles",
        severity="major",
        channel="email",
        raised_at=ASKED,
        actor=editor,
        now=ASKED,
        rules=RULES,
        contact=contact,
    )
    session.commit()
    return raised


def test_a_contact_answers_a_complaint_at_the_servers_clock_and_gives_a_dated_answer(
    session, complaint, contact, editor, in_mail
):
    link, _token = ask_about(session, complaint, contact, editor)
    vendor_links.answer_complaint(
        session,
        link,
        case_owner_name="",
        apologised=True,
        message="Sorry, we are on it",
        answer_by=NOW + timedelta(days=2),
        now=NOW,
        address=None,
    )
    session.commit()
    assert complaint.acknowledged_at == NOW
    assert complaint.case_owner == "Kovács Anna"  # the contact themselves, when no one else is named
    assert complaint.apologised
    answered = next(e for e in complaint.events if e.action == ComplaintAction.answered)
    assert answered.actor_id is None and answered.actor_contact_id == contact.id
    promise = complaint.answer_promise
    assert promise.due_at == NOW + timedelta(days=2) and promise.kind == Kind.promise
    assert promise.created_by_id is None and promise.owner_id == editor.id

    reply = vendor_links.reply(session, link, message="New tiles on Monday", now=NOW + HOUR, address=None)
    assert reply.state == AnswerState.waiting
    vendor_links.accept(session, reply, actor=editor, now=NOW + 2 * HOUR)
    session.commit()
    assert promise.status == Status.kept and promise.done_at == NOW + HOUR


def test_answers_are_limited_per_link_in_the_database(session, meeting, contact, editor, in_mail):
    link, _token = ask_about(session, meeting, contact, editor)
    tight = vendor_links.LinkRules(per_link=3)
    for minute in range(3):
        vendor_links.check_rate(session, link, "198.51.100.1", NOW, tight)
        vendor_links.confirm(session, link, now=NOW - timedelta(minutes=30 - minute), address="198.51.100.1")
    session.commit()
    with pytest.raises(vendor_links.TooManyAnswers) as refused:
        vendor_links.check_rate(session, link, "198.51.100.2", NOW, tight)
    assert refused.value.retry_after == timedelta(minutes=30)


def another_meeting(session, vendor, contact, editor):
    return ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Another meeting",
        due_at=NOW + timedelta(days=5),
        actor=editor,
        now=ASKED,
        contact=contact,
    )


def test_share_of_asks_answered_and_median_hours_per_vendor_and_contact(
    session, vendor, meeting, contact, editor, in_mail
):
    answered_link, _token = ask_about(session, meeting, contact, editor, at=ASKED)
    vendor_links.confirm(session, answered_link, now=ASKED + 6 * HOUR, address=None)
    ask_about(session, another_meeting(session, vendor, contact, editor), contact, editor, at=ASKED + HOUR)
    ask_about(session, another_meeting(session, vendor, contact, editor), contact, editor, at=NOW - HOUR)
    session.commit()
    figures = asks.for_vendor(session, vendor.id, RULES, NOW)
    assert (figures.asks, figures.answered, figures.waiting) == (2, 1, 1)
    assert figures.share == 0.5 and figures.median_hours == 6.0
    assert asks.per_contact(session, vendor.id, RULES, NOW)[contact.id] == figures


def test_asking_the_same_contact_again_replaces_their_unanswered_link_so_one_question_counts_once(
    session, vendor, meeting, contact, editor, in_mail
):
    first, first_token = ask_about(session, meeting, contact, editor, send_email=False)  # copied, never sent
    second, second_token = ask_about(session, meeting, contact, editor, at=ASKED + HOUR)
    assert vendor_links.find_open(session, first_token, NOW, LINKS) is None
    assert vendor_links.find_open(session, second_token, NOW, LINKS) == second
    vendor_links.confirm(session, second, now=ASKED + 2 * HOUR, address=None)
    third, _token = ask_about(session, meeting, contact, editor, at=ASKED + 3 * HOUR)
    assert vendor_links.find_open(session, second_token, NOW, LINKS) == second  # answered: it stays
    figures = asks.for_vendor(session, vendor.id, RULES, NOW)
    assert (figures.asks, figures.answered) == (2, 1)  # the copied one never counts


def test_an_answer_still_waiting_is_overtaken_when_the_commitment_is_settled_another_way(
    session, meeting, contact, editor, in_mail
):
    link, _token = ask_about(session, meeting, contact, editor)
    done = vendor_links.report_done(
        session, link, done_at=None, note="", now=meeting.due_at + HOUR, address=None
    )
    ledger.reschedule(
        session, meeting, actor=editor, now=NOW, new_due_at=NOW + timedelta(days=9), confirm_past=True
    )
    session.commit()
    session.refresh(done)
    assert done.state == AnswerState.overtaken
    with pytest.raises(InvalidInput):
        vendor_links.accept(session, done, actor=editor, now=NOW)


def test_a_meeting_cannot_be_reported_done_before_its_time_but_a_deadline_can(
    session, vendor, meeting, contact, editor, in_mail
):
    link, _token = ask_about(session, meeting, contact, editor)
    with pytest.raises(InvalidInput) as refused:
        vendor_links.report_done(session, link, done_at=None, note="", now=NOW, address=None)
    assert refused.value.field == "done_at"
    session.rollback()
    delivery = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.deadline,
        title="Tiles",
        due_at=NOW + timedelta(days=3),
        actor=editor,
        now=ASKED,
        contact=contact,
    )
    session.commit()
    early, _token = ask_about(session, delivery, contact, editor)
    answer = vendor_links.report_done(session, early, done_at=None, note="", now=NOW, address=None)
    vendor_links.accept(session, answer, actor=editor, now=NOW)
    session.commit()
    assert delivery.status == Status.kept and delivery.done_at == NOW


def test_after_a_revoked_link_is_declined_the_contact_is_not_sent_back_to_it(
    session, meeting, contact, editor, in_mail
):
    contact.language = "en"
    link, _token = ask_about(session, meeting, contact, editor)
    proposal = vendor_links.propose(
        session, link, due_at=NOW + timedelta(days=9), reason="Holidays", now=NOW, address=None
    )
    vendor_links.revoke(session, link, actor=editor, now=NOW)
    vendor_links.decline(session, proposal, actor=editor, now=NOW)
    session.commit()
    (told,) = mails(session, MailKind.vendor_told)
    assert "Open the link you were sent" not in told.body_text


def test_revoking_an_ask_after_its_time_ran_out_does_not_erase_the_silence():
    from vendortrack.scores.rules import AskFact, ask_answers

    asked = NOW - timedelta(days=10)
    in_time = AskFact(asked, revoked_at=asked + HOUR)  # taken back while they still had time
    too_late = AskFact(asked, revoked_at=NOW - HOUR)  # taken back days after their time ran out
    figures = ask_answers([in_time, too_late], RULES, NOW)
    assert (figures.asks, figures.answered, figures.waiting) == (1, 0, 0)
