"""Logging a late meeting after the fact, in a real browser: one form, one save."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_ledger_journey import sign_in
from vendortrack.models import Commitment, Status
from vendortrack.timeutil import utcnow

pytestmark = pytest.mark.browser


def test_a_late_meeting_is_logged_kept_from_the_vendor_page_in_one_form_and_one_save(
    page, editor, make_vendor, session
):
    vendor = make_vendor("Mistrz Sprzedaży sp. z o.o.")
    sign_in(page, editor)
    page.goto(f"/vendors/{vendor.id}")
    loads = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    due = (utcnow() - timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)

    page.get_by_role("link", name="Log a commitment").click()  # click 1, page load 1
    outcome = page.get_by_role("group", name="It already happened:")
    expect(outcome).to_be_hidden(), "nothing can have happened to a commitment not yet due"
    page.get_by_label("What was promised").fill("Kick-off at our office")
    page.get_by_label("Due date").fill(due.date().isoformat())
    page.get_by_label("Time", exact=True).fill("10:00")
    expect(outcome).to_be_visible()
    expect(page.get_by_label("Kept on")).to_be_hidden()
    outcome.get_by_role("radio", name="Kept").check()  # click 2
    expect(page.get_by_label("Kept on")).to_be_visible()
    expect(page.get_by_label("Moved to")).to_be_hidden()
    page.get_by_label("Kept on").fill(due.date().isoformat())
    page.get_by_label("at", exact=True).fill("10:35")
    page.get_by_role("button", name="Log it").click()  # click 3, page load 2 (the redirect's page)

    expect(page.get_by_text("Logged: Kick-off at our office.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mistrz Sprzedaży sp. z o.o.")).to_be_visible()
    page.wait_for_load_state("load")  # the page shows before its load event reaches the listener
    assert len(loads) == 2, loads

    session.rollback()  # see what the browser wrote
    kept = session.scalars(sa.select(Commitment)).one()
    assert kept.status == Status.kept
    assert kept.done_at - kept.due_at == timedelta(minutes=35)
