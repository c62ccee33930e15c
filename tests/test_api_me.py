"""The caller's own profile over the API: the same changes, and the same digest rule, as the profile page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import NOW
from vendortrack.accounts import update_profile
from vendortrack.validation import InvalidInput

pytestmark = pytest.mark.usefixtures("api_clock_at_now")

NEXT_MONDAY = NOW + timedelta(days=6)


def test_a_viewer_changes_their_own_profile_and_reads_it_back(client, viewer, token_for, session):
    headers = token_for(viewer)
    response = client.patch(
        "/api/v1/me",
        headers=headers,
        json={
            "name": "  Vic  ",
            "timezone": "Europe/Warsaw",
            "locale": "pl",
            "digest_enabled": False,
        },
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "id": viewer.id,
        "email": viewer.email,
        "name": "Vic",
        "role": "viewer",
        "timezone": "Europe/Warsaw",
        "locale": "pl",
        "digest_enabled": False,
    }
    assert client.get("/api/v1/me", headers=headers).get_json() == response.get_json()
    session.refresh(viewer)
    assert (viewer.name, viewer.timezone, viewer.locale, viewer.digest_enabled) == (
        "Vic",
        "Europe/Warsaw",
        "pl",
        False,
    )


def test_a_viewer_still_may_not_write_to_the_ledger(client, viewer, token_for):
    response = client.post("/api/v1/vendors", headers=token_for(viewer), json={"name": "Acme"})
    assert response.status_code == 403


def test_fields_left_out_stay_as_they_were(client, editor, token_for, session):
    editor.timezone, editor.locale = "Europe/Budapest", "hu"
    session.commit()
    response = client.patch("/api/v1/me", headers=token_for(editor), json={"name": "Edie"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["timezone"], body["locale"], body["digest_enabled"]) == (
        "Edie",
        "Europe/Budapest",
        "hu",
        True,
    )


def test_null_time_zone_and_language_go_back_to_the_defaults(client, editor, token_for, session):
    editor.timezone, editor.locale = "Europe/Budapest", "hu"
    session.commit()
    response = client.patch("/api/v1/me", headers=token_for(editor), json={"timezone": None, "locale": None})
    assert response.status_code == 200
    assert (response.get_json()["timezone"], response.get_json()["locale"]) == (None, None)


@pytest.mark.parametrize("change", [{"timezone": "Asia/Tokyo"}, {"digest_enabled": False}])
def test_a_new_time_zone_or_digest_choice_resets_the_next_digest(client, editor, token_for, session, change):
    editor.digest_next_at = NEXT_MONDAY
    session.commit()
    assert client.patch("/api/v1/me", headers=token_for(editor), json=change).status_code == 200
    session.refresh(editor)
    assert editor.digest_next_at is None


def test_a_name_or_language_change_keeps_the_next_digest(client, editor, token_for, session):
    editor.digest_next_at = NEXT_MONDAY
    session.commit()
    body = {"name": "Edie", "locale": "ru", "timezone": None, "digest_enabled": True}
    assert client.patch("/api/v1/me", headers=token_for(editor), json=body).status_code == 200
    session.refresh(editor)
    assert editor.digest_next_at == NEXT_MONDAY


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA time zone"),
        ({"locale": "xx"}, "locale", "languages offered"),
        ({"digest_enabled": "sometimes"}, "digest_enabled", "boolean"),
        ({"name": "x" * 121}, "name", "Longer than maximum"),
        ({"email": "new@example.test"}, "email", "Unknown field"),
        ({"role": "admin"}, "role", "Unknown field"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_field_and_nothing_changes(
    client, viewer, token_for, session, body, field, words
):
    viewer.digest_next_at = NEXT_MONDAY
    session.commit()
    response = client.patch("/api/v1/me", headers=token_for(viewer), json={"name": "Changed", **body})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert list(error["fields"]) == [field]
    assert words in error["fields"][field][0]
    session.refresh(viewer)
    assert (viewer.name, viewer.role.value, viewer.timezone, viewer.digest_next_at) == (
        "Victor Viewer",
        "viewer",
        None,
        NEXT_MONDAY,
    )


def test_without_a_token_the_profile_cannot_be_changed(client):
    assert client.patch("/api/v1/me", json={"name": "Nobody"}).status_code == 401


def test_update_profile_refuses_an_unknown_time_zone_or_language(editor):
    for values, field in (({"timezone": "Nowhere/Land"}, "timezone"), ({"locale": "tlh"}, "locale")):
        with pytest.raises(InvalidInput) as refused:
            update_profile(editor, **values)
        assert refused.value.field == field
    assert (editor.timezone, editor.locale) == (None, None)
