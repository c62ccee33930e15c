"""SCORING.md §10 on random ledgers with complaints, through the database, as the scorecard reads them.

Every responsiveness figure of `scorecard.ranked()` and `scorecard.vendor_score()` must equal §10
computed here from the drawn complaints alone (this file's own deadline arithmetic, written from the
text, not `rules.answer_deadline`), as of moments before the complaint rollups were last moved on
(read from every complaint) and after it (rollups plus the complaints not yet settled), with writes
landing after the rollups were built. On SQLite and on PostgreSQL, as every database test.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW, PASSWORD, _empty_all_tables
from vendortrack import complaints, jobs, ledger
from vendortrack.accounts import create_user
from vendortrack.models import Complaint, Role
from vendortrack.models.score import ComplaintRollup
from vendortrack.scores import responsiveness, scorecard, tally
from vendortrack.scores.rules import Rules
from vendortrack.vendors import create_vendor

Z = 1.6448536269514722  # the 90 % Wilson interval of §5
ZONES = ("UTC", "Europe/Warsaw", "America/New_York", "Asia/Tokyo", "Pacific/Auckland")
END = NOW + timedelta(days=40)  # every write is made as of this moment: all the drawn ones have happened
# Each example writes a few dozen rows and reads the scorecard six times: fewer examples than a pure test.
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- SCORING.md §10, restated ------------------------------------------------------------------


def deadline_of(raised_at: datetime, rules: Rules) -> datetime:
    """The end (last microsecond) of the k-th working day after the local date it was raised on."""
    zone = ZoneInfo(rules.timezone)
    day: date = raised_at.astimezone(zone).date()
    working_days = 0
    while working_days < rules.ack_working_days:
        day = date.fromordinal(day.toordinal() + 1)
        if day.isoweekday() <= 5:  # Monday to Friday; holidays are not known
            working_days += 1
    next_midnight = datetime.combine(date.fromordinal(day.toordinal() + 1), time(0), tzinfo=zone)
    return next_midnight.astimezone(UTC) - timedelta(microseconds=1)


@dataclass
class Drawn:
    """One complaint as drawn, with what became of it (the test's own record, not the database's)."""

    vendor: int  # index into the example's vendors
    raised_at: datetime
    answered_at: datetime | None
    owner_named: bool
    dated_at: datetime | None
    promise_due: timedelta | None
    promise_fate: str  # "kept", "broken", "open" or "moved and kept"
    kept_after: timedelta
    withdrawn: bool
    later: bool  # written after the rollups were built
    complaint_id: int | None = None

    @property
    def kept_at(self) -> datetime | None:
        if self.dated_at is None or self.promise_fate not in ("kept", "moved and kept"):
            return None
        return self.dated_at + self.promise_due + self.kept_after


def expected(drawn: list[Drawn], rules: Rules, as_of: datetime) -> dict:
    """§10's figures as of `as_of` over one vendor's drawn complaints."""
    counted = []
    for c in drawn:
        if c.withdrawn or c.raised_at > as_of:
            continue
        deadline = deadline_of(c.raised_at, rules)
        answered = c.answered_at is not None and c.answered_at <= as_of
        if deadline <= as_of or answered:
            counted.append((c, deadline, answered))
    big_n = s_a = 0.0
    for c, deadline, answered in counted:
        days = (as_of - c.raised_at).total_seconds() / 86400
        w = 1.0 if rules.half_life_days == 0 else 2 ** (-days / rules.half_life_days)
        big_n += w
        s_a += w if answered and c.answered_at <= deadline else 0.0
    value = (s_a + 1) / (big_n + 2)
    if big_n > 0:
        p = s_a / big_n
        centre = (p + Z * Z / (2 * big_n)) / (1 + Z * Z / big_n)
        half = Z * math.sqrt(p * (1 - p) / big_n + Z * Z / (4 * big_n * big_n)) / (1 + Z * Z / big_n)
        band = (max(0.0, centre - half), min(1.0, centre + half))
    else:
        band = (0.0, 1.0)
    answered = [c for c, _, yes in counted if yes]
    in_time = sum(1 for c, deadline, yes in counted if yes and c.answered_at <= deadline)
    dated = [c for c, _, _ in counted if c.dated_at is not None and c.dated_at <= as_of]
    hours = [(c.answered_at - c.raised_at).total_seconds() / 3600 for c in answered]
    return {
        "value": value,
        "band": list(band),
        "counted": len(counted),
        "answered_in_time": in_time,
        "answered_late": len(answered) - in_time,
        "unanswered": len(counted) - len(answered),
        "median_hours_to_answer": statistics.median(hours) if hours else None,
        "owner_named": sum(1 for c, _, _ in counted if c.owner_named),
        "dated_answers": len(dated),
        "dated_answers_kept": sum(1 for c in dated if c.kept_at is not None and c.kept_at <= as_of),
        "standing": standing_of(100 * value, len(counted)),
    }


def standing_of(score: float, counted: int) -> str:
    if counted < 3:
        return "insufficient_data"
    for floor, name in ((90, "excellent"), (75, "good"), (60, "fair"), (40, "poor")):
        if score >= floor:
            return name
    return "unreliable"


def assert_figures(found: dict, wanted: dict) -> None:
    for key, value in wanted.items():
        if key == "standing":
            continue
        if isinstance(value, list | float):
            assert found[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert found[key] == value, key
    # A standing may differ only for a value within rounding of a band's floor.
    if not any(abs(100 * wanted["value"] - floor) < 1e-7 for floor in (40, 60, 75, 90)):
        assert found["standing"] == wanted["standing"]


# --- the ledgers -------------------------------------------------------------------------------

rules_strategy = st.builds(
    Rules,
    half_life_days=st.one_of(st.just(0.0), st.floats(1, 720)),
    ack_working_days=st.integers(1, 3),
    timezone=st.sampled_from(ZONES),
)
# Raised within five weeks before NOW, often on a weekend or right at a local midnight's edge.
raised_strategy = st.one_of(
    st.integers(0, 35 * 24 * 60).map(lambda m: NOW - timedelta(minutes=m)),
    st.integers(0, 4).map(lambda week: datetime(2026, 6, 6, 22, 0, tzinfo=UTC) + timedelta(days=-7 * week)),
)
hours = st.one_of(st.floats(0.01, 200), st.sampled_from([0.0]))


@st.composite
def complaint_strategy(draw, vendors: int) -> Drawn:
    raised = draw(raised_strategy)
    answered = draw(st.none() | hours.map(lambda h: raised + timedelta(hours=h)))
    dated = None
    if answered is not None and draw(st.booleans()):
        dated = answered + timedelta(hours=draw(st.floats(0, 48)))
    return Drawn(
        vendor=draw(st.integers(0, vendors - 1)),
        raised_at=raised,
        answered_at=answered,
        owner_named=answered is not None and draw(st.booleans()),
        dated_at=dated,
        promise_due=timedelta(hours=draw(st.floats(1, 24 * 10))),
        promise_fate=draw(st.sampled_from(["kept", "broken", "open", "moved and kept"])),
        kept_after=timedelta(hours=draw(st.floats(-12, 48))),
        withdrawn=draw(st.integers(0, 9)) == 0,
        later=draw(st.integers(0, 3)) == 0,
    )


ledger_strategy = st.tuples(
    rules_strategy,
    st.lists(complaint_strategy(3), min_size=1, max_size=18),
    # S: when the rollups were built, and the moments asked about, before and after it.
    st.integers(0, 30 * 24 * 60).map(lambda m: NOW - timedelta(days=10) + timedelta(minutes=m)),
    st.lists(st.integers(-20 * 24 * 60, 30 * 24 * 60), min_size=2, max_size=4),
)


def write(session, c: Drawn, vendor, actor) -> None:
    """Log a drawn complaint and its life through complaints.py and the ledger, as users would."""
    complaint = complaints.raise_complaint(
        session,
        vendor=vendor,
        title="Pallets arrived broken",
        severity="major",
        channel="email",
        raised_at=c.raised_at,
        actor=actor,
        now=END,
        rules=session.info["rules"],
    )
    c.complaint_id = complaint.id
    if c.answered_at is not None:
        complaints.answer(
            session,
            complaint,
            at=c.answered_at,
            case_owner_name="Ewa Nowak" if c.owner_named else "",
            actor=actor,
            now=END,
        )
    if c.dated_at is not None:
        promise = complaints.give_dated_answer(
            session, complaint, due_at=c.dated_at + c.promise_due, at=c.dated_at, actor=actor, now=END
        )
        if c.promise_fate == "moved and kept":
            promise = ledger.reschedule(
                session, promise, actor=actor, now=END, new_due_at=promise.due_at, confirm_past=True
            )
        if c.promise_fate in ("kept", "moved and kept"):
            ledger.resolve_kept(session, promise, actor=actor, now=END, done_at=c.kept_at)
        elif c.promise_fate == "broken":
            ledger.resolve_broken(session, promise, actor=actor, now=END)
    if c.withdrawn:
        complaints.resolve(session, complaint, "withdrawn", actor=actor, now=END, at=END)
    session.commit()


def fresh_ledger(session, rules: Rules, vendors: int):
    _empty_all_tables()
    session.info["rules"] = rules
    actor = create_user(session, email="edith@example.test", password=PASSWORD, role=Role.editor, now=NOW)
    made = [create_vendor(session, name=f"Vendor {i}", now=NOW - timedelta(days=400)) for i in range(vendors)]
    session.commit()
    return actor, made


def responsiveness_by_vendor(session, rules: Rules, as_of: datetime) -> dict[int, dict]:
    lines = scorecard.ranked(session, rules, as_of)
    return {
        line.vendor_id: line.responsiveness.as_dict() | {"standing": line.responsiveness.standing}
        for line in lines
    }


# --- the properties ----------------------------------------------------------------------------


@PROPERTY
@given(ledger_strategy)
def test_every_responsiveness_figure_equals_scoring_md_before_and_after_the_rollups_moved_on(
    session, example
):
    rules, drawn, settled_at, minutes = example
    actor, vendors = fresh_ledger(session, rules, 3)
    for c in drawn:
        if not c.later:
            write(session, c, vendors[c.vendor], actor)
    # The tally job, at S: the sums under these rules, then the complaints' rollups through S.
    tally.rebuild(session, rules, settled_at)
    complaints.bring_up_to_date(session, rules, settled_at)
    session.commit()
    for c in drawn:
        if c.later:  # written after the rollups were built: each write recounts its vendor's row
            write(session, c, vendors[c.vendor], actor)
    for as_of in sorted({settled_at + timedelta(minutes=m) for m in minutes} | {settled_at, END}):
        state = responsiveness.cache_state(session)
        assert responsiveness.covers(state, rules, as_of) == (as_of >= settled_at)
        lines = responsiveness_by_vendor(session, rules, as_of)
        for i, vendor in enumerate(vendors):
            wanted = expected([c for c in drawn if c.vendor == i], rules, as_of)
            assert_figures(lines[vendor.id], wanted)
            own = scorecard.vendor_score(session, vendor, rules, as_of).responsiveness
            assert_figures(own.as_dict() | {"standing": own.standing}, wanted)


@PROPERTY
@given(ledger_strategy, st.lists(complaint_strategy(1), min_size=1, max_size=6))
def test_complaints_added_to_one_vendor_move_no_other_vendors_score_or_responsiveness(
    session, example, added
):
    rules, drawn, settled_at, minutes = example
    actor, vendors = fresh_ledger(session, rules, 3)
    for c in drawn:
        write(session, c, vendors[c.vendor], actor)
    tally.rebuild(session, rules, settled_at)
    complaints.bring_up_to_date(session, rules, settled_at)
    session.commit()
    moments = [settled_at + timedelta(minutes=m) for m in minutes]
    before = {as_of: scorecard.ranked(session, rules, as_of) for as_of in moments}
    for c in added:
        write(session, c, vendors[0], actor)  # every one to the first vendor
    for as_of in moments:
        after = {line.vendor_id: line for line in scorecard.ranked(session, rules, as_of)}
        for line in before[as_of]:
            if line.vendor_id == vendors[0].id:
                continue
            assert after[line.vendor_id].figures == line.figures
            assert after[line.vendor_id].responsiveness.as_dict() == line.responsiveness.as_dict()


def test_a_dated_answer_kept_after_the_rollups_were_built_counts_as_kept(session, editor, make_vendor):
    """The promise's keeping is a ledger write, not a complaint's: it still recounts the vendor's row."""
    rules = Rules()
    vendor = make_vendor("Szybki Transport")
    session.info["rules"] = rules
    raised = NOW - timedelta(days=20)
    c = Drawn(
        0,
        raised,
        raised + timedelta(hours=2),
        True,
        raised + timedelta(hours=3),
        timedelta(days=2),
        "open",
        timedelta(hours=-1),
        False,
        False,
    )
    write(session, c, vendor, editor)
    complaints.bring_up_to_date(session, rules, NOW)
    session.commit()
    (promise,) = session.get(Complaint, c.complaint_id).answer_promises
    c.promise_fate = "kept"  # the vendor kept it, logged only now, long after its moment
    ledger.resolve_kept(session, promise, actor=editor, now=NOW + timedelta(hours=1), done_at=c.kept_at)
    session.commit()
    (line,) = scorecard.ranked(session, rules, NOW + timedelta(days=1))
    assert line.responsiveness.dated_answers == 1
    assert line.responsiveness.dated_answers_kept == 1
    assert responsiveness.check(session, rules).differences == []


# --- the tally check proves the cache --------------------------------------------------------


def test_the_tally_check_finds_and_repairs_a_complaint_rollup_changed_by_plain_sql(
    session, editor, make_vendor
):
    rules = Rules()
    vendor, other = make_vendor("Szybki Transport"), make_vendor("Wolny Kurier")
    session.info["rules"] = rules
    late = NOW - timedelta(days=30)
    write(
        session,
        Drawn(0, late, late + timedelta(days=4), False, None, None, "open", timedelta(0), False, False),
        other,
        editor,
    )
    for hours_to_answer in (2, 30, None, 5):
        c = Drawn(0, NOW - timedelta(days=20), None, True, None, None, "open", timedelta(0), False, False)
        if hours_to_answer is not None:
            c.answered_at = c.raised_at + timedelta(hours=hours_to_answer)
        write(session, c, vendor, editor)
    complaints.bring_up_to_date(session, rules, NOW)
    session.commit()
    assert responsiveness.check(session, rules).differences == []
    with_rollup = scorecard.ranked(session, rules, NOW + timedelta(days=1))
    # Someone edits the cache behind the app's back: an answer counted twice, a complaint "settled" later.
    session.execute(
        sa.update(ComplaintRollup).where(ComplaintRollup.vendor_id == vendor.id).values(answered_in_time=9)
    )
    session.execute(sa.update(Complaint).where(Complaint.vendor_id == vendor.id).values(settles_at=None))
    session.commit()

    found = responsiveness.check(session, rules)
    named = {d.field for d in found.differences}
    assert "answered_in_time" in named
    assert sum(1 for field in named if field.endswith("settles_at")) == 4
    assert {d.vendor_id for d in found.differences} == {vendor.id}, "the other vendor's cache is right"
    assert "Szybki Transport" in str(found.differences[0])

    repaired = responsiveness.check(session, rules, repair=True)
    assert repaired.repaired_vendors == 1
    assert responsiveness.check(session, rules).differences == []
    again = scorecard.ranked(session, rules, NOW + timedelta(days=1))
    assert [line.responsiveness.as_dict() for line in again] == [
        line.responsiveness.as_dict() for line in with_rollup
    ]


def answered_complaints(session, vendor, editor, count: int = 3) -> None:
    session.info["rules"] = Rules()
    for i in range(count):
        raised = NOW - timedelta(days=20 + i)
        c = Drawn(
            0, raised, raised + timedelta(hours=2), True, None, None, "open", timedelta(0), False, False
        )
        write(session, c, vendor, editor)


def test_the_check_command_builds_the_complaint_sums_then_finds_and_repairs_a_change(
    app, session, editor, make_vendor
):
    vendor = make_vendor("Szybki Transport")
    answered_complaints(session, vendor, editor)
    run = app.test_cli_runner()

    never = run.invoke(args=["tally", "check"], catch_exceptions=False)
    assert never.exit_code == 1
    assert "The complaint sums were worked out under other settings, or never." in never.output
    built = run.invoke(args=["tally", "check", "--repair"], catch_exceptions=False)
    assert "rebuilt them" in built.output
    again = run.invoke(args=["tally", "check"], catch_exceptions=False)
    assert again.exit_code == 0, again.output

    session.execute(sa.text("UPDATE complaint_rollup SET answered_in_time = 9"))
    session.commit()
    checked = run.invoke(args=["tally", "check"], catch_exceptions=False)
    assert checked.exit_code == 1
    assert (
        f"Szybki Transport (#{vendor.id}) complaints answered_in_time: stored 9, recounted 3"
        in checked.output
    )
    repaired = run.invoke(args=["tally", "check", "--repair"], catch_exceptions=False)
    assert "Repaired 1 vendor" in repaired.output
    assert run.invoke(args=["tally", "check"], catch_exceptions=False).exit_code == 0


def test_the_nightly_job_moves_the_rollups_on_and_reworks_deadlines_under_a_new_time_zone(
    app, session, editor, make_vendor
):
    vendor = make_vendor("Szybki Transport")
    answered_complaints(session, vendor, editor)
    jobs.run("tally", session, NOW)
    state = responsiveness.cache_state(session)
    assert state.through == NOW and state.rules.timezone == "UTC"

    tokyo = replace(app.config["VENDORTRACK_RULES"], timezone="Asia/Tokyo", ack_working_days=2)
    app.config["VENDORTRACK_RULES"] = tokyo
    later = NOW + timedelta(days=1)
    result = jobs.run("tally", session, later)

    assert result["differences"] == 0, result
    state = responsiveness.cache_state(session)
    assert state.through == later and (state.rules.timezone, state.rules.ack_working_days) == (
        "Asia/Tokyo",
        2,
    )
    for complaint in session.scalars(sa.select(Complaint)):
        assert complaint.answer_due_at == deadline_of(complaint.raised_at, tokyo)
    (line,) = scorecard.ranked(session, tokyo, later)
    assert line.responsiveness.counted == 3 and line.responsiveness.answered_in_time == 3
