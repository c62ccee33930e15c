"""Demo data: loaded once into an empty database, through the ledger, with a salesman to remember."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack.accounts import find_user, password_matches
from vendortrack.demo import DEMO_ADMIN, SALESMAN, load_demo
from vendortrack.extensions import db
from vendortrack.models import Commitment, EventAction, Kind, LedgerEvent, Role, Status, User, Vendor

ON_TIME = timedelta(minutes=5)  # SCORING.md's default meeting tolerance


@pytest.fixture
def demo_cli(app):
    runner = app.test_cli_runner()
    return lambda: runner.invoke(args=["demo", "load"])


def commitments_of(session, vendor_name: str, kind: Kind | None = None) -> list[Commitment]:
    query = sa.select(Commitment).join(Vendor).where(Vendor.name == vendor_name)
    if kind is not None:
        query = query.where(Commitment.kind == kind)
    return session.scalars(query).all()


def row_counts(session) -> dict[str, int]:
    return {
        table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_demo_load_creates_the_admin_and_vendors_and_prints_a_working_password_once(demo_cli, session):
    result = demo_cli()

    assert result.exit_code == 0, result.output
    match = re.search(r"Sign in as demo@vendortrack\.test with the password (\S+) ", result.output)
    assert match, result.output
    password = match.group(1)
    assert result.output.count(password) == 1
    admin = find_user(session, DEMO_ADMIN)
    assert admin.role == Role.admin
    assert password_matches(admin, password)
    roles = set(session.scalars(sa.select(User.role)))
    assert roles == {Role.admin, Role.editor, Role.viewer}
    assert 6 <= session.scalar(sa.select(sa.func.count(Vendor.id))) <= 8
    assert set(session.scalars(sa.select(Commitment.kind).distinct())) == set(Kind)


def test_a_second_demo_load_changes_nothing_and_shows_no_password(demo_cli, session):
    demo_cli()
    before = row_counts(session)

    result = demo_cli()

    assert result.exit_code == 0
    assert "already has vendors" in result.output
    assert "password" not in result.output
    assert row_counts(session) == before


def test_demo_load_does_nothing_when_any_vendor_exists(demo_cli, session, make_vendor):
    make_vendor("Our own printer")

    result = demo_cli()

    assert "already has vendors" in result.output
    assert session.scalar(sa.select(sa.func.count(Vendor.id))) == 1
    assert find_user(session, DEMO_ADMIN) is None


def test_a_configured_demo_password_is_used_and_never_printed(app, demo_cli, session):
    app.config["VENDORTRACK_DEMO_PASSWORD"] = "demo password from the environment"

    result = demo_cli()

    assert result.exit_code == 0
    assert "demo password from the environment" not in result.output
    assert "VENDORTRACK_DEMO_PASSWORD" in result.output
    assert password_matches(find_user(session, DEMO_ADMIN), "demo password from the environment")


def test_the_salesman_breaks_most_promises_and_is_late_to_nearly_every_meeting(session):
    load_demo(session, NOW)

    promises = [c for c in commitments_of(session, SALESMAN, Kind.promise) if c.status != Status.open]
    broken = [c for c in promises if c.status == Status.broken]
    assert len(broken) > len(promises) / 2

    meetings = [c for c in commitments_of(session, SALESMAN, Kind.meeting) if c.status == Status.kept]
    late = [c for c in meetings if c.lateness() >= timedelta(minutes=10)]
    assert len(meetings) >= 5
    assert len(late) >= 0.9 * len(meetings)
    assert all(c.lateness() <= timedelta(minutes=90) for c in meetings)


def test_the_salesman_has_a_different_excuse_every_time(session):
    load_demo(session, NOW)

    failed = [c for c in commitments_of(session, SALESMAN) if c.status in (Status.broken, Status.rescheduled)]
    excuses = [c.excuse for c in failed]
    assert len(failed) >= 10
    assert len(set(excuses)) == len(excuses)
    assert len({c.excuse_category for c in failed}) >= 5


def test_the_accountant_keeps_her_word_on_time(session):
    load_demo(session, NOW)

    done = [c for c in commitments_of(session, "Kowalski & Partners Accounting") if c.status != Status.open]
    on_time = [c for c in done if c.status == Status.kept and c.lateness() <= ON_TIME]
    assert len(done) >= 10
    assert not [c for c in done if c.status == Status.broken]
    assert len(on_time) >= 0.9 * len(done)


def test_the_history_spans_a_year_with_upcoming_and_overdue_commitments(app, session):
    load_demo(session, NOW)

    due = session.scalars(sa.select(Commitment.due_at)).all()
    assert min(due) < NOW - timedelta(days=300)
    open_ones = session.scalars(sa.select(Commitment).where(Commitment.status == Status.open)).all()
    rules = app.config["VENDORTRACK_RULES"]
    assert len([c for c in open_ones if c.due_at > NOW]) >= 7
    assert 2 <= len([c for c in open_ones if rules.is_overdue(c.status, c.due_at, NOW)]) <= 6
    statuses = set(session.scalars(sa.select(Commitment.status).distinct()))
    assert statuses == set(Status)


def test_every_change_has_its_event_dated_when_it_happened(session):
    load_demo(session, NOW)

    for commitment in session.scalars(sa.select(Commitment)):
        # What a contact answered through their link is theirs, not one of our writes.
        answered = [e for e in commitment.events if e.action == EventAction.vendor_answered]
        assert all(e.actor_id is None and e.actor_contact_id == commitment.contact_id for e in answered)
        actions = [e.action.value for e in commitment.events if e not in answered]
        assert actions[0] == "created"
        assert len(actions) == (1 if commitment.status == Status.open else 2)
        assert commitment.events[0].at < commitment.due_at  # logged before it came due
        if commitment.status == Status.kept:
            assert commitment.done_at <= commitment.resolved_at == commitment.events[-1].at
    latest = session.scalar(sa.select(sa.func.max(LedgerEvent.at)))
    assert latest <= NOW


@pytest.mark.slow
def test_the_same_seed_gives_the_same_history(session):
    def history():
        load_demo(session, NOW)
        rows = session.execute(
            sa.select(
                Vendor.name,
                Commitment.kind,
                Commitment.title,
                Commitment.status,
                Commitment.due_at,
                Commitment.done_at,
                Commitment.excuse,
            )
            .join(Vendor)
            .order_by(Vendor.name, Commitment.due_at, Commitment.title, Commitment.status)
        ).all()
        session.rollback()
        return rows

    assert history() == history()


def test_demo_load_refuses_when_a_demo_address_is_taken_and_creates_nothing(demo_cli, session, make_user):
    make_user(Role.viewer, email=DEMO_ADMIN)

    result = demo_cli()

    assert result.exit_code != 0
    assert "email: A user with this email already exists." in result.output
    assert session.scalar(sa.select(sa.func.count(Vendor.id))) == 0
    assert session.scalar(sa.select(sa.func.count(User.id))) == 1
