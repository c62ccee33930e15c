"""vendortrack: an honest ledger of what vendors promise and what they deliver."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, redirect, url_for

from vendortrack.jsonio import OrjsonProvider

if TYPE_CHECKING:
    from config import Config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    # Imported here: config.py builds the scoring rules, and importing it first imports this package.
    from config import config_from_env

    config = config or config_from_env()
    app = Flask(
        __name__,
        instance_path=str(config.INSTANCE_PATH),
        template_folder=str(ROOT / "templates"),
    )
    app.json = OrjsonProvider(app)
    app.config.from_mapping(config.as_dict())
    register_extensions(app)
    register_blueprints(app)
    register_web_hooks(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from vendortrack import permissions
    from vendortrack.database import configure_sqlite
    from vendortrack.extensions import babel, bootstrap, csrf, db, login_manager, migrate
    from vendortrack.views import locale

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    permissions.configure_login(login_manager)
    babel.init_app(app, locale_selector=locale.select_locale, timezone_selector=locale.select_timezone)
    bootstrap.init_app(app)


def register_blueprints(app: Flask) -> None:
    from vendortrack.extensions import csrf
    from vendortrack.views import (
        admin,
        api,
        asking,
        auth,
        calendar,
        commitments,
        complaints,
        digest,
        scorecards,
        vendor_link,
        vendors,
    )
    from vendortrack.views.exports import bp as exports_bp
    from vendortrack.views.imports import bp as imports_bp
    from vendortrack.views.routing import RowIdConverter

    # `<id:...>` in every route with an id; set first, as a rule finds its converter when added.
    app.url_map.converters["id"] = RowIdConverter
    app.register_blueprint(auth.bp)
    app.register_blueprint(vendors.bp)
    app.register_blueprint(commitments.bp)
    app.register_blueprint(complaints.bp)
    app.register_blueprint(asking.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(scorecards.bp)
    app.register_blueprint(digest.bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(calendar.bp)
    # The vendor's link pages check a form token of their own: Flask-WTF's lives in a session, and
    # a vendor is given no cookie.
    csrf.exempt(vendor_link.bp)
    app.register_blueprint(vendor_link.bp)
    api.register(app)
    app.add_url_rule("/", endpoint="index", view_func=vendors.home)
    # Browsers ask for /favicon.ico whatever the page links; send them to the icon the pages use.
    app.add_url_rule(
        "/favicon.ico",
        endpoint="favicon",
        view_func=lambda: redirect(url_for("static", filename="favicon.svg"), 301),
    )


def register_web_hooks(app: Flask) -> None:
    from vendortrack import errors, security, templating, unit_of_work

    errors.register(app)
    security.register(app)
    unit_of_work.register(app)
    templating.register(app)


def register_commands(app: Flask) -> None:
    from vendortrack import cli

    cli.register(app)
