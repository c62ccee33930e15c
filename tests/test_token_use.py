"""An API token's last use: written down at most once a minute, shown to its user and to admins, and
the tokens idle for 90 days listed for an admin to revoke."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack.accounts import issue_token
from vendortrack.extensions import db
from vendortrack.models import ApiToken, User
from vendortrack.templating import local
from vendortrack.timeutil import utcnow
from vendortrack.views.api import guard

WRITES = ("INSERT", "UPDATE", "DELETE")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


class Clock:
    """The API's one clock read, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(NOW)
    monkeypatch.setattr(guard, "utcnow", clock)
    return clock


@contextmanager
def writes_sent(engine: sa.Engine) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE the database is sent meanwhile, by any connection."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES):
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def token_row(session, user: User) -> ApiToken:
    session.expire_all()
    return session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).one()


def test_a_tokens_use_is_written_once_a_minute_and_a_second_request_within_it_writes_nothing(
    client, session, editor, auth, clock
):
    with writes_sent(db.engine) as first:
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert token_row(session, editor).last_used_at == NOW
    assert len(first) == 1 and "api_token" in first[0]

    clock.now = NOW + timedelta(seconds=59)
    with writes_sent(db.engine) as within:
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        assert client.get("/api/v1/vendors", headers=auth).status_code == 200
    assert within == []
    assert token_row(session, editor).last_used_at == NOW

    clock.now = NOW + timedelta(minutes=1)
    with writes_sent(db.engine) as after:
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert len(after) == 1
    assert token_row(session, editor).last_used_at == NOW + timedelta(minutes=1)


def test_a_write_through_the_api_also_counts_as_a_use(client, session, editor, auth, clock):
    response = client.post("/api/v1/vendors", headers=auth, json={"name": "Acme Plumbing"})

    assert response.status_code == 201
    assert token_row(session, editor).last_used_at == NOW


def test_a_refused_token_is_not_counted_as_used(client, session, editor, clock):
    secret = issue_token(session, editor, now=NOW)
    editor.disabled_at = NOW
    session.commit()

    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert token_row(session, editor).last_used_at is None


def test_the_api_token_list_shows_when_each_token_was_last_used(
    client, session, editor, admin, token_for, clock
):
    used = token_for(editor)
    issue_token(session, editor, now=NOW)  # never used
    session.commit()
    client.get("/api/v1/me", headers=used)
    clock.now = NOW + timedelta(hours=1)

    listed = client.get(f"/api/v1/users/{editor.id}/tokens", headers=token_for(admin)).get_json()["items"]

    last_uses = [item["last_used_at"] and datetime.fromisoformat(item["last_used_at"]) for item in listed]
    assert sorted(last_uses, key=bool) == [None, NOW]


def test_the_profile_lists_the_users_own_tokens_with_their_last_use(
    app, client, session, editor, auth, clock
):
    issue_token(session, editor, now=NOW - timedelta(days=1))
    session.commit()
    client.get("/api/v1/me", headers=auth)

    client.login(editor)
    text = page(client.get("/auth/profile"))

    section = text[text.index('id="api-tokens"') :]
    with app.test_request_context():
        used_at = local(NOW, "short")
    assert "Your API tokens" in section
    assert used_at in section and "Never" in section


def test_a_user_without_tokens_sees_no_token_list(client, editor):
    client.login(editor)

    assert 'id="api-tokens"' not in page(client.get("/auth/profile"))


# -- tokens idle for 90 days -----------------------------------------------------------------------


def token_made(
    session, user: User, *, made: timedelta, used: timedelta | None = None, revoked=False
) -> ApiToken:
    """A token made `made` ago (by the wall clock the admin's page reads), last used `used` ago."""
    now = utcnow()
    issue_token(session, user, now=now - made)
    token = session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).first()
    token.last_used_at = None if used is None else now - used
    token.revoked_at = now if revoked else None
    session.commit()
    return token


def unused_section(client) -> str:
    text = page(client.get("/admin/users"))
    start = text.index('id="unused-tokens"')
    return text[start : text.index("</section>", start)]


def test_an_admin_sees_the_live_tokens_unused_for_90_days(client, session, admin, editor, viewer):
    never_used = token_made(session, editor, made=timedelta(days=120))
    long_idle = token_made(session, viewer, made=timedelta(days=400), used=timedelta(days=91))
    recent = token_made(session, editor, made=timedelta(days=400), used=timedelta(days=89))
    new = token_made(session, viewer, made=timedelta(days=3))
    revoked = token_made(session, editor, made=timedelta(days=400), revoked=True)

    client.login(admin)
    section = unused_section(client)

    assert "API tokens unused for 90 days" in section
    for shown in (never_used, long_idle):
        assert f'id="token-{shown.id}"' in section
    for hidden in (recent, new, revoked):
        assert f'id="token-{hidden.id}"' not in section
    assert "Never" in section and editor.email in section and viewer.email in section
    # Longest idle first: the one last used 91 days ago was made long before the other.
    assert section.index(f'id="token-{long_idle.id}"') > section.index(f'id="token-{never_used.id}"')


def test_an_admin_revokes_an_idle_token_from_the_list_and_it_stops_working(client, session, admin, editor):
    idle = token_made(session, editor, made=timedelta(days=200))
    other = issue_token(session, editor, now=utcnow() - timedelta(days=200))  # theirs too, left alone
    session.commit()
    client.login(admin)

    response = client.submit(f"/admin/tokens/{idle.id}/revoke", follow_redirects=True)

    assert response.status_code == 200
    assert f"The API token of {editor.email} is revoked" in page(response)
    session.refresh(idle)
    assert idle.revoked_at is not None
    assert f'id="token-{idle.id}"' not in unused_section(client)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_revoking_a_token_that_does_not_exist_is_not_found(client, admin):
    client.login(admin)

    assert client.submit("/admin/tokens/999999/revoke").status_code == 404
    assert client.submit("/admin/tokens/99999999999999999999/revoke").status_code == 404


def test_an_admin_sees_when_no_token_has_been_idle_that_long(client, session, admin, editor):
    token_made(session, editor, made=timedelta(days=100), used=timedelta(minutes=5))
    client.login(admin)

    assert "None: no live API token has gone unused that long." in unused_section(client)
