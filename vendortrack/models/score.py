"""Monthly score sums per vendor: what the ranked scorecard reads instead of every commitment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vendortrack.extensions import db


class ScoreBucket(db.Model):
    """One vendor's commitments due in one UTC calendar month, summed as SCORING.md §4 needs.

    Weights are stored relative to the month's start, g = 2 ** ((due_at - month_start) / H), so
    as of any later moment T the month contributes g * 2 ** (-(T - month_start) / H). Kept in
    step with the ledger by `vendortrack.scores.tally`; rebuilt whole when the scoring settings change.
    """

    __table_args__ = (
        # Covering for the scorecard's upcoming months (vendor and open count by month), no table lookups.
        sa.Index("ix_score_bucket_end_day", "end_day", "vendor_id", "overdue"),
    )

    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), primary_key=True)
    month_start: Mapped[datetime] = mapped_column(primary_key=True)
    # Days since 1970-01-01 UTC, so SQL on either database can compute the decay factor.
    start_day: Mapped[float]
    end_day: Mapped[float]
    counted: Mapped[int]  # non-cancelled commitments: all count once the month is settled
    weight: Mapped[float]
    fulfilment: Mapped[float]
    on_time: Mapped[float]
    kept_on_time: Mapped[int]
    kept_late: Mapped[int]
    broken: Mapped[int]
    rescheduled: Mapped[int]
    overdue: Mapped[int]  # still open: overdue once the month is past grace
    cancelled: Mapped[int]


class ScoreRollup(db.Model):
    """One vendor's buckets of every month before `through_month_start`, summed: the settled past.

    Weights are anchored at `through_month_start` (a bucket of month m adds its weight times
    2 ** ((m - through) / H)), so as of T the whole row scales by one factor 2 ** (-(T - through) / H).
    Valid while ScoreTallyState.rollup_through names the same month; `vendortrack.scores.tally` keeps it so.
    """

    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), primary_key=True)
    through_month_start: Mapped[datetime]
    counted: Mapped[int]
    weight: Mapped[float]
    fulfilment: Mapped[float]
    on_time: Mapped[float]
    kept_on_time: Mapped[int]
    kept_late: Mapped[int]
    broken: Mapped[int]
    rescheduled: Mapped[int]
    overdue: Mapped[int]
    cancelled: Mapped[int]
    # SCORING.md §11 over the moves due before `through_month_start` with a known notice (a notice
    # never changes with T, so these stand as of any later moment): how many, how many last-minute,
    # their median in hours, and the hours sorted as little-endian doubles (8 bytes each), read only
    # for a vendor whose months in motion add moves, as ComplaintRollup.hours is.
    notice_moves: Mapped[int] = mapped_column(server_default="0")
    notice_last_minute: Mapped[int] = mapped_column(server_default="0")
    notice_median_hours: Mapped[float | None]
    notice_hours: Mapped[bytes] = mapped_column(sa.LargeBinary, server_default=sa.text("''"))


class ScoreTallyState(db.Model):
    """One row: the settings the sums were counted under, and how far the rollups run.

    Every ledger write adds to the sums under these settings; the tally job (jobs.py) rebuilds them
    when the configured ones differ. No row: the sums have not been built yet.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the sums depend on: the half-life (weights) and the on-time tolerances, in microseconds.
    half_life_days: Mapped[float]
    meeting_tolerance_us: Mapped[int] = mapped_column(sa.BigInteger)
    deadline_tolerance_us: Mapped[int] = mapped_column(sa.BigInteger)
    built_at: Mapped[datetime]
    # The month the rollups sum up to (exclusive); None until they are first built.
    rollup_through: Mapped[datetime | None]
    # What the complaints' stored answer deadlines were worked out under (SCORING.md §10): the
    # tally job works them out again when the configured ones differ.
    ack_working_days: Mapped[int] = mapped_column(server_default="1")
    ack_timezone: Mapped[str] = mapped_column(sa.String(64), server_default="UTC")
    # The moment the complaint rollups sum up to (their complaints settled by then); None while they
    # are not built under the settings above (the scorecard then reads every complaint).
    complaints_through: Mapped[datetime | None]


class ComplaintRollup(db.Model):
    """One vendor's settled complaints (settles_at <= ScoreTallyState.complaints_through), summed as
    SCORING.md §10 needs (rules.ComplaintSums): as of any later T their counts stand and their
    weights, anchored at `through`, scale by one factor 2 ** (-(T - through) / H).

    Recounted in the transaction of every write to one of the vendor's complaints, rebuilt whole by
    the tally job as it moves `through` on; `flask tally check` proves it against the complaints.
    """

    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id"), primary_key=True)
    through: Mapped[datetime]
    counted: Mapped[int]
    weight: Mapped[float]
    answered_weight: Mapped[float]
    answered_in_time: Mapped[int]
    answered_late: Mapped[int]
    unanswered: Mapped[int]
    owner_named: Mapped[int]
    dated_answers: Mapped[int]
    dated_answers_kept: Mapped[int]
    median_hours: Mapped[float | None]
    # The hours to the first answer, sorted, as little-endian doubles (8 bytes each): read only for a
    # vendor whose complaints not yet settled add answers, to take the median of them all. Packed,
    # not JSON: parsing the lists of the 80 busiest vendors as text took 10 ms of a 50 ms scorecard.
    hours: Mapped[bytes] = mapped_column(sa.LargeBinary)
