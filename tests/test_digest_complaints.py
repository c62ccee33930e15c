"""The digest's complaints section: raised, answered and still waiting this week, and who kept us
waiting longest for a first answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from flask import current_app

from tests.conftest import NOW
from tests.test_digest import WARSAW, WEEK_END, WEEK_START, at, composed, html_section, text_section
from vendortrack import complaints
from vendortrack.models import Complaint, Role, User
from vendortrack.scores.rules import ComplaintFact, Rules, responsiveness_of
from vendortrack.templating import responsiveness_words
from vendortrack.week import week_summary

SECTION = "Complaints"


def raise_complaint(session, vendor, owner, title: str, raised_at: datetime) -> Complaint:
    return complaints.raise_complaint(
        session,
        vendor=vendor,
        title=title,
        severity="major",
        channel="email",
        raised_at=raised_at,
        actor=owner,
        now=raised_at,
        rules=current_app.config["VENDORTRACK_RULES"],
    )


def answer(session, complaint: Complaint, owner, at_: datetime) -> None:
    complaints.answer(session, complaint, at=at_, actor=owner, now=at_, case_owner_name="Olga Owner")


class ComplaintWeek:
    """The week of Monday 22 June 2026, in complaints: one answered in hours, one after its deadline,
    one silent for two weeks, two waiting within their deadline, and those the week leaves out."""

    def __init__(self, session, make_vendor, editor, sam):
        self.acme = make_vendor("Acme Plumbing")
        self.bodge = make_vendor("Bodge & Sons <script>alert(1)</script>")
        self.slow = make_vendor("Slowpoke IT")
        self.silent = raise_complaint(session, self.slow, editor, "Server down all weekend", at(15, 9))
        self.tap = raise_complaint(session, self.acme, editor, "Leaking tap after the visit", at(23, 10))
        answer(session, self.tap, editor, at(23, 14))
        self.boiler = raise_complaint(session, self.bodge, sam, "Boiler <b>never</b> delivered", at(25, 16))
        answer(session, self.boiler, sam, at(27, 9))  # its deadline was the end of Friday
        self.gate = raise_complaint(session, self.bodge, sam, "Gate still broken", at(26, 9))
        self.invoice = raise_complaint(session, self.slow, editor, "Wrong invoice", at(26, 12))
        answer(session, self.invoice, editor, at(29, 10))  # after the week's end: it was waiting then
        # Left out: withdrawn by us, answered long before the week, raised after it.
        self.withdrawn = raise_complaint(session, self.acme, editor, "Our own mistake", at(24, 9))
        complaints.resolve(session, self.withdrawn, "withdrawn", actor=editor, now=at(24, 10))
        self.old = raise_complaint(session, self.acme, editor, "Old complaint", at(1, 9))
        answer(session, self.old, editor, at(1, 12))
        self.later = raise_complaint(session, self.acme, editor, "Raised after the week", at(29, 12))
        session.commit()


@pytest.fixture
def sam(make_user) -> User:
    return make_user(Role.editor, name="Sam Staff")


@pytest.fixture
def complaint_week(session, make_vendor, editor, sam) -> ComplaintWeek:
    return ComplaintWeek(session, make_vendor, editor, sam)


@pytest.fixture
def subscriber(make_user) -> User:
    return make_user(Role.viewer, name="Sue Scriber", timezone=WARSAW)


def test_the_week_holds_the_complaints_raised_answered_and_waiting_as_they_stood_at_its_end(
    session, complaint_week
):
    cw = complaint_week
    week = week_summary(
        session, current_app.config["VENDORTRACK_RULES"], WEEK_START, WEEK_END, now=NOW, min_move=1.0
    ).complaints

    assert week.raised == 4  # the tap, the boiler, the gate, the invoice: not the withdrawn one
    assert [c.id for c in week.answered] == [cw.tap.id, cw.boiler.id]  # in the order the answers came
    assert [c.in_time for c in week.answered] == [True, False]
    assert [c.waited for c in week.answered] == [timedelta(hours=4), timedelta(days=1, hours=17)]
    # Oldest first; the invoice was answered after the week's end, so at its end it was waiting.
    assert [c.id for c in week.waiting] == [cw.silent.id, cw.gate.id, cw.invoice.id]
    assert [c.in_time for c in week.waiting] == [False, True, True]
    assert week.waiting_total == 3
    assert week.longest.id == cw.silent.id and week.longest.waited == WEEK_END - at(15, 9)


def test_the_section_counts_names_the_longest_wait_and_lists_each_complaint(
    app, session, complaint_week, subscriber
):
    text = text_section(composed(app, session, subscriber).text, SECTION)

    assert "Raised this week: 4" in text
    assert "Answered this week: 2" in text
    assert "Still waiting for an answer: 3" in text
    assert (
        "Kept us waiting longest: Slowpoke IT, 14 days so far without a first answer to "
        "“Server down all weekend”." in text
    )
    waiting, answered = text.split("Answered this week:\n", 1)
    waiting = waiting.split("Still waiting for an answer:\n", 1)[1]
    assert waiting.index("Server down all weekend") < waiting.index("Gate still broken")
    assert waiting.index("Gate still broken") < waiting.index("Wrong invoice")
    silent_line = waiting.split("Server down all weekend", 1)[1].splitlines()[1]
    assert "waiting 14 days · answer deadline passed · ask Edith Editor" in silent_line
    gate_line = waiting.split("Gate still broken", 1)[1].splitlines()[1]
    assert "answer deadline passed" not in gate_line and "ask Sam Staff" in gate_line
    assert "answered after 4 h · within its deadline" in answered.split("Leaking tap", 1)[1].splitlines()[1]
    assert "answered after 1 day 17 h · after its deadline" in answered.split("never", 1)[1].splitlines()[1]
    for left_out in ("Our own mistake", "Old complaint", "Raised after the week"):
        assert left_out not in text


def test_an_answered_complaint_that_waited_longest_is_named_with_its_wait(
    app, session, make_vendor, editor, subscriber
):
    slow = make_vendor("Slowpoke IT")
    late = raise_complaint(session, slow, editor, "Cables left on the floor", at(12, 9))
    answer(session, late, editor, at(24, 15))
    raise_complaint(session, make_vendor("Acme Plumbing"), editor, "Tap dripping", at(26, 9))
    session.commit()

    text = text_section(composed(app, session, subscriber).text, SECTION)

    assert (
        "Kept us waiting longest: Slowpoke IT, 12 days before its first answer to "
        "“Cables left on the floor”." in text
    )


def test_the_section_is_in_both_parts_with_links_to_each_complaint_and_its_vendor(
    app, session, complaint_week, subscriber
):
    rendered = composed(app, session, subscriber)
    base = app.config["VENDORTRACK_BASE_URL"]
    html = html_section(rendered.html, "complaints")

    assert re.search(r'<h2 id="complaints"[^>]*>Complaints</h2>', rendered.html)
    assert "== Complaints ==" in rendered.text
    for c in (complaint_week.silent, complaint_week.gate, complaint_week.tap):
        assert f'href="{base}/complaints/{c.id}"' in html
        assert f"{base}/complaints/{c.id}" in rendered.text
    assert f'href="{base}/vendors/{complaint_week.slow.id}"' in html
    assert "Kept us waiting longest:" in unescape(html)
    # The section sits among the others: after what is overdue, before what is due next week.
    assert rendered.text.index("== Overdue") < rendered.text.index("== Complaints ==")
    assert rendered.text.index("== Complaints ==") < rendered.text.index("== Due next week ==")


def test_markup_in_a_complaint_or_a_vendor_name_is_escaped_in_the_html_part(
    app, session, complaint_week, subscriber
):
    html = html_section(composed(app, session, subscriber).html, "complaints")

    assert "<b>never</b>" not in html and "Boiler &lt;b&gt;never&lt;/b&gt; delivered" in html
    assert "<script>" not in html and "Bodge &amp; Sons &lt;script&gt;" in html


def test_a_week_without_complaints_says_so(app, session, subscriber, make_vendor, editor):
    old = raise_complaint(session, make_vendor("Acme Plumbing"), editor, "Answered long ago", at(1, 9))
    answer(session, old, editor, at(1, 12))
    session.commit()

    rendered = composed(app, session, subscriber)

    sentence = "No complaint was raised, answered or waiting for an answer this week."
    assert sentence in text_section(rendered.text, SECTION)
    assert sentence in unescape(html_section(rendered.html, "complaints"))
    assert "Kept us waiting longest" not in rendered.text


def test_a_best_or_worst_vendor_line_says_its_responsiveness_with_its_band_and_facts(app):
    as_of = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    raised = [as_of - timedelta(days=d) for d in (30, 20, 10)]
    answered = [ComplaintFact(i, r, r + timedelta(hours=2)) for i, r in enumerate(raised, 1)]
    figures = responsiveness_of(answered, Rules(), as_of)
    with app.test_request_context():
        line = responsiveness_words(figures)
        thin = responsiveness_words(responsiveness_of(answered[:1], Rules(), as_of))
    low, high = (f"{100 * x:.1f}" for x in figures.band)
    assert line == (
        f"responsiveness {100 * figures.value:.1f} % (90 % band {low}–{high} %): "
        "3 of 3 answered in time, median time to the first answer 2 h, over the 3 answered"
    )
    assert thin == "responsiveness: too little history: 1 of 3 complaints counted"
