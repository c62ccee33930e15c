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
from vendortrack.models import Kind

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
