"""Responsiveness on the ranked scorecard, the comparison and the CSV (SCORING.md §10, issue 16):
how each vendor answers a complaint, shown beside its score, ranked and filtered by."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from tests.test_scorecard_pages import NOW, kept, rows, text, visible
from vendortrack import complaints

RAISED_DAYS_AGO = (30, 20, 10)
# SCORING.md §10 for three complaints raised 30, 20 and 10 days ago (H = 180 days): each weighs
# w = 2 ** (-days / 180), so N_c = 0.8909 + 0.9259 + 0.9622 = 2.7790.
N_C = sum(2 ** (-days / 180) for days in RAISED_DAYS_AGO)
# Answered all three in time: S_a = N_c, (2.7790 + 1) / (2.7790 + 2) = 79.1 %, "good" (>= 75).
ANSWERED_ALL = f"{100 * (N_C + 1) / (N_C + 2):.1f} %"
# Answered none: S_a = 0, 1 / 4.7790 = 20.9 %, "unreliable" (< 40).
ANSWERED_NONE = f"{100 * 1 / (N_C + 2):.1f} %"
# The last column, our asks through the vendor's links: none here (tests/test_asks_pages.py has them).
NOT_ASKED = " — not asked through a link yet"


def complain(session, app, vendor, actor, *, answer_after: timedelta | None) -> None:
    """Three complaints raised with the vendor; each answered `answer_after` later, or never."""
    for i, days_ago in enumerate(RAISED_DAYS_AGO):
        raised = NOW - timedelta(days=days_ago)
        complaint = complaints.raise_complaint(
            session,
            vendor=vendor,
            title=f"Complaint number {i + 1}",
            severity="major",
            channel="email",
            raised_at=raised,
            actor=actor,
            now=NOW,
            rules=app.config["VENDORTRACK_RULES"],
        )
        if answer_after is not None:
            complaints.answer(
                session,
                complaint,
                at=raised + answer_after,
                case_owner_name="Ewa from support",
                apologised=True,
                actor=actor,
                now=NOW,
            )


@pytest.fixture
def prompt(session, app, make_vendor, editor):
    """Four meetings kept, and every complaint answered two hours after it was raised."""
    vendor = make_vendor("Prompt Logistics", category="Transport")
    for days_ago in range(15, 95, 20):
        kept(session, vendor, editor, days_ago)
    complain(session, app, vendor, editor, answer_after=timedelta(hours=2))
    session.commit()
    return vendor


@pytest.fixture
def silent(session, app, make_vendor, editor):
    """Eight meetings kept (a better score than Prompt's), and not one complaint answered."""
    vendor = make_vendor("Silent Freight", category="Transport")
    for days_ago in range(10, 170, 20):
        kept(session, vendor, editor, days_ago)
    complain(session, app, vendor, editor, answer_after=None)
    session.commit()
    return vendor


@pytest.fixture
def quiet(session, make_vendor, editor):
    """Four meetings kept and never a complaint: no responsiveness to show."""
    vendor = make_vendor("Quiet Print", category="Printing")
    for days_ago in range(15, 95, 20):
        kept(session, vendor, editor, days_ago)
    session.commit()
    return vendor


def line_of(page: str, name: str) -> str:
    return next(row for row in rows(page) if name in row)


def names_in_order(page: str, *names: str) -> list[str]:
    shown = visible(page)
    return sorted(names, key=shown.index)


# --- the ranked scorecard -------------------------------------------------------------------------


def test_a_vendor_with_three_counted_complaints_shows_its_responsiveness_band_and_counts(
    client, viewer, prompt, silent
):
    client.login(viewer)

    page = text(client.get("/scorecard"))

    answering = line_of(page, "Prompt Logistics")
    assert f"{ANSWERED_ALL} Good" in answering
    assert answering.endswith(
        "3 of 3 answered in time, median time to the first answer 2 h, over the 3 answered" + NOT_ASKED
    )
    ignoring = line_of(page, "Silent Freight")
    assert f"{ANSWERED_NONE} Unreliable" in ignoring
    assert ignoring.endswith("0 of 3 answered in time, 3 unanswered" + NOT_ASKED)
    # The band as a bar and its two ends, the Wilson interval of §5 on 3 of 3 and 0 of 3.
    assert re.search(r"Responsiveness 79\.1 %; 90 % band 5\d\.\d % to 100\.0 %\.", page)
    assert re.search(r"Responsiveness 20\.9 %; 90 % band 0\.0 % to 4\d\.\d %\.", page)
    assert page.count('class="band"') == 4, "the score's band and the responsiveness's, for each"


def test_a_vendor_with_no_complaints_shows_too_little_history_and_no_figure(client, viewer, prompt, quiet):
    client.login(viewer)

    page = text(client.get("/scorecard"))

    line = line_of(page, "Quiet Print")
    assert line.endswith("— no complaints yet" + NOT_ASKED)
    assert "%" not in line.split("on time")[-1], "no responsiveness figure while too few complaints count"


def test_the_score_order_stays_as_it_was_with_complaints_beside_it(client, viewer, prompt, silent):
    client.login(viewer)

    page = text(client.get("/scorecard"))

    assert names_in_order(page, "Prompt Logistics", "Silent Freight") == [
        "Silent Freight",
        "Prompt Logistics",
    ]
    assert visible(page).count("Not yet rated") == 0


def test_ranking_by_responsiveness_puts_the_vendor_that_answers_first_and_one_without_complaints_after(
    client, viewer, prompt, silent, quiet
):
    client.login(viewer)

    page = text(client.get("/scorecard?by=responsiveness"))

    ranked = [row for row in rows(page) if row[:1].isdigit()]
    assert [row.split(" ")[1] for row in ranked] == ["Prompt", "Silent"]
    shown = visible(page)
    assert "Ranked by responsiveness" in shown
    unrated = visible(page.split('id="unrated-h"')[1])
    assert visible(page.split('id="unrated-h"')[1].split("</h2>")[0]).endswith(
        "Not yet rated for responsiveness"
    )
    # Quiet Print has a score (four meetings kept) but no complaints: it keeps its score, not a rank.
    assert re.search(r"Quiet Print Printing \d+\.\d Good 4 of 4 on time — no complaints yet", unrated)
    assert '<option value="responsiveness" selected>' in page


def test_worst_first_by_responsiveness_puts_the_vendor_that_never_answers_on_top(
    client, viewer, prompt, silent, quiet
):
    client.login(viewer)

    page = text(client.get("/scorecard?by=responsiveness&order=worst"))

    ranked = [row for row in rows(page) if row[:1].isdigit()]
    assert [row.split(" ")[1] for row in ranked] == ["Silent", "Prompt"]


def test_the_scorecard_filters_by_responsiveness_standing(client, viewer, prompt, silent, quiet):
    client.login(viewer)

    unreliable = visible(text(client.get("/scorecard?responsiveness=unreliable")))
    too_few = visible(text(client.get("/scorecard?responsiveness=insufficient_data")))

    assert (
        "Silent Freight" in unreliable and "Prompt Logistics" not in unreliable and "Quiet" not in unreliable
    )
    assert "Quiet Print" in too_few and "Freight" not in too_few and "Logistics" not in too_few
    nobody = visible(text(client.get("/scorecard?responsiveness=excellent")))
    assert "No vendor matches these filters." in nobody


def test_a_responsiveness_standing_or_ranking_not_on_offer_is_named_and_the_list_stays_whole(
    client, viewer, prompt, silent
):
    client.login(viewer)

    response = client.get("/scorecard?responsiveness=chatty&by=mood")

    assert response.status_code == 400
    shown = visible(text(response))
    assert "Responsiveness: “chatty” is not one of the standings offered." in shown
    assert "Rank by: choose the score or the responsiveness." in shown
    assert "Prompt Logistics" in shown and "Silent Freight" in shown
    assert client.get("/scorecard.csv?by=mood").status_code == 400


def test_the_compare_button_and_the_csv_link_carry_the_responsiveness_filters(client, viewer, prompt, silent):
    client.login(viewer)

    page = text(client.get("/scorecard?responsiveness=good&by=responsiveness"))
    form = page.split('id="compare-form"')[1].split("</form>")[0]

    assert '<input type="hidden" name="responsiveness" value="good">' in form
    assert '<input type="hidden" name="by" value="responsiveness">' in form
    link = re.search(r'href="(/scorecard\.csv[^"]*)"', page).group(1)
    assert "by=responsiveness" in link and "responsiveness=good" in link
    back = client.get(f"/scorecard/compare?by=responsiveness&responsiveness=good&vendor={prompt.id}")
    assert back.status_code == 302
    assert "by=responsiveness" in back.location and "responsiveness=good" in back.location


# --- the CSV ---------------------------------------------------------------------------------------


def csv_table(client, url: str = "/scorecard.csv") -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    header, *lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_the_csv_carries_responsiveness_after_the_score_columns(client, viewer, prompt, silent, quiet):
    client.login(viewer)

    response = client.get("/scorecard.csv")
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    table = {line["vendor"]: line for line in csv_table(client)}

    assert header[:5] == ["rank", "vendor", "category", "score", "standing"]
    assert header[12:] == [
        "kept_on_time",
        "kept_late",
        "broken",
        "rescheduled",
        "overdue",
        "cancelled",
        "upcoming",
        "responsiveness",
        "responsiveness_low",
        "responsiveness_high",
        "responsiveness_standing",
        "complaints_counted",
        "answered_in_time",
        "answered_late",
        "unanswered",
        "median_hours_to_answer",
        "asks_counted",
        "asks_answered",
        "asks_share_answered",
        "asks_median_hours_to_answer",
        "asks_waiting",
    ]
    answering = table["Prompt Logistics"]
    assert f"{100 * float(answering['responsiveness']):.1f} %" == ANSWERED_ALL
    assert float(answering["responsiveness_low"]) < float(answering["responsiveness"])
    assert answering["responsiveness_high"] == "1.0"
    assert answering["responsiveness_standing"] == "good"
    assert [
        answering[k] for k in ("complaints_counted", "answered_in_time", "answered_late", "unanswered")
    ] == [
        "3",
        "3",
        "0",
        "0",
    ]
    assert answering["median_hours_to_answer"] == "2.0"
    ignoring = table["Silent Freight"]
    assert ignoring["responsiveness_standing"] == "unreliable" and ignoring["unanswered"] == "3"
    assert ignoring["median_hours_to_answer"] == ""
    # No complaints: the figure left empty as the score is for a thin record; the counts stay.
    none = table["Quiet Print"]
    assert [none[k] for k in ("responsiveness", "responsiveness_low", "responsiveness_high")] == ["", "", ""]
    assert none["responsiveness_standing"] == "insufficient_data" and none["complaints_counted"] == "0"
    assert none["score"] and none["rank"], "its score and rank are untouched"


def test_the_csv_ranked_by_responsiveness_ranks_only_the_vendors_it_can_rate(
    client, viewer, prompt, silent, quiet
):
    client.login(viewer)

    table = csv_table(client, "/scorecard.csv?by=responsiveness")

    assert [(line["rank"], line["vendor"]) for line in table] == [
        ("1", "Prompt Logistics"),
        ("2", "Silent Freight"),
        ("", "Quiet Print"),
    ]
    assert table[2]["score"], "a vendor without complaints keeps its score"


# --- compare ---------------------------------------------------------------------------------------


def test_compare_shows_each_vendors_responsiveness_side_by_side(client, viewer, prompt, silent, quiet):
    client.login(viewer)

    response = client.get(f"/scorecard/compare?vendor={prompt.id}&vendor={silent.id}&vendor={quiet.id}")

    assert response.status_code == 200
    table = rows(text(response))
    assert (f"Responsiveness {ANSWERED_ALL} {ANSWERED_NONE} — no complaints yet") in table
    assert "Responsiveness standing Good Unreliable Too little history" in table
    assert (
        "Complaints 3 of 3 answered in time, median time to the first answer 2 h, over the 3 answered "
        "0 of 3 answered in time, 3 unanswered"
    ) in table
    assert "Complaints counted 3 3 0" in table
    assert "Answered in time 3 0 0" in table
    assert "Unanswered 0 3 0" in table
    assert "Owner named 3 0 0" in table
    assert "Median time to the first answer 2 h — —" in table
    band = next(row for row in table if row.startswith("Responsiveness, 90 % band"))
    assert band.endswith("—"), "no band while too few complaints count"
    assert text(response).count('class="band"') == 3 + 2, "three score bands, two responsiveness bands"
