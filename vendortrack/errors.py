"""Error responses: JSON {"error": {code, message, fields}} under /api/, friendly pages elsewhere."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from babel.units import format_unit
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    SecurityError,
    ServiceUnavailable,
)

from vendortrack.extensions import db
from vendortrack.gunicorn_conf import RequestTimedOut
from vendortrack.security import is_vendor_page

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
    if isinstance(error, RequestEntityTooLarge) and request.max_content_length:
        error = RequestEntityTooLarge(too_large_message(request.max_content_length))
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
    if is_vendor_page():
        # A vendor's link page: no navigation of ours, no sign-in link. One "not found" whatever the
        # token was (unknown, revoked, expired, closed), so the page tells none of them apart.
        template = "vendor_link/not_found.html" if status == 404 else "vendor_link/error.html"
        return render_template(template, error=error), status
    template = f"errors/{status}.html" if status in (403, 404, 413, 503) else "errors/generic.html"
    return render_template(template, error=error), status


def too_large_message(limit: int) -> str:
    # Refused from its Content-Length alone (MAX_CONTENT_LENGTH, or what the view raised it to):
    # nothing of the body was read, so none of it can be shown back.
    if limit >= 1024 * 1024:
        size = format_unit(
            limit / 1024**2, "digital-megabyte", "short", format="#,##0.#", locale=get_locale()
        )
    else:
        size = format_unit(limit // 1024, "digital-kilobyte", "short", locale=get_locale())
    return _("The request is larger than the %(size)s this server accepts; send less at once.", size=size)


def answer_as_to_a_visitor() -> None:
    """Who is asking cannot be looked up now: answer as to a visitor, so the page needs no query."""
    current_app.login_manager._update_request_context_with_user()
    g.pop("api_user", None)


def handle_timeout(error: RequestTimedOut):
    """The worker's deadline (gunicorn_conf.RequestDeadline) stopped the request: a 503 in the
    request's own shape, rather than gunicorn's bare 500 when it kills the worker."""
    current_app.logger.error(
        "Stopped %s %s at its deadline of %g s", request.method, request.path, error.seconds
    )
    try:
        db.session.rollback()  # what `writing` began to undo, if the request was writing
    except sa.exc.DBAPIError:
        # Stopped mid-conversation with the server: drop the connection, and the rows read through it.
        db.session.invalidate()
        answer_as_to_a_visitor()
    stopped = ServiceUnavailable(
        ngettext(
            "The request took longer than %(num)d second and was stopped; nothing it was saving was "
            "kept. Send less at once, or try again later.",
            "The request took longer than %(num)d seconds and was stopped; nothing it was saving was "
            "kept. Send less at once, or try again later.",
            round(error.seconds),
        )
    )
    stopped.data = {"code": "timed_out"}
    return handle_http_error(stopped)


def drop_interrupted_connection(context: sa.engine.ExceptionContext) -> None:
    """A deadline that stops a statement midway leaves its connection mid-conversation: ask a server to
    cancel the statement (or it runs on, holding its locks), then close the connection."""
    if not isinstance(context.original_exception, RequestTimedOut):
        return
    try:
        dbapi_connection = context.connection.connection.dbapi_connection
        cancel = getattr(dbapi_connection, "cancel_safe", None)  # psycopg
        if cancel is not None:
            cancel(timeout=2)
        else:
            # SQLite closes a connection with a statement still open only once that statement is
            # freed (sqlite3_close_v2), and until then its transaction holds the write lock: end the
            # transaction now (its open statements are aborted).
            dbapi_connection.rollback()
    except Exception:  # noqa: S110 - closing the connection below ends the statement too, later
        pass
    context.is_disconnect = True
    context.invalidate_pool_on_disconnect = False  # the other connections were never interrupted


def handle_statement_error(error: sa.exc.StatementError):
    """SQLAlchemy wraps what a statement raised: the deadline, when it stopped one, is answered as such."""
    if isinstance(error.orig, RequestTimedOut):
        return handle_timeout(error.orig)
    return handle_unexpected(error)


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
    answer_as_to_a_visitor()
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
    app.register_error_handler(RequestTimedOut, handle_timeout)
    if not sa.event.contains(sa.Engine, "handle_error", drop_interrupted_connection):
        sa.event.listen(sa.Engine, "handle_error", drop_interrupted_connection)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(sa.exc.StatementError, handle_statement_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.teardown_appcontext(end_session)  # before Flask-SQLAlchemy's, which then finds nothing to end
