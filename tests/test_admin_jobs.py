"""The admin's jobs page (last run, recent runs, next run) and outbox (states, errors, "retry now")."""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import jobs
from vendortrack.ledger import log_commitment
from vendortrack.models import JobRun, Kind, MailKind, MailState, OutboxMessage, Role
from vendortrack.templating import local
from vendortrack.throttle import record_attempt
from vendortrack.timeutil import utcnow

TICK = timedelta(seconds=60)  # VENDORTRACK_SCHEDULER_TICK_SECONDS' default


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def section(text: str, job: str) -> str:
    """One job's card on the jobs page."""
    start = text.index(f'id="job-{job}"')
    return text[start : text.index("</section>", start)]


def message_row(text: str, message: OutboxMessage) -> str:
    start = text.index(f'<tr id="message-{message.id}">')
    return text[start : text.index("</tr>", start)]


def shown(app, moment: datetime) -> str:
    """A moment as the pages show it to an admin without a time zone of their own."""
    with app.test_request_context():
        return local(moment, "short")


@pytest.fixture
def admin_client(client, admin):
    client.login(admin)
    return client


@pytest.fixture
def add_run(session):
    def add(
        job: str, started: datetime, seconds: float = 0.5, result: dict | None = None, error: str = ""
    ) -> JobRun:
        run = JobRun(
            job=job,
            started_at=started,
            finished_at=started + timedelta(seconds=seconds),
            result=result or {},
            error=error,
        )
        session.add(run)
        session.commit()
        return run

    return add


@pytest.fixture
def add_message(session):
    def add(
        state: MailState = MailState.queued,
        kind: MailKind = MailKind.digest,
        recipient: str = "ann@example.test",
        created: datetime = NOW,
        **values,
    ) -> OutboxMessage:
        key = uuid.uuid4().hex[:10]
        row = OutboxMessage(
            recipient=recipient,
            kind=kind,
            period_key=key,
            subject=values.pop("subject", f"Subject {key}"),
            body_text="Hello",
            body_html="",
            headers={},
            message_id=f"<{key}@example.test>",
            state=state,
            attempts=values.pop("attempts", 0),
            next_attempt_at=values.pop("next_attempt_at", created),
            last_error=values.pop("last_error", ""),
            created_at=created,
            **values,
        )
        session.add(row)
        session.commit()
        return row

    return add


# -- jobs -----------------------------------------------------------------------------------------


def test_a_real_overdue_run_shows_what_it_did_and_its_email_waits_in_the_outbox(
    admin_client, session, make_vendor, editor
):
    now = utcnow()
    due = now - timedelta(days=3)
    log_commitment(
        session,
        vendor=make_vendor(name="Acme Plumbing"),
        kind=Kind.promise,
        title="Send the quote",
        due_at=due,
        actor=editor,
        now=due - timedelta(days=1),
    )
    session.commit()

    jobs.run("overdue", session)

    card = section(page(admin_client.get("/admin/jobs")), "overdue")
    assert "Overdue check" in card
    assert "flagged overdue: 1, emails queued: 1" in card
    assert "Never run yet" not in card
    outbox = page(admin_client.get("/admin/outbox"))
    assert editor.email in outbox and "1 commitment is overdue: what happened?" in outbox
    assert "Queued" in outbox and "Retry now" in outbox


def test_the_last_run_shows_when_how_long_what_it_did_and_when_it_runs_next(app, admin_client, add_run):
    started = utcnow() - timedelta(seconds=20)
    add_run("outbox", started - TICK, result={"sent": 9, "retried": 0, "failed": 0})
    add_run("outbox", started, seconds=1.5, result={"sent": 3, "retried": 1, "failed": 0})

    card = section(page(admin_client.get("/admin/jobs")), "outbox")

    last = card[card.index("Last run") : card.index("Next run")]
    assert f"{shown(app, started)} (1.5 s)" in last
    assert "sent: 3, to retry: 1, failed: 0" in last
    assert "sent: 9" not in last  # the older run is only in the table
    next_run = card[card.index("Next run") :]
    assert shown(app, started + TICK) in next_run.split("</dd>")[0]
    assert "No recent run" not in card


def test_the_table_holds_the_last_twenty_runs_newest_first(admin_client, add_run):
    start = utcnow() - timedelta(minutes=30)
    runs = [add_run("reminders", start + i * TICK, result={"reminded": i, "emails": i}) for i in range(25)]

    card = section(page(admin_client.get("/admin/jobs")), "reminders")

    shown_ids = [run.id for run in runs if f'id="run-{run.id}"' in card]
    assert shown_ids == [run.id for run in runs[5:]]
    assert card.index(f'id="run-{runs[-1].id}"') < card.index(f'id="run-{runs[5].id}"')
    assert "The last 20 runs" in card


def test_a_failed_run_shows_its_error(admin_client, add_run):
    add_run("digests", utcnow() - timedelta(seconds=5), error="OperationalError: database is locked")

    card = section(page(admin_client.get("/admin/jobs")), "digests")

    assert "Last run failed" in card
    assert "OperationalError: database is locked" in card


def test_jobs_that_never_ran_run_when_the_scheduler_next_ticks_and_the_page_says_it_is_down(admin_client):
    text = page(admin_client.get("/admin/jobs"))

    for job in jobs.JOBS:
        card = section(text, job)
        assert "Never run yet" in card and "when the scheduler next ticks" in card
    assert 'id="scheduler-down"' in text
    assert "the scheduler is probably not running" in text


def test_runs_older_than_five_ticks_are_flagged_as_the_scheduler_probably_down(admin_client, add_run):
    long_ago = utcnow() - 6 * TICK
    for job in jobs.JOBS:
        add_run(job, long_ago)

    text = page(admin_client.get("/admin/jobs"))

    assert 'id="scheduler-down"' in text
    assert "No recent run" in section(text, "overdue")


def test_a_recent_run_of_every_job_means_no_warning(admin_client, add_run):
    for job in jobs.JOBS:
        add_run(job, utcnow() - 2 * TICK)

    text = page(admin_client.get("/admin/jobs"))

    assert 'id="scheduler-down"' not in text
    assert "No recent run" not in text


# -- outbox ---------------------------------------------------------------------------------------


def test_outbox_lists_messages_newest_first_with_their_details_and_a_count_per_state(
    app, admin_client, add_message
):
    failed = add_message(
        MailState.failed,
        MailKind.overdue,
        "bob@example.test",
        created=NOW - timedelta(hours=2),
        subject="2 commitments are overdue",
        attempts=1,
        last_error="550 mailbox unavailable",
    )
    sent = add_message(MailState.sent, created=NOW - timedelta(hours=1), attempts=1, sent_at=NOW)
    waiting = add_message(
        MailState.queued,
        MailKind.reminder,
        created=NOW,
        attempts=2,
        next_attempt_at=NOW + timedelta(minutes=4),
        last_error="451 try again later",
    )

    text = page(admin_client.get("/admin/outbox"))

    assert (
        text.index(f'id="message-{waiting.id}"')
        < text.index(f'id="message-{sent.id}"')
        < text.index(f'id="message-{failed.id}"')
    )
    row = message_row(text, failed)
    assert "bob@example.test" in row and "Overdue" in row and "2 commitments are overdue" in row
    assert "Failed" in row and "550 mailbox unavailable" in row and "Retry now" in row
    row = message_row(text, waiting)
    assert "Reminder" in row and "<td>2</td>" in row and shown(app, NOW + timedelta(minutes=4)) in row
    assert "451 try again later" in row and "Retry now" in row
    row = message_row(text, sent)
    assert "Sent" in row and shown(app, NOW) in row and "Retry now" not in row
    counts = text[text.index('id="state-counts"') : text.index("</ul>", text.index('id="state-counts"'))]
    assert ">3</span>" in counts  # all
    for state, count in [("queued", 1), ("sending", 0), ("sent", 1), ("failed", 1)]:
        link = counts[counts.index(f'id="count-{state}"') :]
        assert link[: link.index("</a>")].endswith(f">{count}</span>")


def test_outbox_filters_by_state_and_kind(admin_client, add_message):
    failed_digest = add_message(MailState.failed, MailKind.digest)
    failed_overdue = add_message(MailState.failed, MailKind.overdue)
    sent_digest = add_message(MailState.sent, MailKind.digest)

    by_state = page(admin_client.get("/admin/outbox?state=failed"))
    both = page(admin_client.get("/admin/outbox?state=failed&kind=digest"))
    none = page(admin_client.get("/admin/outbox?state=sending"))

    assert f"message-{failed_digest.id}" in by_state and f"message-{failed_overdue.id}" in by_state
    assert f"message-{sent_digest.id}" not in by_state
    assert f"message-{failed_digest.id}" in both
    assert f"message-{failed_overdue.id}" not in both and f"message-{sent_digest.id}" not in both
    assert "No messages here." in none


def test_outbox_is_paginated_and_keeps_the_filter_across_pages(app, admin_client, add_message):
    app.config["VENDORTRACK_PAGE_SIZE"] = 2
    rows = [add_message(MailState.failed, created=NOW + timedelta(minutes=i)) for i in range(3)]
    add_message(MailState.sent)

    first = page(admin_client.get("/admin/outbox?state=failed"))
    second = page(admin_client.get("/admin/outbox?state=failed&page=2"))

    assert "Page 1 of 2" in first and "page=2" in first and "state=failed" in first
    assert f"message-{rows[2].id}" in first and f"message-{rows[0].id}" not in first
    assert f"message-{rows[0].id}" in second and f"message-{rows[2].id}" not in second


def test_retry_now_requeues_a_failed_message_and_the_next_outbox_run_sends_it(
    app, admin_client, add_message, session
):
    failed = add_message(
        MailState.failed,
        attempts=app.config["VENDORTRACK_MAIL_MAX_ATTEMPTS"],
        next_attempt_at=NOW - timedelta(days=1),
        last_error="550 mailbox unavailable",
    )
    before = utcnow()

    response = admin_client.submit(f"/admin/outbox/{failed.id}/retry", {"next": "/admin/outbox?state=failed"})

    assert response.status_code == 302 and response.headers["Location"] == "/admin/outbox?state=failed"
    assert "The message to ann@example.test goes out on the next outbox run." in page(
        admin_client.get(response.headers["Location"])
    )
    session.refresh(failed)
    assert failed.state == MailState.queued
    assert failed.attempts == 0 and failed.next_attempt_at >= before
    assert jobs.run("outbox", session) == {"sent": 1, "retried": 0, "failed": 0}
    session.refresh(failed)
    assert failed.state == MailState.sent
    assert list((app.config["VENDORTRACK_MAIL_DIR"]).glob("*.eml"))


def test_retry_now_brings_a_waiting_message_forward(admin_client, add_message, session):
    later = utcnow() + timedelta(hours=1)
    waiting = add_message(MailState.queued, attempts=2, next_attempt_at=later)

    admin_client.submit(f"/admin/outbox/{waiting.id}/retry")

    session.refresh(waiting)
    assert waiting.state == MailState.queued and waiting.next_attempt_at < later
    assert waiting.attempts == 2  # attempts left: the count stands


def test_a_sent_message_is_not_sent_again(admin_client, add_message, session):
    sent = add_message(MailState.sent, attempts=1, sent_at=NOW)

    response = admin_client.submit(f"/admin/outbox/{sent.id}/retry")

    assert response.status_code == 302
    assert "Only a failed or queued message can be retried; this one is: Sent." in page(
        admin_client.get("/admin/outbox")
    )
    session.refresh(sent)
    assert sent.state == MailState.sent and sent.next_attempt_at == NOW


def test_retry_goes_back_only_to_the_outbox(admin_client, add_message):
    failed = add_message(MailState.failed)

    response = admin_client.submit(
        f"/admin/outbox/{failed.id}/retry", {"next": "https://evil.test/admin/outbox"}
    )

    assert response.headers["Location"] == "/admin/outbox"


def test_retry_of_an_unknown_message_is_not_found(admin_client):
    assert admin_client.submit("/admin/outbox/999999/retry").status_code == 404


@pytest.mark.parametrize("role", [Role.editor, Role.viewer])
def test_only_admins_see_jobs_and_outbox_or_retry(client, make_user, add_message, session, role):
    failed = add_message(MailState.failed, last_error="550 no")
    client.login(make_user(role))

    assert client.get("/admin/jobs").status_code == 403
    assert client.get("/admin/outbox").status_code == 403
    assert client.submit(f"/admin/outbox/{failed.id}/retry").status_code == 403
    session.refresh(failed)
    assert failed.state == MailState.failed


def test_the_navigation_links_jobs_and_outbox_for_admins_only(admin_client, client, make_user):
    text = page(admin_client.get("/admin/users"))
    assert 'href="/admin/jobs"' in text and 'href="/admin/outbox"' in text

    other = client.application.test_client()
    other.login(make_user(Role.editor))
    text = page(other.get("/vendors/"))
    assert 'href="/admin/jobs"' not in text and 'href="/admin/outbox"' not in text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("state=bogus", 200),
        ("kind=%00", 200),
        ("state=queued%00&kind=digest", 200),
        ("state=&kind=", 200),
        ("state=sent&state=failed", 200),
        ("kind=" + "x" * 5000, 200),
        ("page=abc", 200),
        ("page=-1", 404),
        ("page=0", 404),
        ("page=99999999999999999999", 404),
        ("page=2", 200),
    ],
)
def test_odd_outbox_arguments_never_fail(admin_client, add_message, query, status):
    add_message(MailState.failed)

    response = admin_client.get(f"/admin/outbox?{query}")

    assert response.status_code == status
    if status == 200:
        assert "Outbox" in page(response)


def test_odd_jobs_page_arguments_are_ignored(admin_client):
    assert admin_client.get("/admin/jobs?job=%00&page=-5").status_code == 200


def test_a_retry_without_its_csrf_token_changes_nothing(admin_client, add_message, session):
    failed = add_message(MailState.failed)

    response = admin_client.post(f"/admin/outbox/{failed.id}/retry", data={})

    assert response.status_code == 400
    assert (
        session.scalar(sa.select(OutboxMessage.state).where(OutboxMessage.id == failed.id))
        == MailState.failed
    )


def test_the_jobs_page_shows_how_many_old_sign_in_attempts_the_clean_up_removed(admin_client, session):
    long_ago = utcnow() - timedelta(days=1)
    for address in ("192.0.2.1", "192.0.2.2"):
        record_attempt(session, "someone@example.test", address, long_ago, succeeded=False)
    session.commit()

    jobs.run("attempts", session)

    card = section(page(admin_client.get("/admin/jobs")), "attempts")
    assert "Old sign-in attempts clean-up" in card
    assert "old sign-in attempts removed: 2" in card
    assert "Never run yet" not in card


def test_a_jobs_result_shows_a_flag_as_its_words_and_a_count_with_its_number(app):
    from vendortrack.views.admin import run_result

    shown = run_result({"rebuilt": True, "vendors": 3, "differences": 0, "found": []})

    assert shown == "every sum rebuilt from the ledger, vendors checked: 3, differences found: 0"
