"""Per-request safety: security headers on every response, and SQLite's write intent."""

from __future__ import annotations

from flask import Flask, Response, request

from vendortrack.database import write_intent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def is_local_path(target: str | None) -> bool:
    """True for '/vendors/3', false for 'https://evil.test', '//evil.test' and '/\\evil.test'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    return not any(ch in target for ch in "\r\n\t\\")


def register(app: Flask) -> None:
    @app.before_request
    def declare_write_intent() -> None:
        write_intent.set(request.method not in SAFE_METHODS)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
