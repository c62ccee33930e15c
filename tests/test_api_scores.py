"""Scores through the API: the full report, the ranked scorecard, and the same on both databases."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from tests.conftest import PG_URL, make_app
from tests.test_scorecard import NOW, build_history
from tests.test_scorecard_pages import kept
from vendortrack.accounts import create_user, issue_token
from vendortrack.extensions import db
from vendortrack.models import Contact, Role
from vendortrack.vendors import add_contact, create_vendor


@pytest.fixture
def scored(session, make_vendor, editor):
    vendors = [make_vendor(f"Vendor {i}", category="IT" if i % 2 else "Print") for i in range(4)]
    add_contact(session, vendors[0], now=NOW, name="Max Hollis")
    session.commit()
    build_history(session, vendors, editor, per_vendor=25)
    return vendors


def test_a_vendors_score_has_every_figure_of_scoring_md(client, viewer, token_for, scored):
    response = client.get(
        f"/api/v1/vendors/{scored[0].id}/score?as_of=2026-11-15T09:30:00Z", headers=token_for(viewer)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {
        "reliability",
        "punctuality",
        "score",
        "standing",
        "reliability_band",
        "punctuality_band",
        "ranking_key",
        "counted",
        "weight_total",
        "counts",
        "median_late_minutes_meetings",
        "median_late_hours_other",
        "excuses",
        "longest_reschedule_chain",
        "contacts",
        "trend",
        "explain",
    }
    assert body["as_of"] == "2026-11-15T09:30:00+00:00"
    assert len(body["trend"]) == 12
    assert len(body["explain"]) == body["counted"]
    assert sum(item["weight"] for item in body["explain"]) == pytest.approx(body["weight_total"])
    s_f = sum(item["weight"] * item["f"] for item in body["explain"])
    assert body["reliability"] == pytest.approx((s_f + 1) / (body["weight_total"] + 2))
    assert [c["name"] for c in body["contacts"]] == ["Max Hollis"]


def test_a_score_for_one_contact_counts_only_their_commitments(client, viewer, token_for, scored, session):
    contact = session.scalars(sa.select(Contact)).one()
    response = client.get(
        f"/api/v1/vendors/{scored[0].id}/score?contact_id={contact.id}", headers=token_for(viewer)
    )
    assert response.status_code == 200
    assert response.get_json()["counted"] == 0, "nothing was logged with this contact"
    other = client.get(
        f"/api/v1/vendors/{scored[1].id}/score?contact_id={contact.id}", headers=token_for(viewer)
    )
    assert other.status_code == 422
    assert "contact_id" in other.get_json()["error"]["fields"]


def test_a_naive_as_of_is_refused(client, viewer, token_for, scored):
    response = client.get(
        f"/api/v1/vendors/{scored[0].id}/score?as_of=2026-11-15T09:30:00", headers=token_for(viewer)
    )
    assert response.status_code == 422
    assert "as_of" in response.get_json()["error"]["fields"]


def test_the_scorecard_ranks_every_active_vendor(client, viewer, token_for, scored):
    body = client.get("/api/v1/scorecard?as_of=2026-11-15T09:30:00Z", headers=token_for(viewer)).get_json()
    keys = [item["ranking_key"] for item in body["items"] if item["standing"] != "insufficient_data"]
    assert keys == sorted(keys, reverse=True)
    assert {item["name"] for item in body["items"]} == {v.name for v in scored}
    worst = client.get("/api/v1/scorecard?order=worst&category=IT", headers=token_for(viewer)).get_json()
    assert {item["category"] for item in worst["items"]} == {"IT"}
    assert client.get("/api/v1/scorecard?order=sideways", headers=token_for(viewer)).status_code == 422


def test_the_scorecard_and_the_vendor_score_agree(client, viewer, token_for, scored):
    headers = token_for(viewer)
    board = client.get("/api/v1/scorecard?as_of=2026-11-15T09:30:00Z", headers=headers).get_json()
    for item in board["items"]:
        own = client.get(
            f"/api/v1/vendors/{item['vendor_id']}/score?as_of=2026-11-15T09:30:00Z", headers=headers
        ).get_json()
        for name in ("reliability", "punctuality", "score", "ranking_key", "weight_total"):
            assert item[name] == pytest.approx(own[name], abs=1e-9)
        assert item["counts"] == own["counts"]


def count_statements(app, action) -> int:
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_scorecard_takes_as_many_statements_for_forty_vendors_as_for_four(
    app, client, viewer, token_for, scored, session, editor
):
    headers = token_for(viewer)
    client.get("/api/v1/scorecard", headers=headers)  # builds the buckets once
    few = count_statements(app, lambda: client.get("/api/v1/scorecard", headers=headers))
    more = [create_vendor(session, now=NOW, name=f"More {i}") for i in range(36)]
    session.commit()
    build_history(session, more, editor, per_vendor=5)
    many = count_statements(app, lambda: client.get("/api/v1/scorecard", headers=headers))
    assert few == many
    assert few <= 9  # the answers to our asks through the links, every vendor's, are one of them


@pytest.mark.skipif(not PG_URL, reason="VENDORTRACK_TEST_DATABASE_URL is not set")
def test_sqlite_and_postgresql_give_the_same_figures_for_the_same_ledger(tmp_path, both_databases):
    """The same seeded ledger on both databases: every figure equal to 1e-9."""
    results = []
    for url in both_databases:
        app = make_app(url, tmp_path / uuid.uuid4().hex)
        with app.app_context():
            session = db.session
            user = create_user(
                session,
                email="same@example.test",
                password="correct horse battery",
                role=Role.editor,
                now=NOW,
            )
            vendors = [create_vendor(session, now=NOW, name=f"Same {i}") for i in range(3)]
            build_history(session, vendors, user, seed=11, per_vendor=30)
            token = issue_token(session, user, now=NOW)
            session.commit()
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            board = client.get("/api/v1/scorecard?as_of=2026-11-15T09:30:00Z", headers=headers).get_json()
            scores = [
                client.get(
                    f"/api/v1/vendors/{v.id}/score?as_of=2026-11-15T09:30:00Z", headers=headers
                ).get_json()
                for v in vendors
            ]
            results.append((board, scores))
            db.session.remove()
            db.engine.dispose()
    (board_a, scores_a), (board_b, scores_b) = results
    assert_same_numbers(board_a["items"], board_b["items"])
    assert_same_numbers(scores_a, scores_b)


@pytest.fixture
def both_databases(tmp_path):
    """A fresh SQLite file and a fresh PostgreSQL database, both migrated to head."""
    urls = [f"sqlite:///{tmp_path / 'same.sqlite'}"]
    base = sa.make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"vt_same_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    urls.append(base.set(database=name).render_as_string(hide_password=False))
    for url in urls:
        app = make_app(url, tmp_path / uuid.uuid4().hex)
        with app.app_context():
            upgrade()
            db.engine.dispose()
    yield urls
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def assert_same_numbers(a, b, path="") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_numbers(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_numbers(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-9), path
    else:
        assert a == b, path


def test_a_thin_record_keeps_its_figures_in_the_api_with_its_standing_and_no_trend_before_it_began(
    client, viewer, token_for, make_vendor, editor, session
):
    vendor = make_vendor("Fresh Start Ltd")
    kept(session, vendor, editor, days_ago=40)
    kept(session, vendor, editor, days_ago=10)
    session.commit()

    body = client.get(f"/api/v1/vendors/{vendor.id}/score", headers=token_for(viewer)).get_json()

    # Two kept on time, weights w1, w2: R = P = (w1 + w2 + 1) / (w1 + w2 + 2), a figure the pages do not show.
    assert body["standing"] == "insufficient_data" and body["counted"] == 2
    n = body["weight_total"]
    assert body["reliability"] == pytest.approx((n + 1) / (n + 2)) and body["score"] > 50
    # The first came due 40 days ago: only the points as of 30 days ago and now are there.
    drawn = [point for point in body["trend"] if point["score"] is not None]
    assert len(drawn) == 2 and drawn[-1]["standing"] == "insufficient_data"
    assert all(
        point == {"as_of": point["as_of"], "score": None, "standing": None} for point in body["trend"][:10]
    )
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["TrendPoint"][
        "properties"
    ]
    assert schema["score"].get("nullable") or "null" in schema["score"].get("type", [])
