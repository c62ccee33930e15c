"""A reviewer on a phone reads how each vendor answers complaints on the scorecard, ranks by it, compares."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import test_scorecard_responsiveness as pages
from tests.browser.conftest import PHONE, open_context, screenshot
from tests.browser.test_ledger_journey import sign_in
from tests.browser.test_scorecard_journey import SIDEWAYS_SCROLLERS
from tests.test_scorecard_responsiveness import ANSWERED_ALL, ANSWERED_NONE

pytestmark = pytest.mark.browser

prompt, silent, quiet = pages.prompt, pages.silent, pages.quiet  # the page tests' vendors, as fixtures


def test_a_reviewer_on_a_phone_ranks_the_scorecard_by_responsiveness(
    browser,
    live_server,
    viewer,
    prompt,
    silent,
    quiet,
):
    context = open_context(browser, live_server, viewport=PHONE)  # it fails a page that scrolls sideways
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, viewer)

    page.goto("/scorecard")
    ranked = page.locator("table.scorecard-table").first
    rows = ranked.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Silent Freight")  # the better score, for all its silence
    answering = rows.filter(has_text="Prompt Logistics")
    expect(answering.locator("td.answers")).to_contain_text(ANSWERED_ALL)
    expect(answering).to_contain_text(
        "3 of 3 answered in time, median time to the first answer 2 h, over the 3 answered"
    )
    expect(answering.locator("td.answers svg.band")).to_be_visible()
    expect(rows.filter(has_text="Quiet Print").locator("td.answers")).to_contain_text("no complaints yet")
    assert page.evaluate(SIDEWAYS_SCROLLERS) == []
    # On a phone each vendor is a card: its responsiveness a line of it, inside the card's width.
    card, figure = answering.bounding_box(), answering.locator("td.answers").bounding_box()
    assert card and figure and figure["x"] + figure["width"] <= card["x"] + card["width"] + 1
    screenshot(page, "scorecard-responsiveness-phone")

    page.get_by_label("Rank by").select_option("responsiveness")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"by=responsiveness"))
    rows = page.locator("table.scorecard-table").first.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Prompt Logistics")
    expect(rows.last).to_contain_text(ANSWERED_NONE)
    unrated = page.locator("table.unrated-table")
    expect(page.get_by_role("heading", name="Not yet rated for responsiveness")).to_be_visible()
    expect(unrated).to_contain_text("Quiet Print")
    assert page.evaluate(SIDEWAYS_SCROLLERS) == []
    screenshot(page, "scorecard-by-responsiveness-phone")

    page.get_by_label("Compare Prompt Logistics").check()
    page.get_by_label("Compare Silent Freight").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.get_by_role("heading", name="Compare vendors")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Responsiveness band"))).to_have_count(2)
    assert page.evaluate(SIDEWAYS_SCROLLERS) == []
    screenshot(page, "compare-responsiveness-phone")

    # Printed, the comparison keeps the responsiveness and drops the buttons.
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_role("img", name=re.compile(r"^Responsiveness band")).first).to_be_visible()
    context.close()


def test_the_printed_scorecard_drops_the_tick_boxes_and_keeps_the_responsiveness(
    page,
    viewer,
    prompt,
    silent,
    quiet,
):
    sign_in(page, viewer)
    page.goto("/scorecard")
    expect(page.get_by_role("button", name="Print")).to_be_visible()

    page.emulate_media(media="print")

    expect(page.get_by_label("Compare Prompt Logistics")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    answers = page.locator("table.scorecard-table td.answers")
    expect(answers.first).to_be_visible()
    expect(page.locator("table.scorecard-table").first).to_contain_text(ANSWERED_ALL)
    screenshot(page, "scorecard-responsiveness-print")
    pdf = page.pdf(format="A4", landscape=False)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "three vendors print on one page"
