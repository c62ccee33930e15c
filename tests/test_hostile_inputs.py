"""Inputs a hostile or careless client sends (odd zones, far dates, huge ids, control characters) are
answered with a clear refusal or a 404 on every front end, never a 500, and nothing is saved."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import NumberConverter

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.models import Commitment, Kind

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
    return {
        "kind": "meeting",
        "title": "Kick-off",
        "due_date": "2026-07-01",
        "due_time": "10:00",
        "owner_id": owner.id,
        "contact_id": 0,
        "status": "open",
    } | values


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
