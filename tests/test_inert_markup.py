"""Script, markup, formulas, template syntax and line breaks typed into any field stay text everywhere.

Every field a user can fill gets a payload naming its field; then every page, email, CSV and the
calendar feed that shows it is read back: the payload is there as text (escaped in HTML, a quoted
cell in CSV, one escaped value in iCalendar) and never as markup, a formula or an extra line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from markupsafe import escape

from tests.conftest import NOW, PASSWORD, WebClient
from vendortrack import calendar_feed, digest, jobs, ledger, mail
from vendortrack.accounts import create_user
from vendortrack.csvsafe import FORMULA_STARTS
from vendortrack.models import Commitment, ExcuseCategory, Kind, MailKind, OutboxMessage, Role, User, Vendor
from vendortrack.models.user import CalendarScope
from vendortrack.vendors import add_contact, create_vendor

WEEK = "2026-W26"  # 22 to 29 June 2026, the week before NOW
WEEK_END = datetime(2026, 6, 29, 8, 0, tzinfo=UTC)  # Monday 08:00 UTC: the digest of that week
# What a page may never contain: the payloads as live markup, or a script link.
LIVE = re.compile(r"<script>alert|<img src=x|href=\"javascript:|href='javascript:", re.IGNORECASE)


def payload(tag: str) -> str:
    """A formula first, a script, an attribute breakout, template syntax, separators, CRLF.

    106 characters and the tag three times: a tag of 4 letters fits a user's name or a contact's role (120).
    """
    return (
        f'=HYPERLINK("http://evil.test")<script>alert("{tag}")</script>"><img src=x onerror=alert("{tag}")>'
        f"{{{{7*7}}}};,\r\nX-Evil: {tag}"
    )


def short(tag: str) -> str:
    """For the fields of 50 to 80 characters (phone, category): a formula and a script."""
    return f'=<script>alert("{tag}")</script>'


def escaped(tag: str) -> str:
    """The payload's script as a page must show it: as text."""
    return str(escape(f'<script>alert("{tag}")</script>'))


@dataclass
class Hostile:
    """A ledger whose every text field carries a payload tagged with its field."""

    vendor: Vendor
    plain: Vendor
    editor: User
    admin: User
    contact_id: int
    due_soon: Commitment
    overdue: Commitment
    broken: Commitment
    cancelled: Commitment
    moved: Commitment
    successor: Commitment


@pytest.fixture
def hostile(app, session) -> Hostile:
    editor = create_user(
        session, email="eve@example.test", password=PASSWORD, role=Role.editor, name=payload("user"), now=NOW
    )
    admin = create_user(
        session, email="ada@example.test", password=PASSWORD, role=Role.admin, name=payload("adm"), now=NOW
    )
    editor.calendar_scope = CalendarScope.all
    vendor = create_vendor(
        session,
        now=NOW,
        name=payload("vname"),
        category=short("vcat"),
        website=payload("vweb"),
        email=payload("vmail"),
        phone=short("vphone"),
        notes=payload("vnotes"),
    )
    plain = create_vendor(session, now=NOW, name="Plain Vendor", website="javascript:alert(document.cookie)")
    contact = add_contact(
        session,
        vendor,
        now=NOW,
        name=payload("cname"),
        role=payload("crol"),
        email=payload("cmail"),
        phone=short("cphone"),
    )

    def log(tag: str, due: datetime, **kwargs) -> Commitment:
        return ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.promise,
            title=payload(tag),
            notes=payload(tag + "-notes"),
            due_at=due,
            actor=editor,
            contact=contact,
            now=due - timedelta(days=10),
            **kwargs,
        )

    due_soon = log("soon", NOW + timedelta(hours=2))
    overdue = log("late", NOW - timedelta(days=2))
    broken = log("broken", datetime(2026, 6, 24, 10, 0, tzinfo=UTC))
    ledger.resolve_broken(
        session,
        broken,
        actor=editor,
        now=datetime(2026, 6, 25, 9, 0, tzinfo=UTC),
        excuse_category=ExcuseCategory.other,
        excuse=payload("excuse"),
    )
    cancelled = log("cancel", datetime(2026, 6, 23, 10, 0, tzinfo=UTC))
    ledger.cancel(
        session,
        cancelled,
        actor=editor,
        now=datetime(2026, 6, 23, 9, 0, tzinfo=UTC),
        reason=payload("reason"),
    )
    moved = log("moved", datetime(2026, 6, 26, 10, 0, tzinfo=UTC))
    successor = ledger.reschedule(
        session,
        moved,
        actor=editor,
        now=datetime(2026, 6, 26, 9, 0, tzinfo=UTC),
        new_due_at=NOW + timedelta(days=4),
        excuse_category=ExcuseCategory.personal,
        excuse=payload("excuse2"),
    )
    kept = ledger.log_commitment(
        session,
        vendor=plain,
        kind=Kind.meeting,
        title="Plain meeting",
        due_at=NOW - timedelta(days=3),
        actor=editor,
        now=NOW - timedelta(days=9),
    )
    ledger.resolve_kept(session, kept, actor=editor, now=NOW - timedelta(days=3))
    session.commit()
    return Hostile(
        vendor, plain, editor, admin, contact.id, due_soon, overdue, broken, cancelled, moved, successor
    )


def signed_in(app, user: User) -> WebClient:
    app.test_client_class = WebClient
    client = app.test_client()
    assert client.login(user).status_code == 302
    return client


def inert(body: str, where: str, tags: list[str]) -> None:
    """No payload is live markup, and each named one is there, escaped."""
    live = LIVE.search(body)
    assert live is None, f"{where}: live markup {body[max(live.start() - 80, 0) : live.end() + 80]!r}"
    missing = [tag for tag in tags if escaped(tag) not in body]
    assert not missing, f"{where}: {missing} not shown as text"


# --- pages ----------------------------------------------------------------------------------------


def pages(h: Hostile) -> dict[str | tuple[str, ...], list[str]]:
    """Each page (or pages, read as one) that shows what was typed, and the tags it must show."""
    v, c = h.vendor.id, h.contact_id
    return {
        "/vendors/": ["vname", "vcat"],
        f"/vendors/{v}": [
            "vname",
            "vcat",
            "vweb",
            "vmail",
            "vphone",
            "vnotes",
            "cname",
            "crol",
            "cmail",
            "cphone",
            "soon",
            "late",
            "broken",
            "user",
        ],
        f"/vendors/{v}/edit": ["vname", "vcat", "vweb", "vmail", "vphone", "vnotes"],
        f"/vendors/{v}/contacts/{c}/edit": ["cname", "crol", "cmail", "cphone"],
        f"/vendors/{h.plain.id}": [],
        # Which of the two lists holds them depends on the real clock: the pages read it, not NOW.
        ("/commitments/?view=upcoming", "/commitments/?view=overdue"): [
            "vname",
            "soon",
            "late",
            "cname",
            "user",
        ],
        "/commitments/?view=resolved": ["vname", "broken", "cancel", "moved"],
        f"/commitments/{h.due_soon.id}": ["vname", "soon", "soon-notes", "cname", "user"],
        f"/commitments/{h.due_soon.id}/edit": ["vname", "soon", "soon-notes", "cname", "user"],
        f"/commitments/{h.broken.id}": ["broken", "excuse"],
        f"/commitments/{h.cancelled.id}": ["cancel", "reason"],
        f"/commitments/{h.moved.id}": ["moved", "excuse2"],
        f"/commitments/{h.overdue.id}": ["late", "late-notes"],
        f"/commitments/{h.successor.id}": ["moved", "moved-notes"],
        f"/commitments/new/{v}": ["vname", "cname", "user"],
        "/scorecard": ["vname", "vcat"],
        f"/scorecard/compare?vendor={v}&vendor={h.plain.id}": ["vname"],
        f"/digest?week={WEEK}": ["vname", "broken", "excuse"],
        "/admin/users": ["user", "adm"],
        f"/admin/digest?user_id={h.editor.id}&week={WEEK}": ["vname", "broken", "excuse"],
        "/admin/events": ["user", "vname", "soon", "excuse", "reason"],
        f"/admin/events?vendor_id={v}&user_id={h.editor.id}": ["user", "vname", "late"],
        "/admin/outbox": [],
        "/admin/jobs": [],
        "/auth/profile": ["adm"],
        "/export/": ["adm"],
    }


def test_every_page_shows_every_payload_as_text_never_as_markup(app, session, hostile):
    admin = signed_in(app, hostile.admin)
    with mail.mail_context(app):  # queue the emails, so the outbox page lists them too
        jobs.flag_overdue(session, NOW, app.config)

    for urls, tags in pages(hostile).items():
        bodies = []
        for url in [urls] if isinstance(urls, str) else urls:
            response = admin.get(url)
            assert response.status_code == 200, url
            bodies.append(response.get_data(as_text=True))
        inert("\n".join(bodies), str(urls), tags)


def test_a_plain_vendors_javascript_address_is_shown_but_never_a_link(app, hostile):
    body = signed_in(app, hostile.admin).get(f"/vendors/{hostile.plain.id}").get_data(as_text=True)

    assert "javascript:alert(document.cookie)" in body
    assert 'href="javascript:' not in body


def test_an_http_address_is_still_a_link(app, session, hostile):
    hostile.plain.website = "https://plain.example/"
    session.commit()

    body = signed_in(app, hostile.admin).get(f"/vendors/{hostile.plain.id}").get_data(as_text=True)

    assert 'href="https://plain.example/"' in body


@pytest.mark.parametrize(
    "url",
    [
        "/vendors/?q={p}&category={p}",
        "/scorecard?category={p}&standing={p}",
        "/scorecard.csv?standing={p}",
        "/scorecard/compare?vendor={p}&vendor=1",
        "/digest?week={p}",
        "/admin/digest?user_id={p}&week={p}",
        "/admin/events?user_id={p}&vendor_id={p}&from={p}&to={p}",
        "/commitments/?view={p}&kind={p}",
        "/auth/login?next={p}",
    ],
)
def test_a_payload_in_the_query_string_is_never_echoed_as_markup(app, hostile, url):
    text = '<script>alert("q")</script>"><img src=x onerror=alert("q")>'

    response = signed_in(app, hostile.admin).get(url.format(p=text.replace("&", "%26").replace(" ", "%20")))

    assert response.status_code < 500, url
    if response.mimetype == "text/html":
        inert(response.get_data(as_text=True), url, [])
    else:  # the CSV's refusal names the value in plain text, which no browser runs
        assert response.mimetype == "text/plain" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_vendor_created_through_the_form_is_announced_as_text(app, hostile):
    editor = signed_in(app, hostile.editor)

    response = editor.submit(
        "/vendors/new", {"name": 'New <script>alert("flash")</script>'}, follow_redirects=True
    )

    assert response.status_code == 200
    inert(response.get_data(as_text=True), "the flash after creating a vendor", ["flash"])


# --- emails ---------------------------------------------------------------------------------------


def parts(row: OutboxMessage) -> tuple[str, str, object]:
    """The message as sent: its text part, its HTML part, and the parsed message for its headers."""
    message = message_from_bytes(
        bytes(mail.as_email(row, "vendortrack <mail@example.test>")), policy=policy.default
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html, message


def test_overdue_reminder_and_digest_emails_show_payloads_escaped_in_html_and_as_is_in_text(
    app, session, hostile
):
    with mail.mail_context(app):
        jobs.flag_overdue(session, NOW, app.config)
        jobs.remind_due_soon(session, NOW, app.config | {"VENDORTRACK_REMINDER_LEAD": timedelta(days=1)})
        digest.queue_digest(session, hostile.editor, WEEK_END, NOW, digest.WeekCache.from_config(app.config))
    session.commit()
    rows = {row.kind: row for row in session.scalars(sa.select(OutboxMessage))}
    expected = {
        MailKind.overdue: ["user", "vname", "late"],
        MailKind.reminder: ["user", "vname", "soon", "cname"],
        MailKind.digest: ["user", "vname", "broken", "excuse"],
    }

    assert set(rows) == set(expected)
    for kind, tags in expected.items():
        text, html, message = parts(rows[kind])
        inert(html, f"the {kind} email's HTML part", tags)
        for tag in tags:
            assert f'<script>alert("{tag}")</script>' in text, f"the {kind} email's text part lacks {tag}"
        assert "X-Evil" not in message and "\r\nX-Evil" not in str(message["Subject"])
        assert message["To"] == hostile.editor.email


# --- CSV ------------------------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def as_cell(value: str) -> str:
    """How a stored value must come back from the CSV: whole, with an apostrophe if it looks like a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def test_every_csv_parses_keeps_payloads_whole_and_starts_no_cell_with_a_formula(app, session, hostile):
    viewer = signed_in(app, hostile.admin)
    v = session.get(Vendor, hostile.vendor.id)
    stored = {
        "vendors": [v.name, v.category, v.website, v.email, v.phone, v.notes],
        "contacts": [v.name, *(getattr(v.contacts[0], f) for f in ("name", "role", "email", "phone"))],
        "commitments": [
            v.name,
            v.contacts[0].name,
            hostile.broken.title,
            hostile.broken.excuse,
            hostile.cancelled.reason,
        ],
        "events": [v.name],
    }
    counts = {
        "vendors": 2,
        "contacts": 1,
        "commitments": session.scalar(sa.select(sa.func.count()).select_from(Commitment)),
    }

    for name, values in stored.items():
        table = rows_of(viewer.get(f"/export/{name}.csv"))
        header, body = table[0], table[1:]
        cells = {cell for row in body for cell in row}
        assert all(len(row) == len(header) for row in body), f"{name}.csv: a line break split a row"
        if name in counts:
            assert len(body) == counts[name], f"{name}.csv: {len(body)} rows"
        formulas = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
        assert not formulas, f"{name}.csv: cells a spreadsheet would run: {formulas}"
        for value in values:
            assert value.startswith("=")  # each payload starts like a formula: the cell must not
            assert as_cell(value) in cells, f"{name}.csv lost {value!r}"
    events = rows_of(viewer.get("/export/events.csv"))
    notes = [cell for row in events[1:] for cell in row if "soon-notes" in cell]
    assert notes, "the events CSV carries the notes as they were logged"


def test_the_scorecard_csv_keeps_the_payload_name_as_text(app, session, hostile):
    table = rows_of(signed_in(app, hostile.admin).get("/scorecard.csv"))

    names = {row[1] for row in table[1:]}
    categories = {row[2] for row in table[1:]}
    assert as_cell(session.get(Vendor, hostile.vendor.id).name) in names
    assert as_cell(short("vcat")) in categories
    assert not [cell for row in table[1:] for cell in row if cell.startswith(FORMULA_STARTS)]


# --- the calendar feed ----------------------------------------------------------------------------


def test_the_calendar_feed_carries_payloads_in_one_summary_and_description_each(app, session, hostile):
    secret = calendar_feed.ensure_secret(session, hostile.editor)
    session.commit()
    body = signed_in(app, hostile.editor).get(f"/calendar/{secret}.ics").get_data()

    events = list(Calendar.from_ical(body).walk("VEVENT"))
    titles = {c.id: c.title for c in (hostile.due_soon, hostile.overdue, hostile.successor)}
    assert len(events) == len(titles)
    vendor_name = session.get(Vendor, hostile.vendor.id).name
    for event in events:
        assert sorted(event.keys()) == [
            "DESCRIPTION",
            "DTEND",
            "DTSTAMP",
            "DTSTART",
            "LAST-MODIFIED",
            "STATUS",
            "SUMMARY",
            "UID",
            "URL",
        ]
        commitment_id = int(str(event["UID"]).split("@")[0].removeprefix("commitment-"))
        title = titles[commitment_id].replace("\r\n", "\n")
        assert str(event["SUMMARY"]) == f"{vendor_name}: {title}"
        assert payload("cname").replace("\r\n", "\n") in str(event["DESCRIPTION"])
    lines = body.decode().split("\r\n")
    assert not [line for line in lines if line.startswith(("X-Evil", "X-EVIL"))]
    assert all(line == "" or line[0] in " \t" or re.match(r"[A-Z-]+[;:]", line) for line in lines)
