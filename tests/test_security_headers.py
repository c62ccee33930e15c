"""Every response carries the security headers, error responses included; production adds HSTS and hosts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask

from config import ProductionConfig
from tests.conftest import WebClient
from vendortrack import create_app
from vendortrack.extensions import db
from vendortrack.models import User
from vendortrack.throttle import record_attempt
from vendortrack.timeutil import utcnow

PRODUCTION_HOST = "vendors.example.com"
pytestmark = pytest.mark.own_app  # the site plants routes that crash, on an app no other test shares


def assert_secured(response) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"


@dataclass
class Site:
    app: Flask
    viewer: User
    editor: User
    api_headers: Callable[[User], dict[str, str]]

    def browser(self, user: User | None = None) -> WebClient:
        self.app.test_client_class = WebClient
        browser = self.app.test_client()
        if user is not None:
            assert browser.login(user).status_code == 302
        return browser


@pytest.fixture
def site(app, session, viewer, editor, token_for) -> Site:
    def bug():
        raise RuntimeError("a bug nobody caught")

    # Planted before the first request, as Flask requires: a page and an API route that crash.
    app.add_url_rule("/bug", "bug", bug)
    app.add_url_rule("/api/v1/bug", "api_bug", bug)
    return Site(app, viewer, editor, token_for)


def throttled_sign_in(site: Site):
    for _ in range(5):
        record_attempt(db.session, site.editor.email, "127.0.0.1", utcnow(), succeeded=False)
    db.session.commit()
    return site.browser().login(site.editor)


CASES: dict[str, tuple[int, Callable[[Site], object]]] = {
    "the sign-in page": (200, lambda s: s.browser().get("/auth/login")),
    "a page sending a visitor to sign in": (302, lambda s: s.browser().get("/vendors/")),
    "a wrong password": (
        401,
        lambda s: s.browser().submit(
            "/auth/login", {"email": s.editor.email, "password": "not the password"}
        ),
    ),
    "a page that does not exist": (404, lambda s: s.browser().get("/no-such-page")),
    "a method the page does not take": (405, lambda s: s.browser().get("/auth/logout")),
    "a form without its CSRF token": (400, lambda s: s.browser(s.editor).post("/auth/logout")),
    "a write the role does not allow": (
        403,
        lambda s: s.browser(s.viewer).submit(f"/admin/users/{s.editor.id}/disable"),
    ),
    "too many sign-in attempts": (429, throttled_sign_in),
    "a page that crashes": (500, lambda s: s.browser().get("/bug")),
    "the API without a token": (401, lambda s: s.browser().get("/api/v1/me")),
    "the API refusing a viewer's write": (
        403,
        lambda s: s.browser().post("/api/v1/vendors", json={"name": "Acme"}, headers=s.api_headers(s.viewer)),
    ),
    "the API for a row that does not exist": (
        404,
        lambda s: s.browser().get("/api/v1/vendors/999999", headers=s.api_headers(s.editor)),
    ),
    "the API with invalid fields": (
        422,
        lambda s: s.browser().post("/api/v1/vendors", json={}, headers=s.api_headers(s.editor)),
    ),
    "an API route that crashes": (500, lambda s: s.browser().get("/api/v1/bug")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_response_carries_the_security_headers(site, case):
    status, request = CASES[case]

    response = request(site)

    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert_secured(response)
    assert "Strict-Transport-Security" not in response.headers  # not over the embedded default's HTTP


def test_a_crash_shows_a_page_that_gives_nothing_away(site):
    response = site.browser().get("/bug")

    assert response.status_code == 500
    assert "a bug nobody caught" not in response.get_data(as_text=True)
    assert site.browser().get("/api/v1/bug").get_json()["error"]["code"] == "error"


# -- production ------------------------------------------------------------------------------------


@pytest.fixture
def production(database_url, tmp_path):
    config = ProductionConfig(
        {
            "SECRET_KEY": "production-" + "x" * 40,
            "DATABASE_URL": database_url,
            "VENDORTRACK_TRUSTED_HOSTS": PRODUCTION_HOST,
        },
        instance_path=tmp_path,
    )
    app = create_app(config)
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("path", "status"), [("/auth/login", 200), ("/no-such-page", 404), ("/api/v1/me", 401)]
)
def test_production_tells_browsers_to_use_https_only(production, path, status):
    response = production.get(path, base_url=f"https://{PRODUCTION_HOST}")

    assert response.status_code == status
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_secured(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_production_refuses_a_host_it_does_not_serve(production, method):
    response = production.open("/auth/login", method=method, base_url="https://evil.example.net")

    assert response.status_code == 400
    assert response.get_data(as_text=True) == "This server does not answer to that host name."
    assert_secured(response)


def test_production_refuses_a_foreign_host_on_the_api_in_json(production):
    response = production.get("/api/v1/me", base_url="https://evil.example.net")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert_secured(response)


def test_a_trusted_host_may_name_its_port(production):
    response = production.get("/auth/login", base_url=f"https://{PRODUCTION_HOST}:8443")

    assert response.status_code == 200
