"""Passwords: long enough and hard enough to guess, however they are set, refused with the reason why."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from config import ConfigError, DevelopmentConfig
from tests.conftest import PASSWORD
from vendortrack.accounts import find_user, password_matches
from vendortrack.models import Role, User

TEN_SPACES = " " * 10
REPEATED = "Too easy to guess: repeated characters or words"
COMMON = "Too easy to guess: this is one of the most common passwords."
PERSONAL = "Too easy to guess: it contains your name or email address."
# What zxcvbn itself says, in English whatever the reader's language: never shown.
ZXCVBN_WORDS = ("Repeats like", "This is a top-10", "very common password", "Add another word or two. ")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def user_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


def change_password(client, user: User, new: str):
    client.login(user)
    return client.submit(
        "/auth/profile",
        {"name": user.name, "timezone": "", "current_password": PASSWORD, "new_password": new},
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (TEN_SPACES, REPEATED),
        ("password123", COMMON),
        ("asdfghjkl;", "Too easy to guess: rows and patterns of keys"),
        ("abcdefghijkl", "Too easy to guess: sequences, such as abc or 6543"),
        ("sunshine1990", "Too easy to guess: this is one of the most common passwords."),
    ],
)
def test_a_guessable_password_is_refused_on_the_profile_saying_why_and_the_old_one_still_works(
    client, session, editor, password, reason
):
    response = change_password(client, editor, password)

    assert response.status_code == 400
    text = page(response)
    assert reason in text
    assert not any(words in text for words in ZXCVBN_WORDS)
    session.refresh(editor)
    assert password_matches(editor, PASSWORD) and not password_matches(editor, password)


def test_a_short_password_is_refused_with_the_length_the_installation_asks_for(client, app, editor):
    app.config["VENDORTRACK_PASSWORD_MIN_LENGTH"] = 24

    refused = change_password(client, editor, PASSWORD)  # 21 characters, and hard to guess

    assert refused.status_code == 400
    assert "Use at least 24 characters." in page(refused)
    assert "At least 24 characters, and hard to guess." in page(client.get("/auth/profile"))


def test_a_strong_password_is_accepted_and_signs_in(app, client, session, editor):
    assert change_password(client, editor, "Mossy granite teapot").status_code == 302
    session.refresh(editor)
    assert password_matches(editor, "Mossy granite teapot")


def test_the_users_own_name_and_email_count_against_their_password(client, session, make_user):
    zofia = make_user(Role.editor, email="zofia.kowalczyk@example.test", name="Zofia Kowalczyk")
    other = make_user(Role.editor, name="Edith Editor")

    refused = change_password(client, zofia, "ZofiaKowalczyk")

    assert refused.status_code == 400
    assert PERSONAL in page(refused)
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    assert change_password(client, other, "ZofiaKowalczyk").status_code == 302


def test_the_minimum_score_is_a_setting(client, app, editor):
    # "another password" scores 3 of zxcvbn's 4: enough by default, not when 4 is asked for.
    app.config["VENDORTRACK_PASSWORD_MIN_SCORE"] = 4

    refused = change_password(client, editor, "another password")

    assert refused.status_code == 400
    assert "Too easy to guess" in page(refused)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("VENDORTRACK_PASSWORD_MIN_SCORE", "5"),
        ("VENDORTRACK_PASSWORD_MIN_SCORE", "-1"),
        ("VENDORTRACK_PASSWORD_MIN_LENGTH", "4"),
        ("VENDORTRACK_PASSWORD_MIN_LENGTH", "ten"),
    ],
)
def test_a_password_setting_out_of_range_stops_the_start_naming_it(tmp_path, setting, value):
    with pytest.raises(ConfigError, match=setting):
        DevelopmentConfig({setting: value}, instance_path=tmp_path)


def test_the_refusal_is_in_the_users_language_and_never_zxcvbns_english(client, session, make_user):
    polish = make_user(Role.editor)
    polish.locale = "pl"
    session.commit()

    short = change_password(client, polish, "krótkie")
    guessable = client.submit(
        "/auth/profile",
        {
            "name": "",
            "timezone": "",
            "locale": "pl",
            "current_password": PASSWORD,
            "new_password": TEN_SPACES,
        },
    )

    assert "Użyj co najmniej 10 znaków." in page(short)
    assert guessable.status_code == 400
    assert not any(words in page(guessable) for words in ZXCVBN_WORDS)


# -- every other way a password is set -------------------------------------------------------------


def test_an_admin_cannot_invite_a_user_with_a_guessable_password(client, session, admin):
    client.login(admin)
    before = user_count(session)

    response = client.submit(
        "/admin/users/invite",
        {"email": "new@example.test", "name": "", "role": "viewer", "password": "password123"},
    )

    assert response.status_code == 400
    assert COMMON in page(response)
    assert user_count(session) == before


def test_the_api_refuses_a_guessable_password_with_a_422_naming_it(
    client, session, admin, token_for, api_clock_at_now
):
    before = user_count(session)

    response = client.post(
        "/api/v1/users",
        headers=token_for(admin),
        json={"email": "new@example.test", "role": "viewer", "password": "password123"},
    )

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"]["password"] == [f"{COMMON} Add another word or two; uncommon words are better."]
    assert user_count(session) == before


@pytest.fixture
def flask_cli(app):
    runner = app.test_cli_runner()
    return lambda *args, input=None: runner.invoke(args=list(args), input=input)


def test_the_cli_refuses_a_guessable_password_when_creating_a_user(flask_cli, session):
    result = flask_cli(
        "users", "create", "new@example.test", "--role", "viewer", "--password-stdin", input=TEN_SPACES + "\n"
    )

    assert result.exit_code != 0
    assert f"password: {REPEATED}" in result.output
    assert find_user(session, "new@example.test") is None


def test_the_cli_refuses_a_guessable_password_when_setting_one(flask_cli, session, editor):
    result = flask_cli("users", "set-password", editor.email, "--password-stdin", input="password123\n")

    assert result.exit_code != 0
    assert f"password: {COMMON}" in result.output
    session.refresh(editor)
    assert password_matches(editor, PASSWORD)
