"""Error responses: JSON {"error": {code, message, fields}} under /api/, friendly pages elsewhere."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError, ServiceUnavailable

from vendortrack.extensions import db

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 10  # a restart of the database takes about that long


def wants_json() -> bool:
    return request.path.startswith(API_PREFIX)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests messages by location ("json", "query") and by field; the client wants fields."""
    fields: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if key in ("_schema",) or not prefix else f"{prefix}.{key}"
            if key in ("json", "query", "form", "headers", "files", "path") and not prefix:
                name = ""
            fields.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        fields[prefix or "_request"] = [str(m) for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            fields.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "_request"] = [str(messages)]
    return fields


def api_error(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    return response


CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


def handle_http_error(error: HTTPException):
    status = error.code or 500
    if wants_json():
        data = getattr(error, "data", None) or {}
        fields = _flatten(data["messages"]) if "messages" in data else data.get("fields", {})
        message = data.get("message") or error.description or error.name
        if status == 422 and fields and not data.get("message"):
            message = "The request has invalid fields."
        response = api_error(status, data.get("code") or CODES.get(status, "error"), message, fields)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="vendortrack"'
        for name, value in error.get_headers() or []:
            if name.lower() == "allow":
                response.headers[name] = value
        return response
    if isinstance(error, SecurityError):
        # A Host outside TRUSTED_HOSTS is refused before routing, so no link on a page can be built.
        message = _("This server does not answer to that host name.")
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}
    template = f"errors/{status}.html" if status in (403, 404, 503) else "errors/generic.html"
    return render_template(template, error=error), status


def handle_unexpected(error: Exception):
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()  # a failed statement leaves the session unusable for drawing the page
    return handle_http_error(InternalServerError())


def database_unavailable(error: sa.exc.DBAPIError) -> bool:
    """Down, restarting, unreachable or locked, as opposed to a statement the code got wrong."""
    return isinstance(error, sa.exc.OperationalError) or error.connection_invalidated


def handle_database_error(error: sa.exc.DBAPIError):
    """The database is away: a 503 that asks to retry, never a traceback; the next request reconnects."""
    if not database_unavailable(error):
        return handle_unexpected(error)
    reason = (str(error.orig).strip() or type(error.orig).__name__).splitlines()[0]
    current_app.logger.error("Database unavailable on %s %s: %s", request.method, request.path, reason)
    # Who is asking cannot be looked up now: answer as to a visitor, so the page needs no query.
    current_app.login_manager._update_request_context_with_user()
    g.pop("api_user", None)
    unavailable = ServiceUnavailable(_("The database cannot be reached just now. Try again in a minute."))
    response = make_response(handle_http_error(unavailable))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def end_session(error: BaseException | None) -> None:
    """End the context's session before Flask-SQLAlchemy does: if the database went away after the
    response was made, the closing ROLLBACK fails, and that must not turn the response into a 500."""
    try:
        db.session.remove()
    except sa.exc.DBAPIError as failure:
        if not database_unavailable(failure):
            raise
        current_app.logger.warning("Database gone as a session ended: %s", str(failure.orig).strip()[:200])
        db.session().invalidate()  # drop the dead connection without the ROLLBACK
        db.session.remove()


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.teardown_appcontext(end_session)  # before Flask-SQLAlchemy's, which then finds nothing to end
