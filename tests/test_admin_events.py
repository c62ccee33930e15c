"""The admin's event log: every ledger event across the app, filtered by user, vendor and time, in pages."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from tests.test_access import ledger_state
from vendortrack import audit, jobs, ledger, mail
from vendortrack.extensions import db
from vendortrack.models import EventAction, ExcuseCategory, Kind, LedgerEvent, Role
from vendortrack.scores.rules import Rules
from vendortrack.templating import local

WARSAW = "Europe/Warsaw"
# 30 June 2026 on a Warsaw clock (UTC+2 in summer): from 29 June 22:00 UTC to 30 June 22:00 UTC.
WARSAW_DAY = (datetime(2026, 6, 29, 22, 0, tzinfo=UTC), datetime(2026, 6, 30, 22, 0, tzinfo=UTC))


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def shown_ids(response) -> list[int]:
    """The events the page lists, top to bottom."""
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', response.get_data(as_text=True))]


def row(response, event_id: int) -> str:
    text = page(response)
    start = text.index(f'<tr id="event-{event_id}">')
    return re.sub(r"[ \n]+", " ", text[start : text.index("</tr>", start)])  # not \s: times hold U+202F


def ids_of(result: audit.EventPage) -> list[int]:
    return [line.event.id for line in result.lines]


def all_events(session) -> list[LedgerEvent]:
    return list(
        session.scalars(sa.select(LedgerEvent).order_by(LedgerEvent.at.desc(), LedgerEvent.id.desc()))
    )


class Ledger:
    """Two vendors, two editors and the scheduler, making changes over three days."""

    def __init__(self, app, session, make_vendor, make_user):
        self.acme = make_vendor("Acme Plumbing")
        self.bodge = make_vendor("Bodge & Sons")
        self.eve = make_user(Role.editor, name="Eve Editor")
        self.max = make_user(Role.editor, name="Max Editor")
        day = timedelta(days=1)
        self.quote = ledger.log_commitment(
            session,
            vendor=self.acme,
            kind=Kind.promise,
            title="Send the quote",
            due_at=NOW - 2 * day,
            actor=self.eve,
            now=NOW - 3 * day,
        )
        self.boiler = ledger.log_commitment(
            session,
            vendor=self.bodge,
            kind=Kind.deadline,
            title="Deliver the boiler",
            due_at=NOW + 5 * day,
            actor=self.max,
            now=NOW - 2 * day,
        )
        ledger.resolve_broken(
            session,
            self.boiler,
            actor=self.max,
            now=NOW - day,
            excuse_category=ExcuseCategory.third_party,
            excuse="The lorry broke down",
        )
        session.commit()
        # The scheduler flags the quote: an event with no person behind it.
        with mail.mail_context(app):
            jobs.flag_overdue(session, NOW, {"VENDORTRACK_RULES": Rules(grace=timedelta(hours=1))})
        self.events = all_events(session)


@pytest.fixture
def world(app, session, make_vendor, make_user):
    return Ledger(app, session, make_vendor, make_user)


@pytest.fixture
def admin_client(client, admin):
    client.login(admin)
    return client


# --- the query ------------------------------------------------------------------------------------


def test_every_event_of_every_vendor_comes_newest_first_with_its_vendor_and_commitment(session, world):
    result = audit.events(session)

    assert ids_of(result) == [e.id for e in world.events]
    assert [line.event.action for line in result.lines] == [
        EventAction.flagged_overdue,
        EventAction.resolved,
        EventAction.created,
        EventAction.created,
    ]
    flagged, broken = result.lines[0], result.lines[1]
    assert (flagged.vendor_name, flagged.commitment_title, flagged.event.actor) == (
        "Acme Plumbing",
        "Send the quote",
        None,
    )
    assert (broken.vendor_name, broken.commitment_title, broken.event.actor) == (
        "Bodge & Sons",
        "Deliver the boiler",
        world.max,
    )
    assert result.older is None and result.newer is None


def test_events_filter_by_the_person_who_made_them_or_by_the_scheduler(session, world):
    by_max = audit.events(session, user_id=world.max.id)
    by_scheduler = audit.events(session, user_id=audit.SCHEDULER)

    assert [line.event.actor_id for line in by_max.lines] == [world.max.id, world.max.id]
    assert [line.event.action for line in by_scheduler.lines] == [EventAction.flagged_overdue]


def test_events_filter_by_vendor(session, world):
    result = audit.events(session, vendor_id=world.bodge.id)

    assert {line.vendor_name for line in result.lines} == {"Bodge & Sons"}
    assert len(result.lines) == 2


def test_events_filter_by_time_with_the_start_in_and_the_end_out(session, world):
    day = timedelta(days=1)

    result = audit.events(session, since=NOW - 2 * day, until=NOW)

    # Max's log two days ago is in, the broken boiler yesterday is in, the flag at NOW is out.
    assert [line.event.action for line in result.lines] == [EventAction.resolved, EventAction.created]
    assert {line.event.actor_id for line in result.lines} == {world.max.id}


def test_filters_combine(session, world):
    assert audit.events(session, user_id=world.eve.id, vendor_id=world.bodge.id).lines == []
    assert len(audit.events(session, user_id=world.eve.id, vendor_id=world.acme.id).lines) == 1


def add_events(session, commitment, count: int, at: datetime) -> None:
    """Many events at the same moment: the page order must still be total, by id after time."""
    session.execute(
        sa.insert(LedgerEvent),
        [
            {
                "commitment_id": commitment.id,
                "vendor_id": commitment.vendor_id,
                "actor_id": None,
                "at": at,
                "action": EventAction.edited,
                "before": {},
                "after": {"notes": f"note {n}"},
            }
            for n in range(count)
        ],
    )
    session.commit()


def walk(session, **filters) -> tuple[list[list[int]], list[list[int]]]:
    """Every page from the newest to the oldest, three events a page, and then back again."""
    forward, result = [], audit.events(session, per_page=3, **filters)
    while True:
        forward.append(ids_of(result))
        if result.older is None:
            break
        result = audit.events(session, per_page=3, before=audit.position(session, result.older), **filters)
    back = [ids_of(result)]
    while result.newer is not None:
        result = audit.events(session, per_page=3, after=audit.position(session, result.newer), **filters)
        back.append(ids_of(result))
    return forward, back


@pytest.mark.parametrize("few", [2000, 0], ids=["few-sorted-whole", "many-read-in-time-order"])
@pytest.mark.parametrize("filtered", ["everything", "vendor", "scheduler"])
def test_pages_older_then_newer_visit_every_match_once_even_when_many_share_a_moment(
    session, world, monkeypatch, few, filtered
):
    # A filter matching few events is paged in Python, one matching many along the time index:
    # both must cut the same pages.
    monkeypatch.setattr(audit, "FEW", few)
    add_events(session, world.quote, 7, NOW - timedelta(hours=12))
    filters = {
        "everything": {},
        "vendor": {"vendor_id": world.acme.id},
        "scheduler": {"user_id": audit.SCHEDULER},
    }[filtered]
    expected = [
        e.id
        for e in all_events(session)
        if (filtered != "vendor" or e.vendor_id == world.acme.id)
        and (filtered != "scheduler" or e.actor_id is None)
    ]

    forward, back = walk(session, **filters)

    assert [event_id for ids in forward for event_id in ids] == expected
    assert all(len(ids) == 3 for ids in forward[:-1]) and 1 <= len(forward[-1]) <= 3
    assert back == forward[::-1]


def test_the_first_page_has_no_newer_link_and_the_last_no_older_one(session, world):
    first = audit.events(session, per_page=2)
    last = audit.events(session, per_page=2, before=audit.position(session, first.older))

    assert first.newer is None and first.older == first.lines[-1].event.id
    assert last.older is None and last.newer == last.lines[0].event.id


def test_a_page_reads_one_row_more_than_it_shows_and_never_counts_or_skips(app, session, world):
    """What keeps the log fast at a million events: a LIMIT on an index order, no COUNT, no OFFSET."""
    add_events(session, world.quote, 30, NOW - timedelta(hours=12))
    deep = audit.position(session, all_events(session)[20].id)
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, params, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement.upper(), params))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        result = audit.events(session, per_page=5, before=deep)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)

    assert len(result.lines) == 5
    assert len(statements) == 2  # the page, and whether anything is newer
    (listing, params), (newer, _) = statements
    assert "COUNT(" not in listing and "COUNT(" not in newer
    assert "LIMIT" in listing
    values = list(params.values()) if isinstance(params, dict) else list(params)
    if "OFFSET" in listing:  # SQLite's dialect always writes one; it must skip nothing
        assert values[-2:] == [6, 0]
    else:
        assert values[-1] == 6


# --- the filter as typed --------------------------------------------------------------------------


def test_a_date_alone_means_that_whole_day_on_the_admins_clock(session, world):
    where, errors = audit.read_filter(session, {"from": "2026-06-30", "to": "2026-06-30"}, WARSAW)

    assert errors == {}
    assert (where.since, where.until) == WARSAW_DAY


def test_a_time_of_day_narrows_the_range_to_that_minute(session, world):
    where, errors = audit.read_filter(session, {"from": "2026-06-30T09:15", "to": "2026-06-30 10:00"}, WARSAW)

    assert errors == {}
    assert where.since == datetime(2026, 6, 30, 7, 15, tzinfo=UTC)
    assert where.until == datetime(2026, 6, 30, 8, 1, tzinfo=UTC)


def test_users_and_vendors_are_read_by_id_and_the_scheduler_by_name(session, world):
    where, errors = audit.read_filter(
        session, {"user_id": str(world.eve.id), "vendor_id": str(world.acme.id)}, "UTC"
    )
    scheduler, _ = audit.read_filter(session, {"user_id": "scheduler"}, "UTC")

    assert errors == {}
    assert (where.user_id, where.vendor_id) == (world.eve.id, world.acme.id)
    assert scheduler.user_id == audit.SCHEDULER


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"user_id": "999999"}, "user_id", "there is no user “999999”"),
        ({"user_id": "eve"}, "user_id", "there is no user “eve”"),
        ({"user_id": "-1"}, "user_id", "there is no user"),
        ({"user_id": "²"}, "user_id", "there is no user"),
        ({"vendor_id": "99999999999999999999"}, "vendor_id", "there is no vendor"),
        ({"from": "30/06/2026"}, "from", "Write a date as year-month-day"),
        ({"from": "2026-02-30"}, "from", "Write a date as year-month-day"),
        ({"to": "tomorrow"}, "to", "Write a date as year-month-day"),
        ({"to": "2026-06-30T25:00"}, "to", "Write a date as year-month-day"),
        ({"from": "9999-12-31"}, "from", "Choose a year from 1970 to 9998"),
        ({"from": "2026-07-01", "to": "2026-06-30"}, "to", "The end of the range comes before its start"),
    ],
)
def test_a_filter_value_that_names_nothing_is_named_as_wrong(session, world, args, field, message):
    _where, errors = audit.read_filter(session, args, "UTC")

    assert list(errors) == [field]
    assert message in errors[field]


# --- the page -------------------------------------------------------------------------------------


def test_the_admin_sees_each_event_with_time_person_vendor_commitment_action_and_change(
    app, admin_client, session, world, admin
):
    admin.timezone = WARSAW
    session.commit()

    response = admin_client.get("/admin/events")

    assert response.status_code == 200
    assert shown_ids(response) == [e.id for e in world.events]
    broken = next(e for e in world.events if e.action == EventAction.resolved)
    text = row(response, broken.id)
    with app.test_request_context():
        assert local(broken.at, "medium", tz=WARSAW) in text  # on the admin's clock
    assert "Max Editor" in text
    assert f'<a href="/vendors/{world.bodge.id}">Bodge & Sons</a>' in text
    assert f'<a href="/commitments/{world.boiler.id}">Deliver the boiler</a>' in text
    assert "Resolved" in text
    assert "Status: <del>Open</del> → Broken" in text
    assert "Excuse: <del>—</del> → The lorry broke down" in text
    flagged = row(response, world.events[0].id)
    assert "vendortrack" in flagged and "Flagged overdue" in flagged
    assert "Time (Europe/Warsaw)" in page(response)


def test_the_page_filters_by_user_vendor_and_days_and_keeps_the_choice_in_the_form(
    admin_client, world, session
):
    response = admin_client.get(
        f"/admin/events?user_id={world.max.id}&vendor_id={world.bodge.id}&from=2026-06-28&to=2026-06-29"
    )

    assert response.status_code == 200
    assert len(shown_ids(response)) == 2
    text = page(response)
    assert f'<option value="{world.max.id}" selected>' in text
    assert f'<option value="{world.bodge.id}" selected>' in text
    assert 'name="from" value="2026-06-28"' in text and 'name="to" value="2026-06-29"' in text


def test_pages_link_older_and_newer_and_keep_the_filter(app, admin_client, session, world):
    add_events(session, world.quote, 5, NOW - timedelta(hours=12))
    app.config["VENDORTRACK_PAGE_SIZE"] = 3
    url = f"/admin/events?vendor_id={world.acme.id}"
    acme_events = [e.id for e in all_events(session) if e.vendor_id == world.acme.id]

    first = admin_client.get(url)
    older = re.search(r'rel="next" href="([^"]+)"', page(first)).group(1)
    second = admin_client.get(older)
    newer = re.search(r'rel="prev" href="([^"]+)"', page(second)).group(1)

    assert shown_ids(first) == acme_events[:3]
    assert f"vendor_id={world.acme.id}" in older and f"vendor_id={world.acme.id}" in newer
    assert shown_ids(second) == acme_events[3:6]
    assert shown_ids(admin_client.get(newer)) == acme_events[:3]
    assert 'rel="prev"' not in page(first)


def test_an_empty_result_says_so_and_suggests_widening_the_filter(admin_client, world):
    response = admin_client.get("/admin/events?from=2020-01-01&to=2020-01-31")

    assert response.status_code == 200
    assert shown_ids(response) == []
    assert "No events match this filter. Widen it" in page(response)


def test_with_no_events_yet_the_page_says_how_the_first_comes(admin_client):
    assert "No events yet" in page(admin_client.get("/admin/events"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("user_id=999999", "User: there is no user “999999”"),
        ("vendor_id=abc", "Vendor: there is no vendor “abc”"),
        ("from=2026-13-01", "Write a date as year-month-day"),
        ("from=2026-07-01&to=2026-06-01", "The end of the range comes before its start."),
        ("before=999999", "that place in the log does not exist"),
        ("before=1&after=2", "not both"),
        ("from=%00", "Write a date as year-month-day"),
    ],
)
def test_a_bad_filter_is_a_400_with_the_reason_on_the_page_and_changes_nothing(
    admin_client, session, world, query, message
):
    before = ledger_state(session)

    response = admin_client.get(f"/admin/events?{query}")

    assert response.status_code == 400
    assert message in page(response)
    assert shown_ids(response) == []
    assert ledger_state(session) == before


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_only_admins_see_the_event_log(client, make_user, role):
    client.login(make_user(role))

    assert client.get("/admin/events").status_code == 403


def test_the_admin_nav_links_to_the_event_log_and_no_one_else_sees_the_link(client, admin, editor):
    client.login(editor)
    assert 'href="/admin/events"' not in page(client.get("/vendors/"))
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(admin)
    assert 'href="/admin/events">Events</a>' in page(client.get("/vendors/"))
