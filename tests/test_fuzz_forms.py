"""No form field and no query argument, whatever is typed into it, makes a page answer 5xx.

The walk covers every page route in app.url_map, as test_access does, so a page added later is
fuzzed the day it is registered. GET routes get the query arguments the code reads (found in its
source) and made-up ones; POST routes get the fields of the forms that post to them (read from the
rendered pages), with a valid CSRF token so the values reach validation. Values come from
hypothesis: unicode, NUL bytes, huge strings, huge and negative numbers, dates real and impossible.
The API is left to Schemathesis (tests/test_api_schema.py).
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from tests import test_access
from tests.test_access import World, is_api, methods, routes, url_for_rule
from vendortrack import calendar_feed
from vendortrack.extensions import db
from vendortrack.models import User

ROOT = Path(__file__).resolve().parent.parent
world = test_access.world  # the same real rows as the access checks: every id in a URL names one

# Sign-out would end the session the rest of the walk needs; it takes no input but the token.
SKIPPED = frozenset({"auth.logout"})
# Query arguments read through a variable (the event log's filter) rather than a literal name.
KNOWN_ARGS = ("from", "to", "before", "after", "page", "next", "week", "user_id", "vendor_id")
READS = re.compile(r"""(?:args\.get|args\.getlist|args\[|text_arg|_choice)\(?\s*["']([a-z_]+)["']""")
PER_ROUTE = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],  # a page takes ms; 120k strings
)


def query_names() -> list[str]:
    """Every query argument the app's code reads by name, and the few it reads through a variable."""
    names = set(KNOWN_ARGS)
    for path in (ROOT / "vendortrack").rglob("*.py"):
        names.update(READS.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


# --- values ---------------------------------------------------------------------------------------

TRICKY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "0",
    "-1",
    "-0",
    "1.5",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 30,
    "-" + "9" * 30,
    "2147483648",
    "9223372036854775808",
    "²",
    "٣",
    "Ⅻ",
    "2026-02-30",
    "2026-06-30",
    "0000-01-01",
    "9999-12-31",
    "2026-W53",
    "2026-W00",
    "25:61",
    "23:59:60",
    "2026-06-30T10:00",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%n%x",
    "\r\nX-Header: 1",
    "\ufeff",
    "https://evil.test/",
    "//evil.test",
    "/\\evil.test",
    "javascript:alert(1)",
    "scheduler",
    "mine",
]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # no lone surrogates: not UTF-8
VALUE = st.one_of(
    st.sampled_from(TRICKY),
    TEXT,
    st.tuples(TEXT, TEXT).map("\x00".join),  # PostgreSQL refuses NUL in text: it must never reach it
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-5, max_value=5).map(str),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.times().map(str),
    st.integers(min_value=1_000, max_value=120_000).map(lambda n: "x" * n),
)
MADE_UP_NAME = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


# --- the forms on the pages -----------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    values: list[str] = field(default_factory=list)  # options, or a hidden input's value


@dataclass
class Form:
    action: str
    fields: dict[str, Field] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The POST forms of a page: where each posts, and its fields with the values on offer."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def _add(self, name: str | None, kind: str, value: str | None = None) -> Field | None:
        if self._form is None or not name:
            return None
        found = self._form.fields.setdefault(name, Field(name, kind))
        if value:
            found.values.append(value)
        return found

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = None
            if (a.get("method") or "get").lower() == "post":
                self._form = Form((a.get("action") or self.page_url).split("#")[0])
                self.forms.append(self._form)
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind not in ("submit", "button", "reset", "image"):
                self._add(a.get("name"), kind, a.get("value"))
        elif tag == "select":
            self._select = self._add(a.get("name"), "select")
        elif tag == "option" and self._select is not None and a.get("value") is not None:
            self._select.values.append(a["value"])
        elif tag == "textarea":
            self._add(a.get("name"), "textarea")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_by_action(client, urls: list[str]) -> dict[str, dict[str, Field]]:
    """Every field of every POST form on these pages, by the path the form posts to."""
    actions: dict[str, dict[str, Field]] = {}
    for url in urls:
        response = finished(client.get(url))
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        reader = FormReader(url)
        reader.feed(response.get_data(as_text=True))
        for form in reader.forms:
            fields = actions.setdefault(form.action, {})
            for name, found in form.fields.items():
                known = fields.setdefault(name, Field(name, found.kind))
                known.values.extend(v for v in found.values if v not in known.values)
    return actions


CSV_UPLOADS = [
    b"vendor,title,kind,due\nAcme,Send the quote,promise,2026-07-01\n",
    b"\xef\xbb\xbfname\n=cmd|' /C calc'!A0\n",
    b"\x00\x01\x02",
    b"",
]
# A value each kind of input takes, so most of a form is valid and the fuzzed fields get past it.
PLAUSIBLE = {
    "date": st.dates().map(lambda day: day.isoformat()),
    "time": st.times().map(lambda moment: moment.strftime("%H:%M")),
    "email": st.integers(0, 10**6).map(lambda n: f"fuzz{n}@example.com"),
    "url": st.integers(0, 10**6).map(lambda n: f"https://example.test/{n}"),
    "password": st.sampled_from(["correct horse battery", "another long password"]),
    "week": st.integers(1, 53).map(lambda n: f"2026-W{n:02d}"),
    "number": st.integers(-5, 100).map(str),
    "file": st.one_of(st.sampled_from(CSV_UPLOADS), st.binary(max_size=2000)).map(
        lambda data: (io.BytesIO(data), "upload.csv")
    ),
}

NAMED_KINDS = {"website": "url", "phone": "number"}
# A free-text field takes anything a person can type or paste, NUL and all.
FREE_TEXT = st.one_of(
    TEXT.filter(str.strip), st.tuples(TEXT, TEXT).map("\x00".join), st.sampled_from(TRICKY[1:])
)


def plausible(found: Field):
    """A value the field would take from a person: one the page offers, or one of its kind."""
    offered = [v for v in found.values if v]
    if offered:
        return st.sampled_from(offered)
    # A plain text input named for what it holds ("website") takes what its name says.
    kind = next((hint for hint in ("website", "email", "phone") if hint in found.name), found.kind)
    return PLAUSIBLE.get(NAMED_KINDS.get(kind, kind), FREE_TEXT)


# --- the walk -------------------------------------------------------------------------------------


def page_rules(app) -> list[Rule]:
    return [rule for rule in routes(app) if not is_api(rule) and rule.endpoint not in SKIPPED]


def url_of(world: World, rule: Rule) -> str:
    """The rule's URL on real rows; the feed and the unsubscribe link get a real secret each."""
    editor = db.session.get(User, world.ids["user"])
    if rule.endpoint == "calendar.feed":
        return f"/calendar/{calendar_feed.ensure_secret(db.session, editor)}.ics"
    if rule.endpoint == "digest.unsubscribe":
        return f"/unsubscribe/{editor.unsubscribe_secret}"
    return url_for_rule(world, rule)


class Failures:
    """Each route's 5xx, with the request that caused it and the error the app logged."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.probed: set[str] = set()

    def __str__(self) -> str:
        return "\n".join(["5xx answers:", *self.found])


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = f"{type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:300]}"


def finished(response):
    """The response read to its end: a streamed download left half-read would end its contexts late."""
    response.get_data()
    response.close()
    return response


class Probe:
    """Sends one route its fuzzed requests and keeps the first 5xx (or crash) with what caused it.

    The failure is noted, not raised: the app's state moves on with every request, so hypothesis
    could not shrink or replay it faithfully; the request as sent is the clearest report.
    """

    def __init__(self, client, rule: Rule, url: str, log: ErrorLog, failures: Failures):
        self.client, self.rule, self.url, self.log, self.failures = client, rule, url, log, failures
        self.failed = False

    def send(self, method: str, shown: object, **kwargs) -> None:
        if self.failed:
            return
        self.log.last = ""
        try:
            status = finished(self.client.open(self.url, method=method, **kwargs)).status_code
        except Exception as error:  # an error the app let escape is a failure too
            status, self.log.last = "raised", f"{type(error).__name__}: {error}"
        if status == "raised" or status >= 500:
            self.failed = True
            self.failures.found.append(
                f"{method} {self.url} ({self.rule.endpoint}) {shown!r:.800} -> "
                f"{status}: {self.log.last[:400]}"
            )


def fuzz_get(probe: Probe, names: list[str]) -> None:
    arguments = st.lists(st.tuples(st.one_of(st.sampled_from(names), MADE_UP_NAME), VALUE), max_size=6)

    @PER_ROUTE
    @given(pairs=arguments)
    def run(pairs):
        probe.send("GET", pairs, query_string=MultiDict(pairs))

    run()


def fuzz_post(probe: Probe, fields: dict[str, Field], token: str) -> None:
    """The form filled as a person would, then a few of its fields replaced, left out, or added."""
    fields = {name: found for name, found in fields.items() if name != "csrf_token"}
    names = st.sampled_from(sorted(fields)) if fields else MADE_UP_NAME
    filled = st.fixed_dictionaries({name: plausible(found) for name, found in fields.items()})
    replaced = st.dictionaries(st.one_of(names, MADE_UP_NAME), VALUE, max_size=3)
    left_out = st.sets(names, max_size=2) if fields else st.just(set())

    @PER_ROUTE
    @given(filled=filled, replaced=replaced, left_out=left_out)
    def run(filled, replaced, left_out):
        values = {name: value for name, value in (filled | replaced).items() if name not in left_out}
        data = MultiDict(values)
        data["csrf_token"] = token  # a valid token, so every value reaches the form's validation
        shown = {k: (v if not isinstance(v, tuple) else "<file>") for k, v in values.items()}
        probe.send("POST", shown, data=data, content_type="multipart/form-data")

    run()


def fuzz_every_route(world: World, user, only: set[str] | None = None) -> Failures:
    """Fuzz each page route (or `only` these endpoints) signed in as the user; collect every 5xx."""
    app, failures, log = world.app, Failures(), ErrorLog()
    client = world.client(user)
    token = client.csrf_token()
    rules = [rule for rule in page_rules(app) if only is None or rule.endpoint in only]
    targets = [(rule, url_of(world, rule)) for rule in rules]
    db.session.commit()
    forms = forms_by_action(client, [url for rule, url in targets if "GET" in rule.methods])
    names = query_names()
    app.logger.addHandler(log)
    try:
        for rule, url in targets:
            for method in methods(rule):
                failures.probed.add(f"{method} {rule.endpoint}")
                probe = Probe(client, rule, url, log, failures)
                if method == "GET":
                    fuzz_get(probe, names)
                elif method == "POST":
                    fuzz_post(probe, forms.get(url, {}), token)
    finally:
        app.logger.removeHandler(log)
    return failures


# --- NUL, field by field ---------------------------------------------------------------------------

TYPED = frozenset({"text", "textarea", "email", "password", "search", "url", "tel"})
SAMPLE = {
    "date": "2026-07-01",
    "time": "10:00",
    "email": "nul@example.com",
    "url": "https://example.test/",
    "password": "correct horse battery",
    "number": "5",
    "week": "2026-W27",
}


def sample(found: Field, n: int) -> str:
    """One valid value for the field, the same on every run; free text made unique by `n`."""
    offered = [v for v in found.values if v]
    if offered:
        return offered[0]
    kind = next((hint for hint in ("website", "email", "phone") if hint in found.name), found.kind)
    return SAMPLE.get(NAMED_KINDS.get(kind, kind), f"Text {n}")


def nul_failures(world: World, user) -> Failures:
    """A valid form with a NUL in one typed field at a time, and a NUL in every query argument at once."""
    app, failures, log = world.app, Failures(), ErrorLog()
    client = world.client(user)
    token = client.csrf_token()
    targets = [(rule, url_of(world, rule)) for rule in page_rules(app)]
    db.session.commit()
    forms = forms_by_action(client, [url for rule, url in targets if "GET" in rule.methods])
    every_name = MultiDict((name, "a\x00b") for name in query_names())
    app.logger.addHandler(log)
    try:
        for n, (rule, url) in enumerate(targets):
            if "GET" in rule.methods:
                failures.probed.add(f"GET {rule.endpoint}")
                Probe(client, rule, url, log, failures).send(
                    "GET", "every argument NUL", query_string=every_name
                )
            fields = {name: found for name, found in forms.get(url, {}).items() if name != "csrf_token"}
            for name in [name for name, found in fields.items() if found.kind in TYPED and not found.values]:
                failures.probed.add(f"POST {rule.endpoint} {name}")
                data = {other: sample(found, n) for other, found in fields.items()} | {name: f"a\x00b {n}"}
                Probe(client, rule, url, log, failures).send("POST", data, data=data | {"csrf_token": token})
    finally:
        app.logger.removeHandler(log)
    return failures


def test_a_nul_in_any_typed_field_or_query_argument_is_never_a_5xx(world):
    # PostgreSQL refuses NUL in text: a field that kept it failed the whole request there.
    failures = nul_failures(world, world.admin)

    assert not failures.found, str(failures)
    assert {
        "POST vendors.create name",
        "POST vendors.edit notes",
        "POST vendors.add_contact role",
        "POST commitments.create title",
        "POST commitments.resolve excuse",
        "POST admin.invite name",
        "GET admin.events",
    } <= failures.probed


def test_a_nul_in_the_sign_in_or_profile_form_is_never_a_5xx(world):
    signed_out, signed_in = world.client(), world.client(world.editor)
    sent = {
        "sign-in": lambda: signed_out.submit(
            "/auth/login", {"email": "a\x00b@example.test", "password": "x" * 12}
        ),
        "profile": lambda: signed_in.submit("/auth/profile", {"name": "a\x00b", "timezone": ""}),
    }

    failed = {}
    for form, send in sent.items():
        try:
            status = send().status_code
        except Exception as error:  # the error page itself failed: still a failure
            status = type(error).__name__
        if not isinstance(status, int) or status >= 500:
            failed[form] = status

    assert not failed


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "editor"])
def test_no_form_field_or_query_argument_makes_a_page_fail(world, role):
    failures = fuzz_every_route(world, getattr(world, role))

    assert not failures.found, str(failures)
    assert {
        "GET admin.events",
        "POST vendors.create",
        "POST commitments.resolve",
        "GET scorecards.compare",
        "POST admin.invite",
        "GET digest.show",
    } <= failures.probed


def test_the_forms_are_read_from_the_pages_with_what_they_offer(world):
    client = world.client(world.admin)
    commitment = world.ids["commitment"]

    forms = forms_by_action(client, [f"/commitments/{commitment}", "/vendors/new", "/admin/users"])

    resolve = forms[f"/commitments/{commitment}/resolve"]
    assert {"status", "done_date", "excuse_category", "excuse", "new_due_date", "reason"} <= set(resolve)
    assert set(resolve["status"].values) == {"kept", "broken", "rescheduled", "cancelled"}
    assert "force_majeure" in resolve["excuse_category"].values
    assert {"name", "category", "website", "email", "phone", "notes"} <= set(forms["/vendors/new"])
    assert {"email", "name", "role", "password"} <= set(forms["/admin/users/invite"])


def test_the_query_arguments_come_from_the_code(world):
    assert {"q", "category", "view", "kind", "vendor", "week", "standing", "page", "from", "to"} <= set(
        query_names()
    )


@pytest.mark.own_app
def test_the_walk_reports_a_page_that_fails_on_some_input(app, world):
    def fragile():
        return str(sum(int(value) for value in request.args.values()))  # "abc" is a ValueError: a 500

    app.add_url_rule("/fragile", "fragile", fragile)

    failures = fuzz_every_route(world, world.admin, only={"fragile"})

    assert failures.probed == {"GET fragile"}
    assert any("(fragile)" in failure and "ValueError" in failure for failure in failures.found), failures
