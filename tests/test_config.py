"""Settings are read once at start-up; a value the app cannot run with stops it, naming the setting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config import ConfigError, DevelopmentConfig, ProductionConfig, config_from_env


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VENDORTRACK_GRACE_HOURS", "soon"),
        ("VENDORTRACK_GRACE_HOURS", "-1"),
        ("VENDORTRACK_HALF_LIFE_DAYS", "nan"),
        ("VENDORTRACK_HALF_LIFE_DAYS", "0.25"),
        ("VENDORTRACK_WEIGHT_RELIABILITY", "1.5"),
        ("VENDORTRACK_MEETING_TOLERANCE_MINUTES", "five"),
        ("VENDORTRACK_PAGE_SIZE", "0"),
        ("VENDORTRACK_TIMEZONE", "Mars/Olympus_Mons"),
        ("VENDORTRACK_TIMEZONE", "Factory"),  # zoneinfo knows it; the pages cannot format it
        ("VENDORTRACK_TIMEZONE", "localtime"),
        ("VENDORTRACK_SECURE_COOKIES", "perhaps"),
        ("VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT", "0"),
        ("VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS", "many"),
        ("VENDORTRACK_LOGIN_WINDOW_MINUTES", "0.5"),
        ("VENDORTRACK_TRUSTED_HOSTS", "https://vendors.example.com/"),
        ("VENDORTRACK_TRUSTED_HOSTS", " , "),
        ("VENDORTRACK_PROXY_HOPS", "-1"),
    ],
)
def test_a_bad_value_stops_the_start_with_a_message_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        DevelopmentConfig({name: value}, instance_path=tmp_path)


def test_defaults_follow_scoring_md(tmp_path):
    config = DevelopmentConfig({}, instance_path=tmp_path)
    assert config.VENDORTRACK_GRACE == timedelta(hours=24)
    assert config.VENDORTRACK_HALF_LIFE_DAYS == 180
    assert config.VENDORTRACK_MEETING_TOLERANCE == timedelta(minutes=5)
    assert config.VENDORTRACK_DEADLINE_TOLERANCE == timedelta(0)
    assert config.VENDORTRACK_WEIGHT_RELIABILITY == 0.6
    assert config.VENDORTRACK_TIMEZONE == "UTC"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ProductionConfig({}, instance_path=tmp_path)


def test_production_refuses_to_start_without_the_hosts_it_answers_to(tmp_path):
    with pytest.raises(ConfigError, match="VENDORTRACK_TRUSTED_HOSTS"):
        ProductionConfig({"SECRET_KEY": "x" * 40}, instance_path=tmp_path)


def test_the_trusted_hosts_are_a_comma_separated_list(tmp_path):
    config = ProductionConfig(
        {"SECRET_KEY": "x" * 40, "VENDORTRACK_TRUSTED_HOSTS": "vendors.example.com, .example.org"},
        instance_path=tmp_path,
    )
    assert config.TRUSTED_HOSTS == ["vendors.example.com", ".example.org"]


def test_the_embedded_default_answers_any_host_and_throttles_sign_in(tmp_path):
    config = DevelopmentConfig({}, instance_path=tmp_path)
    assert config.TRUSTED_HOSTS is None
    assert config.VENDORTRACK_LOGIN_FAILURES_PER_ACCOUNT == 5
    assert config.VENDORTRACK_LOGIN_FAILURES_PER_ADDRESS == 20
    assert config.VENDORTRACK_LOGIN_WINDOW == timedelta(minutes=15)


def test_production_cookies_are_secure_and_http_only(tmp_path):
    config = ProductionConfig(
        {"SECRET_KEY": "x" * 40, "VENDORTRACK_TRUSTED_HOSTS": "vendors.example.com"}, instance_path=tmp_path
    )
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


def test_the_embedded_default_generates_a_secret_key_once_and_keeps_it(tmp_path):
    first = DevelopmentConfig({}, instance_path=tmp_path).SECRET_KEY
    second = DevelopmentConfig({}, instance_path=tmp_path).SECRET_KEY
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "readable by its owner only"


def test_the_embedded_default_keeps_its_database_under_instance(tmp_path):
    config = DevelopmentConfig({}, instance_path=tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'vendortrack.sqlite'}"


def test_a_postgres_url_uses_psycopg_3(tmp_path):
    config = DevelopmentConfig({"DATABASE_URL": "postgres://u@h/db"}, instance_path=tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_an_unknown_config_name_is_refused():
    with pytest.raises(ConfigError, match="VENDORTRACK_CONFIG"):
        config_from_env({"VENDORTRACK_CONFIG": "staging"})


@pytest.mark.parametrize("environ", [{}, {"VENDORTRACK_BASE_URL": ""}])
def test_an_unset_base_url_is_the_embedded_servers_address_and_known_to_be_unset(tmp_path, environ):
    # `serve` on another port then puts its own port in the links (supervisor.links_base_url).
    config = DevelopmentConfig(environ, instance_path=tmp_path)
    assert config.VENDORTRACK_BASE_URL == "http://127.0.0.1:5000"
    assert config.VENDORTRACK_BASE_URL_SET is False


def test_with_no_base_url_links_follow_the_port_of_the_embedded_default(tmp_path):
    # `PORT=5101 flask --app wsgi jobs run digests`, beside `PORT=5101 make run`, links to 5101.
    config = DevelopmentConfig({"PORT": "5101"}, instance_path=tmp_path)
    assert config.VENDORTRACK_BASE_URL == "http://127.0.0.1:5101"
    assert config.VENDORTRACK_BASE_URL_SET is False


def test_a_port_that_is_no_port_stops_the_start_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="PORT"):
        DevelopmentConfig({"PORT": "80000"}, instance_path=tmp_path)


def test_a_base_url_that_is_set_is_kept_without_its_trailing_slash(tmp_path):
    config = DevelopmentConfig(
        {"VENDORTRACK_BASE_URL": "https://vendors.example.com/"}, instance_path=tmp_path
    )
    assert config.VENDORTRACK_BASE_URL == "https://vendors.example.com"
    assert config.VENDORTRACK_BASE_URL_SET is True
