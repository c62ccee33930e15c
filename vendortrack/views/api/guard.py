"""What every API request passes before its view: a Bearer token, a role that may write, a JSON body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus

from flask import g, json, request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request

from vendortrack.accounts import live_token, note_token_use, token_use_due
from vendortrack.extensions import db
from vendortrack.models import User
from vendortrack.security import SAFE_METHODS
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing

SECURITY = [{"bearerAuth": []}]
# Writes that change only the caller's own account, never the ledger: a viewer may make them too,
# as anyone may on their profile page.
SELF_SERVICE = frozenset({"api_me.me"})


def authenticate() -> None:
    """The blueprints' before_request: who is calling, may they write, and the request's one clock read."""
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    token = live_token(db.session, secret) if scheme.lower() == "bearer" and secret else None
    if token is None:
        abort(401, message=_("Send a valid API token as 'Authorization: Bearer <token>'."))
    g.api_user = user = token.user
    g.api_now = utcnow()
    if token_use_due(token, g.api_now):  # at most once a minute: most requests write nothing here
        with writing(db.session, reread=False):
            note_token_use(db.session, token, g.api_now)
    if request.method in SAFE_METHODS:
        return
    if not user.can_write and request.endpoint not in SELF_SERVICE:
        abort(403, message=_("Your role may read but not change anything."))
    # webargs would read a form post as an empty body; say what is wrong instead.
    if request.content_length and not request.is_json:
        abort(415, message=_("Send the body as JSON with 'Content-Type: application/json'."))


def _fields_with_nul(data) -> list[str]:
    """Where a NUL character hides in a query or a JSON body: PostgreSQL cannot store or compare it.

    Walked with a list, not by recursion: a body may nest a thousand levels deep.
    """
    found, pending = [], [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path or "_request")
            continue
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        pending.extend((f"{path}.{key}" if path else str(key), inner) for key, inner in items)
    return sorted(found)


class BodyParser(FlaskParser):
    """webargs' parser, with a broken JSON body and NUL characters answered in words a client can act on."""

    def _raw_load_json(self, req):
        # The app's reader (jsonio), which refuses what the standard library would pass on to fail later.
        if not is_json_request(req):
            return missing
        return json.loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, message=_("The body is not valid JSON."), fields={"_request": [str(error)]})

    def _refuse_nul(self, data):
        fields = _fields_with_nul(data)
        if fields:
            message = _("Text cannot contain NUL characters.")
            abort(422, message=message, fields={field: [message] for field in fields})
        return data

    def load_querystring(self, req, schema):
        self._refuse_nul({key: "".join(req.args.getlist(key)) for key in req.args})
        return super().load_querystring(req, schema)

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        # No body, or an empty one: webargs would read it as {}, and a PATCH as "change nothing".
        if data is missing:
            message = _("Send a JSON object as the body.")
            abort(400, message=message, fields={"_request": [message]})
        return self._refuse_nul(data)


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose every request passes `authenticate` first."""

    ARGUMENTS_PARSER = BodyParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before_request(authenticate)

    def arguments(self, schema, *args, **kwargs):
        # One schema for the view's life: webargs makes a new one from a class on every request,
        # copying each of its fields (2 % of a request's CPU under load). Loading keeps no state.
        parse = super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse
        # A body missing or not JSON is refused (BodyParser) before its fields are read.
        document = self.alt_response(400, response=_error(400))
        return lambda view: document(parse(view))


def current_api_user() -> User:
    return g.api_user


def request_now() -> datetime:
    return g.api_now


def _error(status: int) -> str:
    return HTTPStatus(status).name  # the lazily registered response component for the status


def documented(blp: Blueprint, *, write: bool = False, finds: bool = True) -> Callable:
    """Declare in the OpenAPI document what `authenticate` enforces, and the errors a caller may see."""

    def decorate(view: Callable) -> Callable:
        view = blp.alt_response(401, response=_error(401))(view)
        if write:
            view = blp.alt_response(403, response=_error(403))(view)
            view = blp.alt_response(415, response=_error(415))(view)
            view = blp.alt_response(422, response=_error(422))(view)
        if finds:
            view = blp.alt_response(404, response=_error(404))(view)
        return blp.doc(security=SECURITY)(view)

    return decorate
