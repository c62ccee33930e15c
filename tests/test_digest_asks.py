"""The weekly digest's asks through the vendors' links: how many we asked, how many were answered,
how many still wait, who answered fastest and slowest; and beside each best and worst vendor, its
share of our asks answered, as the week stood at its end."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from tests.test_digest import (
    WEEK_END,
    WEEK_START,
    Ledger,
    at,
    composed,
    html_section,
    line_with,
    log,
    text_section,
)
from vendortrack import ledger, vendor_links
from vendortrack.models import Commitment, Kind, Role, User
from vendortrack.scores import asks
from vendortrack.vendors import add_contact

LINKS = vendor_links.LinkRules()
SECTION = "Our asks through the vendors' links"


class AskedWeek(Ledger):
    """The digest's week (Monday 22 June 06:00 to Monday 29 June 06:00 UTC) with asks through links."""

    def __init__(self, session, make_vendor, editor):
        super().__init__(session, make_vendor, editor)
        ada = add_contact(session, self.acme, now=at(1, 9), name="Ada Acme")
        sid = add_contact(session, self.slow, now=at(1, 9), name="Sid Slow")
        bob = add_contact(session, self.bodge, now=at(1, 9), name="Bob Bodge")
        meter = session.scalars(sa.select(Commitment).where(Commitment.title == "Install the meter")).one()

        def ask(contact, item, when):
            link, _token = vendor_links.ask(
                session, item, contact=contact, actor=editor, now=when, rules=LINKS, send_email=False
            )
            return link

        def confirm(link, when):
            vendor_links.confirm(session, link, now=when, address="203.0.113.7")

        before = ask(ada, meter, at(15, 9))  # asked and answered the week before: not this week's
        confirm(before, at(16, 9))
        confirm(ask(ada, meter, at(23, 9)), at(23, 11))  # asked and answered in the week, in 2 h
        confirm(ask(sid, self.invoice, at(19, 9)), at(24, 15))  # asked before, answered in it: 5 days 6 h
        ask(sid, self.invoice, at(28, 20))  # Sunday evening: still within its time at the week's end
        ask(ada, meter, at(22, 10))  # never answered: its time was up on Tuesday
        revoked = ask(ada, meter, at(25, 10))
        vendor_links.revoke(session, revoked, actor=editor, now=at(25, 11))
        roof = log(session, self.bodge, editor, "Quote for the roof", at(3, 9, month=7))
        later = ask(bob, roof, at(30, 9))  # after the week: not in its digest
        confirm(later, at(30, 10))
        session.commit()


@pytest.fixture
def week(session, make_vendor, editor) -> AskedWeek:
    return AskedWeek(session, make_vendor, editor)


@pytest.fixture
def subscriber(make_user) -> User:
    return make_user(Role.viewer, name="Sue Scriber")


def test_the_week_counts_the_asks_made_answered_and_still_waiting_as_they_stood_at_its_end(
    app, session, week
):
    held = asks.of_the_week(session, app.config["VENDORTRACK_RULES"], WEEK_START, WEEK_END, now=NOW)

    assert (held.asked, held.answered, held.waiting) == (4, 2, 1)
    assert (held.fastest.contact_name, held.fastest.vendor_name, held.fastest.took) == (
        "Ada Acme",
        "Acme Plumbing",
        timedelta(hours=2),
    )
    assert (held.slowest.contact_name, held.slowest.took) == ("Sid Slow", timedelta(days=5, hours=6))


def test_the_digest_says_how_many_asks_were_made_answered_and_still_wait_and_who_was_fastest_and_slowest(
    app, session, week, subscriber
):
    rendered = composed(app, session, subscriber)

    text = text_section(rendered.text, SECTION)
    assert line_with(text, "Asked this week") == "Asked this week: 4"
    assert line_with(text, "Answered this week") == "Answered this week: 2"
    assert line_with(text, "Still waiting") == "Still waiting for an answer: 1"
    assert "Fastest: Ada Acme (Acme Plumbing), after 2 h." in text
    assert "Slowest: Sid Slow (Slowpoke IT), after 5 days." in text
    html = " ".join(unescape(html_section(rendered.html, "asks")).split())
    assert 'Asked this week</td><td align="right"><b>4</b>' in html
    assert 'Still waiting for an answer</td><td align="right"><b>1</b>' in html
    assert "Slowest: Sid Slow (<a" in html and ">Slowpoke IT</a>), after 5 days." in html


def test_a_week_with_one_answer_names_it_once(app, session, make_vendor, editor, subscriber):
    vendor = make_vendor("Lone Answer Ltd")
    contact = add_contact(session, vendor, now=at(1, 9), name="Lou Lone")
    item = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Visit",
        due_at=at(2, 9, month=7),
        actor=editor,
        now=at(1, 9),
    )
    link, _token = vendor_links.ask(
        session, item, contact=contact, actor=editor, now=at(24, 9), rules=LINKS, send_email=False
    )
    vendor_links.confirm(session, link, now=at(24, 12), address=None)
    session.commit()

    text = text_section(composed(app, session, subscriber).text, SECTION)

    assert "The one answer: Lou Lone (Lone Answer Ltd), after 3 h." in text
    assert "Fastest" not in text and "Slowest" not in text


def test_a_week_without_asks_says_so(app, session, make_vendor, subscriber):
    make_vendor("Never Asked Ltd")

    rendered = composed(app, session, subscriber)

    sentence = "No vendor was asked anything through a link this week, and no ask is waiting."
    assert sentence in text_section(rendered.text, SECTION)
    assert sentence in unescape(html_section(rendered.html, "asks"))


def test_each_best_and_worst_vendor_asked_at_all_gives_its_share_of_asks_answered(
    app, session, week, subscriber
):
    rendered = composed(app, session, subscriber)

    ranking = text_section(rendered.text, "Best and worst vendors")
    lines = ranking.splitlines()
    acme = lines[lines.index(line_with(ranking, "1. Acme Plumbing")) + 1]
    slow = lines[lines.index(line_with(ranking, "2. Slowpoke IT")) + 1]
    bodge = lines[lines.index(line_with(ranking, "1. Bodge & Sons")) + 1]
    # As of the week's end: Ada's ask of the week before and the one of Tuesday, answered; the one
    # never answered past its time; the revoked one not at all. Sid's Sunday ask is still waiting.
    assert acme.endswith("; asks through links: answered 2 of 3 asks (67 %)")
    assert slow.endswith("; asks through links: answered 1 of 1 ask (100 %)")
    assert "asks through links" not in bodge, "asked only after the week's end"
    html = unescape(html_section(rendered.html, "ranking"))
    assert "asks through links: answered 2 of 3 asks (67 %)" in html
