"""The README's production install, in a fresh virtual environment: a Polish user's pages and emails are
Polish, because installing the package compiles the translation catalogs."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
import zipfile
from email import policy
from pathlib import Path

import pytest

from tests.catalogs import catalog, say

ROOT = Path(__file__).resolve().parent.parent
BUILD_REQUIRES = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
PASSWORD = "Kwiecień plecień, bo przeplata 2026"
SITE = "https://vendors.example.test"


def fresh_checkout(target: Path) -> Path:
    """The files a fresh clone has (what git tracks, or would): no .mo, no .venv, no instance/."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def wheelhouse(pytestconfig) -> Path:
    """Wheels of the dependencies and the build's requirements, kept between runs (.pytest_cache)."""
    return pytestconfig.cache.mkdir("install-wheelhouse")


@pytest.fixture
def pip(wheelhouse):
    """`python -m pip <verb>` from the wheelhouse; it fetches what it lacks from the package index the
    first time (and after a dependency changes), so later runs install offline."""

    def pip(python: Path | str, verb: str, *options: str, source: Path) -> None:
        offline = [python, "-m", "pip", verb, "--no-index", "--find-links", wheelhouse, *options, source]
        if subprocess.run(offline, capture_output=True, timeout=600).returncode != 0:
            # Fetched beside the wheelhouse and moved in whole: a test on another xdist worker that
            # reads the wheelhouse meanwhile never finds half a wheel.
            fetched = Path(tempfile.mkdtemp(dir=wheelhouse))
            run([python, "-m", "pip", "download", "--quiet", "--dest", fetched, *BUILD_REQUIRES, source])
            for wheel in fetched.iterdir():
                wheel.replace(wheelhouse / wheel.name)
            fetched.rmdir()
            run(offline)

    return pip


@pytest.mark.slow
def test_the_readmes_production_install_speaks_polish_to_a_polish_user_on_pages_and_in_email(tmp_path, pip):
    checkout = fresh_checkout(tmp_path / "vendortrack")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    # The README's `pip install -e /srv/vendortrack`.
    pip(venv / "bin" / "python", "install", "--quiet", "--no-compile", "--editable", source=checkout)
    environ = {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "VENDORTRACK_CONFIG": "production",
        "SECRET_KEY": "a-long-random-string-for-the-install-test-only",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'vendortrack.sqlite'}",
        "VENDORTRACK_BASE_URL": SITE,
        "VENDORTRACK_TRUSTED_HOSTS": "vendors.example.test",
        "VENDORTRACK_INSTANCE_PATH": str(tmp_path / "instance"),
        "VENDORTRACK_MAIL_DIR": str(tmp_path / "outbox"),
    }

    def flask(*args: str, **kwargs) -> None:
        run([venv / "bin" / "flask", "--app", "wsgi", *args], cwd=checkout, env=environ, **kwargs)

    flask("db", "upgrade")
    flask(
        "users",
        "create",
        "ola@example.test",
        "--role",
        "editor",
        "--name",
        "Ola",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    # Ola writes in Polish (her profile's choice), logs a promise now three days overdue, and opens it.
    script = textwrap.dedent(
        f"""
        import re
        from datetime import UTC, datetime, timedelta
        from wsgi import app
        from vendortrack import ledger
        from vendortrack.accounts import find_user
        from vendortrack.extensions import db
        from vendortrack.models import Kind
        from vendortrack.vendors import create_vendor

        now = datetime.now(UTC)
        with app.app_context():
            ola = find_user(db.session, "ola@example.test")
            ola.locale = "pl"
            vendor = create_vendor(db.session, now=now, name="Drukarnia Łódź")
            late = ledger.log_commitment(
                db.session, vendor=vendor, kind=Kind.promise, title="Wycena ulotek", actor=ola,
                due_at=now - timedelta(days=3), now=now - timedelta(days=10),
            )
            db.session.commit()
            url = f"/commitments/{{late.id}}"
        client = app.test_client()
        login = client.get("/auth/login", base_url="{SITE}").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        signed_in = client.post(
            "/auth/login", base_url="{SITE}", headers={{"Referer": "{SITE}/auth/login"}},
            data={{"email": "ola@example.test", "password": {PASSWORD!r}, "csrf_token": token}},
        )
        assert signed_in.status_code == 302, signed_in.status_code
        print(client.get(url, base_url="{SITE}").get_data(as_text=True))
        """
    )
    page = run([venv / "bin" / "python", "-c", script], cwd=checkout, env=environ).stdout
    flask("jobs", "run", "overdue")
    flask("jobs", "run", "outbox")

    assert '<html lang="pl"' in page
    assert f">{say('pl', 'History')}<" in page and ">History<" not in page
    (sent,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
    overdue = catalog("pl").get("%(num)d commitment is overdue: what happened?").string[0]
    assert message["Subject"] == overdue % {"num": 1}
    assert message["Content-Language"] == "pl"
    assert "Wycena ulotek" in message.get_body(("plain",)).get_content()


@pytest.mark.slow
def test_a_wheel_of_the_package_carries_every_compiled_catalog(tmp_path, pip):
    checkout = fresh_checkout(tmp_path / "vendortrack")
    dist = tmp_path / "dist"
    pip(sys.executable, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), source=checkout)

    (wheel,) = dist.glob("vendortrack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    languages = [po.parent.parent.name for po in checkout.glob("vendortrack/translations/*/LC_MESSAGES/*.po")]
    assert sorted(languages) == ["hu", "pl", "ru"]
    for language in languages:
        assert f"vendortrack/translations/{language}/LC_MESSAGES/messages.mo" in names
