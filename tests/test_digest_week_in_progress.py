"""The digest of the week in progress says what has happened so far, as of now: never what the
week's end will hold, since that moment has not come. A week that is over reads as it always did."""

from __future__ import annotations

from html import unescape

import pytest
from flask import current_app

from tests.conftest import NOW
from tests.test_digest import WARSAW, WEEK, WEEK_END, at, composed, html_section, line_with, log, text_section
from tests.test_digest_complaints import answer, raise_complaint
from vendortrack import ledger, vendor_links
from vendortrack.models import Kind, Role, User
from vendortrack.scores import asks
from vendortrack.vendors import add_contact
from vendortrack.views import digest as digest_views

# Wednesday 24 June 2026, 12:00 UTC (14:00 in Warsaw): the week of Monday 22 June runs to Monday 29 June.
WEDNESDAY = at(24, 12)
LINKS = vendor_links.LinkRules()


class WeekSoFar:
    """The week of 22 June as it stands on Wednesday noon: nothing in the ledger is later than that."""

    def __init__(self, session, make_vendor, editor):
        self.slow = make_vendor("Slowpoke IT")
        # Raised on Monday 15 June and never answered: 9 days by Wednesday noon, 14 days by the week's end.
        self.silent = raise_complaint(session, self.slow, editor, "Server down all weekend", at(15, 9))
        self.tap = raise_complaint(session, self.slow, editor, "Leaking tap", at(23, 10))
        answer(session, self.tap, editor, at(23, 14))
        visit = log(session, self.slow, editor, "Site visit", at(23, 8), Kind.meeting)
        ledger.resolve_kept(session, visit, actor=editor, now=at(23, 9), done_at=at(23, 8))
        # Due on Friday: it has not come due yet, it is still to come.
        self.invoice = log(session, self.slow, editor, "Send the invoice", at(26, 12))
        sid = add_contact(session, self.slow, now=at(1, 9), name="Sid Slow")
        sam = add_contact(session, self.slow, now=at(1, 9), name="Sam Slow")
        # Asked this morning: their time runs out before the week's end, but not before now.
        for hour, contact in ((9, sid), (10, sam)):
            vendor_links.ask(
                session,
                self.invoice,
                contact=contact,
                actor=editor,
                now=at(24, hour),
                rules=LINKS,
                send_email=False,
            )
        session.commit()


@pytest.fixture
def week(session, make_vendor, editor) -> WeekSoFar:
    return WeekSoFar(session, make_vendor, editor)


@pytest.fixture
def subscriber(make_user) -> User:
    return make_user(Role.viewer, name="Sue Scriber", timezone=WARSAW)


@pytest.fixture
def wednesday_noon(monkeypatch):
    """The digest page's one clock read answers Wednesday noon, in the middle of the week."""
    monkeypatch.setattr(digest_views, "utcnow", lambda: WEDNESDAY)


def test_the_digest_page_of_the_week_in_progress_says_it_is_not_over_and_gives_figures_as_of_now(
    session, week, subscriber, client, wednesday_noon
):
    client.login(subscriber)

    page = " ".join(unescape(client.get(f"/digest?week={WEEK}").get_data(as_text=True)).split())

    assert "This week is not over: figures as of Jun 24, 2026, 2:00 PM." in page
    complaints = " ".join(unescape(html_section(page, "complaints")).split())
    assert ">Slowpoke IT</a>, 9 days so far without a first answer to" in complaints
    assert "waiting 9 days" in complaints and "14 days" not in complaints
    assert 'Still waiting for an answer</td><td align="right"><b>1</b>' in complaints


def test_the_asks_still_within_their_time_now_are_waiting_on_the_page_as_on_the_vendors_page(
    app, session, week, subscriber, client, wednesday_noon
):
    client.login(subscriber)

    page = unescape(client.get(f"/digest?week={WEEK}").get_data(as_text=True))

    section = " ".join(html_section(page, "asks").split())
    assert 'Asked this week</td><td align="right"><b>2</b>' in section
    assert 'Still waiting for an answer</td><td align="right"><b>2</b>' in section
    # The vendor's own page counts them as of now too: the two say the same.
    rules = current_app.config["VENDORTRACK_RULES"]
    assert asks.for_vendor(session, week.slow.id, rules, WEDNESDAY).waiting == 2


def test_what_is_due_later_this_week_has_not_come_due_but_is_listed_as_still_to_come(
    app, session, week, subscriber
):
    text = composed(app, session, subscriber, now=WEDNESDAY).text

    came_due = text_section(text, "What came due this week")
    assert "1 commitment came due." in came_due and "Site visit" in came_due
    assert "Send the invoice" not in came_due
    assert "Send the invoice" in text_section(text, "Due from now to the end of next week")
    assert "Nothing is overdue." in text_section(text, "Overdue, still without an outcome")


def test_the_email_of_a_week_in_progress_says_so_and_counts_as_of_now(app, session, week, subscriber):
    rendered = composed(app, session, subscriber, now=WEDNESDAY)

    assert "This week is not over: figures as of Jun 24, 2026, 2:00 PM." in " ".join(rendered.text.split())
    assert line_with(text_section(rendered.text, "Our asks through the vendors' links"), "Still waiting") == (
        "Still waiting for an answer: 2"
    )
    assert "9 days so far" in text_section(rendered.text, "Complaints")


def test_a_week_that_is_over_reads_the_same_whenever_it_is_read_and_says_nothing_of_now(
    app, session, week, subscriber
):
    at_its_end = composed(app, session, subscriber, now=WEEK_END)
    later = composed(app, session, subscriber, now=NOW)

    assert later.text == at_its_end.text and later.html == at_its_end.html
    assert "This week is not over" not in later.text and "This week is not over" not in later.html
    assert "14 days so far" in text_section(later.text, "Complaints")
    # At its end the two asks' time had run out unanswered: none was waiting any more.
    assert line_with(text_section(later.text, "Our asks through the vendors' links"), "Still waiting") == (
        "Still waiting for an answer: 0"
    )
    assert "Send the invoice" in text_section(later.text, "What came due this week")
    assert "== Due next week ==" in later.text


def test_a_week_not_yet_begun_says_so_and_shows_nothing_of_it_as_come(
    session, week, subscriber, client, wednesday_noon
):
    client.login(subscriber)

    page = " ".join(unescape(client.get("/digest?week=2026-W27").get_data(as_text=True)).split())

    assert "This week has not begun: figures as of Jun 24, 2026, 2:00 PM." in page
    assert "Nothing came due this week." in html_section(page, "came-due")
