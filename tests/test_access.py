"""Every route in the url_map refuses whoever must be refused, including routes added after this file.

The checks walk app.url_map at run time and fill each URL argument from real rows, so a new page or
API endpoint is guarded the day it is registered. Each check collects every offending route and
fails once, listing them all; the last test plants an unguarded route to show the walk catches it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, abort, request
from flask_login import login_required
from werkzeug.routing import AnyConverter, IntegerConverter, Map, Rule

from tests.conftest import NOW, WebClient
from vendortrack.extensions import csrf, db
from vendortrack.ledger import log_commitment, resolve_kept
from vendortrack.models import Kind, Role, User, Vendor
from vendortrack.permissions import editor_required
from vendortrack.vendors import add_contact

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The only routes open to anyone: the sign-in page, the digest's secret unsubscribe link (it works
# from a mail client, signed out), the calendar feed (its secret URL is the credential, and calendar
# apps sign in to nothing), a vendor contact's link page and its forms (its token is the credential:
# tests/test_vendor_link_page.py), the API's description, static files and the favicon.
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "digest.unsubscribe", "calendar.feed", "vendor_link.show", "vendor_link.act"}
)
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/favicon.ico"})
# Writes a viewer may make: signing in and out, their own name, time zone and password, and their
# own calendar feed (what it shows, a new secret address), and their own profile over the API.
SELF_SERVICE = frozenset(
    {"auth.login", "auth.logout", "auth.profile", "calendar.choose_scope", "calendar.new_secret", "api_me.me"}
)
# Writes exempt from CSRF because a secret in the URL authenticates them: RFC 8058's one-click
# unsubscribe is a POST from the mail client, which has no form to carry a CSRF token. A vendor's
# link page checks a form token of its own, as a vendor has no session (test_vendor_link_page.py).
TOKEN_AUTHENTICATED = frozenset({"digest.unsubscribe", "vendor_link.act"})
# Bookkeeping that even a refused request may touch; it is not a change to the ledger.
IGNORED_COLUMNS = frozenset({("api_token", "last_used_at")})
MISSING_ID = 999_999


@dataclass
class World:
    """Real rows for every kind of id a URL can carry, and a user of each role."""

    app: Flask
    ids: dict[str, int]
    viewer: User
    editor: User
    admin: User
    headers_for: Callable[[User], dict[str, str]]

    def client(self, user: User | None = None) -> WebClient:
        self.app.test_client_class = WebClient
        client = self.app.test_client()
        if user is not None:
            assert client.login(user).status_code == 302, f"{user.email} could not sign in"
        return client


@pytest.fixture
def world(app, session, make_vendor, viewer, editor, admin, token_for) -> World:
    vendor = make_vendor(name="Acme Plumbing")
    contact = add_contact(session, vendor, now=NOW, name="Jan Kowalski")
    due = NOW - timedelta(days=3)
    commitment = log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Send the quote",
        due_at=NOW + timedelta(days=2),
        actor=editor,
        now=NOW,
        contact=contact,
    )
    kept = log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title="Site visit",
        due_at=due,
        actor=editor,
        now=due - timedelta(days=1),
    )
    resolve_kept(session, kept, actor=editor, now=due, done_at=due)
    session.commit()
    ids = {
        "vendor": vendor.id,
        "contact": contact.id,
        "commitment": commitment.id,
        "user": editor.id,
        "event": commitment.events[0].id,
    }
    return World(app, ids, viewer, editor, admin, token_for)


def routes(app: Flask) -> list[Rule]:
    """Every rule but static files."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static")
    ]


def guarded_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in routes(app)
        if rule.endpoint not in PUBLIC_ENDPOINTS and rule.rule not in PUBLIC_PATHS
    ]


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def is_id(rule: Rule, name: str) -> bool:
    return isinstance(rule._converters[name], IntegerConverter)


def row_kind(rule: Rule, name: str) -> str:
    """Which row an argument names: `vendor_id` a vendor; a bare `id` what the path calls it."""
    if name.endswith("_id"):
        return name.removesuffix("_id")
    before = re.search(rf"/([^/<]+)/<[^>]*\b{name}>", rule.rule)
    return before.group(1).removesuffix("s") if before else name


def url_for_rule(world: World, rule: Rule, missing: str | None = None) -> str:
    """The rule's URL filled from real rows; `missing` names one id to point at no row at all."""
    values: dict[str, object] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
            continue
        value = world.ids.get(row_kind(rule, name), world.ids["vendor"])
        values[name] = MISSING_ID if name == missing else value
        if not is_id(rule, name):
            values[name] = str(values[name])
    return rule.build(values, append_unknown=False)[1]


def ledger_state(session) -> dict[str, list[str]]:
    """Every committed row of every table, to prove a refused request changed nothing."""
    session.rollback()  # what a refused request left uncommitted dies with it, as in production
    state = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in IGNORED_COLUMNS]
        state[table.name] = sorted(repr(tuple(row)) for row in session.execute(sa.select(*columns)))
    session.rollback()
    return state


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


class Report:
    """Collects each offending route, so one failure names them all."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.probed: set[str] = set()

    def check(self, rule: Rule, method: str, url: str, ok: bool, what: str) -> None:
        self.probed.add(rule.endpoint)
        if not ok:
            self.failures.append(f"{method} {url} ({rule.endpoint}): {what}")

    def __str__(self) -> str:
        return "\n".join(["routes not guarded:", *self.failures])


def api_error_code(response) -> str | None:
    body = response.get_json(silent=True) or {}
    return (body.get("error") or {}).get("code")


def refused_anonymous(world: World) -> Report:
    """(a) Signed out: pages send to the sign-in page, the API answers 401 in JSON."""
    report, anonymous = Report(), world.client()
    token = anonymous.csrf_token()  # a valid token, so it is the sign-in check that must refuse
    for rule in guarded_rules(world.app):
        for method in methods(rule):
            url, before = url_for_rule(world, rule), ledger_state(db.session)
            if is_api(rule):
                response = anonymous.open(url, method=method, json={} if method in WRITES else None)
                ok = response.status_code == 401 and api_error_code(response) == "unauthorized"
                expected = "401 JSON"
            else:
                data = {"csrf_token": token} if method in WRITES else None
                response = anonymous.open(url, method=method, data=data)
                ok = response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
                expected = "302 to /auth/login"
            changed = changed_tables(before, ledger_state(db.session))
            report.check(
                rule,
                method,
                url,
                ok and not changed,
                f"got {response.status_code}, expected {expected}; changed {changed}",
            )
    return report


def refused_viewer_writes(world: World) -> Report:
    """(b) A viewer reads but never writes: 403 on pages and on the API, and no row changes."""
    report, browser = Report(), world.client(world.viewer)
    token, headers = browser.csrf_token(), world.headers_for(world.viewer)
    for rule in guarded_rules(world.app):
        if rule.endpoint in SELF_SERVICE:
            continue
        for method in [m for m in methods(rule) if m in WRITES]:
            url, before = url_for_rule(world, rule), ledger_state(db.session)
            if is_api(rule):
                response = browser.open(url, method=method, json={}, headers=headers)
                ok = response.status_code == 403 and api_error_code(response) == "forbidden"
            else:
                response = browser.open(url, method=method, data={"csrf_token": token})
                ok = response.status_code == 403
            changed = changed_tables(before, ledger_state(db.session))
            report.check(
                rule,
                method,
                url,
                ok and not changed,
                f"got {response.status_code}, expected 403; changed {changed}",
            )
    return report


def refused_without_csrf(world: World, user: User) -> Report:
    """(c) A page write without the CSRF token is a 400; the API takes no cookie for a write at all."""
    report, browser = Report(), world.client(user)
    for rule in routes(world.app):  # the sign-in form too
        if rule.endpoint in TOKEN_AUTHENTICATED:
            continue
        for method in [m for m in methods(rule) if m in WRITES]:
            url, before = url_for_rule(world, rule), ledger_state(db.session)
            if is_api(rule):
                # The API is exempt from CSRF, which is safe only while a session cookie signs no one in.
                response = browser.open(url, method=method, json={})
                ok, expected = response.status_code == 401, 401
            else:
                response = browser.open(url, method=method, data={})
                ok, expected = response.status_code == 400, 400
            changed = changed_tables(before, ledger_state(db.session))
            report.check(
                rule,
                method,
                url,
                ok and not changed,
                f"got {response.status_code}, expected {expected}; changed {changed}",
            )
    return report


def missing_objects_not_found(world: World) -> Report:
    """(d) An id that names no row is a 404, for an admin who may see everything."""
    report, browser, headers = Report(), world.client(world.admin), world.headers_for(world.admin)
    for rule in guarded_rules(world.app):
        if "GET" not in rule.methods:
            continue
        for name in [n for n in sorted(rule.arguments) if is_id(rule, n)]:
            url = url_for_rule(world, rule, missing=name)
            response = browser.get(url, headers=headers if is_api(rule) else None)
            ok = response.status_code == 404 and (not is_api(rule) or api_error_code(response) == "not_found")
            report.check(
                rule, "GET", url, ok, f"got {response.status_code} for a missing {name}, expected 404"
            )
    return report


def test_every_route_but_sign_in_refuses_an_anonymous_visitor(world):
    report = refused_anonymous(world)

    assert not report.failures, report
    assert {"index", "auth.profile", "admin.users", "admin.invite"} <= report.probed


def test_every_write_refuses_a_viewer_and_changes_nothing(world):
    report = refused_viewer_writes(world)

    assert not report.failures, report
    assert {"admin.invite", "admin.disable"} <= report.probed
    assert "auth.profile" not in report.probed


@pytest.mark.parametrize("role", [Role.viewer, Role.editor, Role.admin])
def test_every_page_write_without_a_csrf_token_is_refused(world, role):
    # Every role: the token is checked before the role, and a role check that refuses one user
    # first could hide a missing CSRF check.
    user = {Role.viewer: world.viewer, Role.editor: world.editor, Role.admin: world.admin}[role]

    report = refused_without_csrf(world, user)

    assert not report.failures, report
    assert {"auth.login", "auth.logout", "auth.profile", "admin.change_role"} <= report.probed


def test_a_page_for_an_id_that_does_not_exist_is_not_found(world):
    report = missing_objects_not_found(world)

    assert not report.failures, report
    assert report.probed or not any(
        is_id(rule, name) for rule in guarded_rules(world.app) for name in rule.arguments
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/vendors/<int:vendor_id>", "vendor"),
        ("/api/v1/commitments/<int:id>/history", "commitment"),
        ("/admin/users/<int:id>", "user"),
        ("/vendors/<int:vendor_id>/contacts/<int:id>", "contact"),
    ],
)
def test_an_argument_is_read_as_the_row_it_names(path, kind):
    rule = Rule(path, endpoint="x")
    Map([rule])

    name = "vendor_id" if path == "/vendors/<int:vendor_id>" else "id"

    assert row_kind(rule, name) == kind


CHECKS = {
    "anonymous": refused_anonymous,
    "viewer": refused_viewer_writes,
    "csrf": lambda world: refused_without_csrf(world, world.admin),
    "missing": missing_objects_not_found,
}


@pytest.mark.own_app
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_the_walk_reports_a_route_left_unguarded(app, world, check):
    @csrf.exempt
    def leak(vendor_id: int):
        if request.method == "POST":
            db.session.add(Vendor(name="Leaked", name_key="leaked", created_at=NOW))
            db.session.commit()
        return "anyone may"

    app.add_url_rule("/vendors/<int:vendor_id>/leak", "leak", leak, methods=["GET", "POST"])

    report = CHECKS[check](world)

    assert any("(leak)" in failure for failure in report.failures), report


def write_a_vendor() -> None:
    name = f"planted {uuid.uuid4().hex}"  # a new row each time, so no write fails on a taken name
    db.session.add(Vendor(name=name, name_key=name, created_at=NOW))
    db.session.commit()


def any_role_may_write(vendor_id: int):
    write_a_vendor()
    return "written"


def writes_then_refuses(vendor_id: int):
    write_a_vendor()
    abort(403)


# Routes guarded in all but one way, and the check that must catch each: every guard is tested alone.
PARTLY_GUARDED = {
    "signed in, but no role check": ("viewer", login_required(any_role_may_write), ["POST"], False),
    "a 403 after the row is written": ("viewer", login_required(writes_then_refuses), ["PATCH"], False),
    "a role check, but exempt from CSRF": (
        "csrf",
        editor_required(any_role_may_write),
        ["PUT", "DELETE"],
        True,
    ),
}


@pytest.mark.own_app
@pytest.mark.parametrize("planted", sorted(PARTLY_GUARDED))
def test_the_walk_reports_a_write_route_missing_one_guard(app, world, planted):
    check, view, write_methods, exempt = PARTLY_GUARDED[planted]
    app.add_url_rule(
        "/vendors/<int:vendor_id>/planted",
        "planted",
        csrf.exempt(view) if exempt else view,
        methods=write_methods,
    )

    report = CHECKS[check](world)

    caught = [failure for failure in report.failures if "(planted)" in failure]
    assert {failure.split()[0] for failure in caught} == set(write_methods), report
