"""The digest's unsubscribe link: a secret of the user's own that works once, names no one, and dies
with the account's address or the account itself."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app
from itsdangerous import URLSafeSerializer

from tests.conftest import NOW
from vendortrack import accounts, digest, jobs, mail
from vendortrack.models import MailKind, OutboxMessage, Role, User

GONE = "This link no longer works"


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def subscriber(make_user) -> User:
    return make_user(Role.viewer, name="Sue Scriber")


def link_of(user: User) -> str:
    with current_app.test_request_context():
        return urlsplit(digest.unsubscribe_url(user)).path


def digest_link(app, session, user: User, now: datetime = NOW) -> str:
    """The unsubscribe link in the digest the job queues for the user at `now`, subscribed again."""
    session.refresh(user)
    user.digest_enabled, user.digest_next_at = True, now
    session.commit()
    with mail.mail_context(app):
        jobs.send_digests(session, now, app.config)
    message = session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.kind == MailKind.digest)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return urlsplit(message.headers["List-Unsubscribe"].strip("<>")).path


def test_the_link_asks_first_then_turns_the_digest_off_and_neither_page_shows_the_address(
    session, subscriber, client
):
    url = link_of(subscriber)

    asked = client.get(url)
    session.refresh(subscriber)
    assert asked.status_code == 200
    assert "Stop the weekly digest?" in page(asked)
    assert subscriber.email not in page(asked)
    assert subscriber.digest_enabled is True  # a link scanner opening it changes nothing

    done = client.post(url)
    session.refresh(subscriber)
    assert done.status_code == 200
    assert "You will no longer receive the weekly digest." in page(done)
    assert subscriber.email not in page(done)
    assert subscriber.digest_enabled is False


def test_a_used_link_no_longer_works_and_the_next_digest_brings_a_new_one(app, session, subscriber, client):
    used = digest_link(app, session, subscriber)
    assert client.post(used).status_code == 200

    for response in (client.get(used), client.post(used)):
        assert response.status_code == 404
        assert GONE in page(response)

    # Subscribed again on the profile, the next digest carries a link of its own, which works.
    fresh = digest_link(app, session, subscriber, NOW + timedelta(days=7))
    assert fresh != used
    assert client.post(fresh).status_code == 200
    session.refresh(subscriber)
    assert subscriber.digest_enabled is False


def test_each_user_has_a_random_link_of_their_own(session, make_user):
    first, second = make_user(Role.viewer), make_user(Role.viewer)

    assert link_of(first) != link_of(second)
    assert len(first.unsubscribe_secret) >= 43  # 256 random bits, not the user's id signed


def test_a_disabled_users_link_is_refused_and_changes_nothing(session, subscriber, admin, client):
    url = link_of(subscriber)
    accounts.disable_account(session, subscriber, actor=admin, now=NOW)
    session.commit()

    asked, posted = client.get(url), client.post(url)

    assert asked.status_code == posted.status_code == 404
    assert GONE in page(asked) and subscriber.email not in page(asked)
    session.refresh(subscriber)
    assert subscriber.digest_enabled is True


def test_a_new_email_address_makes_the_old_link_stop_working(session, subscriber, client):
    old = link_of(subscriber)

    subscriber.email = "sue.new@example.test"
    session.commit()

    assert client.post(old).status_code == 404
    session.refresh(subscriber)
    assert subscriber.digest_enabled is True
    assert client.post(link_of(subscriber)).status_code == 200


def test_the_same_address_set_again_keeps_the_link(session, subscriber):
    before = link_of(subscriber)

    subscriber.email = subscriber.email
    session.commit()

    assert link_of(subscriber) == before


def test_a_link_signed_the_old_way_with_the_users_id_no_longer_works(app, session, subscriber, client):
    old_style = URLSafeSerializer(app.config["SECRET_KEY"], salt="digest-unsubscribe").dumps(
        {"user": subscriber.id}
    )

    assert client.get(f"/unsubscribe/{old_style}").status_code == 404
    assert client.post(f"/unsubscribe/{old_style}").status_code == 404
    session.refresh(subscriber)
    assert subscriber.digest_enabled is True


@pytest.mark.parametrize("secret", ["not-a-secret", "%00", "a.b", "x" * 300, "%F0%9F%98%80", "..%2F"])
def test_a_made_up_link_is_not_found_and_changes_nothing(session, subscriber, client, secret):
    for response in (client.get(f"/unsubscribe/{secret}"), client.post(f"/unsubscribe/{secret}")):
        assert response.status_code == 404
    session.refresh(subscriber)
    assert subscriber.digest_enabled is True
