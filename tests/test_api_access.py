"""Who may use the API and what a careless client gets back: tokens, roles, bad requests, the spec."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack.accounts import disable_user
from vendortrack.models import Commitment, Contact, LedgerEvent, Role, Vendor

pytestmark = pytest.mark.usefixtures("api_clock_at_now")


def test_me_says_whose_token_it_is(client, viewer, token_for):
    response = client.get("/api/v1/me", headers=token_for(viewer))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": viewer.id,
        "email": viewer.email,
        "name": "Victor Viewer",
        "role": "viewer",
        "timezone": None,
        "locale": None,
        "digest_enabled": True,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer vt_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "vt_no-scheme"},
    ],
)
def test_without_a_valid_token_every_endpoint_answers_401_json(client, headers):
    for method, path in (
        ("get", "/api/v1/me"),
        ("get", "/api/v1/vendors"),
        ("post", "/api/v1/vendors"),
        ("get", "/api/v1/commitments/1/history"),
    ):
        response = getattr(client, method)(path, headers=headers, json={"name": "Sneaky"})
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_does_not_open_the_api(client, editor):
    client.login(editor)
    assert client.get("/api/v1/me").status_code == 401


def test_a_disabled_users_token_stops_working(client, editor, token_for, session):
    headers = token_for(editor)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    disable_user(editor, now=NOW)
    session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_editor_and_admin_may_write(client, editor, admin, token_for):
    for number, user in enumerate((editor, admin)):
        response = client.post("/api/v1/vendors", headers=token_for(user), json={"name": f"Vendor {number}"})
        assert response.status_code == 201


def ledger_counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Vendor, Contact, Commitment, LedgerEvent)
    )


def test_a_viewer_reads_but_gets_403_on_every_write_and_nothing_changes(
    client, auth, viewer, token_for, make_vendor, session
):
    vendor = make_vendor("Acme", category="it")
    commitment = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments",
        headers=auth,
        json={
            "kind": "promise",
            "title": "Quote",
            "due_at": "2026-07-03T15:00:00Z",
        },
    ).get_json()
    resolved = client.post("/api/v1/vendors", headers=auth, json={"name": "Done"}).get_json()
    c = commitment["id"]
    as_viewer = token_for(viewer)
    writes = [
        ("post", "/api/v1/vendors", {"name": "New"}),
        ("patch", f"/api/v1/vendors/{vendor.id}", {"name": "Renamed"}),
        ("post", f"/api/v1/vendors/{vendor.id}/archive", None),
        ("post", f"/api/v1/vendors/{resolved['id']}/unarchive", None),
        ("post", f"/api/v1/vendors/{vendor.id}/contacts", {"name": "Jan"}),
        ("patch", f"/api/v1/vendors/{vendor.id}/contacts/1", {"name": "Jan"}),
        (
            "post",
            f"/api/v1/vendors/{vendor.id}/commitments",
            {"kind": "meeting", "title": "x", "due_at": "2026-07-03T15:00:00Z"},
        ),
        ("patch", f"/api/v1/commitments/{c}", {"title": "Changed"}),
        ("post", f"/api/v1/commitments/{c}/resolve", {"status": "kept"}),
        ("post", f"/api/v1/commitments/{c}/reopen", None),
    ]
    before = ledger_counts(session)
    for method, path, body in writes:
        response = getattr(client, method)(path, headers=as_viewer, json=body)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "forbidden"
    assert ledger_counts(session) == before
    after = client.get(f"/api/v1/vendors/{vendor.id}", headers=as_viewer).get_json()
    assert (after["name"], after["is_archived"]) == ("Acme", False)
    assert client.get(f"/api/v1/commitments/{c}", headers=as_viewer).get_json() == commitment
    assert client.get("/api/v1/commitments", headers=as_viewer).get_json()["total"] == 1


def test_malformed_json_is_a_400_json_error(client, auth):
    response = client.post(
        "/api/v1/vendors", headers=auth, data='{"name": "Acme",', content_type="application/json"
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"] == "The body is not valid JSON."
    assert "line 1" in error["fields"]["_request"][0]


@pytest.mark.parametrize("body", ["[]", '"Acme"', "null", "42"])
def test_json_that_is_not_an_object_is_refused(client, auth, body, session):
    response = client.post("/api/v1/vendors", headers=auth, data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "error" in response.get_json()
    assert ledger_counts(session)[0] == 0


def test_a_form_body_is_refused_as_the_wrong_content_type(client, auth, session):
    response = client.post("/api/v1/vendors", headers=auth, data={"name": "Acme"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert ledger_counts(session)[0] == 0


def test_an_unknown_path_or_method_is_a_json_error(client, auth):
    missing = client.get("/api/v1/suppliers", headers=auth)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/vendors", headers=auth)
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_no_csrf_token_is_needed_with_a_bearer_token(client, auth):
    # The suite runs with CSRF protection on; a token-authenticated client has no form to take it from.
    response = client.post("/api/v1/vendors", headers=auth, json={"name": "Acme"})
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers


EVERY_PATH = {
    "/api/v1/me": {"get", "patch"},
    "/api/v1/vendors": {"get", "post"},
    "/api/v1/vendors/{vendor_id}": {"get", "patch"},
    "/api/v1/vendors/{vendor_id}/archive": {"post"},
    "/api/v1/vendors/{vendor_id}/unarchive": {"post"},
    "/api/v1/vendors/{vendor_id}/contacts": {"get", "post"},
    "/api/v1/vendors/{vendor_id}/contacts/{contact_id}": {"patch"},
    "/api/v1/vendors/{vendor_id}/commitments": {"post"},
    "/api/v1/commitments": {"get"},
    "/api/v1/commitments/{commitment_id}": {"get", "patch"},
    "/api/v1/commitments/{commitment_id}/resolve": {"post"},
    "/api/v1/commitments/{commitment_id}/reopen": {"post"},
    "/api/v1/commitments/{commitment_id}/history": {"get"},
    "/api/v1/vendors/{vendor_id}/complaints": {"get", "post"},
    "/api/v1/complaints": {"get"},
    "/api/v1/complaints/{complaint_id}": {"get", "patch"},
    "/api/v1/complaints/{complaint_id}/answer": {"post"},
    "/api/v1/complaints/{complaint_id}/dated-answer": {"post"},
    "/api/v1/complaints/{complaint_id}/resolve": {"post"},
    "/api/v1/complaints/{complaint_id}/reopen": {"post"},
    "/api/v1/complaints/{complaint_id}/history": {"get"},
    "/api/v1/commitments/{commitment_id}/ask-vendor": {"post"},
    "/api/v1/complaints/{complaint_id}/ask-vendor": {"post"},
    "/api/v1/vendor-links": {"get"},
    "/api/v1/vendor-links/{link_id}": {"get"},
    "/api/v1/vendor-links/{link_id}/revoke": {"post"},
    "/api/v1/vendor-answers": {"get"},
    "/api/v1/vendor-answers/{answer_id}": {"get"},
    "/api/v1/vendor-answers/{answer_id}/accept": {"post"},
    "/api/v1/vendor-answers/{answer_id}/decline": {"post"},
    "/api/v1/proposals/{answer_id}/accept": {"post"},
    "/api/v1/proposals/{answer_id}/decline": {"post"},
    "/api/v1/done-reports/{answer_id}/confirm": {"post"},
    "/api/v1/done-reports/{answer_id}/dispute": {"post"},
    "/api/v1/vendors/{vendor_id}/score": {"get"},
    "/api/v1/scorecard": {"get"},
    "/api/v1/users": {"get", "post"},
    "/api/v1/users/{user_id}": {"get", "patch"},
    "/api/v1/users/{user_id}/disable": {"post"},
    "/api/v1/users/{user_id}/enable": {"post"},
    "/api/v1/users/{user_id}/tokens": {"get", "post"},
    "/api/v1/users/{user_id}/tokens/{token_id}/revoke": {"post"},
    "/api/v1/import": {"post"},
    "/api/v1/export/ledger": {"get"},
    "/api/v1/events": {"get"},
}


def test_openapi_document_is_public_and_lists_every_operation_behind_bearer_auth(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    operations = {
        path: {method for method in item if method != "parameters"} for path, item in spec["paths"].items()
    }
    assert operations == EVERY_PATH
    for path, item in spec["paths"].items():
        for method in EVERY_PATH[path]:
            assert item[method]["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in item[method]["responses"]


def test_openapi_errors_are_documented_as_the_envelope_clients_receive(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "fields"}
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    resolve_status = schemas["Resolve"]["properties"]["status"]
    assert resolve_status["enum"] == ["kept", "broken", "rescheduled", "cancelled"]
    assert {"rescheduled_from", "rescheduled_to", "is_overdue"} <= set(schemas["Commitment"]["properties"])


def test_the_spec_does_not_offer_a_cdn_loaded_ui(client):
    assert client.get("/api/v1/swagger-ui").status_code == 404
    assert client.get("/api/v1/redoc").status_code == 404


def test_a_role_change_applies_to_a_token_already_issued(client, make_user, token_for, session):
    # The role is read on every request, so promoting a viewer takes effect without a new token.
    user = make_user(Role.viewer)
    headers = token_for(user)
    assert client.post("/api/v1/vendors", headers=headers, json={"name": "Acme"}).status_code == 403
    user.role = Role.editor
    session.commit()
    assert client.post("/api/v1/vendors", headers=headers, json={"name": "Acme"}).status_code == 201
