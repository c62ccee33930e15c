"""Error responses: JSON {"error": {code, message, fields}} under /api/, friendly pages elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

API_PREFIX = "/api/"


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
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests",
}  # fmt: skip


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
        for name, value in (error.get_headers() or []):
            if name.lower() == "allow":
                response.headers[name] = value
        return response
    template = f"errors/{status}.html" if status in (403, 404) else "errors/generic.html"
    return render_template(template, error=error), status


def handle_unexpected(error: Exception):
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
