"""Inputs a hostile or careless client sends (odd zones, far dates, huge ids, control characters) are
answered with a clear refusal or a 404 on every front end, never a 500, and nothing is saved."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import NumberConverter

from tests.conftest import NOW
from tests.test_commitment_pages import log_form as commitment_form
from vendortrack import ledger
from vendortrack.models import Commitment, Contact, Kind, User, Vendor

OUT_OF_RANGE = "Give a date from the years 1900 to 2999."


def text(response) -> str:
    return response.get_data(as_text=True)


def count(session, model) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


class FieldErrors(HTMLParser):
    """The messages a page shows under each field: the form macros put them right after it."""

    def __init__(self, page: str):
        super().__init__()
        self.errors: dict[str, list[str]] = {}
        self._field: str | None = None
        self._in_error = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "textarea", "select") and attrs.get("type") != "hidden" and attrs.get("name"):
            self._field = attrs["name"]
        elif tag == "div" and "invalid-feedback" in (attrs.get("class") or "") and self._field:
            self._in_error = True
            self.errors.setdefault(self._field, []).append("")

    def handle_endtag(self, tag):
        if tag == "div":
            self._in_error = False

    def handle_data(self, data):
        if self._in_error:
            self.errors[self._field][-1] += data


def errors_under(response, field: str) -> list[str]:
    return FieldErrors(text(response)).errors.get(field, [])


def api_field_errors(response) -> dict[str, list[str]]:
    return response.get_json()["error"]["fields"]


@pytest.fixture
def vendor(make_vendor):
    return make_vendor("Mistrz")


@pytest.fixture
def meeting(session, vendor, editor):
    commitment = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Kick-off",
        due_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
        actor=editor,
        now=NOW,
    )
    session.commit()
    return commitment


# --- time zones the pages cannot format -----------------------------------------------------------

ZONES_PYTZ_LACKS = ["Factory", "localtime"]  # zoneinfo lists them; the pages format through pytz


def test_the_profile_offers_no_zone_the_pages_cannot_show_times_in(client, editor):
    client.login(editor)
    page = text(client.get("/auth/profile"))

    assert 'value="Europe/Warsaw"' in page
    for zone in ZONES_PYTZ_LACKS:
        assert f'value="{zone}"' not in page


@pytest.mark.parametrize("zone", ZONES_PYTZ_LACKS)
def test_a_zone_the_pages_cannot_show_times_in_is_refused_by_the_profile_and_the_api(
    client, editor, auth, session, zone
):
    client.login(editor)
    page = client.submit("/auth/profile", {"name": "Edith", "timezone": zone, "locale": ""})
    api = client.patch("/api/v1/me", headers=auth, json={"timezone": zone})

    assert page.status_code == 400
    assert api.status_code == 422
    assert list(api_field_errors(api)) == ["timezone"]
    session.refresh(editor)
    assert editor.timezone is None


@pytest.mark.parametrize("zone", ZONES_PYTZ_LACKS)
def test_a_user_already_holding_such_a_zone_sees_their_pages_in_the_installations_zone(
    app, client, editor, meeting, vendor, session, zone
):
    app.config["VENDORTRACK_TIMEZONE"] = "Europe/Warsaw"
    editor.timezone = zone  # set before the zone was refused, straight in the database
    session.commit()
    client.login(editor)

    urls = ("/", f"/vendors/{vendor.id}", f"/commitments/{meeting.id}")
    pages = [client.get(url, follow_redirects=True) for url in urls]

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "10:00" in text(pages[2]), "08:00 UTC is 10:00 in Warsaw in summer"


# --- dates the user's zone moves out of any calendar ----------------------------------------------


@pytest.fixture
def honolulu_editor(make_user):
    return make_user(timezone="Pacific/Honolulu")  # 9999-12-31, end of day, is the year 10000 in UTC


@pytest.fixture
def tokyo_editor(make_user):
    return make_user(timezone="Asia/Tokyo")  # 0001-01-01 00:00 is the year 0 in UTC (+09:18:59)


def log_form(owner, **values) -> dict:
    """The commitment pages' form, logged as still open unless the test says otherwise."""
    return commitment_form(owner, **{"status": "open"} | values)


@pytest.mark.parametrize(
    ("zone", "values", "field"),
    [
        ("honolulu", {"due_date": "9999-12-31", "due_time": ""}, "due_date"),
        ("tokyo", {"due_date": "0001-01-01", "due_time": "00:00"}, "due_date"),
        ("tokyo", {"due_date": "2026-06-01", "status": "kept", "done_date": "0001-01-01"}, "done_date"),
        (
            "honolulu",
            {"due_date": "2026-06-01", "status": "rescheduled", "new_due_date": "9999-12-31"},
            "new_due_date",
        ),
    ],
)
def test_logging_a_date_the_users_zone_moves_out_of_the_calendar_is_refused_on_its_field(
    client, request, vendor, session, zone, values, field
):
    user = request.getfixturevalue(f"{zone}_editor")
    client.login(user)
    values = {"done_time": "00:00"} | values if "done_date" in values else values

    response = client.submit(f"/commitments/new/{vendor.id}", log_form(user, **values))

    assert response.status_code == 400
    assert errors_under(response, field) == [OUT_OF_RANGE]
    assert count(session, Commitment) == 0


def test_editing_to_a_date_the_users_zone_moves_out_of_the_calendar_is_refused(
    client, honolulu_editor, vendor, session
):
    commitment = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.promise, title="Quote", due_at=NOW, actor=honolulu_editor, now=NOW
    )
    session.commit()
    client.login(honolulu_editor)

    response = client.submit(
        f"/commitments/{commitment.id}/edit", log_form(honolulu_editor, due_date="9999-12-31", due_time="")
    )

    assert response.status_code == 400
    assert errors_under(response, "due_date") == [OUT_OF_RANGE]
    session.refresh(commitment)
    assert commitment.due_at == NOW


@pytest.mark.parametrize(
    ("zone", "values", "field"),
    [
        ("tokyo", {"status": "kept", "done_date": "0001-01-01", "done_time": "00:00"}, "done_date"),
        ("honolulu", {"status": "rescheduled", "new_due_date": "9999-12-31"}, "new_due_date"),
    ],
)
def test_resolving_with_a_date_the_users_zone_moves_out_of_the_calendar_is_refused(
    client, request, vendor, session, zone, values, field
):
    user = request.getfixturevalue(f"{zone}_editor")
    commitment = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Visit", due_at=NOW, actor=user, now=NOW
    )
    session.commit()
    client.login(user)

    response = client.submit(f"/commitments/{commitment.id}/resolve", values)

    assert response.status_code == 400
    assert errors_under(response, field) == [OUT_OF_RANGE]
    assert count(session, Commitment) == 1
    assert session.scalars(sa.select(Commitment)).one().status == "open"


def test_the_import_refuses_a_date_moved_out_of_the_calendar_in_the_forms_words(client, auth, session):
    far = "vendor,title,due\nAcme,Old,0001-01-01 01:00\nAcme,Late,9999-12-31 23:00\n"

    answers = [
        client.post("/api/v1/import", headers=auth, json={"csv": far, "timezone": zone}).get_json()
        for zone in ("Asia/Tokyo", "America/New_York")  # each year moves past midnight UTC in one
    ]

    assert [[(p["row"], p["message"]) for p in answer["problems"]] for answer in answers] == [
        [(2, OUT_OF_RANGE), (3, OUT_OF_RANGE)],
        [(2, OUT_OF_RANGE), (3, OUT_OF_RANGE)],
    ]


# --- ids past the database's integer range --------------------------------------------------------

# PostgreSQL's integer ends at 2**31 - 1, SQLite's at 2**63 - 1; the last is past both.
HUGE_IDS = [2**31, 2**63, 10**20]


@pytest.mark.parametrize("huge", HUGE_IDS)
@pytest.mark.parametrize(
    "path", ["/vendors/{}", "/vendors/{}/edit", "/commitments/{}", "/commitments/{}/edit", "/import/{}"]
)
def test_a_page_for_an_id_past_the_databases_range_is_not_found(client, admin, path, huge):
    client.login(admin)

    assert client.get(path.format(huge)).status_code == 404


def id_routes(app):
    """Every route with a number in its path, with the methods a client may send it."""
    for rule in app.url_map.iter_rules():
        numbers = [
            name for name, converter in rule._converters.items() if isinstance(converter, NumberConverter)
        ]
        if numbers:
            yield rule, numbers


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_every_route_with_an_id_answers_404_for_one_past_the_databases_range(client, app, admin, huge):
    client.login(admin)
    token = client.csrf_token()
    answers = {}
    for rule, numbers in id_routes(app):
        path = rule.build({name: huge if name in numbers else "x" for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method == "POST" else None
            answers[f"{method} {path}"] = client.open(path, method=method, data=data).status_code

    assert answers, "no route with an id found"
    assert {route: status for route, status in answers.items() if status != 404} == {}


# --- control characters ---------------------------------------------------------------------------

# Refused in one-line text: C0 (tab and newline too), DEL and C1.
ONE_LINE_REFUSED = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]
# Refused in multi-line text, which keeps tab and line breaks.
MULTI_LINE_REFUSED = ["\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x9f"]


def refusal(char: str) -> str:
    """What the person is told: a line break or a tab by name, anything else by its code point."""
    if char in "\t\n\r":
        return "Write this on one line, without line breaks or tabs."
    return f"Remove the invisible character U+{ord(char):04X}: it often comes with pasted text."


@pytest.mark.parametrize("char", ONE_LINE_REFUSED)
def test_a_vendor_name_with_a_control_character_is_refused_on_the_form_naming_the_field(
    client, editor, session, char
):
    client.login(editor)

    response = client.submit("/vendors/new", {"name": f"Acme{char}Ltd"})

    assert response.status_code == 400
    assert errors_under(response, "name") == [refusal(char)]
    assert count(session, Vendor) == 0


@pytest.mark.parametrize(
    ("url", "field", "values"),
    [
        ("/vendors/new", "category", {"name": "Acme"}),
        ("/vendors/new", "phone", {"name": "Acme"}),
        ("/vendors/{vendor}/contacts/new", "name", {}),
        ("/vendors/{vendor}/contacts/new", "role", {"name": "Jan"}),
        (
            "/commitments/new/{vendor}",
            "title",
            {"kind": "promise", "due_date": "2026-07-01", "status": "open"},
        ),
        ("/commitments/{meeting}/edit", "title", {"kind": "meeting", "due_date": "2026-07-01"}),
        ("/auth/profile", "name", {"timezone": "", "locale": ""}),
        (
            "/admin/users/invite",
            "name",
            {"email": "new@example.test", "role": "viewer", "password": "a long password"},
        ),
    ],
)
def test_every_one_line_field_on_the_forms_refuses_a_control_character(
    client, admin, vendor, meeting, session, url, field, values
):
    client.login(admin)
    before = {model: count(session, model) for model in (Vendor, Contact, Commitment, User)}
    names = (admin.name, meeting.title)
    values = {"owner_id": admin.id, "contact_id": 0} | values if "commitments" in url else values

    response = client.submit(url.format(vendor=vendor.id, meeting=meeting.id), {field: "A\x1bB"} | values)

    assert response.status_code == 400
    assert errors_under(response, field) == [refusal("\x1b")]
    assert {model: count(session, model) for model in before} == before
    assert (session.get(User, admin.id).name, session.get(Commitment, meeting.id).title) == names


@pytest.mark.parametrize("char", MULTI_LINE_REFUSED)
def test_notes_refuse_control_characters_other_than_tab_and_line_breaks(client, editor, session, char):
    client.login(editor)

    response = client.submit("/vendors/new", {"name": "Acme", "notes": f"first{char}second"})

    assert response.status_code == 400
    assert errors_under(response, "notes") == [refusal(char)]
    assert count(session, Vendor) == 0


def test_notes_and_excuses_keep_tabs_and_line_breaks(client, editor, meeting, session):
    client.login(editor)

    vendor = client.submit("/vendors/new", {"name": "Acme", "notes": "first line\r\n\tindented"})
    resolved = client.submit(
        f"/commitments/{meeting.id}/resolve", {"status": "broken", "excuse": "Snow.\r\nAnd\tice."}
    )

    assert (vendor.status_code, resolved.status_code) == (302, 302)
    assert session.scalar(sa.select(Vendor.notes).where(Vendor.name == "Acme")) == "first line\r\n\tindented"
    assert session.get(Commitment, meeting.id).excuse == "Snow.\r\nAnd\tice."


@pytest.mark.parametrize("char", ONE_LINE_REFUSED[1:])  # NUL: the API refuses it in any field, first
def test_the_api_refuses_a_control_character_in_a_vendor_name_naming_the_field(client, auth, session, char):
    response = client.post("/api/v1/vendors", headers=auth, json={"name": f"Acme{char}Ltd"})

    assert response.status_code == 422
    assert api_field_errors(response) == {"name": [refusal(char)]}
    assert count(session, Vendor) == 0


QUOTE = {"kind": "promise", "due_at": "2026-07-01T10:00:00Z"}


@pytest.mark.parametrize(
    ("method", "url", "body", "field", "char"),
    [
        ("post", "/api/v1/vendors", {"name": "Acme", "website": "https://acme.test/\x1b"}, "website", "\x1b"),
        ("patch", "/api/v1/vendors/{vendor}", {"category": "IT\x85"}, "category", "\x85"),
        ("post", "/api/v1/vendors/{vendor}/contacts", {"name": "Jan", "role": "Boss\nman"}, "role", "\n"),
        ("post", "/api/v1/vendors/{vendor}/commitments", QUOTE | {"title": "Quote\x07"}, "title", "\x07"),
        ("patch", "/api/v1/commitments/{meeting}", {"title": "Kick\x7foff"}, "title", "\x7f"),
        ("patch", "/api/v1/commitments/{meeting}", {"notes": "Bring\x0cthe plans"}, "notes", "\x0c"),
        ("patch", "/api/v1/me", {"name": "Edith\x1b[31m"}, "name", "\x1b"),
    ],
)
def test_the_api_refuses_control_characters_naming_the_field_and_changes_nothing(
    client, auth, editor, vendor, meeting, session, method, url, body, field, char
):
    before = {model: count(session, model) for model in (Vendor, Contact, Commitment)}

    response = getattr(client, method)(
        url.format(vendor=vendor.id, meeting=meeting.id), headers=auth, json=body
    )

    assert response.status_code == 422
    assert api_field_errors(response) == {field: [refusal(char)]}
    assert {model: count(session, model) for model in before} == before
    session.refresh(meeting)
    session.refresh(editor)
    session.refresh(vendor)
    assert (meeting.title, meeting.notes, editor.name, vendor.category) == (
        "Kick-off",
        "",
        "Edith Editor",
        "",
    )


def test_the_api_keeps_tabs_and_line_breaks_in_notes(client, auth, meeting, session):
    response = client.patch(f"/api/v1/commitments/{meeting.id}", headers=auth, json={"notes": "a\r\n\tb"})

    assert response.status_code == 200
    assert response.get_json()["notes"] == "a\r\n\tb"


IMPORT = "vendor,contact,title,due,notes\n{vendor},{contact},{title},2026-07-01,{notes}\n"


@pytest.mark.parametrize(
    ("column", "char"), [("vendor", "\x01"), ("contact", "\x7f"), ("title", "\x85"), ("notes", "\x1b")]
)
def test_the_import_names_the_row_and_column_of_a_control_character_and_imports_nothing(
    client, auth, session, column, char
):
    cells = {"vendor": "Acme", "contact": "Jan", "title": "Quote", "notes": "ok"}
    cells[column] = f"A{char}B"  # inside the cell: the import trims the whitespace around it
    response = client.post(
        "/api/v1/import", headers=auth, json={"csv": IMPORT.format(**cells), "commit": True}
    )

    assert response.status_code == 422
    assert [(p["row"], p["column"], p["message"]) for p in response.get_json()["problems"]] == [
        (2, column, refusal(char))
    ]
    assert count(session, Vendor) == 0


def test_the_import_keeps_a_line_break_in_notes_but_not_in_a_title(client, auth, session):
    good = 'vendor,title,due,notes\nAcme,Quote,2026-07-01,"two\nlines"\n'
    bad = 'vendor,title,due,notes\nAcme,"two\nlines",2026-07-01,ok\n'

    kept = client.post("/api/v1/import", headers=auth, json={"csv": good})
    refused = client.post("/api/v1/import", headers=auth, json={"csv": bad})

    assert kept.get_json()["problems"] == []
    assert [(p["row"], p["column"]) for p in refused.get_json()["problems"]] == [(2, "title")]
