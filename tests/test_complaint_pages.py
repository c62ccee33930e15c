"""Complaints through the pages: logging one, each step of its life, the lists, who may write, and
the vendor page's responsiveness and notice."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import complaints, ledger
from vendortrack.models import (
    Commitment,
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    ComplaintStatus,
    Kind,
    Resolution,
    Role,
    Status,
)
from vendortrack.scores.rules import Rules
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact

RULES = Rules()
RAISED = NOW - timedelta(days=10)  # a Saturday: its answer is due by the end of Monday


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Szybki Transport")


@pytest.fixture
def anna(session, vendor):
    contact = add_contact(session, vendor, now=NOW, name="Anna Kowalska", role="Account manager")
    session.commit()
    return contact


@pytest.fixture
def warsaw_editor(make_user):
    return make_user(timezone="Europe/Warsaw", name="Wanda Warsaw")


def raise_one(session, vendor, editor, title="Pallets arrived broken", raised_at=RAISED, **values):
    complaint = complaints.raise_complaint(
        session,
        vendor=vendor,
        title=title,
        severity=values.pop("severity", "major"),
        channel=values.pop("channel", "email"),
        raised_at=raised_at,
        actor=editor,
        now=NOW,
        rules=RULES,
        **values,
    )
    session.commit()
    return complaint


@pytest.fixture
def complaint(session, vendor, editor):
    return raise_one(session, vendor, editor)


def log_form(owner, **values) -> dict:
    return {
        "title": "Invoice charged twice",
        "details": "The March invoice was charged on the 3rd and again on the 5th.",
        "severity": "critical",
        "channel": "phone",
        "raised_date": "2026-11-02",
        "raised_time": "09:30",
        "contact_id": 0,
        "owner_id": owner.id,
    } | values


# --- logging ---------------------------------------------------------------------------------


def test_an_editor_logs_a_complaint_in_their_time_zone_about_two_of_the_vendors_commitments(
    client, warsaw_editor, vendor, anna, session
):
    older, newer = (
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.promise, title=title, due_at=NOW, actor=warsaw_editor, now=NOW
        )
        for title in ("Refund by Friday", "Corrected invoice")
    )
    session.commit()
    client.login(warsaw_editor)
    form = text(client.get(f"/complaints/new/{vendor.id}"))
    assert form.index(f"#{newer.id} Corrected invoice") < form.index(f"#{older.id} Refund by Friday")
    assert "Anna Kowalska" in form

    response = client.submit(
        f"/complaints/new/{vendor.id}",
        log_form(warsaw_editor, contact_id=anna.id, commitment_ids=[older.id, newer.id]),
    )
    assert response.status_code == 302
    logged = session.scalars(sa.select(Complaint)).one()
    assert response.headers["Location"].endswith(f"/complaints/{logged.id}")
    assert logged.raised_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC), "09:30 in Warsaw in winter"
    assert logged.contact_id == anna.id and logged.owner_id == warsaw_editor.id
    assert {c.id for c in logged.commitments} == {older.id, newer.id}

    page = text(client.get(f"/complaints/{logged.id}"))
    assert "Invoice charged twice" in page and "Critical" in page and "Phone" in page
    assert "Waiting for an answer" in page and "answer deadline passed" in page
    assert f'href="/commitments/{older.id}"' in page and "Anna Kowalska" in page


def test_a_date_without_a_time_today_means_now_not_the_end_of_the_day(client, editor, vendor, session):
    client.login(editor)
    today = utcnow().date().isoformat()
    response = client.submit(
        f"/complaints/new/{vendor.id}", log_form(editor, raised_date=today, raised_time="")
    )
    assert response.status_code == 302
    assert session.scalars(sa.select(Complaint)).one().raised_at <= utcnow()


def test_a_complaint_raised_in_the_future_is_refused_under_its_date_and_nothing_is_saved(
    client, editor, vendor, session
):
    client.login(editor)
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    response = client.submit(f"/complaints/new/{vendor.id}", log_form(editor, raised_date=tomorrow))
    assert response.status_code == 400
    page = text(response)
    assert "This moment is in the future; log it once it has happened." in page
    assert 'value="Invoice charged twice"' in page, "what was typed stays"
    assert count(session, Complaint) == 0


def test_a_commitment_of_another_vendor_is_no_choice(client, editor, vendor, make_vendor, session):
    elsewhere = ledger.log_commitment(
        session, vendor=make_vendor("Other"), kind=Kind.promise, title="X", due_at=NOW, actor=editor, now=NOW
    )
    session.commit()
    client.login(editor)
    response = client.submit(f"/complaints/new/{vendor.id}", log_form(editor, commitment_ids=[elsewhere.id]))
    assert response.status_code == 400
    assert count(session, Complaint) == 0


def test_the_vendor_page_lists_its_complaints_open_first_with_how_long_each_waited(
    client, editor, vendor, session
):
    answered = raise_one(session, vendor, editor, "Answered quickly", RAISED - timedelta(days=5))
    complaints.answer(session, answered, at=answered.raised_at + timedelta(hours=3), actor=editor, now=NOW)
    closed = raise_one(session, vendor, editor, "Closed long ago", RAISED - timedelta(days=30))
    complaints.resolve(session, closed, "fixed", at=RAISED, actor=editor, now=NOW)
    raise_one(session, vendor, editor, "Still waiting")
    session.commit()
    client.login(editor)
    page = text(client.get(f"/vendors/{vendor.id}"))
    assert "Log a complaint" in page
    section = page[page.index('id="complaints-h"') :]
    assert (
        section.index("Answered quickly") < section.index("Still waiting") < section.index("Closed long ago")
    )
    assert "answered after 3 h" in section
    assert re.search(r"waiting \d+ days", section)


# --- the steps -------------------------------------------------------------------------------


def test_the_vendor_answers_with_an_owner_an_apology_and_a_dated_answer_in_one_step(
    client, editor, vendor, anna, complaint, session
):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/answer",
        {
            "acknowledged_date": "2026-06-21",
            "acknowledged_time": "10:00",
            "case_owner_contact_id": anna.id,
            "apologised": "y",
            "due_date": "2026-06-26",
            "due_time": "16:00",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert complaint.status == ComplaintStatus.answered
    assert complaint.case_owner == "Anna Kowalska" and complaint.apologised
    promise = complaint.answer_promise
    assert promise.kind == Kind.promise and promise.due_at == datetime(2026, 6, 26, 16, 0, tzinfo=UTC)
    assert [e.action for e in complaint.events] == [
        ComplaintAction.raised,
        ComplaintAction.answered,
        ComplaintAction.dated_answer,
    ]

    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "answered after 22 h" in page, "raised Saturday 12:00, answered Sunday 10:00"
    assert "Anna Kowalska" in page and f'href="/commitments/{promise.id}"' in page
    assert "The vendor answered" in page and "Dated answer" in page  # the history
    back = text(client.get(f"/commitments/{promise.id}"))
    assert f"dated answer to complaint #{complaint.id}" in back
    assert f'href="/complaints/{complaint.id}"' in back


def test_an_answer_before_the_complaint_was_raised_is_refused_and_saves_nothing(
    client, editor, complaint, session
):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/answer",
        {"acknowledged_date": "2026-06-01", "acknowledged_time": "09:00", "case_owner_name": "Mr Nobody"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "The answer cannot come before the complaint was raised." in page
    assert 'value="Mr Nobody"' in page
    session.expire_all()
    assert complaint.acknowledged_at is None and complaint.case_owner_name == ""
    assert count(session, ComplaintEvent) == 1


def test_a_refused_dated_answer_refuses_the_answer_given_with_it(client, editor, complaint, session):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/answer",
        {"acknowledged_date": "2026-06-22", "acknowledged_time": "09:00", "due_date": "3500-01-01"},
    )
    assert response.status_code == 400
    assert "Give a date from the years 1900 to 2999." in text(response)
    session.expire_all()
    assert complaint.acknowledged_at is None
    assert count(session, Commitment) == 0 and count(session, ComplaintEvent) == 1


def test_a_dated_answer_given_after_the_answer(client, editor, complaint, session):
    complaints.answer(session, complaint, at=RAISED + timedelta(days=1), actor=editor, now=NOW)
    session.commit()
    client.login(editor)
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "They promised a full answer by" in page and "The vendor answered</summary>" not in page
    early = {"due_date": "2026-07-10", "given_date": "2026-06-19", "given_time": "08:00"}
    refused = client.submit(f"/complaints/{complaint.id}/dated-answer", early)
    assert refused.status_code == 400
    assert "The dated answer cannot come before the vendor's first answer." in text(refused)
    assert count(session, Commitment) == 0
    given = client.submit(f"/complaints/{complaint.id}/dated-answer", early | {"given_date": "2026-06-23"})
    assert given.status_code == 302
    session.expire_all()
    assert complaint.answer_promise.complaint_id == complaint.id
    assert "Dated answer</summary>" not in text(client.get(f"/complaints/{complaint.id}")), "only one"


def test_resolved_fixed_and_satisfied_then_reopened_with_a_reason(client, editor, complaint, session):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/resolve",
        {"resolution": "fixed", "resolved_date": "2026-06-25", "resolved_time": "15:00", "satisfied": "yes"},
    )
    assert response.status_code == 302
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "Fixed" in page and "we were satisfied" in page and "closed without an answer" in page

    no_reason = client.submit(f"/complaints/{complaint.id}/reopen", {"reason": "  "})
    assert no_reason.status_code == 400
    assert "Say why the complaint is reopened." in text(no_reason)
    session.expire_all()
    assert complaint.resolution == Resolution.fixed

    client.submit(f"/complaints/{complaint.id}/reopen", {"reason": "The pallets broke again"})
    session.expire_all()
    assert complaint.status == ComplaintStatus.waiting
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "Reopened" in page and "The pallets broke again" in page


def test_a_resolution_before_the_complaint_was_raised_is_refused(client, editor, complaint, session):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/resolve", {"resolution": "declined", "resolved_date": "2026-06-01"}
    )
    assert response.status_code == 400
    assert "It cannot be resolved before it was raised." in text(response)
    session.expire_all()
    assert complaint.resolution is None


def test_withdrawn_by_us_it_no_longer_counts(client, editor, complaint, session):
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/resolve", {"resolution": "withdrawn", "resolved_date": "2026-06-22"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert complaint.status == ComplaintStatus.withdrawn and complaint.satisfied is None
    assert "Withdrawn by us" in text(client.get(f"/complaints/{complaint.id}"))


def test_an_edit_corrects_every_step_and_the_history_keeps_what_it_was(
    client, warsaw_editor, vendor, anna, session
):
    complaint = raise_one(session, vendor, warsaw_editor)
    complaints.answer(session, complaint, at=RAISED + timedelta(hours=2), actor=warsaw_editor, now=NOW)
    session.commit()
    client.login(warsaw_editor)
    form = text(client.get(f"/complaints/{complaint.id}/edit"))
    assert 'value="Pallets arrived broken"' in form and 'value="2026-06-20"' in form
    response = client.submit(
        f"/complaints/{complaint.id}/edit",
        log_form(
            warsaw_editor,
            title="Pallets arrived broken",
            details="",
            severity="minor",
            channel="email",
            raised_date="2026-06-20",
            raised_time="14:00",
            acknowledged_date="2026-06-20",
            acknowledged_time="18:00",
            case_owner_name="Piotr from the depot",
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    assert complaint.severity == "minor" and complaint.case_owner_name == "Piotr from the depot"
    assert complaint.acknowledged_at == datetime(2026, 6, 20, 16, 0, tzinfo=UTC)
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "Edited" in page and "Major" in page and "Minor" in page and "Piotr from the depot" in page


def test_an_edit_putting_the_answer_before_the_complaint_is_refused(client, editor, complaint, session):
    complaints.answer(session, complaint, at=RAISED + timedelta(hours=2), actor=editor, now=NOW)
    session.commit()
    client.login(editor)
    response = client.submit(
        f"/complaints/{complaint.id}/edit",
        log_form(editor, raised_date="2026-06-20", raised_time="12:00", acknowledged_date="2026-06-01"),
    )
    assert response.status_code == 400
    assert "The answer cannot come before the complaint was raised." in text(response)
    session.expire_all()
    assert complaint.title == "Pallets arrived broken" and count(session, ComplaintEvent) == 2


# --- who may, and what is not there ----------------------------------------------------------


def test_a_viewer_sees_the_complaint_and_no_forms(client, viewer, complaint):
    client.login(viewer)
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert "Pallets arrived broken" in page and "History" in page
    assert "<form" not in page.split('id="main"')[1].split("</main>")[0].replace('action="/auth/logout"', "")


@pytest.mark.parametrize(
    "path", ["/answer", "/dated-answer", "/resolve", "/reopen", "/edit"], ids=lambda p: p.strip("/")
)
def test_a_viewer_may_not_write(client, viewer, complaint, session, path):
    client.login(viewer)
    assert client.submit(f"/complaints/{complaint.id}{path}", {"reason": "x"}).status_code == 403
    assert count(session, ComplaintEvent) == 1


def test_a_viewer_may_not_log_one(client, viewer, vendor, session):
    client.login(viewer)
    assert client.get(f"/complaints/new/{vendor.id}").status_code == 403
    assert client.submit(f"/complaints/new/{vendor.id}", log_form(viewer)).status_code == 403
    assert count(session, Complaint) == 0


def test_a_missing_complaint_is_a_404(client, editor):
    client.login(editor)
    assert client.get("/complaints/999999").status_code == 404
    assert client.submit("/complaints/999999/answer", {"acknowledged_date": "2026-06-22"}).status_code == 404
    assert client.get("/complaints/new/999999").status_code == 404


def test_a_step_without_the_csrf_token_is_refused_and_saves_nothing(client, editor, complaint, session):
    client.login(editor)
    response = client.post(f"/complaints/{complaint.id}/answer", data={"acknowledged_date": "2026-06-22"})
    assert response.status_code == 400
    session.expire_all()
    assert complaint.acknowledged_at is None


def test_a_title_with_markup_is_shown_as_text(client, editor, vendor, session):
    complaint = raise_one(session, vendor, editor, title="<script>alert(1)</script>")
    client.login(editor)
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# --- the lists -------------------------------------------------------------------------------


def test_the_open_list_is_oldest_first_across_vendors_and_filters(
    client, viewer, editor, make_vendor, session
):
    other = make_vendor("Drukarnia")
    first = make_vendor("Budimex")
    raise_one(session, other, editor, "Blurred print", RAISED, severity="minor")
    oldest = raise_one(
        session, first, editor, "Late scaffolding", RAISED - timedelta(days=3), severity="critical"
    )
    answered = raise_one(session, first, editor, "Wrong bricks", RAISED - timedelta(days=1))
    complaints.answer(session, answered, at=answered.raised_at + timedelta(hours=3), actor=editor, now=NOW)
    done = raise_one(session, other, editor, "Smudged flyers", RAISED - timedelta(days=8))
    complaints.resolve(session, done, "compensated", at=RAISED, actor=editor, now=NOW, satisfied=False)
    session.commit()
    client.login(viewer)

    page = text(client.get("/complaints/"))
    assert 'href="/complaints/"' in page, "the main navigation links here"
    assert page.index("Late scaffolding") < page.index("Wrong bricks") < page.index("Blurred print")
    assert "Smudged flyers" not in page
    assert "answered after 3 h" in page

    assert "Smudged flyers" in text(client.get("/complaints/?view=resolved"))
    by_vendor = text(client.get(f"/complaints/?vendor={first.id}"))
    assert "Late scaffolding" in by_vendor and "Blurred print" not in by_vendor
    waiting = text(client.get("/complaints/?status=waiting"))
    assert "Late scaffolding" in waiting and "Wrong bricks" not in waiting
    critical = text(client.get("/complaints/?severity=critical"))
    assert "Late scaffolding" in critical and "Blurred print" not in critical
    assert oldest.id
    nonsense = client.get("/complaints/?status=lost&severity=huge&view=x&vendor=abc")
    assert nonsense.status_code == 200 and "Late scaffolding" in text(nonsense)


def test_the_list_is_paginated(client, editor, vendor, session, app):
    app.config["VENDORTRACK_PAGE_SIZE"] = 2
    for day in range(3):
        raise_one(session, vendor, editor, f"Complaint {day}", RAISED - timedelta(days=day))
    client.login(editor)
    first, second = text(client.get("/complaints/")), text(client.get("/complaints/?page=2"))
    assert "Complaint 2" in first and "Complaint 0" not in first and "Complaint 0" in second
    assert "Page 1 of 2" in first
    assert client.get("/complaints/?page=0").status_code == 404


# --- responsiveness and notice on the vendor page --------------------------------------------


def test_a_thin_record_shows_a_dash_and_how_many_complaints_counted(client, editor, vendor, complaint):
    client.login(editor)
    page = text(client.get(f"/vendors/{vendor.id}"))
    panel = page[page.index('id="responsiveness-h"') :]
    assert "too little history: 1 of 3 complaints counted" in panel
    assert "Unanswered" in panel


def test_the_panel_shows_responsiveness_its_band_counts_and_why(client, editor, vendor, anna, session):
    for days, answer_after in ((40, timedelta(hours=2)), (30, timedelta(hours=4)), (20, None)):
        c = raise_one(session, vendor, editor, f"Complaint {days}", NOW - timedelta(days=days), contact=anna)
        if answer_after is not None:
            complaints.answer(
                session, c, at=c.raised_at + answer_after, actor=editor, now=NOW, case_owner_name="Ola"
            )
    session.commit()
    client.login(editor)
    page = text(client.get(f"/vendors/{vendor.id}"))
    panel = page[page.index('id="responsiveness-h"') :]
    assert "too little history" not in panel.split("By contact")[0]
    assert "90 % band" in panel
    assert "3 complaints counted" in panel
    assert "3 h" in panel, "the median of 2 h and 4 h, in the lateness wording"
    assert "Complaint 20" in panel and "no answer" in panel
    assert "Anna Kowalska" in panel


def test_a_move_records_when_the_vendor_told_us_and_the_notice_shows(client, editor, vendor, session):
    meeting = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Site visit",
        due_at=datetime(2026, 6, 10, 9, 0, tzinfo=UTC),
        actor=editor,
        now=NOW - timedelta(days=30),
    )
    session.commit()
    client.login(editor)
    assert "When did the vendor tell us?" in text(client.get(f"/commitments/{meeting.id}"))
    response = client.submit(
        f"/commitments/{meeting.id}/resolve",
        {
            "status": "rescheduled",
            "new_due_date": "2026-06-17",
            "new_due_time": "09:00",
            "notified_date": "2026-06-08",
            "notified_time": "09:00",
            "confirm_past": "y",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert meeting.status == Status.rescheduled
    assert meeting.notified_at == datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
    page = text(client.get(f"/commitments/{meeting.id}"))
    assert "The vendor told us" in page and "told us 2 days ahead" in page
    vendor_page = text(client.get(f"/vendors/{vendor.id}"))
    assert "told us 2 days ahead" in vendor_page[vendor_page.index('id="responsiveness-h"') :]


def test_a_move_told_in_the_future_is_refused_under_its_date(client, editor, vendor, session):
    meeting = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Visit", due_at=NOW, actor=editor, now=NOW
    )
    session.commit()
    client.login(editor)
    response = client.submit(
        f"/commitments/{meeting.id}/resolve",
        {
            "status": "rescheduled",
            "new_due_date": (utcnow() + timedelta(days=7)).date().isoformat(),
            "notified_date": (utcnow() + timedelta(days=3)).date().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "The vendor cannot have told us in the future." in text(response)
    session.expire_all()
    assert meeting.status == Status.open


def test_logging_a_move_that_already_happened_takes_when_the_vendor_told_us(client, editor, vendor, session):
    client.login(editor)
    response = client.submit(
        f"/commitments/new/{vendor.id}",
        {
            "kind": "promise",
            "title": "Quote",
            "due_date": "2026-06-01",
            "owner_id": editor.id,
            "contact_id": 0,
            "status": "rescheduled",
            "new_due_date": "2026-06-15",
            "notified_date": "2026-06-01",
            "notified_time": "08:00",
            "confirm_past": "y",
        },
    )
    assert response.status_code == 302
    moved = session.scalars(sa.select(Commitment).where(Commitment.status == Status.rescheduled)).one()
    assert moved.notified_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_the_main_navigation_links_to_the_complaints(client, make_user):
    client.login(make_user(Role.viewer))
    assert 'href="/complaints/"' in text(client.get("/vendors/"))
