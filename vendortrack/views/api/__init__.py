"""The JSON API under /api/v1: Bearer tokens, flask-smorest blueprints, an OpenAPI document."""

from __future__ import annotations

from flask import Flask

from vendortrack.extensions import api, csrf
from vendortrack.views.api import (
    commitments,
    complaints,
    events,
    exports,
    imports,
    me,
    schemas,
    scores,
    users,
    vendor_links,
    vendors,
)

BLUEPRINTS = (
    me.bp,
    vendors.bp,
    commitments.bp,
    complaints.bp,
    vendor_links.bp,
    scores.bp,
    users.bp,
    exports.bp,
    imports.bp,
    events.bp,
)


def register(app: Flask) -> None:
    # Documented errors take the shape vendortrack.errors gives them; set before the spec is built.
    api.ERROR_SCHEMA = schemas.ErrorSchema
    api.init_app(app, spec_kwargs={"marshmallow_plugin": schemas.DocumentPlugin()})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # token-authenticated: no cookie for a forged request to ride on
