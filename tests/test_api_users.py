"""Admins manage users and tokens through the API; anyone with a token takes the ledger away as JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, PASSWORD
from vendortrack import ledger
from vendortrack.accounts import issue_token, revoke_token, user_for_token
from vendortrack.models import ApiToken, Kind, Role, User
from vendortrack.views.api import guard

SECRETS = ("password", "password_hash", "session_token", "calendar_secret", "token_hash")


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setattr(guard, "utcnow", lambda: NOW)


@pytest.fixture
def as_admin(admin, token_for):
    return token_for(admin)


def new_user(**overrides) -> dict:
    return {
        "email": "Nina@Example.test",
        "name": "Nina New",
        "role": "editor",
        "password": PASSWORD,
        **overrides,
    }


def user_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


def test_an_admin_creates_a_user_who_can_then_sign_in(client, as_admin, session):
    response = client.post("/api/v1/users", headers=as_admin, json=new_user(timezone="Europe/Warsaw"))
    assert response.status_code == 201
    created = response.get_json()
    assert (created["email"], created["name"], created["role"]) == ("nina@example.test", "Nina New", "editor")
    assert (created["timezone"], created["is_active"], created["disabled_at"]) == (
        "Europe/Warsaw",
        True,
        None,
    )
    assert not set(SECRETS) & set(created)
    signed_in = client.submit("/auth/login", {"email": "nina@example.test", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert "/auth/login" not in signed_in.headers["Location"]


def test_a_duplicate_email_is_refused_naming_the_field(client, as_admin, editor, session):
    before = user_count(session)
    response = client.post("/api/v1/users", headers=as_admin, json=new_user(email=editor.email.upper()))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["email"] == ["A user with this email already exists."]
    assert user_count(session) == before


@pytest.mark.parametrize(
    "field, value",
    [("password", "short"), ("role", "owner"), ("timezone", "Mars/Base"), ("email", "not an address")],
)
def test_bad_input_is_a_422_naming_the_field_and_creates_no_one(client, as_admin, session, field, value):
    before = user_count(session)
    response = client.post("/api/v1/users", headers=as_admin, json=new_user(**{field: value}))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert user_count(session) == before


def test_viewers_and_editors_get_403_on_every_user_operation_and_nothing_changes(
    client, viewer, editor, admin, token_for, session
):
    as_admin = token_for(admin)
    calls = [
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users", new_user()),
        ("get", f"/api/v1/users/{admin.id}", None),
        ("patch", f"/api/v1/users/{admin.id}", {"role": "viewer"}),
        ("post", f"/api/v1/users/{admin.id}/disable", None),
        ("post", f"/api/v1/users/{admin.id}/enable", None),
        ("post", f"/api/v1/users/{admin.id}/tokens", None),
        ("get", f"/api/v1/users/{admin.id}/tokens", None),
        ("post", f"/api/v1/users/{admin.id}/tokens/{admin_token_id(session, admin)}/revoke", None),
    ]
    before = user_count(session)
    for user in (viewer, editor):
        headers = token_for(user)
        for method, path, body in calls:
            response = getattr(client, method)(path, headers=headers, json=body)
            assert response.status_code == 403, (user.role, method, path)
            assert response.get_json()["error"]["code"] == "forbidden"
    session.expire_all()
    assert user_count(session) == before
    assert (admin.role, admin.is_active) == (Role.admin, True)
    assert client.get("/api/v1/me", headers=as_admin).status_code == 200  # its token was not revoked


def test_an_admin_lists_and_reads_users_without_any_secret(client, as_admin, admin, viewer):
    page = client.get("/api/v1/users", headers=as_admin).get_json()
    assert page["total"] == 2
    assert sorted(item["email"] for item in page["items"]) == sorted([admin.email, viewer.email])
    one = client.get(f"/api/v1/users/{viewer.id}", headers=as_admin).get_json()
    assert (one["name"], one["role"]) == ("Victor Viewer", "viewer")
    for item in [*page["items"], one]:
        assert not set(SECRETS) & set(item)
    assert client.get("/api/v1/users/999999", headers=as_admin).status_code == 404


def test_an_admin_changes_role_name_and_time_zone(client, as_admin, viewer, token_for, session):
    response = client.patch(
        f"/api/v1/users/{viewer.id}",
        headers=as_admin,
        json={"role": "editor", "name": " Victor V ", "timezone": "America/New_York"},
    )
    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["role"], changed["name"], changed["timezone"]) == (
        "editor",
        "Victor V",
        "America/New_York",
    )
    # The promotion applies to the viewer's existing token at once.
    assert client.post("/api/v1/vendors", headers=token_for(viewer), json={"name": "Acme"}).status_code == 201
    back = client.patch(f"/api/v1/users/{viewer.id}", headers=as_admin, json={"timezone": None})
    assert back.get_json()["timezone"] is None


def test_the_last_admin_cannot_be_demoted(client, as_admin, admin, session):
    response = client.patch(f"/api/v1/users/{admin.id}", headers=as_admin, json={"role": "viewer"})
    assert response.status_code == 422
    assert "role" in response.get_json()["error"]["fields"]
    session.expire_all()
    assert admin.role == Role.admin


def test_an_admin_cannot_disable_themselves(client, as_admin, admin, session):
    response = client.post(f"/api/v1/users/{admin.id}/disable", headers=as_admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["user"] == ["You cannot disable your own account."]
    session.expire_all()
    assert admin.is_active
    assert client.get("/api/v1/me", headers=as_admin).status_code == 200


def test_disabling_stops_a_users_token_and_enabling_brings_it_back(client, as_admin, editor, token_for):
    headers = token_for(editor)
    disabled = client.post(f"/api/v1/users/{editor.id}/disable", headers=as_admin)
    assert disabled.status_code == 200
    assert (disabled.get_json()["is_active"], disabled.get_json()["disabled_at"]) == (False, NOW.isoformat())
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    enabled = client.post(f"/api/v1/users/{editor.id}/enable", headers=as_admin)
    assert enabled.get_json()["is_active"] is True
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_token_issued_through_the_api_works_for_that_user(client, as_admin, viewer):
    response = client.post(f"/api/v1/users/{viewer.id}/tokens", headers=as_admin)
    assert response.status_code == 201
    issued = response.get_json()
    assert issued["user_id"] == viewer.id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == viewer.email


def admin_token_id(session, admin) -> int:
    return session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == admin.id)).first()


def test_an_admin_lists_a_users_tokens_newest_first_without_any_secret(client, as_admin, viewer, token_for):
    first = token_for(viewer)
    second = client.post(f"/api/v1/users/{viewer.id}/tokens", headers=as_admin).get_json()

    response = client.get(f"/api/v1/users/{viewer.id}/tokens", headers=as_admin)

    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 2
    assert [t["is_revoked"] for t in page["items"]] == [False, False]
    assert page["items"][0]["created_at"] == NOW.isoformat()
    assert all(t["user_id"] == viewer.id and t["last_used_at"] is None for t in page["items"])
    body = response.get_data(as_text=True)
    assert second["token"] not in body and first["Authorization"].split()[1] not in body
    assert not {"token", "token_hash", "secret"} & set(page["items"][0])


def test_a_revoked_token_stops_working_at_once_and_revoking_again_is_harmless(
    client, as_admin, viewer, token_for, session
):
    headers = token_for(viewer)
    kept = token_for(viewer)
    token_id = session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == viewer.id)).first()
    url = f"/api/v1/users/{viewer.id}/tokens/{token_id}/revoke"

    revoked = client.post(url, headers=as_admin)

    assert revoked.status_code == 200
    assert (revoked.get_json()["revoked_at"], revoked.get_json()["is_revoked"]) == (NOW.isoformat(), True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=kept).status_code == 200  # only that one token
    again = client.post(url, headers=as_admin)
    assert again.status_code == 200 and again.get_json()["revoked_at"] == NOW.isoformat()
    listed = client.get(f"/api/v1/users/{viewer.id}/tokens", headers=as_admin).get_json()["items"]
    assert sorted(t["is_revoked"] for t in listed) == [False, True]


def test_revoking_another_users_token_through_this_user_is_not_found(
    client, as_admin, viewer, editor, token_for, session
):
    headers = token_for(editor)
    token_id = session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == editor.id)).one()

    response = client.post(f"/api/v1/users/{viewer.id}/tokens/{token_id}/revoke", headers=as_admin)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post(f"/api/v1/users/{viewer.id}/tokens/999999/revoke", headers=as_admin).status_code == 404


def test_revoke_token_keeps_the_first_moment(session, viewer):
    token_secret = issue_token(session, viewer, now=NOW)
    token = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == viewer.id)).one()

    revoke_token(session, token, NOW)
    revoke_token(session, token, NOW + timedelta(hours=1))

    assert token.revoked_at == NOW
    assert user_for_token(session, token_secret) is None


def test_the_export_returns_every_vendor_contact_commitment_and_event(
    client, admin, editor, token_for, make_vendor, session
):
    vendor = make_vendor("Łódź Supplies", category="IT")
    ledger.log_commitment(
        session, vendor=vendor, kind=Kind.promise, title="Send the quote", actor=editor, now=NOW, due_at=NOW
    )
    session.commit()
    client.post(f"/api/v1/vendors/{vendor.id}/contacts", headers=token_for(editor), json={"name": "Jan"})
    response = client.get("/api/v1/export/ledger", headers=token_for(admin))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["exported_at"] == NOW.isoformat()
    assert [v["name"] for v in document["vendors"]] == ["Łódź Supplies"]
    assert [c["name"] for c in document["contacts"]] == ["Jan"]
    assert [(c["title"], c["owner_email"]) for c in document["commitments"]] == [
        ("Send the quote", editor.email)
    ]
    assert [e["action"] for e in document["events"]] == ["created"]


def test_the_export_needs_a_token(client):
    assert client.get("/api/v1/export/ledger").status_code == 401
