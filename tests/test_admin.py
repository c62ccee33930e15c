"""The admin's user management: list, invite, change a role, disable and enable."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, PASSWORD
from vendortrack.accounts import disable_account
from vendortrack.models import Role, User
from vendortrack.templating import local
from vendortrack.validation import InvalidInput


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def row(text: str, user: User) -> str:
    """The user's row in the list, as HTML."""
    start = text.index(f'<tr id="user-{user.id}">')
    return text[start : text.index("</tr>", start)]


def user_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


@pytest.fixture
def admin_client(client, admin):
    client.login(admin)
    return client


def test_admin_sees_every_user_with_role_time_zone_and_state(app, admin_client, make_user, session):
    eve = make_user(Role.editor, email="eve@example.test", name="Eve Editor", timezone="Europe/Warsaw")
    gone = make_user(Role.viewer, email="gone@example.test")
    gone.disabled_at = NOW
    session.commit()

    text = page(admin_client.get("/admin/users"))

    eve_row, gone_row = row(text, eve), row(text, gone)
    assert "eve@example.test" in eve_row and "Eve Editor" in eve_row
    assert '<option selected value="editor">' in eve_row
    assert "Europe/Warsaw" in eve_row
    with app.test_request_context():
        assert local(NOW, "short") in eve_row  # when the account was created
    assert "Active" in eve_row and ">Disable<" in eve_row
    assert "Default (UTC)" in gone_row  # no zone of their own: the installation's
    assert "Disabled" in gone_row and ">Enable<" in gone_row


@pytest.mark.parametrize("role", [Role.editor, Role.viewer])
def test_only_admins_see_the_user_list(client, make_user, role):
    client.login(make_user(role))
    assert client.get("/admin/users").status_code == 403


def test_invited_user_can_sign_in_with_the_password_the_admin_set(admin_client, app, session):
    response = admin_client.submit(
        "/admin/users/invite",
        {
            "email": "New.Person@Example.test",
            "name": "New Person",
            "role": "editor",
            "password": "a first password",
        },
    )

    assert response.status_code == 302
    assert "new.person@example.test can now sign in" in page(admin_client.get("/admin/users"))
    invited = session.scalar(sa.select(User).where(User.email == "new.person@example.test"))
    assert invited.role == Role.editor and invited.name == "New Person"
    newcomer = app.test_client()
    assert (
        newcomer.submit(
            "/auth/login", {"email": "new.person@example.test", "password": "a first password"}
        ).status_code
        == 302
    )


def test_invite_of_a_taken_email_keeps_what_was_typed_and_adds_no_one(admin_client, editor, session):
    before = user_count(session)

    response = admin_client.submit(
        "/admin/users/invite",
        {
            "email": editor.email,
            "name": "Second Edith",
            "role": "viewer",
            "password": "long enough pw",
        },
    )

    assert response.status_code == 400
    text = page(response)
    assert "A user with this email already exists." in text
    assert 'value="Second Edith"' in text and f'value="{editor.email}"' in text
    assert user_count(session) == before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"password": "short"}, "Use at least 10 characters."),
        ({"email": "not an address"}, "Enter a valid email address."),
        ({"role": "owner"}, "Not a valid choice."),
        ({"email": ""}, "This field is required."),
    ],
)
def test_invite_with_a_bad_field_is_refused_with_its_message(admin_client, session, values, message):
    before = user_count(session)
    data = {
        "email": "someone@example.test",
        "name": "Some One",
        "role": "viewer",
        "password": "long enough pw",
    } | values

    response = admin_client.submit("/admin/users/invite", data)

    assert response.status_code == 400
    assert message in page(response)
    assert user_count(session) == before


def test_admin_changes_a_role(admin_client, viewer, session):
    response = admin_client.submit(f"/admin/users/{viewer.id}/role", {"role": "editor"})

    assert response.status_code == 302
    assert "is now: Editor." in page(admin_client.get("/admin/users"))
    session.refresh(viewer)
    assert viewer.role == Role.editor


def test_an_unknown_role_is_refused_on_the_row(admin_client, viewer, session):
    response = admin_client.submit(f"/admin/users/{viewer.id}/role", {"role": "owner"})

    assert response.status_code == 400
    assert "Not a valid choice." in page(response)
    session.refresh(viewer)
    assert viewer.role == Role.viewer


def test_the_last_active_admin_cannot_demote_themselves(admin_client, admin, session):
    response = admin_client.submit(f"/admin/users/{admin.id}/role", {"role": "viewer"})

    assert response.status_code == 400
    assert "is the last active admin" in page(response)
    session.refresh(admin)
    assert admin.role == Role.admin


def test_an_admin_may_step_down_while_another_admin_remains(admin_client, admin, make_user, session):
    make_user(Role.admin)

    response = admin_client.submit(f"/admin/users/{admin.id}/role", {"role": "editor"})

    assert response.headers["Location"] == "/"  # the user list is no longer theirs to see
    session.refresh(admin)
    assert admin.role == Role.editor


def test_a_disabled_admin_does_not_count_as_the_other_admin(admin_client, admin, make_user, session):
    other = make_user(Role.admin)
    admin_client.submit(f"/admin/users/{other.id}/disable")

    response = admin_client.submit(f"/admin/users/{admin.id}/role", {"role": "viewer"})

    assert response.status_code == 400
    session.refresh(admin)
    assert admin.role == Role.admin


def test_an_admin_cannot_disable_themselves(admin_client, admin, make_user, session):
    make_user(Role.admin)  # even with another admin to take over

    response = admin_client.submit(f"/admin/users/{admin.id}/disable")

    assert response.status_code == 400
    assert "You cannot disable your own account." in page(response)
    session.refresh(admin)
    assert admin.is_active
    list_page = admin_client.get("/admin/users")
    assert list_page.status_code == 200
    assert ">Disable<" not in row(page(list_page), admin)  # no button to lock oneself out


def test_the_last_active_admin_cannot_be_disabled(session, admin, editor):
    # Through the pages the actor is itself an admin, so this guards other callers (the CLI).
    with pytest.raises(InvalidInput, match="last active admin"):
        disable_account(session, admin, actor=editor, now=NOW)
    assert admin.is_active


def test_disabled_user_is_signed_out_and_can_come_back_when_enabled(admin_client, app, editor, session):
    editor_client = app.test_client()
    editor_client.login(editor)

    response = admin_client.submit(f"/admin/users/{editor.id}/disable")

    assert response.status_code == 302
    assert "is disabled and signed out everywhere" in page(admin_client.get("/admin/users"))
    assert editor_client.get("/vendors/").headers["Location"].startswith("/auth/login")
    assert editor_client.login(editor).status_code == 401

    admin_client.submit(f"/admin/users/{editor.id}/enable")

    assert "can sign in again" in page(admin_client.get("/admin/users"))
    assert editor_client.login(editor).status_code == 302


@pytest.mark.parametrize("action", ["role", "disable", "enable"])
def test_an_unknown_user_id_is_not_found(admin_client, action):
    assert admin_client.submit(f"/admin/users/999999/{action}", {"role": "viewer"}).status_code == 404


def test_password_is_not_echoed_back_on_a_refused_invite(admin_client):
    response = admin_client.submit(
        "/admin/users/invite",
        {
            "email": "bad",
            "name": "",
            "role": "viewer",
            "password": PASSWORD,
        },
    )

    assert response.status_code == 400
    assert PASSWORD not in page(response)
