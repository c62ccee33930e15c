"""An editor's first session, in a real browser: vendor, meeting, outcome, history."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from vendortrack.models import Commitment, Status

pytestmark = pytest.mark.browser


def sign_in(page, user) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Vendors")).to_be_visible()


def test_editor_logs_a_meeting_and_records_it_kept_twenty_minutes_late(page, editor, session):
    sign_in(page, editor)

    page.get_by_role("link", name="New vendor").click()
    page.get_by_label("Name").fill("Mistrz Sprzedaży sp. z o.o.")
    page.get_by_label("Category").fill("IT")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Mistrz Sprzedaży sp. z o.o.")).to_be_visible()

    page.get_by_role("link", name="Log a commitment").click()
    page.get_by_label("Kind").select_option("meeting")
    page.get_by_label("What was promised").fill("Kick-off at our office")
    page.get_by_label("Due date").fill("2026-06-02")
    page.get_by_label("Time", exact=True).fill("10:00")
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("Logged: Kick-off at our office.")).to_be_visible()

    # Logged after its due time and still open: it lands on the commitment, to say what happened.
    expect(page.get_by_role("heading", name="Kick-off at our office")).to_be_visible()
    page.locator("summary", has_text="Kept").click()
    page.locator("#kept-done_date").fill("2026-06-02")
    page.locator("#kept-done_time").fill("10:20")
    page.get_by_role("button", name="Kept").click()

    expect(page.get_by_text("Outcome recorded.")).to_be_visible()
    expect(page.get_by_text("20 min late")).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history.get_by_text("Resolved")).to_be_visible()
    expect(history.get_by_text("Logged")).to_be_visible()
    expect(history).to_contain_text(re.compile(r"Status:\s*Open\s*→\s*Kept"))
    screenshot(page, "commitment-kept-late")

    session.rollback()  # end the test thread's read snapshot to see what the browser wrote
    kept = session.scalars(sa.select(Commitment)).one()
    assert kept.status == Status.kept
    assert (kept.done_at - kept.due_at).total_seconds() == 20 * 60
