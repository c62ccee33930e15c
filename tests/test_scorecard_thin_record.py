"""The score pages show only the numbers the record can carry (SCORING.md §9), in the reader's words."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from tests import test_scorecard_pages
from tests.test_scorecard_pages import NOW, broken, kept, rows, text, visible
from vendortrack import ledger
from vendortrack.models import Kind
from vendortrack.scores.rules import COUNT_KEYS
from vendortrack.templating import facts_line, too_little_history
from vendortrack.vendors import add_contact

solid, chaos = test_scorecard_pages.solid, test_scorecard_pages.chaos  # the pages' two vendors, as fixtures
NO_FIGURE = re.compile(r"\d+[.,]\d")  # a score, a reliability or a punctuality as the pages write them


@pytest.fixture
def thin(session, make_vendor, editor):
    """Two promises come due, one kept, one broken: too little history to rate (fewer than 3 counted)."""
    vendor = make_vendor("Thin Record Ltd", category="IT")
    eva = add_contact(session, vendor, now=NOW - timedelta(days=90), name="Eva Thin")
    kept(session, vendor, editor, 40, title="Kick-off", contact=eva)
    broken(session, vendor, editor, 20, "The quote", contact=eva)
    session.commit()
    return vendor


def counts(**given: int) -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0) | given


# --- the plain facts line and "too little history" -----------------------------------------------


def test_the_plain_facts_read_as_one_line_over_the_counted_commitments(app):
    with app.test_request_context():
        line = facts_line(
            counts(kept_on_time=1, kept_late=2, broken=1, rescheduled=2, cancelled=4, upcoming=3),
            timedelta(minutes=80),
        )

    assert line == "1 of 6 on time, 1 broken, moved twice, 2 late by a median of 1 h 20 min"


@pytest.mark.parametrize(
    ("given", "late_by", "expected"),
    [
        ({"kept_on_time": 4}, None, "4 of 4 on time"),
        ({"broken": 2, "overdue": 1}, None, "0 of 3 on time, 2 broken, 1 overdue"),
        ({"kept_on_time": 2, "rescheduled": 1}, None, "2 of 3 on time, moved once"),
        (
            {"rescheduled": 3, "kept_late": 1},
            timedelta(minutes=35),
            "0 of 4 on time, moved 3 times, 1 late by 35 min",
        ),
        ({"kept_late": 3}, None, "0 of 3 on time, 3 late"),
        ({"kept_late": 2}, timedelta(days=3), "0 of 2 on time, 2 late by a median of 3 days"),
        ({"cancelled": 2, "upcoming": 5}, None, "nothing counted yet"),
    ],
)
def test_the_plain_facts_leave_out_what_is_zero(app, given, late_by, expected):
    with app.test_request_context():
        assert facts_line(counts(**given), late_by) == expected


def test_too_little_history_says_how_many_of_the_three_counted(app):
    with app.test_request_context():
        assert too_little_history(2) == "too little history: 2 of 3 commitments counted"


# --- no figure while the record is thin -----------------------------------------------------------


def test_a_new_vendors_page_says_no_score_at_all(client, viewer, make_vendor):
    vendor = make_vendor("Brand New Ltd")
    client.login(viewer)

    page = text(client.get(f"/vendors/{vendor.id}"))

    scorecard = visible(page.split('id="scorecard-h"')[1].split('id="overdue-h"')[0])
    assert "Score — too little history: 0 of 3 commitments counted" in scorecard
    assert "Reliability —" in scorecard and "Punctuality —" in scorecard
    assert "The record: nothing counted yet" in scorecard
    assert "No trend until the record carries a score." in scorecard
    assert "50.0" not in page and "50,0" not in page and "50.0 %" not in scorecard
    assert 'class="trend-point' not in page and 'class="band' not in page


def test_a_thin_vendors_page_shows_the_facts_but_no_score_reliability_or_punctuality(client, viewer, thin):
    client.login(viewer)

    page = text(client.get(f"/vendors/{thin.id}"))

    figures = visible(page.split('id="scorecard-h"')[1].split('id="trend-h"')[0])
    assert "Score — too little history: 2 of 3 commitments counted" in figures
    assert "The record: 1 of 2 on time, 1 broken" in figures
    # The one number left is the weight of what counted: N, not a score.
    assert not NO_FIGURE.search(re.sub(r"weighing \d+\.\d{3} in all", "", figures)) and "%" not in figures
    why = visible(page.split('id="why-h"')[1].split("<table")[0])
    assert "R, P, Score: — too little history: 2 of 3 commitments counted" in why
    assert "R = (" not in why and "Score = 100" not in why
    contact = next(row for row in rows(page) if row.startswith("Eva Thin"))
    assert contact == "Eva Thin 2 — too little history: 2 of 3 commitments counted Too little history"


def test_a_thin_vendor_on_the_scorecard_compare_and_csv_has_no_figures(client, viewer, thin, solid):
    client.login(viewer)

    unrated = text(client.get("/scorecard")).split('id="unrated-h"')[1]
    compare = rows(text(client.get(f"/scorecard/compare?vendor={solid.id}&vendor={thin.id}")))
    table = list(csv.reader(io.StringIO(client.get("/scorecard.csv").data.decode("utf-8-sig"))))

    assert "Thin Record Ltd IT — too little history: 2 of 3 commitments counted 1 of 2 on time, 1 broken" in (
        visible(unrated)
    )
    assert 'class="band' not in unrated and 'class="sparkline' not in unrated
    by_figure = {row.split(" ")[0]: row for row in compare}
    assert re.fullmatch(r"Score \d+\.\d — too little history: 2 of 3 commitments counted", by_figure["Score"])
    assert re.fullmatch(r"Reliability \d+\.\d % \(.+\) —", by_figure["Reliability"])
    assert re.fullmatch(r"Punctuality \d+\.\d % \(.+\) —", by_figure["Punctuality"])
    assert any(row == "Record 8 of 8 on time 1 of 2 on time, 1 broken" for row in compare)
    header, solid_row, thin_row = table
    assert solid_row[0] == "1" and solid_row[3]
    thin_line = dict(zip(header, thin_row, strict=True))
    assert thin_line["standing"] == "insufficient_data" and thin_line["counted"] == "2"
    assert [
        thin_line[name]
        for name in ("rank", "score", "reliability", "reliability_low", "punctuality", "punctuality_high")
    ] == [""] * 6
    assert thin_line["kept_on_time"] == "1" and thin_line["broken"] == "1"


def test_logging_with_a_thin_vendor_shows_no_standing_warning_and_no_score(
    client, editor, session, make_vendor
):
    vendor = make_vendor("Two Broken Ltd")
    broken(session, vendor, editor, 30, "First")
    broken(session, vendor, editor, 10, "Second")
    session.commit()
    client.login(editor)

    shown = visible(text(client.get(f"/commitments/new/{vendor.id}")))

    assert "This vendor's record is" not in shown and "Keep an eye" not in shown
    assert not re.search(r"Score \d", shown)


# --- the vendor page's words and numbers ----------------------------------------------------------


def test_the_vendor_page_puts_the_plain_facts_beside_the_score(client, viewer, chaos):
    client.login(viewer)

    shown = visible(text(client.get(f"/vendors/{chaos.id}")))

    assert re.search(
        r"Score \d+\.\d 90 % band .+? The record: 0 of 9 on time, 6 broken, moved twice, "
        r"1 late by 45 min",
        shown,
    )


def test_median_lateness_of_promises_is_written_in_hours_and_minutes(
    client, viewer, session, make_vendor, editor
):
    vendor = make_vendor("Slow Quotes Ltd")
    for days_ago, late in [(30, 60), (20, 80), (10, 100)]:
        due = NOW - timedelta(days=days_ago)
        c = ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title="Quote",
            due_at=due,
            actor=editor,
            now=due - timedelta(days=1),
        )
        ledger.resolve_kept(
            session, c, actor=editor, now=due + timedelta(hours=2), done_at=due + timedelta(minutes=late)
        )
    session.commit()
    client.login(viewer)

    shown = visible(text(client.get(f"/vendors/{vendor.id}")))

    assert "Median lateness, promises and deadlines 1 h 20 min" in shown
    assert "0 of 3 on time, 3 late by a median of 1 h 20 min" in shown


def test_why_this_score_writes_every_number_with_the_readers_decimal_separator(
    client, viewer, chaos, session
):
    viewer.locale = "pl"
    session.commit()
    client.login(viewer)

    page = text(client.get(f"/vendors/{chaos.id}"))

    why = page.split('id="why-h"')[1]
    shown = visible(why)
    assert re.search(
        r"100 × \(0,6 × R \+ 0,4 × P\) = 100 × \(0,6 × 0,\d{4} \+ 0,4 × 0,\d{4}\) = \d+,\d", shown
    )
    moved = [row for row in rows(why.split("<tbody>")[1].split("</tbody>")[0]) if "Migration plan" in row]
    assert moved and all(re.search(r" 0,\d{3} 0,5 0 0,\d{3} 0,000$", row) for row in moved), moved
    figures = re.sub(
        r"\d{1,2}\.\d{2}\.\d{4}", "", visible(why.split("</table>")[0])
    )  # Polish dates: 18.10.2026
    assert not re.search(r"\d\.\d", figures), "a figure with a decimal point in Polish"


def test_the_warning_after_logging_with_an_unreliable_vendor_writes_its_score_in_the_readers_language(
    client, editor, chaos, session
):
    editor.locale = "pl"
    session.commit()
    client.login(editor)

    response = client.submit(
        f"/commitments/new/{chaos.id}",
        {
            "kind": "promise",
            "title": "Jeszcze jedna szansa",
            "due_date": (NOW + timedelta(days=7)).date().isoformat(),
            "owner_id": editor.id,
            "contact_id": 0,
        },
        follow_redirects=True,
    )

    warning = re.search(r"Chaos Consulting[^<]*?(\d+[.,]\d)", text(response))
    assert warning and "," in warning.group(1), warning
