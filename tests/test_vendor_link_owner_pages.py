"""Our side of the vendor's link, through the pages: asking a contact (by email, or a link copied and
shown once), what the contact answered and our decision on it, revoking, the ask when a commitment is
logged, the history naming the contact, and who may do which."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import complaints, ledger, mail, vendor_links
from vendortrack.i18n import speaking
from vendortrack.models import (
    AnswerState,
    Commitment,
    Contact,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    MailKind,
    OutboxMessage,
    Status,
    VendorAnswer,
    VendorLink,
)
from vendortrack.scores.rules import Rules
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

LINKS = vendor_links.LinkRules()
TOKEN = re.compile(r"/v/([A-Za-z0-9_-]{32,})")


def visible(response) -> str:
    """The page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    page = response.get_data(as_text=True)
    body = re.sub(r"<(script|title)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def section(response, element_id: str) -> str:
    """The visible text of one part of a page, by the id of its element."""
    page = response.get_data(as_text=True)
    start = page.index(f'id="{element_id}"')
    end = page.find("</section>", start)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[start:end])).split())


def count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def mails(session, kind: MailKind) -> list[OutboxMessage]:
    return session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    ).all()


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Kovács Építő Kft.")


@pytest.fixture
def anna(session, vendor):
    contact = add_contact(session, vendor, now=NOW, name="Kovács Anna", email="anna@kovacs.test")
    contact.language = "hu"
    session.commit()
    return contact


@pytest.fixture
def bela(session, vendor):
    """A contact with no email address: a link for him can only be copied."""
    contact = add_contact(session, vendor, now=NOW, name="Szabó Béla", phone="+36 1 555 0100")
    session.commit()
    return contact


@pytest.fixture
def delivery(session, vendor, anna, editor):
    """Tiles due in two days: unlike a meeting, something its contact may report done early."""
    logged = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.deadline,
        title="Tile delivery",
        due_at=(utcnow() + timedelta(days=2)).replace(second=0, microsecond=0),
        actor=editor,
        now=utcnow() - timedelta(days=1),
        contact=anna,
    )
    session.commit()
    return logged


@pytest.fixture
def meeting(session, vendor, anna, editor):
    """A site survey in two days by the real clock (the pages read it), promised by Anna."""
    logged = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Site survey",
        due_at=(utcnow() + timedelta(days=2)).replace(second=0, microsecond=0),
        actor=editor,
        now=utcnow() - timedelta(days=1),
        contact=anna,
    )
    session.commit()
    return logged


@pytest.fixture
def in_mail(app):
    """What the contact's answers write (the owner's email among it) happens outside our pages."""
    with mail.mail_context(app):
        yield


def asked(session, item, contact, editor, *, send_email=False):
    """A link made the way the pages make it, for the tests about what comes after."""
    link, token = vendor_links.ask(
        session,
        item,
        contact=contact,
        actor=editor,
        now=utcnow() - timedelta(hours=3),
        rules=LINKS,
        send_email=send_email,
    )
    session.commit()
    return link, token


def ask_page(commitment) -> str:
    return f"/commitments/{commitment.id}/ask-vendor"


# --- asking ----------------------------------------------------------------------------------


def test_an_editor_asks_a_contact_by_email_and_the_page_says_whom_how_and_that_it_is_not_opened_yet(
    client, session, editor, meeting, anna
):
    client.login(editor)
    card = section(client.get(f"/commitments/{meeting.id}"), "ask-vendor")
    assert "Ask the vendor" in card and "Kovács Anna" in card and "Send by email" in card

    response = client.submit(ask_page(meeting), {"contact_id": anna.id, "send": "email"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/commitments/{meeting.id}")

    page = client.get(f"/commitments/{meeting.id}")
    assert "Asked Kovács Anna by email." in visible(page)
    answers = section(page, "vendor-answers")
    assert "Kovács Anna" in answers and "works" in answers
    assert "asked" in answers and "by Edith Editor" in answers
    assert "emailed to anna@kovacs.test" in answers and "not opened yet" in answers
    assert "No answer yet." in answers

    (ask,) = mails(session, MailKind.vendor_ask)
    assert ask.recipient == "anna@kovacs.test"
    token = TOKEN.search(ask.body_text).group(1)
    assert vendor_links.find_open(session, token, utcnow(), LINKS).contact_id == anna.id
    assert token not in page.get_data(as_text=True)


def test_a_copied_link_is_shown_once_on_the_answer_to_its_post_and_never_again_on_any_page(
    client, session, editor, admin, meeting, bela, vendor
):
    client.login(editor)
    response = client.submit(ask_page(meeting), {"contact_id": bela.id, "send": "copy"})
    assert response.status_code == 200, "the page itself, not a redirect: a flash would carry the token"
    body = response.get_data(as_text=True)
    (token,) = TOKEN.findall(body)
    assert body.count(token) == 1
    assert "Shown once; anyone with it can answer for this item." in visible(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert token not in response.headers.get("Set-Cookie", "")
    assert 'src="/static/copy-link.js"' in body and "https://" not in body.split("</nav>", 1)[1]
    link = vendor_links.find_open(session, token, utcnow(), LINKS)
    assert link.contact_id == bela.id and link.emailed_to == "" and link.commitment_id == meeting.id
    assert mails(session, MailKind.vendor_ask) == []

    pages = [
        f"/commitments/{meeting.id}",
        "/commitments/",
        f"/vendors/{vendor.id}",
        "/vendors/",
        "/auth/profile",
    ]
    for url in pages:
        shown = client.get(url)
        assert shown.status_code == 200 and token not in shown.get_data(as_text=True), url
    assert "link copied, to be sent another way" in section(
        client.get(f"/commitments/{meeting.id}"), "vendor-answers"
    )
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(admin)
    for url in ("/admin/events", "/admin/outbox", f"/commitments/{meeting.id}"):
        shown = client.get(url)
        assert shown.status_code == 200 and token not in shown.get_data(as_text=True), url


def test_a_contact_without_an_email_address_can_be_given_a_copied_link_but_not_emailed(
    client, session, editor, meeting, bela
):
    client.login(editor)
    card = section(client.get(f"/commitments/{meeting.id}"), "ask-vendor")
    assert "Szabó Béla (no email address: copy the link)" in card

    refused = client.submit(ask_page(meeting), {"contact_id": bela.id, "send": "email"})
    assert refused.status_code == 400
    assert "This contact has no email address: copy the link and send it another way." in section(
        refused, "ask-vendor"
    )
    assert count(session, VendorLink) == 0 and mails(session, MailKind.vendor_ask) == []


def test_another_vendors_contact_is_refused_on_the_contact_field_and_nothing_is_made(
    client, session, editor, meeting, make_vendor
):
    stranger = add_contact(session, make_vendor("Other Kft."), now=NOW, name="Stranger", email="s@o.test")
    session.commit()
    client.login(editor)
    for send in ("email", "copy"):
        refused = client.submit(ask_page(meeting), {"contact_id": stranger.id, "send": send})
        assert refused.status_code == 400
        card = refused.get_data(as_text=True).split('id="ask-vendor"', 1)[1]
        assert (
            'id="ask-contact_id"' in card and "is-invalid" in card.split('id="ask-contact_id"', 1)[0][-200:]
        )
        assert "This contact works for another vendor." in section(refused, "ask-vendor")
    for nonsense in ("abc", "99999999999999"):
        assert client.submit(ask_page(meeting), {"contact_id": nonsense, "send": "copy"}).status_code == 400
    assert count(session, VendorLink) == 0 and mails(session, MailKind.vendor_ask) == []


def test_a_settled_commitment_offers_no_ask_and_refuses_one_sent_anyway(
    client, session, editor, meeting, anna
):
    ledger.resolve_kept(session, meeting, actor=editor, now=utcnow())
    session.commit()
    client.login(editor)
    assert 'id="ask-vendor"' not in client.get(f"/commitments/{meeting.id}").get_data(as_text=True)
    refused = client.submit(ask_page(meeting), {"contact_id": anna.id, "send": "copy"})
    assert refused.status_code == 400
    assert "It is already resolved: there is nothing to ask the vendor." in section(refused, "ask-vendor")
    assert count(session, VendorLink) == 0


def test_a_complaint_is_asked_about_from_its_page_and_its_answers_show_there(
    client, session, editor, vendor, anna, in_mail
):
    complaint = complaints.raise_complaint(
        session,
        vendor=vendor,
        title="Cracked tiles in the hall",
        severity="major",
        channel="email",
        raised_at=utcnow() - timedelta(days=1),
        actor=editor,
        now=utcnow() - timedelta(days=1),
        rules=Rules(),
        contact=anna,
    )
    session.commit()
    client.login(editor)
    card = section(client.get(f"/complaints/{complaint.id}"), "ask-vendor")
    assert "who owns the complaint at their end" in card

    response = client.submit(
        f"/complaints/{complaint.id}/ask-vendor", {"contact_id": anna.id, "send": "copy"}
    )
    (token,) = TOKEN.findall(response.get_data(as_text=True))
    link = vendor_links.find_open(session, token, utcnow(), LINKS)
    assert link.complaint_id == complaint.id and "Back to Cracked tiles in the hall" in visible(response)

    vendor_links.answer_complaint(
        session,
        link,
        case_owner_name="Kovács Péter",
        apologised=True,
        message="We are sorry; Péter will call you today.",
        answer_by=utcnow() + timedelta(days=3),
        now=utcnow(),
        address="203.0.113.9",
    )
    vendor_links.reply(session, link, message="We replace the tiles on Monday.", now=utcnow(), address=None)
    session.commit()
    page = client.get(f"/complaints/{complaint.id}")
    answers = section(page, "vendor-answers")
    assert "Took the complaint up; Kovács Péter owns it, with an apology." in answers
    assert "We replace the tiles on Monday." in answers and "Waiting for our decision" in answers
    assert "Keep the dated answer's promise" in answers
    history = section(page, "history-h")
    assert "Kovács Anna (vendor, through their link)" in history
    assert "Answered: We replace the tiles on Monday." in history

    reply = session.scalars(sa.select(VendorAnswer).where(VendorAnswer.state == AnswerState.waiting)).one()
    assert client.submit(f"/vendor-answers/{reply.id}/accept").status_code == 302
    session.refresh(complaint)
    assert complaint.answer_promise.status == Status.kept
    assert complaint.answer_promise.done_at == reply.at
    assert token not in client.get(f"/complaints/{complaint.id}").get_data(as_text=True)


# --- what the vendor answered, and our decision ----------------------------------------------


def test_accepting_a_proposal_moves_the_commitment_with_the_vendors_reason_and_the_notice_it_gave(
    client, session, editor, meeting, anna, in_mail
):
    link, _token = asked(session, meeting, anna, editor, send_email=True)
    proposed_at = utcnow() - timedelta(hours=2)
    new_time = meeting.due_at + timedelta(days=3)
    vendor_links.propose(
        session, link, due_at=new_time, reason="Our surveyor is ill.", now=proposed_at, address="203.0.113.9"
    )
    session.commit()
    client.login(editor)

    answers = section(client.get(f"/commitments/{meeting.id}"), "vendor-answers")
    assert "1 waits for you" in answers
    assert "Proposed" in answers and "instead: Our surveyor is ill." in answers
    assert "Accept the new time" in answers and "Decline" in answers
    page = client.get(f"/commitments/{meeting.id}").get_data(as_text=True)
    (answer,) = link.answers
    chosen = re.search(rf'id="accept-{answer.id}-excuse_category".*?</select>', page, re.S).group(0)
    assert '<option selected value="other">' in chosen

    response = client.submit(f"/vendor-answers/{answer.id}/accept", {"excuse_category": "personal"})
    session.expire_all()
    meeting = session.get(Commitment, meeting.id)
    follow_up = meeting.rescheduled_to
    assert meeting.status == Status.rescheduled and follow_up.due_at == new_time
    assert response.headers["Location"].endswith(f"/commitments/{follow_up.id}")
    assert meeting.excuse_category == ExcuseCategory.personal and meeting.excuse == "Our surveyor is ill."
    assert meeting.notified_at == proposed_at, "the vendor told us when it proposed, not when we accepted"
    answer = session.get(VendorAnswer, answer.id)
    assert answer.state == AnswerState.accepted and answer.decided_by_id == editor.id

    page = client.get(f"/commitments/{follow_up.id}")
    assert "Accepted: it is moved to" in visible(page)
    answers = section(page, "vendor-answers")
    assert "Accepted" in answers and "by Edith Editor" in answers and "Accept the new time" not in answers
    (told,) = mails(session, MailKind.vendor_told)
    assert told.recipient == "anna@kovacs.test"


def test_disputing_a_report_of_done_keeps_it_open_and_tells_the_contact_our_note(
    client, session, editor, delivery, anna, in_mail
):
    link, _token = asked(session, delivery, anna, editor)
    answer = vendor_links.report_done(
        session, link, done_at=None, note="All measured.", now=utcnow() - timedelta(hours=1), address=None
    )
    session.commit()
    client.login(editor)
    answers = section(client.get(f"/commitments/{delivery.id}"), "vendor-answers")
    assert "Confirm it was kept then" in answers and "Dispute" in answers

    response = client.submit(
        f"/vendor-answers/{answer.id}/decline", {"decision_note": "Nobody came; the gate log shows no visit."}
    )
    assert response.status_code == 302
    assert "Declined; Kovács Anna is told by email." in visible(client.get(f"/commitments/{delivery.id}"))
    session.expire_all()
    assert session.get(Commitment, delivery.id).status == Status.open
    answer = session.get(VendorAnswer, answer.id)
    assert answer.state == AnswerState.declined
    assert answer.decision_note == "Nobody came; the gate log shows no visit."
    (told,) = mails(session, MailKind.vendor_told)
    assert "Nobody came; the gate log shows no visit." in told.body_text
    assert "Our note: Nobody came" in section(client.get(f"/commitments/{delivery.id}"), "vendor-answers")


def test_confirming_a_report_of_done_keeps_the_commitment_at_the_time_the_vendor_reported(
    client, session, editor, delivery, anna, in_mail
):
    link, _token = asked(session, delivery, anna, editor)
    done_at = (utcnow() - timedelta(hours=5)).replace(second=0, microsecond=0)
    answer = vendor_links.report_done(session, link, done_at=done_at, note="", now=utcnow(), address=None)
    session.commit()
    client.login(editor)
    assert client.submit(f"/vendor-answers/{answer.id}/accept").status_code == 302
    session.expire_all()
    kept = session.get(Commitment, delivery.id)
    assert kept.status == Status.kept and kept.done_at == done_at


def test_cannot_is_recorded_as_broken_with_the_chosen_excuse_or_kept_open(
    client, session, editor, meeting, anna, in_mail
):
    link, _token = asked(session, meeting, anna, editor)
    first = vendor_links.cannot(session, link, reason="The road is closed.", now=utcnow(), address=None)
    session.commit()
    client.login(editor)
    answers = section(client.get(f"/commitments/{meeting.id}"), "vendor-answers")
    assert "Record it as broken" in answers and "Keep it open" in answers

    client.submit(f"/vendor-answers/{first.id}/decline", {"decision_note": ""})
    session.expire_all()
    assert session.get(Commitment, meeting.id).status == Status.open

    second = vendor_links.cannot(
        session, session.get(VendorLink, link.id), reason="Still closed.", now=utcnow(), address=None
    )
    session.commit()
    client.submit(f"/vendor-answers/{second.id}/accept", {"excuse_category": "force_majeure"})
    session.expire_all()
    broken = session.get(Commitment, meeting.id)
    assert broken.status == Status.broken
    assert (broken.excuse_category, broken.excuse) == (ExcuseCategory.force_majeure, "Still closed.")


def test_a_decision_refused_shows_on_the_page_and_changes_nothing(
    client, session, editor, meeting, anna, in_mail
):
    link, _token = asked(session, meeting, anna, editor)
    answer = vendor_links.cannot(session, link, reason="No staff.", now=utcnow(), address=None)
    session.commit()
    client.login(editor)

    too_long = client.submit(f"/vendor-answers/{answer.id}/decline", {"decision_note": "x" * 2001})
    assert too_long.status_code == 400
    page = too_long.get_data(as_text=True)
    assert re.search(r'<details class="decline-form" open>', page)
    assert 'id="decline-' + str(answer.id) + '-decision_note"' in page
    unknown = client.submit(f"/vendor-answers/{answer.id}/accept", {"excuse_category": "aliens"})
    assert unknown.status_code == 400 and "Not a valid choice" in section(unknown, "vendor-answers")

    client.submit(f"/vendor-answers/{answer.id}/accept", {"excuse_category": "other"})
    again = client.submit(f"/vendor-answers/{answer.id}/accept", {"excuse_category": "other"})
    assert again.status_code == 400
    assert "This answer is not waiting for a decision." in section(again, "vendor-answers")
    session.expire_all()
    assert session.get(VendorAnswer, answer.id).state == AnswerState.accepted
    assert count(session, LedgerEvent, LedgerEvent.action == "resolved") == 1
    assert client.submit("/vendor-answers/999999/accept").status_code == 404


def test_the_page_says_when_a_link_was_first_opened_and_how_often(client, session, editor, meeting, anna):
    link, _token = asked(session, meeting, anna, editor)
    first = (utcnow() - timedelta(hours=2)).replace(second=0, microsecond=0)
    for moment in (first, first + timedelta(minutes=30), first + timedelta(hours=1)):
        vendor_links.record_open(session, link, moment)
    session.commit()
    client.login(editor)
    answers = section(client.get(f"/commitments/{meeting.id}"), "vendor-answers")
    assert f"opened 3 times, first {first:%b} {first.day}, {first.year}" in answers
    assert "not opened yet" not in answers


# --- revoking ---------------------------------------------------------------------------------


def test_a_revoked_link_no_longer_opens_and_the_page_says_by_whom(client, session, editor, meeting, anna):
    link, token = asked(session, meeting, anna, editor)
    client.login(editor)
    answers = section(client.get(f"/commitments/{meeting.id}"), "vendor-answers")
    assert "Revoke this link…" in answers and "Yes, revoke it" in answers

    response = client.submit(f"/vendor-links/{link.id}/revoke")
    assert response.status_code == 302
    page = client.get(f"/commitments/{meeting.id}")
    assert "The link for Kovács Anna is revoked: it no longer opens." in visible(page)
    answers = section(page, "vendor-answers")
    assert "revoked" in answers and "by Edith Editor" in answers and "Yes, revoke it" not in answers
    assert vendor_links.find_open(session, token, utcnow(), LINKS) is None

    again = client.submit(f"/vendor-links/{link.id}/revoke")
    assert again.status_code == 400 and "This link is already revoked." in section(again, "vendor-answers")
    assert client.submit("/vendor-links/999999/revoke").status_code == 404


# --- what the emails say -----------------------------------------------------------------------

# What the contact can answer, each as the page sends it; our owner chooses between two buttons.
ANSWERS = {
    "proposed": lambda session, link, item: vendor_links.propose(
        session, link, due_at=item.due_at + timedelta(days=1), reason="Ill.", now=utcnow(), address=None
    ),
    "done": lambda session, link, item: vendor_links.report_done(
        session, link, done_at=None, note="Measured.", now=utcnow(), address=None
    ),
    "cannot": lambda session, link, item: vendor_links.cannot(
        session, link, reason="No surveyor.", now=utcnow(), address=None
    ),
}


@pytest.mark.parametrize(
    ("kind", "accept", "decline"),
    [
        ("proposed", "Accept the new time", "Decline"),
        ("done", "Confirm it was kept then", "Dispute"),
        ("cannot", "Record it as broken", "Keep it open"),
    ],
)
def test_the_owners_email_names_the_two_buttons_that_wait_for_them(
    client, session, editor, delivery, anna, in_mail, kind, accept, decline
):
    link, _token = asked(session, delivery, anna, editor)
    ANSWERS[kind](session, link, delivery)
    session.commit()

    (told,) = mails(session, MailKind.vendor_answer)

    choice = f"It waits for your decision: open it to choose “{accept}” or “{decline}”."
    assert choice in told.body_text and choice in html.unescape(told.body_html)
    assert "accept or decline" not in told.body_text
    client.login(editor)
    buttons = section(client.get(f"/commitments/{delivery.id}"), "vendor-answers")
    assert accept in buttons and decline in buttons  # the same words as on the page


def told_of(session, answer, *, link_opens: bool) -> str:
    """The email telling the contact our decision, as vendor_links composes it, with `link_opens`
    (whether the link still opens) set either way, whatever the link's state."""
    link = answer.link
    with speaking(link.contact):
        rendered = mail.render(
            MailKind.vendor_told.value,
            "subject",
            asker="Edith Editor",
            link=link,
            item=vendor_links.item_of(link),
            is_complaint=False,
            contact=link.contact,
            tz="UTC",
            answer=answer,
            link_opens=link_opens,
        )
    return rendered.text + "\n" + html.unescape(rendered.html)


@pytest.fixture
def anna_in_english(session, anna):
    anna.language = "en"
    session.commit()
    return anna


def test_the_contact_is_asked_to_answer_again_only_after_a_decline_and_only_while_the_link_opens(
    session, editor, delivery, anna_in_english, in_mail
):
    link, _token = asked(session, delivery, anna_in_english, editor)
    proposal = ANSWERS["proposed"](session, link, delivery)
    vendor_links.decline(session, proposal, actor=editor, now=utcnow(), note="No.")
    done = ANSWERS["done"](session, link, delivery)
    vendor_links.accept(session, done, actor=editor, now=utcnow())
    session.commit()
    again = "Open the link you were sent to see where it stands, and answer again there."
    stands = "The link you were sent shows where it stands."

    assert told_of(session, proposal, link_opens=True).count(again) == 2  # text and HTML
    declined_dead = told_of(session, proposal, link_opens=False)
    assert again not in declined_dead and "link" not in declined_dead
    accepted = told_of(session, done, link_opens=True)
    assert "answer again" not in accepted and accepted.count(stands) == 2
    assert "Thank you: nothing more is needed from you for now." in accepted
    accepted_dead = told_of(session, done, link_opens=False)
    assert "answer again" not in accepted_dead and "link" not in accepted_dead


def test_a_contact_whose_link_was_revoked_is_not_sent_back_to_it_after_our_decline(
    session, editor, delivery, anna_in_english, in_mail
):
    link, _token = asked(session, delivery, anna_in_english, editor)
    proposal = ANSWERS["proposed"](session, link, delivery)
    vendor_links.revoke(session, link, actor=editor, now=utcnow())
    vendor_links.decline(session, proposal, actor=editor, now=utcnow(), note="We keep the date.")
    session.commit()

    (told,) = mails(session, MailKind.vendor_told)

    assert "did not agree to your answer" in told.body_text and "We keep the date." in told.body_text
    assert "answer again" not in told.body_text and "answer again" not in told.body_html


def test_a_contact_whose_link_still_opens_is_asked_to_answer_again_after_our_decline(
    session, editor, delivery, anna_in_english, in_mail
):
    link, _token = asked(session, delivery, anna_in_english, editor)
    proposal = ANSWERS["proposed"](session, link, delivery)
    vendor_links.decline(session, proposal, actor=editor, now=utcnow(), note="We keep the date.")
    session.commit()

    (told,) = mails(session, MailKind.vendor_told)

    assert "Open the link you were sent to see where it stands, and answer again there." in told.body_text


def test_the_contact_is_greeted_as_in_a_business_letter_in_the_ask_and_in_our_decision(
    session, editor, delivery, anna_in_english, in_mail
):
    link, _token = asked(session, delivery, anna_in_english, editor, send_email=True)
    proposal = ANSWERS["proposed"](session, link, delivery)
    vendor_links.decline(session, proposal, actor=editor, now=utcnow())
    session.commit()

    emails = [*mails(session, MailKind.vendor_ask), *mails(session, MailKind.vendor_told)]

    assert len(emails) == 2
    for sent in emails:
        assert sent.body_text.startswith("Dear Kovács Anna,") and "Hello" not in sent.body_text
        assert "<p>Dear Kovács Anna,</p>" in sent.body_html
    (ours,) = mails(session, MailKind.vendor_answer)
    assert ours.body_text.startswith("Hello Edith Editor,")  # our own people keep their greeting


# --- who may -------------------------------------------------------------------------------------


def test_a_viewer_reads_the_answers_and_every_write_is_refused_403(
    client, session, editor, viewer, meeting, anna, in_mail
):
    link, token = asked(session, meeting, anna, editor)
    answer = vendor_links.propose(
        session, link, due_at=meeting.due_at + timedelta(days=1), reason="Rain.", now=utcnow(), address=None
    )
    session.commit()
    client.login(viewer)
    page = client.get(f"/commitments/{meeting.id}")
    answers = section(page, "vendor-answers")
    assert "Kovács Anna" in answers and "instead: Rain." in answers and "Waiting for our decision" in answers
    body = page.get_data(as_text=True)
    assert 'id="ask-vendor"' not in body and "Accept the new time" not in body and "Revoke" not in body

    for url, data in (
        (ask_page(meeting), {"contact_id": anna.id, "send": "copy"}),
        (ask_page(meeting), {"contact_id": anna.id, "send": "email"}),
        (f"/vendor-links/{link.id}/revoke", {}),
        (f"/vendor-answers/{answer.id}/accept", {"excuse_category": "other"}),
        (f"/vendor-answers/{answer.id}/decline", {"decision_note": "No."}),
    ):
        response = client.submit(url, data)
        assert response.status_code == 403, url
        assert not TOKEN.search(response.get_data(as_text=True))
    session.expire_all()
    assert count(session, VendorLink) == 1 and session.get(VendorLink, link.id).revoked_at is None
    assert session.get(VendorAnswer, answer.id).state == AnswerState.waiting


def test_every_write_needs_the_pages_csrf_token(client, session, editor, meeting, anna, in_mail):
    link, _token = asked(session, meeting, anna, editor)
    answer = vendor_links.cannot(session, link, reason="No staff.", now=utcnow(), address=None)
    session.commit()
    client.login(editor)
    for url, data in (
        (ask_page(meeting), {"contact_id": anna.id, "send": "copy"}),
        (f"/vendor-links/{link.id}/revoke", {}),
        (f"/vendor-answers/{answer.id}/accept", {}),
        (f"/vendor-answers/{answer.id}/decline", {}),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert not TOKEN.search(response.get_data(as_text=True))
    session.expire_all()
    assert count(session, VendorLink) == 1 and session.get(VendorLink, link.id).revoked_at is None
    assert session.get(VendorAnswer, answer.id).state == AnswerState.waiting


# --- asked when logged ---------------------------------------------------------------------------


def log_form(owner, contact, **values) -> dict:
    due = utcnow() + timedelta(days=4)
    return {
        "kind": "meeting",
        "title": "Roof inspection",
        "due_date": due.date().isoformat(),
        "due_time": "10:00",
        "contact_id": contact.id,
        "owner_id": owner.id,
        "status": "open",
    } | values


def test_a_vendor_set_to_ask_for_confirmation_has_each_new_commitments_contact_emailed_in_the_same_save(
    client, session, editor, vendor, anna, bela
):
    client.login(editor)
    edit = client.get(f"/vendors/{vendor.id}/edit")
    assert "Ask the contact to confirm each new commitment by email" in visible(edit)
    saved = client.submit(
        f"/vendors/{vendor.id}/edit", {"name": vendor.name, "ask_to_confirm": "y", "notes": ""}
    )
    assert saved.status_code == 302
    session.refresh(vendor)
    assert vendor.ask_to_confirm is True

    response = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, anna))
    assert response.status_code == 302
    shown = visible(client.get(response.headers["Location"]))
    assert "Logged: Roof inspection." in shown and "Asked Kovács Anna to confirm." in shown
    logged = session.scalars(sa.select(Commitment).where(Commitment.title == "Roof inspection")).one()
    (link,) = session.scalars(sa.select(VendorLink)).all()
    assert link.commitment_id == logged.id and link.automatic and link.emailed_to == "anna@kovacs.test"
    (ask,) = mails(session, MailKind.vendor_ask)
    assert ask.recipient == "anna@kovacs.test"
    page = client.get(f"/commitments/{logged.id}")
    assert "automatically when it was logged" in section(page, "vendor-answers")
    assert TOKEN.search(ask.body_text).group(1) not in page.get_data(as_text=True)

    # Nobody to email: logged, and nothing asked.
    quiet = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, bela, title="Fence repair"))
    assert "Asked" not in visible(client.get(quiet.headers["Location"]))
    # Logged as already kept: nothing left to confirm.
    past = utcnow() - timedelta(days=2)
    client.submit(
        f"/commitments/new/{vendor.id}",
        log_form(editor, anna, title="Gutter check", due_date=past.date().isoformat(), status="kept"),
    )
    assert count(session, VendorLink) == 1 and len(mails(session, MailKind.vendor_ask)) == 1


def test_a_vendor_not_set_to_ask_sends_nothing_when_a_commitment_is_logged(
    client, session, editor, vendor, anna
):
    client.login(editor)
    response = client.submit(f"/commitments/new/{vendor.id}", log_form(editor, anna))
    assert response.status_code == 302
    assert "Asked" not in visible(client.get(response.headers["Location"]))
    assert count(session, VendorLink) == 0 and mails(session, MailKind.vendor_ask) == []


# --- the history ---------------------------------------------------------------------------------


def test_the_histories_and_the_event_log_name_the_contact_who_answered_through_their_link(
    client, session, editor, admin, meeting, anna, in_mail
):
    link, _token = asked(session, meeting, anna, editor)
    vendor_links.confirm(session, link, now=utcnow(), address=None)
    session.commit()
    client.login(editor)
    history = section(client.get(f"/commitments/{meeting.id}"), "history-h")
    assert "The vendor answered through its link" in history
    assert "Kovács Anna (vendor, through their link)" in history and "Confirmed it." in history
    assert "answer:" not in history and "link_id" not in history

    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(admin)
    log = visible(client.get("/admin/events"))
    assert "Kovács Anna (vendor, through their link) Kovács Építő Kft. Site survey" in log
    assert "Confirmed it." in log
    scheduled = visible(client.get("/admin/events?user_id=scheduler"))
    assert "Kovács Anna" not in scheduled, "the vendor's answers are not the scheduled checks'"


# --- the contact's language and zone -------------------------------------------------------------


def test_a_contacts_language_and_time_zone_are_set_on_their_form_or_left_unset(
    client, session, editor, vendor, anna
):
    client.login(editor)
    url = f"/vendors/{vendor.id}/contacts/{anna.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert '<option selected value="hu">Magyar</option>' in form
    assert "Not set (ours: UTC)" in html.unescape(form)

    values = {
        "name": "Kovács Anna",
        "email": "anna@kovacs.hu",
        "language": "pl",
        "timezone": "Europe/Budapest",
    }
    assert client.submit(url, values).status_code == 302
    session.refresh(anna)
    assert (anna.language, anna.timezone) == ("pl", "Europe/Budapest")

    assert client.submit(url, values | {"language": "", "timezone": ""}).status_code == 302
    session.refresh(anna)
    assert (anna.language, anna.timezone) == (None, None)

    for field, wrong in (("language", "xx"), ("timezone", "Mars/Olympus")):
        refused = client.submit(url, values | {field: wrong})
        assert refused.status_code == 400 and "Not a valid choice" in visible(refused)
        session.refresh(anna)
        assert (anna.language, anna.timezone) == (None, None)

    added = client.submit(
        f"/vendors/{vendor.id}/contacts/new",
        {"name": "Nowak Jan", "language": "pl", "timezone": "Europe/Warsaw"},
    )
    assert added.status_code == 302
    jan = session.scalars(sa.select(Contact).where(Contact.name == "Nowak Jan")).one()
    assert (jan.language, jan.timezone) == ("pl", "Europe/Warsaw")
