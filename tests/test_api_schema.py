"""Schemathesis fuzzes every operation of the OpenAPI document: no 5xx, every answer as documented,
what the document allows accepted and what it forbids refused."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask, current_app
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import NOW, PASSWORD, make_app
from vendortrack import complaints, ledger, mail, vendor_links
from vendortrack.accounts import create_user, issue_token
from vendortrack.extensions import db
from vendortrack.models import Commitment, Kind, Role, Status, Vendor
from vendortrack.scores import tally
from vendortrack.vendors import add_contact, create_vendor

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    # Both phases: a request the document forbids is refused, one it allows is taken.
    negative_data_rejection,
    positive_data_acceptance,
]


def _seed_ledger(role: Role) -> str:
    """A few vendors, contacts and commitments in every state, and a token of the role for the fuzzer."""
    session = db.session
    editor = create_user(
        session,
        email=f"fuzz-{uuid.uuid4().hex[:6]}@example.test",
        password=PASSWORD,
        role=role,
        now=NOW,
        name=f"Fuzz {role.value.title()}",
    )
    for i in range(3):
        vendor = create_vendor(session, now=NOW, name=f"Fuzzed {uuid.uuid4().hex[:6]} {i}", category="IT")
        contact = add_contact(session, vendor, now=NOW, name=f"Contact {i}")
        made = [
            ledger.log_commitment(
                session,
                vendor=vendor,
                kind=kind,
                title=f"{kind} {i}",
                actor=editor,
                now=NOW,
                due_at=NOW + timedelta(days=days),
                contact=contact,
            )
            for days, kind in enumerate(Kind, start=-2)
        ]
        later = NOW + timedelta(days=3)
        ledger.resolve(session, made[0], Status.kept, actor=editor, now=later, done_at=later)
        ledger.resolve(
            session,
            made[1],
            Status.rescheduled,
            actor=editor,
            now=later,
            new_due_at=later + timedelta(days=7),
            excuse="Stuck in traffic",
        )
        # A complaint at each step: waiting, answered with a dated answer, and resolved.
        raised = [
            complaints.raise_complaint(
                session,
                vendor=vendor,
                title=f"Complaint {step} {i}",
                severity="major",
                channel="email",
                raised_at=NOW - timedelta(days=5),
                actor=editor,
                now=NOW,
                rules=current_app.config["VENDORTRACK_RULES"],
                contact=contact,
                commitments=made[:1],
            )
            for step in ("waiting", "answered", "resolved")
        ]
        complaints.answer(session, raised[1], at=NOW - timedelta(days=4), actor=editor, now=NOW)
        complaints.give_dated_answer(
            session, raised[1], due_at=NOW + timedelta(days=3), actor=editor, now=NOW
        )
        complaints.resolve(session, raised[2], "fixed", actor=editor, now=NOW, satisfied=True)
        _seed_links(session, editor, made[-1], raised[0], contact)
    token = issue_token(session, editor, now=NOW)
    session.commit()
    return token


def _seed_links(session, editor, commitment, complaint, contact) -> None:
    """A link about an open commitment, with answers waiting and recorded, and one about a complaint."""
    rules = vendor_links.LinkRules()
    link, _token = vendor_links.ask(
        session, commitment, contact=contact, actor=editor, now=NOW, rules=rules, send_email=False
    )
    vendor_links.confirm(session, link, now=NOW, address=None)
    vendor_links.propose(
        session, link, due_at=NOW + timedelta(days=30), reason="Later", now=NOW, address=None
    )
    vendor_links.report_done(session, link, done_at=NOW, note="", now=NOW, address=None)
    vendor_links.ask(
        session, complaint, contact=contact, actor=editor, now=NOW, rules=rules, send_email=False
    )


@pytest.fixture(scope="module")
def fuzzed_app(database_url, tmp_path_factory) -> Iterator[Flask]:
    """One app per database, with no app context left pushed, so each request gets its own."""
    app = make_app(database_url, tmp_path_factory.mktemp("fuzz-instance"))
    yield app
    with app.app_context():
        db.engine.dispose()


def _headers(app: Flask, role: Role) -> dict[str, str]:
    # Seeded for each operation: other modules' tests empty the shared database between ours.
    with app.app_context(), mail.mail_context(app):  # the answers email our owner, with links
        token = _seed_ledger(role)
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token_headers(fuzzed_app) -> dict[str, str]:
    return _headers(fuzzed_app, Role.editor)


@pytest.fixture
def admin_token_headers(fuzzed_app) -> dict[str, str]:
    return _headers(fuzzed_app, Role.admin)


def _load_schema():
    """The document as a client downloads it, from an app on a throwaway in-memory database.

    Read at collection time because parametrize makes one test per operation; the requests then go to
    the seeded app of each database. (Schemathesis' lazy `from_fixture` does not run on pytest 9.2.)
    """
    with tempfile.TemporaryDirectory() as tmp:
        return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", make_app("sqlite://", Path(tmp)))


schema = _load_schema()
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# A well-formed request the ledger refuses (a duplicate name, reopening an open commitment) is a
# documented 422: the document describes shapes, not the ledger's state.
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=["2xx", "401", "403", "404", "422"]
)
# What only an admin may do: the editor's run sees it answer 403, an admin's reaches the bodies.
admin_schema = schema.include(path_regex=r"^/api/v1/users")
FUZZING = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


def _call_with_token(case, app: Flask, token_headers: dict[str, str]) -> None:
    # The token goes into the case itself: a negative case that dropped the Authorization header
    # then reads as the request it became, one with a valid token, not as a refusal the app owed.
    case.headers = {**(case.headers or {}), **token_headers}
    case.call_and_validate(app=app, checks=CHECKS)


# The ledger is seeded once per operation (token_headers), not per example, on purpose.
@schema.parametrize()
@FUZZING
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case, fuzzed_app, token_headers):
    _call_with_token(case, fuzzed_app, token_headers)


@admin_schema.parametrize()
@FUZZING
def test_every_admin_operation_answers_an_admin_as_documented(case, fuzzed_app, admin_token_headers):
    _call_with_token(case, fuzzed_app, admin_token_headers)


@pytest.mark.parametrize(
    "as_of", ["5567-12-18T02:36:12Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"]
)
@pytest.mark.parametrize("path", ["/api/v1/scorecard", "/api/v1/vendors/{vendor_id}/score"])
def test_a_score_as_of_a_moment_no_ledger_holds_is_refused_naming_the_years(
    fuzzed_app, token_headers, path, as_of
):
    """Found by the fuzzers: year 5567 failed on PostgreSQL (exp() refuses to underflow), the calendar's
    ends in Python (as_of less the grace, or moved to UTC, falls off it)."""
    client = fuzzed_app.test_client()
    vendor_id = client.get("/api/v1/vendors", headers=token_headers).get_json()["items"][0]["id"]
    response = client.get(
        path.format(vendor_id=vendor_id), query_string={"as_of": as_of}, headers=token_headers
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"as_of": ["Give a date from the years 1900 to 2999."]}


@pytest.mark.parametrize(
    ("name", "moment"), [("due_from", "0001-01-01T00:00:00+14:00"), ("due_to", "9999-12-31T23:59:59-12:00")]
)
def test_a_commitment_filter_at_the_calendars_ends_is_refused_naming_it(
    fuzzed_app, token_headers, name, moment
):
    response = fuzzed_app.test_client().get(
        "/api/v1/commitments", query_string={name: moment}, headers=token_headers
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {name: ["Give a date from the years 1900 to 2999."]}


def test_a_year_one_typo_is_refused_and_one_stored_before_leaves_the_scorecard_answering(
    fuzzed_app, token_headers
):
    client = fuzzed_app.test_client()
    vendor_id = client.get("/api/v1/vendors", headers=token_headers).get_json()["items"][0]["id"]
    typo = client.post(
        f"/api/v1/vendors/{vendor_id}/commitments",
        headers=token_headers,
        json={"kind": "promise", "title": "A typo in the year", "due_at": "0001-01-01T00:00:00Z"},
    )
    assert typo.status_code == 422
    assert list(typo.get_json()["error"]["fields"]) == ["due_at"]
    # A ledger restored from before the years were checked may still hold one, kept the next day.
    logged = client.post(
        f"/api/v1/vendors/{vendor_id}/commitments",
        headers=token_headers,
        json={"kind": "promise", "title": "A typo in the year", "due_at": "2026-06-01T00:00:00Z"},
    )
    with fuzzed_app.app_context():
        year_one = datetime(1, 1, 1, tzinfo=UTC)
        db.session.execute(
            sa.update(Commitment)
            .where(Commitment.id == logged.get_json()["id"])
            .values(
                due_at=year_one,
                original_due_at=year_one,
                done_at=year_one + timedelta(days=1),
                lateness_us=86_400_000_000,
                status=Status.kept,
            )
        )
        tally.refresh(db.session, vendor_id, [year_one, datetime(2026, 6, 1, tzinfo=UTC)])
        db.session.commit()
        db.session.remove()
    for path in ("/api/v1/scorecard", f"/api/v1/vendors/{vendor_id}/score"):
        assert client.get(path, headers=token_headers).status_code == 200


def _seeded_ids(client, headers: dict[str, str]) -> dict[str, int]:
    # One the seeding made, with a contact: the fuzzer's vendors have none.
    vendors = client.get("/api/v1/vendors", query_string={"q": "Fuzzed"}, headers=headers)
    vendor = vendors.get_json()["items"][0]["id"]
    contact = client.get(f"/api/v1/vendors/{vendor}/contacts", headers=headers).get_json()["items"][0]["id"]
    opened = client.get("/api/v1/commitments", query_string={"status": "open"}, headers=headers)
    waiting = client.get("/api/v1/complaints", query_string={"status": "waiting"}, headers=headers)
    return {
        "vendor_id": vendor,
        "contact_id": contact,
        "commitment_id": opened.get_json()["items"][0]["id"],
        "complaint_id": waiting.get_json()["items"][0]["id"],
    }


PATCHES = [
    "/api/v1/me",
    "/api/v1/vendors/{vendor_id}",
    "/api/v1/vendors/{vendor_id}/contacts/{contact_id}",
    "/api/v1/commitments/{commitment_id}",
    "/api/v1/complaints/{complaint_id}",
]


@pytest.mark.parametrize("path", PATCHES)
@pytest.mark.parametrize("content_type", [None, "application/json"], ids=["no-body", "empty-json-body"])
def test_a_patch_without_a_body_is_refused_as_the_document_says(
    fuzzed_app, token_headers, path, content_type
):
    client = fuzzed_app.test_client()
    url = path.format(**_seeded_ids(client, token_headers))
    response = client.patch(url, headers=token_headers, data=b"", content_type=content_type)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"] == "Send a JSON object as the body."
    assert list(error["fields"]) == ["_request"]
    operation = schema.raw_schema["paths"][path]["patch"]
    assert operation["requestBody"]["required"] is True
    assert "400" in operation["responses"]


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("post", "/api/v1/import", {"csv": "vendor\nStrict Boolean Ltd", "commit": 0}, "commit"),
        ("post", "/api/v1/import", {"csv": "vendor\nStrict Boolean Ltd", "commit": 1}, "commit"),
        ("post", "/api/v1/import", {"csv": "vendor\nStrict Boolean Ltd", "commit": "yes"}, "commit"),
        ("patch", "/api/v1/me", {"name": "Renamed", "digest_enabled": "true"}, "digest_enabled"),
        (
            "post",
            "/api/v1/commitments/{commitment_id}/resolve",
            {"status": "rescheduled", "new_due_at": "2020-01-01T00:00:00Z", "confirm_past": 1},
            "confirm_past",
        ),
    ],
)
def test_a_boolean_is_json_true_or_false_and_anything_else_is_refused_changing_nothing(
    fuzzed_app, token_headers, method, path, body, field
):
    client = fuzzed_app.test_client()
    ids = _seeded_ids(client, token_headers)
    before = {
        "me": client.get("/api/v1/me", headers=token_headers).get_json(),
        "commitment": client.get(
            f"/api/v1/commitments/{ids['commitment_id']}", headers=token_headers
        ).get_json(),
    }
    response = client.open(path.format(**ids), method=method, headers=token_headers, json=body)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]
    with fuzzed_app.app_context():
        assert db.session.scalar(sa.select(Vendor.id).where(Vendor.name == "Strict Boolean Ltd")) is None
        db.session.remove()
    after = {
        "me": client.get("/api/v1/me", headers=token_headers).get_json(),
        "commitment": client.get(
            f"/api/v1/commitments/{ids['commitment_id']}", headers=token_headers
        ).get_json(),
    }
    assert after == before


def _nullable_properties(node, path: str = ""):
    """Every (path, schema) in the document that says null is allowed, however it says it."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") or (isinstance(enum, list) and None in enum) or "anyOf" in node:
            yield path, node
        for key, value in node.items():
            yield from _nullable_properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nullable_properties(value, f"{path}/{i}")


def test_nullable_references_and_enums_are_described_as_client_generators_read_them():
    """OpenAPI 3.0: `nullable` beside `allOf: [$ref]`; an enum is a named schema, null never one of its values."""
    document = schema.raw_schema
    assert document["openapi"].startswith("3.0.")
    components = document["components"]["schemas"]
    assert components["Event"]["properties"]["actor"] == {
        "nullable": True,
        "allOf": [{"$ref": "#/components/schemas/UserRef"}],
    }
    assert components["ImportRow"]["properties"]["commitment"] == {
        "nullable": True,
        "allOf": [{"$ref": "#/components/schemas/ImportCommitment"}],
    }
    assert components["Commitment"]["properties"]["excuse_category"] == {
        "nullable": True,
        "allOf": [{"$ref": "#/components/schemas/ExcuseCategory"}],
    }
    assert components["ExcuseCategory"]["enum"][0] == "force_majeure"
    wrong = [
        path
        for path, node in _nullable_properties(document)
        if "anyOf" in node or None in node.get("enum", []) or ("enum" in node and node.get("nullable"))
    ]
    assert wrong == []
