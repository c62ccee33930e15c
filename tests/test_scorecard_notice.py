"""The notice of moves (SCORING.md §11) on the ranked scorecard: the same as each vendor's own report
as of any moment, however the moves were made and corrected, kept in the rollups and proved by the check."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.test_scorecard import NOW, build_history
from tests.test_scorecard_pages import rows, text
from vendortrack import ledger
from vendortrack.models import Commitment, Kind, Status
from vendortrack.models.score import ScoreRollup
from vendortrack.scores import scorecard, tally
from vendortrack.scores.rules import Notice
from vendortrack.timeutil import utcnow


@pytest.fixture
def rules(app):
    return app.config["VENDORTRACK_RULES"]


def notices_on_the_scorecard(session, rules, as_of) -> dict[int, Notice]:
    return {line.vendor_id: line.notice for line in scorecard.ranked(session, rules, as_of)}


def assert_scorecard_notice_is_each_vendors(session, rules, vendors, as_of) -> None:
    lines = notices_on_the_scorecard(session, rules, as_of)
    for vendor in vendors:
        assert lines[vendor.id] == scorecard.vendor_score(session, vendor, rules, as_of).notice, (
            vendor.name,
            as_of,
        )


def move(session, c, editor, rnd, now):
    """Reschedule as the vendor asked, told some time before (or after) the time, or not said."""
    told = rnd.choice([None, c.due_at - timedelta(hours=rnd.uniform(-30, 200))])
    return ledger.reschedule(
        session,
        c,
        actor=editor,
        now=now,
        confirm_past=True,
        new_due_at=c.due_at + timedelta(days=rnd.randrange(1, 40)),
        notified_at=None if told is None else min(told, now),
    )


def test_the_scorecards_notice_is_each_vendors_own_as_of_any_moment_after_random_moves_and_corrections(
    session, make_vendor, editor, rules
):
    rnd = random.Random(11)
    vendors = [make_vendor(f"Vendor {i}") for i in range(5)]
    build_history(session, vendors, editor, per_vendor=30)
    tally.bring_up_to_date(session, rules, NOW)
    session.commit()
    through = tally.basis(session).rollup_through
    for step in range(150):
        commitments = session.scalars(
            sa.select(Commitment).where(Commitment.vendor_id.in_([v.id for v in vendors]))
        )
        by_status: dict[Status, list[Commitment]] = {}
        for c in commitments:
            by_status.setdefault(c.status, []).append(c)
        action = rnd.random()
        moved = by_status.get(Status.rescheduled, [])
        if action < 0.4 and by_status.get(Status.open):
            move(session, rnd.choice(by_status[Status.open]), editor, rnd, NOW)
        elif action < 0.55:
            vendor = rnd.choice(vendors)
            due = NOW - timedelta(days=rnd.uniform(0, 300))
            c = ledger.log_commitment(
                session,
                vendor=vendor,
                kind=Kind.deadline,
                title=f"Step {step}",
                due_at=due,
                actor=editor,
                now=due,
            )
            move(session, c, editor, rnd, NOW)
        elif action < 0.8 and moved:
            # When the vendor told us, corrected: the settled months' moves above all (only the rollup moves).
            settled = [c for c in moved if c.due_at < through] or moved
            c = rnd.choice(settled)
            told = rnd.choice([None, c.due_at - timedelta(hours=rnd.uniform(-10, 100))])
            ledger.edit_commitment(
                session, c, actor=editor, now=NOW, notified_at=None if told is None else min(told, NOW)
            )
        elif moved:
            c = rnd.choice(moved)
            if c.rescheduled_to is None or c.rescheduled_to.status in (Status.open, Status.cancelled):
                ledger.reopen(session, c, actor=editor, now=NOW)
        session.commit()

    assert session.scalar(sa.select(sa.func.sum(ScoreRollup.notice_moves))) > 20  # the rollups hold many
    assert tally.check(session, rules, NOW).differences == []
    for as_of in (
        NOW,
        NOW + timedelta(days=25),
        through + timedelta(hours=3),  # rollups and the moves since
        through - timedelta(days=1),  # before the rollups: every move read
        NOW - timedelta(days=200, hours=5),
    ):
        assert_scorecard_notice_is_each_vendors(session, rules, vendors, as_of)


@pytest.fixture
def settled_moves(session, make_vendor, editor, rules):
    """Acme moved three deadlines in the settled months, told 3 days, 2 days and 2 hours ahead."""
    acme, other = make_vendor("Acme Plumbing"), make_vendor("Brightline Office")
    for vendor, days_ago in ((acme, 200), (acme, 150), (acme, 120), (other, 100)):
        due = NOW - timedelta(days=days_ago)
        c = ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.deadline,
            title="Report",
            due_at=due,
            actor=editor,
            now=due - timedelta(days=9),
        )
        ahead = {
            200: timedelta(days=3),
            150: timedelta(days=2),
            120: timedelta(hours=2),
            100: timedelta(days=1),
        }
        ledger.reschedule(
            session,
            c,
            actor=editor,
            now=due,
            notified_at=due - ahead[days_ago],
            new_due_at=NOW + timedelta(days=days_ago),
        )
    tally.bring_up_to_date(session, rules, NOW)
    session.commit()
    return acme, other


def test_the_rollup_keeps_the_settled_moves_notice_and_a_corrected_notice_alone_moves_it(
    session, settled_moves, editor, rules
):
    acme, _ = settled_moves
    rollup = session.get(ScoreRollup, acme.id)
    assert (rollup.notice_moves, rollup.notice_last_minute, rollup.notice_median_hours) == (3, 1, 48.0)
    assert notices_on_the_scorecard(session, rules, NOW)[acme.id] == Notice(48.0, 1, 3)

    last_minute = session.scalars(
        sa.select(Commitment)
        .where(Commitment.vendor_id == acme.id, Commitment.status == Status.rescheduled)
        .order_by(Commitment.due_at.desc())
    ).first()
    ledger.edit_commitment(
        session, last_minute, actor=editor, now=NOW, notified_at=last_minute.due_at - timedelta(days=5)
    )
    session.commit()

    assert notices_on_the_scorecard(session, rules, NOW)[acme.id] == Notice(72.0, 0, 3)
    assert tally.check(session, rules, NOW).differences == []


def test_a_notice_changed_behind_the_ledgers_back_is_found_in_the_rollup_then_repaired(
    session, settled_moves, rules
):
    acme, other = settled_moves
    session.execute(
        sa.text(
            "UPDATE commitment SET notified_at = due_at WHERE vendor_id = :id AND status = 'rescheduled'"
        ),
        {"id": other.id},
    )
    session.commit()

    found = tally.check(session, rules, NOW).differences

    assert {(d.vendor_id, d.month) for d in found} == {(other.id, None)}
    assert {d.field for d in found} == {"notice_last_minute", "notice_median_hours", "notice_hours (sum)"}
    median = next(d for d in found if d.field == "notice_median_hours")
    assert (median.stored, median.recounted) == (24.0, 0.0)
    assert f"Brightline Office (#{other.id}) rollup notice_last_minute: stored 0, recounted 1" in [
        str(d) for d in found
    ]

    assert tally.check(session, rules, NOW, repair=True).repaired_vendors == 1
    assert tally.check(session, rules, NOW).differences == []
    assert notices_on_the_scorecard(session, rules, NOW)[other.id] == Notice(0.0, 1, 1)


def test_the_api_scorecard_line_carries_the_notice_as_of_the_moment_asked(
    client, viewer, token_for, settled_moves
):
    acme, other = settled_moves
    headers = token_for(viewer)

    body = client.get("/api/v1/scorecard?as_of=2026-11-15T09:30:00Z", headers=headers).get_json()
    earlier = client.get(
        f"/api/v1/scorecard?as_of={(NOW - timedelta(days=140)).isoformat().replace('+00:00', 'Z')}",
        headers=headers,
    ).get_json()

    notice = {item["name"]: item["notice"] for item in body["items"]}
    assert notice == {
        "Acme Plumbing": {"median_hours": 48.0, "last_minute_moves": 1},
        "Brightline Office": {"median_hours": 24.0, "last_minute_moves": 0},
    }
    # 140 days before: only Acme's two first moves were due, Brightline's none.
    notice = {item["name"]: item["notice"] for item in earlier["items"]}
    assert notice == {
        "Acme Plumbing": {"median_hours": 60.0, "last_minute_moves": 0},
        "Brightline Office": {"median_hours": None, "last_minute_moves": 0},
    }
    own = client.get(
        f"/api/v1/vendors/{acme.id}/score?as_of=2026-11-15T09:30:00Z", headers=headers
    ).get_json()
    assert own["notice"] == {"median_hours": 48.0, "last_minute_moves": 1}


def test_compare_shows_each_vendors_notice_of_moves(client, viewer, session, make_vendor, editor):
    now = utcnow()
    acme, quiet = make_vendor("Acme Plumbing"), make_vendor("Quiet Supplies")
    for days_ago, ahead in ((40, timedelta(days=3)), (30, timedelta(hours=2)), (20, timedelta(days=2))):
        due = now - timedelta(days=days_ago)
        c = ledger.log_commitment(
            session,
            vendor=acme,
            kind=Kind.promise,
            title="Parts",
            due_at=due,
            actor=editor,
            now=due - timedelta(days=9),
        )
        ledger.reschedule(
            session, c, actor=editor, now=due, notified_at=due - ahead, new_due_at=now + timedelta(days=9)
        )
    session.commit()
    client.login(viewer)

    page = text(client.get(f"/scorecard/compare?vendor={acme.id}&vendor={quiet.id}"))

    row = next(row for row in rows(page) if row.startswith("Notice of moves"))
    assert row == ("Notice of moves told us 2 days ahead median, over 3 counted moves 1 last-minute move —")
