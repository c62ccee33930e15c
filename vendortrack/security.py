"""Per-request safety: security headers on every response, proxies believed, local-only redirects."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

HEADERS = {
    # Images may also be data: URIs: Bootstrap draws the menu button, the select arrows and the
    # check marks as inline SVG in its CSS. An image cannot run script, so this opens nothing.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Sent only where cookies are Secure (production): a browser then refuses plain HTTP for a year.
HSTS = "max-age=31536000; includeSubDomains"


def is_local_path(target: str | None) -> bool:
    """True for '/vendors/3', false for 'https://evil.test', '//evil.test' and '/\\evil.test'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    return not any(ch in target for ch in "\r\n\t\\")


def register(app: Flask) -> None:
    if hops := app.config.get("VENDORTRACK_PROXY_HOPS"):
        # The client's address (sign-in throttling), scheme and host as the proxies saw them; without
        # proxies these headers are anyone's to forge, so they are read only when hops are set.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    # after_request runs for error responses too (404, 405, CSRF 400, 429, an exception's 500):
    # tests/test_security_headers.py walks each of them.
    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
