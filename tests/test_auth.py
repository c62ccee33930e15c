"""Signing in and out, where sign-in may send you, and what ends a session."""

from __future__ import annotations

import html

import pytest

from tests.conftest import PASSWORD
from vendortrack.models import Role


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def is_sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def copy_of_the_session(app, browser):
    """Another browser replaying this one's session cookie, as someone who copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert thief.get("/vendors/").status_code == 200, "the copy works while the session lasts"
    return thief


def test_signing_in_lands_on_the_vendor_list(client, editor):
    response = client.submit(
        "/auth/login", {"email": editor.email, "password": PASSWORD}, follow_redirects=True
    )

    assert response.status_code == 200
    assert response.request.path == "/vendors/"
    assert "Edith Editor" in page(response)  # the nav names who is signed in


def test_sign_in_accepts_the_email_in_any_case(client, editor):
    response = client.submit("/auth/login", {"email": editor.email.upper(), "password": PASSWORD})

    assert response.status_code == 302


def test_unknown_email_and_wrong_password_look_the_same(client, editor):
    unknown = client.submit("/auth/login", {"email": "nobody@example.test", "password": PASSWORD})
    wrong = client.submit("/auth/login", {"email": editor.email, "password": "not the password"})

    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong email or password." in page(unknown)
    assert "Wrong email or password." in page(wrong)
    assert client.get("/vendors/").status_code == 302  # still signed out


def test_a_disabled_user_cannot_sign_in(client, admin, editor, app):
    admin_client = app.test_client()
    admin_client.login(admin)
    admin_client.submit(f"/admin/users/{editor.id}/disable")

    response = client.login(editor)

    assert response.status_code == 401
    assert "Wrong email or password." in page(response)
    assert is_sent_to_sign_in(client.get("/vendors/"))


def test_next_is_followed_when_it_is_a_local_path(client, editor):
    response = client.submit(
        "/auth/login",
        {"email": editor.email, "password": PASSWORD},
        query_string={"next": "/commitments/?status=open"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/commitments/?status=open"


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test", "/\\evil.test", "javascript:alert(1)"]
)
def test_next_pointing_elsewhere_is_ignored(client, editor, target):
    response = client.submit(
        "/auth/login", {"email": editor.email, "password": PASSWORD}, query_string={"next": target}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Signed in already, the login page redirects too: the same rule holds.
    again = client.get("/auth/login", query_string={"next": target})
    assert again.headers["Location"] == "/"


def test_sign_out_is_a_post_with_a_csrf_token(client, editor):
    client.login(editor)

    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400  # no token: a forged link cannot sign you out
    assert client.get("/vendors/").status_code == 200

    response = client.submit("/auth/logout")

    assert is_sent_to_sign_in(response)
    assert is_sent_to_sign_in(client.get("/vendors/"))


def test_changing_the_password_signs_out_every_other_session(app, client, editor):
    laptop, phone = client, app.test_client()
    laptop.login(editor)
    phone.login(editor)

    response = laptop.submit(
        "/auth/profile",
        {
            "name": editor.name,
            "timezone": "",
            "current_password": PASSWORD,
            "new_password": "a brand new password",
        },
    )

    assert response.status_code == 302
    assert laptop.get("/vendors/").status_code == 200  # the browser that changed it stays in
    assert is_sent_to_sign_in(phone.get("/vendors/"))
    assert phone.login(editor).status_code == 401  # the old password is gone
    assert phone.login(editor, "a brand new password").status_code == 302


def test_a_wrong_current_password_changes_nothing(client, editor):
    client.login(editor)

    response = client.submit(
        "/auth/profile",
        {
            "name": editor.name,
            "timezone": "",
            "current_password": "not the password",
            "new_password": "a brand new password",
        },
    )

    assert response.status_code == 400
    assert "Your current password is wrong." in page(response)
    client.submit("/auth/logout")
    assert client.login(editor).status_code == 302  # the old password still works


def test_disabling_a_user_signs_them_out_at_once(app, client, admin, editor):
    client.login(editor)
    assert client.get("/vendors/").status_code == 200
    admin_client = app.test_client()
    admin_client.login(admin)

    admin_client.submit(f"/admin/users/{editor.id}/disable")

    assert is_sent_to_sign_in(client.get("/vendors/"))


def test_a_copied_session_cookie_stops_working_after_sign_out(app, client, editor):
    client.login(editor)
    thief = copy_of_the_session(app, client)

    client.submit("/auth/logout")

    assert is_sent_to_sign_in(thief.get("/vendors/"))


def test_signing_out_ends_the_users_other_sessions_too(app, client, editor):
    # Flask-Login keeps one token per user, so ending one session for real ends them all.
    laptop, phone = client, app.test_client()
    laptop.login(editor)
    phone.login(editor)

    laptop.submit("/auth/logout")

    assert is_sent_to_sign_in(phone.get("/vendors/"))
    assert phone.login(editor).status_code == 302  # signing in again works at once


def test_a_copied_session_cookie_stops_working_after_a_password_change(app, client, editor):
    client.login(editor)
    thief = copy_of_the_session(app, client)

    response = client.submit(
        "/auth/profile",
        {
            "name": editor.name,
            "timezone": "",
            "locale": "",
            "current_password": PASSWORD,
            "new_password": "a brand new password",
        },
    )

    assert response.status_code == 302
    assert is_sent_to_sign_in(thief.get("/vendors/"))


def test_a_copied_session_cookie_stops_working_once_the_user_is_disabled_and_after(
    app, client, admin, editor
):
    client.login(editor)
    thief = copy_of_the_session(app, client)
    admin_client = app.test_client()
    admin_client.login(admin)

    admin_client.submit(f"/admin/users/{editor.id}/disable")
    assert is_sent_to_sign_in(thief.get("/vendors/"))

    admin_client.submit(f"/admin/users/{editor.id}/enable")
    assert is_sent_to_sign_in(thief.get("/vendors/"))  # enabling lets them sign in, not the old cookie


def test_the_session_cookie_is_http_only_and_same_site_lax(client, editor):
    response = client.login(editor)

    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_a_time_zone_that_does_not_exist_is_refused(client, session, make_user):
    user = make_user(Role.viewer, timezone="Europe/Warsaw")
    client.login(user)

    response = client.submit("/auth/profile", {"name": "Victor", "timezone": "Mars/Olympus_Mons"})

    assert response.status_code == 400
    assert "Not a valid choice." in page(response)
    session.refresh(user)
    assert user.timezone == "Europe/Warsaw"
    assert user.name == ""


def test_a_time_zone_chosen_on_the_profile_is_kept(client, session, viewer):
    client.login(viewer)

    response = client.submit("/auth/profile", {"name": viewer.name, "timezone": "America/New_York"})

    assert response.status_code == 302
    session.refresh(viewer)
    assert viewer.timezone == "America/New_York"
