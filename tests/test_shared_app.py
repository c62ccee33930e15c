"""The app the tests share starts each test clean: empty tables, the settings it was built with."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from tests.conftest import NOW, _test_app
from vendortrack.extensions import db
from vendortrack.models import Vendor
from vendortrack.vendors import create_vendor


def test_what_a_test_changes_in_the_config_is_undone_before_the_next(shared_app, tmp_path):
    rules = shared_app.config["VENDORTRACK_RULES"]
    with _test_app(shared_app, tmp_path / "first") as app:
        app.config["VENDORTRACK_RULES"] = dataclasses.replace(rules, half_life_days=14)
        app.config["VENDORTRACK_SMTP_HOST"] = "mail.example.test"
        app.config["VENDORTRACK_SOMETHING_NEW"] = True

    with _test_app(shared_app, tmp_path / "second") as app:
        assert app.config["VENDORTRACK_RULES"] is rules
        assert app.config["VENDORTRACK_SMTP_HOST"] is None
        assert "VENDORTRACK_SOMETHING_NEW" not in app.config
        assert app.config["VENDORTRACK_MAIL_DIR"] == tmp_path / "second" / "outbox"


def test_the_rows_a_test_wrote_are_gone_when_the_next_starts(shared_app, tmp_path):
    with _test_app(shared_app, tmp_path / "first"):
        create_vendor(db.session, now=NOW, name="Acme Plumbing")
        db.session.commit()

    with _test_app(shared_app, tmp_path / "second"):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 0
