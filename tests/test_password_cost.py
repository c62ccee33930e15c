"""Passwords are hashed at argon2's full cost everywhere but the test suite, and either cost verifies."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

import config
from tests.conftest import PASSWORD
from vendortrack.accounts import authenticate, password_matches

PRODUCTION = {"SECRET_KEY": "x" * 40, "VENDORTRACK_TRUSTED_HOSTS": "vendors.example.com"}


def parameters_of(hasher: PasswordHasher):
    return extract_parameters(hasher.hash(PASSWORD))


@pytest.mark.parametrize("settings", [config.ProductionConfig, config.DevelopmentConfig])
def test_production_and_the_embedded_default_hash_with_argon2s_own_default_cost(tmp_path, settings):
    hasher = settings(PRODUCTION, instance_path=tmp_path).PASSWORD_HASHER

    assert parameters_of(hasher) == parameters_of(PasswordHasher())
    assert parameters_of(hasher).memory_cost == 65536, "64 MiB, RFC 9106's low-memory profile"


def test_the_test_suite_hashes_with_argon2s_cheapest_parameters(tmp_path):
    hasher = config.TestConfig({}, instance_path=tmp_path).PASSWORD_HASHER  # not collected as a test class

    assert parameters_of(hasher) == profiles.CHEAPEST


@pytest.fixture
def full_cost(tmp_path) -> PasswordHasher:
    return config.DevelopmentConfig({}, instance_path=tmp_path).PASSWORD_HASHER


def test_a_password_hashed_at_full_cost_signs_in_where_hashing_is_cheap_and_is_not_rehashed(
    app, client, make_user, full_cost
):
    cheap = app.config["PASSWORD_HASHER"]
    app.config["PASSWORD_HASHER"] = full_cost
    user = make_user()
    stored = user.password_hash
    app.config["PASSWORD_HASHER"] = cheap

    assert client.login(user).status_code == 302
    # Nothing rehashes on sign-in: a hash keeps the cost it was made with, whatever the app's is now.
    assert user.password_hash == stored
    assert extract_parameters(stored) == parameters_of(full_cost)


def test_a_password_hashed_cheaply_still_checks_at_full_cost(app, make_user, full_cost):
    user = make_user()
    app.config["PASSWORD_HASHER"] = full_cost

    assert password_matches(user, PASSWORD)
    assert not password_matches(user, "not the password")


@pytest.mark.parametrize("at_full_cost", [False, True], ids=["cheap", "full cost"])
def test_an_unknown_email_is_checked_against_a_hash_of_the_apps_own_cost(
    app, session, make_user, full_cost, monkeypatch, at_full_cost
):
    if at_full_cost:
        app.config["PASSWORD_HASHER"] = full_cost
    user = make_user()
    checked, verify = [], PasswordHasher.verify

    def recorded_verify(hasher, hashed: str, password: str) -> bool:
        checked.append(extract_parameters(hashed))
        return verify(hasher, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", recorded_verify)

    assert authenticate(session, "nobody@example.test", PASSWORD) is None
    assert authenticate(session, user.email, "not the password") is None
    own = parameters_of(app.config["PASSWORD_HASHER"])
    assert checked == [own, own], "the same argon2 work for an unknown email as for a known one"
