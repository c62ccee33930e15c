"""Per-request safety: security headers on every response, proxies believed, local-only redirects,
and the vendor's link pages kept apart from our sign-in (no session, no cookie, no user of ours)."""

from __future__ import annotations

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
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
# The vendor's own link pages (views/vendor_link.py): their address is the credential, so no
# browser may pass it on (Referer), keep it (cache) or list it (search engines).
VENDOR_PAGES = "/v/"
VENDOR_PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "no-store",
}
# Sent only where cookies are Secure (production): a browser then refuses plain HTTP for a year.
HSTS = "max-age=31536000; includeSubDomains"


def is_local_path(target: str | None) -> bool:
    """True for '/vendors/3', false for 'https://evil.test', '//evil.test' and '/\\evil.test'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    return not any(ch in target for ch in "\r\n\t\\")


def is_vendor_page(path: str | None = None) -> bool:
    """A page under /v/: a vendor's contact, signed in to nothing, answering through their link."""
    if path is None:
        path = request.path if has_request_context() else ""
    return path.startswith(VENDOR_PAGES)


class NoSessionOnVendorPages(SecureCookieSessionInterface):
    """Our session cookie is neither read nor written under /v/: a vendor is never given a cookie,
    and a browser signed in to vendortrack is nobody there. The session such a page sees is empty
    and forgotten with the request, so nothing that writes to it can set a cookie."""

    def open_session(self, app: Flask, request: Request):
        if is_vendor_page(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response: Response) -> None:
        if is_vendor_page():
            return
        super().save_session(app, session, response)


def register(app: Flask) -> None:
    if hops := app.config.get("VENDORTRACK_PROXY_HOPS"):
        # The client's address (sign-in throttling), scheme and host as the proxies saw them; without
        # proxies these headers are anyone's to forge, so they are read only when hops are set.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    # after_request runs for error responses too (404, 405, CSRF 400, 429, an exception's 500):
    # tests/test_security_headers.py walks each of them.
    app.session_interface = NoSessionOnVendorPages()

    @app.before_request
    def vendor_pages_know_no_user() -> None:
        # The signed-out visitor, set before anything asks for current_user: Flask-Login then reads
        # neither our session nor a remember-me cookie here, and so never writes one back.
        if is_vendor_page():
            app.login_manager._update_request_context_with_user()

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        if is_vendor_page():
            response.headers.update(VENDOR_PAGE_HEADERS)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
