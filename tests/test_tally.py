"""The monthly score sums prove themselves: a recount from the ledger finds drift, and repairs it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result

from tests.conftest import WebClient, make_app
from tests.test_scorecard import build_history
from vendortrack import jobs, ledger
from vendortrack.extensions import db
from vendortrack.models import Commitment, ExcuseCategory, JobRun, Kind, Role, ScoreTallyState, Status, Vendor
from vendortrack.scores import scorecard, tally

NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


@pytest.fixture
def rules(app):
    return app.config["VENDORTRACK_RULES"]


@pytest.fixture
def three_vendors(session, make_vendor, editor, rules):
    vendors = [make_vendor(name) for name in ("Acme Plumbing", "Brightline Office", "Copperfield Print")]
    build_history(session, vendors, editor, per_vendor=25)
    tally.bring_up_to_date(session, rules, NOW)  # rollups too, so they are checked as well
    session.commit()
    return vendors


def kept_commitment_of(session, vendor: Vendor) -> Commitment:
    return session.scalars(
        sa.select(Commitment)
        .where(Commitment.vendor_id == vendor.id, Commitment.status == Status.kept, Commitment.due_at < NOW)
        .order_by(Commitment.due_at)
    ).first()


def invoke(app, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def assert_ranked_matches_each_vendor(session, rules, vendors) -> None:
    lines = {line.vendor_id: line for line in scorecard.ranked(session, rules, NOW)}
    for vendor in vendors:
        own = scorecard.vendor_score(session, vendor, rules, NOW)
        assert lines[vendor.id].figures.score == pytest.approx(own.figures.score, abs=1e-9)
        assert lines[vendor.id].counts == own.counts


def test_sums_kept_by_the_ledger_have_no_differences(session, three_vendors, rules):
    checked = tally.check(session, rules, NOW)

    assert checked.vendors == 3
    assert checked.differences == []


def test_a_scored_column_changed_behind_the_ledgers_back_is_found_in_that_vendor_and_month_then_repaired(
    session, three_vendors, rules
):
    acme = three_vendors[0]
    tampered = kept_commitment_of(session, acme)
    month = tally.month_start(tampered.due_at)
    session.execute(sa.text("UPDATE commitment SET status = 'broken' WHERE id = :id"), {"id": tampered.id})
    session.commit()

    found = tally.check(session, rules, NOW).differences

    assert {(d.vendor_id, d.month) for d in found if d.month is not None} == {(acme.id, month)}
    assert {d.field for d in found if d.month is not None} >= {"kept_on_time", "broken", "fulfilment"} - {
        "kept_on_time" if tampered.lateness_us > 0 else "kept_late"
    }
    broken = next(d for d in found if d.field == "broken" and d.month == month)
    assert broken.recounted == broken.stored + 1
    assert f"Acme Plumbing (#{acme.id}) {month:%Y-%m} broken: stored" in str(broken)

    repaired = tally.check(session, rules, NOW, repair=True)

    assert repaired.repaired_vendors == 1
    assert tally.check(session, rules, NOW).differences == []
    assert_ranked_matches_each_vendor(session, rules, three_vendors)


def test_a_settled_month_changed_behind_the_ledgers_back_shows_in_the_rollup_too(
    session, three_vendors, rules
):
    acme = three_vendors[0]
    through = tally.basis(session).rollup_through
    old = session.scalars(
        sa.select(Commitment).where(
            Commitment.vendor_id == acme.id, Commitment.status == Status.kept, Commitment.due_at < through
        )
    ).first()
    session.execute(sa.text("UPDATE commitment SET status = 'broken' WHERE id = :id"), {"id": old.id})
    session.commit()

    found = tally.check(session, rules, NOW).differences

    assert {d.vendor_id for d in found} == {acme.id}
    assert any(d.month is None and d.field == "broken" for d in found)  # the rollup
    tally.check(session, rules, NOW, repair=True)
    assert tally.check(session, rules, NOW).differences == []


@pytest.mark.slow
def test_a_few_thousand_random_ledger_writes_leave_no_drift(session, make_vendor, editor, rules):
    rnd = random.Random(14)
    vendors = [make_vendor(f"Vendor {i}") for i in range(4)]
    tally.rebuild(session, rules, NOW)  # rollups through last month: old months' changes reach them
    session.commit()
    made: list[Commitment] = []
    for step in range(2000):
        vendor = rnd.choice(vendors)
        open_ones = [c for c in made if c.status == Status.open]
        action = rnd.random()
        if action < 0.35 or not made:
            due = NOW - timedelta(days=rnd.uniform(-30, 400), minutes=rnd.randrange(1440))
            made.append(
                ledger.log_commitment(
                    session,
                    vendor=vendor,
                    kind=rnd.choice(list(Kind)),
                    title=f"Step {step}",
                    due_at=due,
                    actor=editor,
                    now=NOW,
                )
            )
        elif action < 0.55 and open_ones:
            c = rnd.choice(open_ones)
            ledger.resolve_kept(
                session,
                c,
                actor=editor,
                now=NOW,
                done_at=min(c.due_at + timedelta(minutes=rnd.choice([0, 9])), NOW),
            )
        elif action < 0.65 and open_ones:
            ledger.resolve_broken(
                session,
                rnd.choice(open_ones),
                actor=editor,
                now=NOW,
                excuse_category=ExcuseCategory.oversight,
            )
        elif action < 0.75 and open_ones:
            c = rnd.choice(open_ones)
            made.append(
                ledger.reschedule(
                    session,
                    c,
                    actor=editor,
                    now=NOW,
                    confirm_past=True,
                    new_due_at=c.due_at + timedelta(days=rnd.randrange(1, 90)),
                )
            )
        elif action < 0.85 and open_ones:
            c = rnd.choice(open_ones)
            ledger.edit_commitment(
                session, c, actor=editor, now=NOW, due_at=c.due_at - timedelta(days=rnd.randrange(1, 90))
            )
        elif action < 0.92:
            resolved = [c for c in made if c.status in (Status.kept, Status.broken)]
            if resolved:
                ledger.reopen(session, rnd.choice(resolved), actor=editor, now=NOW)
        elif open_ones:
            ledger.cancel(session, rnd.choice(open_ones), actor=editor, now=NOW)
        if step % 50 == 0:
            session.commit()
            # One query reloads what the commit expired, not one per commitment the next step reads.
            session.scalars(sa.select(Commitment)).all()
    session.commit()

    checked = tally.check(session, rules, NOW)

    assert checked.vendors == 4
    assert checked.differences == []


def test_sums_counted_under_other_settings_are_not_read_and_a_repair_rebuilds_them(
    database_url, tmp_path, session, three_vendors
):
    other = make_app(database_url, tmp_path / "other", VENDORTRACK_HALF_LIFE_DAYS="30")
    with other.app_context():
        rules = other.config["VENDORTRACK_RULES"]
        vendors = db.session.scalars(sa.select(Vendor)).all()
        # Until the sums are rebuilt, the scorecard reads the ledger, and says the same as each vendor.
        assert_ranked_matches_each_vendor(db.session, rules, vendors)
        assert tally.needs(db.session, rules, NOW) == "rebuild"

        checked = tally.check(db.session, rules, NOW)
        assert checked.counted_elsewise and not checked.rebuilt
        assert tally.check(db.session, rules, NOW, repair=True).rebuilt
        assert tally.needs(db.session, rules, NOW) != "rebuild"
        assert tally.check(db.session, rules, NOW).differences == []
        assert_ranked_matches_each_vendor(db.session, rules, vendors)
        db.session.remove()
        db.engine.dispose()


def test_a_scorecard_page_never_writes_even_when_the_sums_are_behind(
    database_url, tmp_path, session, three_vendors, make_user
):
    other = make_app(database_url, tmp_path / "other", VENDORTRACK_HALF_LIFE_DAYS="30")
    other.test_client_class = WebClient
    viewer = make_user(Role.viewer, name="Pat Procurement")
    client = other.test_client()
    writes: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    with other.app_context():
        engine = db.engine
    assert client.login(viewer).status_code == 302
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/scorecard").status_code == 200
        assert (
            client.get(
                "/scorecard/compare", query_string={"vendor": [v.id for v in three_vendors]}
            ).status_code
            == 200
        )
        assert client.get(f"/vendors/{three_vendors[0].id}").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    assert writes == []
    assert session.scalar(sa.select(ScoreTallyState.half_life_days)) == 180


def test_the_check_command_prints_each_difference_and_exits_1_and_repair_says_what_it_changed(
    app, session, three_vendors
):
    acme = three_vendors[0]
    tampered = kept_commitment_of(session, acme)
    session.execute(sa.text("UPDATE commitment SET status = 'broken' WHERE id = :id"), {"id": tampered.id})
    session.commit()

    checked = invoke(app, "tally", "check")

    assert checked.exit_code == 1
    assert f"Acme Plumbing (#{acme.id}) {tampered.due_at:%Y-%m} broken: stored" in checked.output
    assert "Brightline" not in checked.output
    assert "Run again with --repair" in checked.output

    repaired = invoke(app, "tally", "check", "--repair")

    assert repaired.exit_code == 1  # it did differ
    assert "Repaired 1 vendor" in repaired.output
    clean = invoke(app, "tally", "check")
    assert clean.exit_code == 0
    assert "No differences: the sums of 3 vendors agree with the ledger." in clean.output


def test_the_nightly_job_repairs_and_its_run_says_what_it_found(app, session, three_vendors):
    acme = three_vendors[0]
    tampered = kept_commitment_of(session, acme)
    session.execute(sa.text("UPDATE commitment SET status = 'broken' WHERE id = :id"), {"id": tampered.id})
    session.commit()

    result = jobs.run("tally", session, NOW)

    assert result["differences"] >= 2 and result["repaired"] == 1 and result["vendors"] == 3
    assert all(line.startswith(f"Acme Plumbing (#{acme.id})") for line in result["found"])
    run = session.scalars(sa.select(JobRun).where(JobRun.job == "tally")).one()
    assert run.result == result and not run.error
    assert tally.check(session, app.config["VENDORTRACK_RULES"], NOW).differences == []


def test_the_nightly_job_builds_sums_never_built(app, session, three_vendors):
    session.execute(sa.delete(ScoreTallyState))
    session.commit()

    result = jobs.run("tally", session, NOW)

    assert result["rebuilt"] is True and result["differences"] == 0 and "rolled_up" not in result
    assert tally.needs(session, app.config["VENDORTRACK_RULES"], NOW) != "rebuild"


def test_the_jobs_page_shows_what_the_tally_check_found_and_when_it_runs_next(
    app, session, three_vendors, client, admin
):
    acme = three_vendors[0]
    tampered = kept_commitment_of(session, acme)
    session.execute(sa.text("UPDATE commitment SET status = 'broken' WHERE id = :id"), {"id": tampered.id})
    session.commit()
    jobs.run("tally", session)
    client.login(admin)

    card = (
        client.get("/admin/jobs")
        .get_data(as_text=True)
        .split('id="job-tally"', 1)[1]
        .split("</section>", 1)[0]
    )

    assert "Score sums check" in card
    assert "vendors checked: 3" in card and "vendors repaired: 1" in card
    assert f"found: Acme Plumbing (#{acme.id}) {tampered.due_at:%Y-%m}" in card
    assert "when the scheduler next ticks" not in card  # it ran: the next run is the coming night
