"""A reviewer's look at the scores, in a real browser: the ranked scorecard, then one vendor's report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESK, PHONE, open_context, screenshot
from tests.browser.test_ledger_journey import sign_in
from tests.catalogs import say
from tests.conftest import PASSWORD
from vendortrack import ledger
from vendortrack.models import ExcuseCategory, Kind
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

pytestmark = pytest.mark.browser


@pytest.fixture
def scored_ledger(session, make_vendor, editor):
    """Three vendors a year into the ledger: one steady, one slipping, one that keeps making excuses."""
    now = utcnow()
    excuses = list(ExcuseCategory)

    def log(vendor, days_ago, outcome, i, contact=None):
        due = now - timedelta(days=days_ago)
        kind = [Kind.meeting, Kind.promise, Kind.deadline][i % 3]
        c = ledger.log_commitment(
            session,
            vendor=vendor,
            kind=kind,
            title=f"{kind.value.title()} #{i + 1}",
            due_at=due,
            actor=editor,
            now=due - timedelta(days=5),
            contact=contact,
        )
        if outcome == "kept":
            ledger.resolve_kept(session, c, actor=editor, now=due + timedelta(hours=1), done_at=due)
        elif outcome == "late":
            ledger.resolve_kept(
                session,
                c,
                actor=editor,
                now=due + timedelta(hours=3),
                done_at=due + timedelta(minutes=30 + 20 * (i % 4)),
            )
        elif outcome == "broken":
            ledger.resolve_broken(
                session,
                c,
                actor=editor,
                now=due + timedelta(hours=2),
                excuse_category=excuses[i % len(excuses)],
                excuse="Sorry!",
            )
        elif outcome == "moved":
            ledger.reschedule(
                session,
                c,
                actor=editor,
                now=due,
                new_due_at=due + timedelta(days=9),
                excuse_category=ExcuseCategory.third_party,
                excuse="The courier",
            )

    steady = make_vendor("Kowalski Instalacje", category="Plumbing")
    thin = make_vendor("Świeży Start sp. z o.o.", category="Printing")
    slipping = make_vendor("Győr Print Kft.", category="Printing")
    excuses_inc = make_vendor("Excuses Inc.", category="IT")
    anna = add_contact(session, excuses_inc, now=now - timedelta(days=400), name="Anna Nowak")
    for i in range(24):
        days_ago = 350 - 14 * i
        log(steady, days_ago, "late" if i % 7 == 3 else "kept", i)
        log(slipping, days_ago, "kept" if i < 12 else ["late", "broken", "kept"][i % 3], i)
        log(excuses_inc, days_ago, ["broken", "late", "moved", "kept", "broken"][i % 5], i, contact=anna)
    log(thin, 20, "kept", 0)
    log(thin, 6, "late", 1)
    session.commit()
    return {"steady": steady, "slipping": slipping, "excuses": excuses_inc, "thin": thin}


def test_a_reviewer_reads_the_ranked_scorecard_and_one_vendors_report(scored_ledger, page, viewer):
    sign_in(page, viewer)

    page.get_by_role("link", name="Scorecard").click()
    expect(page.get_by_role("heading", name="Scorecard")).to_be_visible()
    table = page.locator("table.scorecard-table").first
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").first).to_contain_text("Kowalski Instalacje")
    expect(table.locator("tbody tr").last).to_contain_text("Excuses Inc.")
    sparklines = table.locator("svg.sparkline")
    expect(sparklines).to_have_count(3)
    for i in range(3):
        expect(sparklines.nth(i)).to_be_visible()
    screenshot(page, "scorecard-ranked")

    page.get_by_role("link", name="Excuses Inc.").click()
    expect(page.get_by_role("heading", name="Excuses Inc.")).to_be_visible()
    trend = page.get_by_role("img", name="Score every 30 days")
    excuses = page.get_by_role("img", name="Excuses by category")
    for chart in (trend, excuses):
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80, box
    expect(trend.locator("circle")).to_have_count(12)
    expect(page.get_by_role("heading", name="Why this score")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    screenshot(page, "scorecard-vendor")

    page.emulate_media(media="print")
    expect(page.get_by_role("heading", name="Overdue")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(trend).to_be_visible()
    screenshot(page, "scorecard-vendor-print")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "the printed scorecard runs past one page"


def test_a_reviewer_compares_two_vendors_picked_on_the_scorecard(scored_ledger, page, viewer):
    sign_in(page, viewer)
    page.goto("/scorecard")

    page.get_by_label("Compare Kowalski Instalacje").check()
    page.get_by_label("Compare Excuses Inc.").check()
    page.get_by_role("button", name="Compare selected").click()

    expect(page.get_by_role("heading", name="Compare vendors")).to_be_visible()
    header = page.locator("table.compare-table thead")
    expect(header).to_contain_text("Kowalski Instalacje")
    expect(header).to_contain_text("Excuses Inc.")
    expect(page.locator("svg.sparkline")).to_have_count(2)
    screenshot(page, "scorecard-compare")


def test_an_editor_is_warned_when_logging_with_an_unreliable_vendor_and_logs_anyway(
    scored_ledger, page, editor
):
    sign_in(page, editor)
    page.goto(f"/vendors/{scored_ledger['excuses'].id}")

    page.get_by_role("link", name="Log a commitment").click()

    warning = page.get_by_role("alert").filter(has_text="This vendor's record is unreliable")
    expect(warning).to_be_visible()
    expect(warning.locator("li")).to_have_count(3)
    screenshot(page, "scorecard-warning")
    page.get_by_label("Kind").select_option("promise")
    page.get_by_label("What was promised").fill("One last chance")
    page.get_by_label("Due date").fill("2030-01-15")
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("Logged: One last chance.")).to_be_visible()
    expect(page.get_by_text("Keep an eye on it: Excuses Inc. stands at Unreliable")).to_be_visible()


# Run in a page: elements holding figures that scroll sideways inside the page, hiding some past their edge.
SIDEWAYS_SCROLLERS = """() => [...document.querySelectorAll(
    'main .scorecard *, main .scorecard-table, main .scorecard-table *, main .compare-table, main .compare-table *'
  )].filter(e => {
  const x = getComputedStyle(e).overflowX;
  return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.className || e.tagName)"""


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])
@pytest.mark.parametrize("code", ["en", "pl", "hu", "ru"])
def test_the_score_pages_show_their_figures_without_sideways_scrolling(
    browser, live_server, scored_ledger, viewer, code, viewport
):
    context = open_context(
        browser, live_server, locale=code, viewport=viewport
    )  # open_context checks the fit
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/auth/login")
    page.get_by_label(say(code, "Email")).fill(viewer.email)
    page.get_by_label(say(code, "Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=say(code, "Sign in")).click()
    expect(page.get_by_role("heading", name=say(code, "Vendors"))).to_be_visible()
    ids = {name: vendor.id for name, vendor in scored_ledger.items()}
    urls = [
        "/scorecard",
        f"/scorecard/compare?vendor={ids['steady']}&vendor={ids['excuses']}&vendor={ids['thin']}",
        f"/vendors/{ids['excuses']}",
        f"/vendors/{ids['thin']}",
    ]

    for url in urls:
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
        assert page.evaluate(SIDEWAYS_SCROLLERS) == [], url
    screenshot(page, f"{code}-{viewport['width']}-thin-vendor")

    # The ranked ones first, then the vendor with too little history, with no figure.
    page.goto("/scorecard")
    ranked = page.locator("table.scorecard-table").first
    unrated = page.locator("table.unrated-table")
    expect(ranked.locator("tbody tr")).to_have_count(3)
    expect(unrated.locator("tbody tr")).to_have_count(1)
    expect(unrated).to_contain_text("Świeży Start")
    expect(unrated.locator("td.score .no-figure")).to_be_visible()
    expect(unrated.locator("svg")).to_have_count(0)
    screenshot(page, f"{code}-{viewport['width']}-scorecard")
    context.close()


def test_compare_with_one_vendor_ticked_says_so_on_the_scorecard_on_a_phone_in_polish(
    browser, live_server, scored_ledger, viewer
):
    context = open_context(browser, live_server, locale="pl", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(viewer.email)
    page.get_by_label(say("pl", "Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=say("pl", "Sign in")).click()
    page.goto("/scorecard?category=Plumbing")

    page.get_by_label(say("pl", "Compare %(name)s") % {"name": "Kowalski Instalacje"}).check()
    page.get_by_role("button", name=say("pl", "Compare selected")).click()

    expect(page.get_by_role("heading", name=say("pl", "Scorecard"))).to_be_visible()
    message = say("pl", "Pick between %(low)d and %(high)d vendors to compare; you picked %(n)d.")
    expect(page.get_by_text(message % {"low": 2, "high": 4, "n": 1})).to_be_visible()
    expect(page.get_by_label(say("pl", "Compare %(name)s") % {"name": "Kowalski Instalacje"})).to_be_checked()
    assert "category=Plumbing" in page.url
    context.close()
