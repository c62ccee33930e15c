"""Sign-in throttling: too many failures for one account or from one address hold back the next try."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tests.conftest import NOW, PASSWORD, WebClient, make_app
from vendortrack.accounts import authenticate
from vendortrack.extensions import db
from vendortrack.models import LoginAttempt
from vendortrack.throttle import Limits, record_attempt, retry_after
from vendortrack.timeutil import utcnow

LIMITS = Limits(per_account=5, per_address=20, window=timedelta(minutes=15))
HOME, ELSEWHERE = "192.0.2.1", "198.51.100.7"
CLIENT_ADDRESS = "127.0.0.1"  # what the test client sends as REMOTE_ADDR


def fail(session, email: str, at, address: str = HOME, times: int = 1) -> None:
    for _ in range(times):
        record_attempt(session, email, address, at, succeeded=False)
    session.commit()


@contextmanager
def another_worker(database_url: str, instance, **settings: str) -> Iterator[WebClient]:
    """A browser on a second app instance over the same database, as another gunicorn worker is."""
    other = make_app(database_url, instance, **settings)
    other.test_client_class = WebClient
    try:
        yield other.test_client()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def wrong_password(client, email: str, **kwargs):
    return client.submit("/auth/login", {"email": email, "password": "not the password"}, **kwargs)


def sign_in_from(client, user, address: str):
    return client.submit(
        "/auth/login", {"email": user.email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": address}
    )


def seen_by_the_visitor(response, email: str) -> str:
    """The page without what differs by itself: the email typed, and the CSRF token's timestamp."""
    body = page(response).replace(email, "EMAIL")
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1TOKEN", body)


# -- the rule, called directly ---------------------------------------------------------------------


def test_five_failures_hold_back_the_sixth_try_for_that_email(session):
    fail(session, "ann@example.test", NOW - timedelta(minutes=10), times=4)
    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(0)

    fail(session, "ann@example.test", NOW - timedelta(minutes=10))

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(minutes=5)
    assert retry_after(session, "ann@example.test", ELSEWHERE, NOW, LIMITS) == timedelta(minutes=5)
    assert retry_after(session, "bob@example.test", HOME, NOW, LIMITS) == timedelta(0)


def test_the_email_counts_however_it_was_typed(session):
    fail(session, "  Ann@Example.TEST ", NOW, times=5)

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) > timedelta(0)


def test_the_wait_lasts_until_enough_failures_have_left_the_window(session):
    fail(session, "ann@example.test", NOW - timedelta(minutes=14))
    fail(session, "ann@example.test", NOW - timedelta(minutes=1), times=4)

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(minutes=1)
    assert retry_after(session, "ann@example.test", HOME, NOW + timedelta(minutes=1), LIMITS) == timedelta(0)


def test_failures_older_than_the_window_do_not_count(session):
    fail(session, "ann@example.test", NOW - timedelta(minutes=15), times=50)

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(0)


def test_a_success_forgives_the_account_its_earlier_failures_but_keeps_them(session):
    fail(session, "ann@example.test", NOW - timedelta(minutes=9), times=4)
    record_attempt(session, "ann@example.test", HOME, NOW - timedelta(minutes=8), succeeded=True)
    fail(session, "ann@example.test", NOW - timedelta(minutes=7), times=4)

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(0)
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 9

    fail(session, "ann@example.test", NOW - timedelta(minutes=6))

    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(minutes=8)


def test_an_address_that_tried_many_accounts_is_held_back_for_every_account(session):
    for n in range(20):
        fail(session, f"guess{n}@example.test", NOW - timedelta(minutes=3), address=ELSEWHERE)

    assert retry_after(session, "ann@example.test", ELSEWHERE, NOW, LIMITS) == timedelta(minutes=12)
    assert retry_after(session, "ann@example.test", HOME, NOW, LIMITS) == timedelta(0)


def test_a_success_does_not_forgive_an_address(session):
    fail(session, "guess@example.test", NOW - timedelta(minutes=5), address=ELSEWHERE, times=19)
    record_attempt(session, "mine@example.test", ELSEWHERE, NOW - timedelta(minutes=4), succeeded=True)
    fail(session, "other@example.test", NOW - timedelta(minutes=3), address=ELSEWHERE)

    assert retry_after(session, "third@example.test", ELSEWHERE, NOW, LIMITS) == timedelta(minutes=10)


def test_the_limits_come_from_the_settings(app, tmp_path, database_url):
    assert Limits.from_config(app.config) == LIMITS  # the defaults

    with another_worker(
        database_url,
        tmp_path / "strict",
        VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT="3",
        VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS="7",
        VENDORTRACK_LOGIN_WINDOW_MINUTES="60",
    ) as strict:
        assert Limits.from_config(strict.application.config) == Limits(3, 7, timedelta(hours=1))


@pytest.mark.parametrize("email", ["known", "nobody@example.test"])
def test_an_unknown_email_costs_the_same_argon2_work_as_a_known_one(session, editor, monkeypatch, email):
    verified, real_verify = [], PasswordHasher.verify

    def counted_verify(hasher, hashed: str, password: str) -> bool:
        verified.append(hashed)
        return real_verify(hasher, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted_verify)

    user = authenticate(session, editor.email if email == "known" else email, "not the password")

    assert user is None
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


# -- the sign-in page ------------------------------------------------------------------------------


def test_the_sixth_wrong_password_is_refused_with_429_and_the_right_one_too(client, editor):
    for _ in range(5):
        assert wrong_password(client, editor.email).status_code == 401

    refused = wrong_password(client, editor.email)
    correct = client.login(editor)  # the password is not even checked now

    for response in (refused, correct):
        assert response.status_code == 429
        assert "Too many sign-in attempts. Try again in 15 minutes." in page(response)
        assert 14 * 60 < int(response.headers["Retry-After"]) <= 15 * 60
    assert client.get("/vendors/").status_code == 302  # still signed out


def test_an_unknown_email_is_held_back_with_the_same_page(client, editor):
    for _ in range(5):
        wrong_password(client, editor.email)
        wrong_password(client, "nobody@example.test")

    known = wrong_password(client, editor.email)
    unknown = wrong_password(client, "nobody@example.test")

    assert known.status_code == unknown.status_code == 429
    assert seen_by_the_visitor(known, editor.email) == seen_by_the_visitor(unknown, "nobody@example.test")


def test_another_account_from_another_address_still_signs_in(client, editor, viewer):
    for _ in range(6):
        wrong_password(client, editor.email)

    response = sign_in_from(client, viewer, ELSEWHERE)

    assert response.status_code == 302
    assert client.get("/vendors/").status_code == 200


def test_an_address_that_tried_twenty_accounts_is_held_back(client, session, editor):
    for n in range(20):
        record_attempt(session, f"guess{n}@example.test", CLIENT_ADDRESS, utcnow(), succeeded=False)
    session.commit()

    assert client.login(editor).status_code == 429
    assert sign_in_from(client, editor, ELSEWHERE).status_code == 302


def test_sign_in_works_again_once_the_failures_have_left_the_window(client, session, editor):
    fail(session, editor.email, utcnow() - timedelta(minutes=14), address=CLIENT_ADDRESS, times=5)

    almost = client.login(editor)
    assert almost.status_code == 429
    assert "Too many sign-in attempts. Try again in 1 minute." in page(almost)

    session.execute(sa.update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
    session.commit()

    assert client.login(editor).status_code == 302


def test_every_attempt_is_kept_with_its_email_and_address(client, session, editor):
    wrong_password(client, editor.email.upper())
    client.login(editor)

    attempts = session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(a.email_key, a.address, a.succeeded) for a in attempts] == [
        (editor.email, CLIENT_ADDRESS, False),
        (editor.email, CLIENT_ADDRESS, True),
    ]


def test_the_throttle_holds_across_two_workers_sharing_a_database(client, editor, database_url, tmp_path):
    # Neither worker counts in memory: each sees the failures the other recorded.
    with another_worker(database_url, tmp_path / "second") as second:
        for attempt in range(5):
            worker = client if attempt % 2 == 0 else second
            assert wrong_password(worker, editor.email).status_code == 401

        assert second.login(editor).status_code == 429
        assert client.login(editor).status_code == 429


def recorded_addresses(session) -> list[str]:
    return list(session.scalars(sa.select(LoginAttempt.address).order_by(LoginAttempt.id)))


def test_without_a_proxy_a_forwarded_address_is_not_believed(client, session, editor):
    wrong_password(client, editor.email, headers={"X-Forwarded-For": "203.0.113.9"})

    assert recorded_addresses(session) == [CLIENT_ADDRESS]


def test_behind_a_proxy_the_address_is_the_one_it_forwarded(session, editor, database_url, tmp_path):
    with another_worker(database_url, tmp_path / "proxied", VENDORTRACK_PROXY_HOPS="1") as proxied:
        wrong_password(proxied, editor.email, headers={"X-Forwarded-For": "203.0.113.9"})

    assert recorded_addresses(session) == ["203.0.113.9"]
