"""A tour of every main page, as an admin with the demo's year of history, in every language, on a
desk and on a phone.

The pages are not driven here, only opened: open_context holds each one to fit its window (no
sideways scrolling) and to find every file it asks for, the favicon included. One browser context
per language and screen, signed in once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser import watch
from tests.browser.conftest import DESK, PHONE, open_context
from tests.catalogs import say
from vendortrack import jobs
from vendortrack.demo import SALESMAN, load_demo
from vendortrack.models import Commitment, OutboxMessage, User, Vendor
from vendortrack.timeutil import utcnow

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "pl", "hu", "ru")
SCREENS = {"desk": DESK, "phone": PHONE}


@dataclass(frozen=True)
class Demo:
    admin_email: str
    password: str
    vendor_id: int
    other_vendor_id: int
    commitment_id: int
    message_id: int
    user_id: int


@pytest.fixture
def demo(session) -> Demo:
    result = load_demo(session, utcnow())
    session.commit()
    jobs.run("overdue", session)  # real emails in the outbox, to open one
    salesman = session.scalar(sa.select(Vendor).where(Vendor.name == SALESMAN))
    other = session.scalar(sa.select(Vendor).where(Vendor.id != salesman.id).order_by(Vendor.id))
    return Demo(
        admin_email=result.admin_email,
        password=result.password,
        vendor_id=salesman.id,
        other_vendor_id=other.id,
        commitment_id=session.scalar(
            sa.select(Commitment.id)
            .where(Commitment.vendor_id == salesman.id)
            .order_by(Commitment.id.desc())
            .limit(1)
        ),
        message_id=session.scalar(sa.select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1)),
        user_id=session.scalar(sa.select(User.id).where(User.email == result.admin_email)),
    )


def main_pages(d: Demo) -> list[str]:
    """Every main page: the ledger, scores, the digest, data in and out, the profile, administration."""
    return [
        "/vendors/",
        f"/vendors/{d.vendor_id}",
        f"/commitments/{d.commitment_id}",
        f"/commitments/new/{d.vendor_id}",
        "/commitments/?view=upcoming",
        "/commitments/?view=overdue",
        "/commitments/?view=resolved",
        "/scorecard",
        f"/scorecard/compare?vendor={d.vendor_id}&vendor={d.other_vendor_id}",
        "/digest",
        "/import/",
        "/export/",
        "/auth/profile",
        "/admin/users",
        "/admin/jobs",
        "/admin/outbox",
        f"/admin/outbox/{d.message_id}",
        "/admin/events",
        f"/admin/digest?user_id={d.user_id}",
    ]


def signed_in(browser, live_server, demo: Demo, code: str, screen: str):
    phone = screen == "phone"
    context = open_context(
        browser,
        live_server,
        locale=code,
        timezone_id="Europe/Warsaw",
        viewport=SCREENS[screen],
        is_mobile=phone,
        has_touch=phone,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/auth/login")
    page.get_by_label(say(code, "Email")).fill(demo.admin_email)
    page.get_by_label(say(code, "Password"), exact=True).fill(demo.password)
    page.get_by_role("button", name=say(code, "Sign in")).click()
    expect(page.get_by_role("heading", name=say(code, "Vendors"))).to_be_visible()
    return context, page


def visit(page, paths: list[str]) -> None:
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        page.evaluate("document.readyState")  # a round trip: the fit check's report (on load) is in


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("code", LANGUAGES)
def test_every_main_page_fits_its_window_and_finds_its_files(browser, live_server, demo, code, screen):
    context, page = signed_in(browser, live_server, demo, code, screen)
    visit(page, main_pages(demo))
    context.close()


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_widest_navigation_an_admins_stays_on_one_line_on_a_desk(browser, live_server, demo, code):
    context, page = signed_in(browser, live_server, demo, code, "desk")
    # One line: every link side by side, none broken over two lines of its own.
    links = page.locator("#nav .nav-link")
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    lines = {(round(box["y"]), round(box["height"])) for box in boxes}
    assert len(lines) == 1, f"the {code} navigation takes {len(lines)} lines at {DESK['width']} px: {lines}"
    context.close()


def test_the_persons_menu_leads_to_the_profile_and_signs_out_on_a_phone(browser, live_server, demo):
    context, page = signed_in(browser, live_server, demo, "pl", "phone")

    def open_the_persons_menu() -> None:
        page.get_by_role("button", name=say("pl", "Toggle navigation")).click()
        expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))  # opened out, not moving
        page.locator(".nav-user").click()
        expect(page.locator(".nav-user + .dropdown-menu")).to_be_visible()

    open_the_persons_menu()
    page.get_by_role("link", name=say("pl", "Your profile")).click()
    expect(page.get_by_role("heading", name=say("pl", "Your profile"))).to_be_visible()

    open_the_persons_menu()
    page.get_by_role("button", name=say("pl", "Sign out")).click()
    expect(page.get_by_role("button", name=say("pl", "Sign in"))).to_be_visible()
    context.close()


def test_a_file_a_page_cannot_find_is_a_problem_even_when_only_the_console_reports_it(browser, live_server):
    context = open_context(browser, live_server)
    page = context.new_page()
    page.goto("/auth/login")
    with page.expect_console_message(lambda message: message.text.startswith("Failed to load resource")):
        page.evaluate("document.body.append(Object.assign(new Image(), {src: '/static/no-such-icon.png'}))")
    page.evaluate("document.readyState")
    context.close()

    found, watch.problems[:] = list(watch.problems), []  # seen, and not this test's failure
    assert any(p.startswith("Failed to load resource") and "no-such-icon.png" in p for p in found), found
    assert any(p.startswith("404 for") and "no-such-icon.png" in p for p in found), found


def test_the_check_after_each_test_reads_the_problems_the_pages_report(request):
    # pytest imports conftest.py under a name of its own besides the tests' tests.browser.conftest:
    # a list kept in it would be two, and the check would read one that no page ever writes to.
    check = request._arg2fixturedefs["pages_fit_and_find_their_files"][-1].func
    assert check.__globals__["problems"] is watch.problems
