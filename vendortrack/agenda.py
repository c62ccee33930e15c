"""What the lists show: commitments upcoming, overdue and resolved, and complaints open and resolved,
per vendor or across all."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from vendortrack.models import Commitment, Complaint, ComplaintStatus, Status, Vendor
from vendortrack.scores.rules import Rules


class View(StrEnum):
    upcoming = "upcoming"
    overdue = "overdue"
    resolved = "resolved"


def commitments(
    view: View,
    *,
    now: datetime,
    rules: Rules,
    vendor_id: int | None = None,
    owner_id: int | None = None,
    kind: str | None = None,
) -> sa.Select:
    """A select of commitments for one list, ordered the way a person works through it.

    Upcoming: open and not yet overdue, soonest first (an open one within its grace period is
    still upcoming: there is time to log what happened). Overdue: as `Rules.is_overdue` says,
    oldest first. Resolved: newest outcome first.
    """
    query = sa.select(Commitment).join(Commitment.vendor)
    if view == View.upcoming:
        query = query.where(Commitment.status == Status.open, Commitment.due_at > rules.overdue_until(now))
        query = query.order_by(Commitment.due_at, Commitment.id)
    elif view == View.overdue:
        query = query.where(rules.is_overdue(Commitment.status, Commitment.due_at, now))
        query = query.order_by(Commitment.due_at, Commitment.id)
    else:
        query = query.where(Commitment.status != Status.open)
        query = query.order_by(Commitment.resolved_at.desc(), Commitment.id.desc())
    if vendor_id is not None:
        query = query.where(Commitment.vendor_id == vendor_id)
    else:
        query = query.where(Vendor.archived_at.is_(None))
    if owner_id is not None:
        query = query.where(Commitment.owner_id == owner_id)
    if kind:
        query = query.where(Commitment.kind == kind)
    return query


def counts_by_vendor(vendor_ids: list[int], *, now: datetime, rules: Rules) -> sa.Select:
    """Open and overdue counts for a page of vendors, in one query."""
    overdue = rules.is_overdue(Commitment.status, Commitment.due_at, now)
    return (
        sa.select(
            Commitment.vendor_id,
            sa.func.count().filter(Commitment.status == Status.open).label("open"),
            sa.func.count().filter(overdue).label("overdue"),
            sa.func.max(Commitment.updated_at).label("last_activity"),
        )
        .where(Commitment.vendor_id.in_(vendor_ids))
        .group_by(Commitment.vendor_id)
    )


def chain(commitment: Commitment) -> list[Commitment]:
    """The whole reschedule chain a commitment belongs to, first date first."""
    first = commitment
    while first.rescheduled_from is not None:
        first = first.rescheduled_from
    links = [first]
    while links[-1].rescheduled_to is not None:
        links.append(links[-1].rescheduled_to)
    return links


class ComplaintView(StrEnum):
    open = "open"
    resolved = "resolved"


OPEN_STATUSES = (ComplaintStatus.waiting, ComplaintStatus.answered)


def complaint_view(status: ComplaintStatus | None, view: ComplaintView) -> ComplaintView:
    """The list a status filter belongs to: a resolved or withdrawn one is never open."""
    if status is None:
        return view
    return ComplaintView.open if status in OPEN_STATUSES else ComplaintView.resolved


def complaints(
    view: ComplaintView,
    *,
    vendor_id: int | None = None,
    status: ComplaintStatus | None = None,
    severity: str | None = None,
) -> sa.Select:
    """Complaints for one list: open ones oldest first (the longest wait on top), resolved and
    withdrawn ones newest first."""
    query = sa.select(Complaint).join(Complaint.vendor)
    if view == ComplaintView.open:
        query = query.where(Complaint.resolution.is_(None)).order_by(Complaint.raised_at, Complaint.id)
    else:
        query = query.where(Complaint.resolution.is_not(None))
        query = query.order_by(Complaint.resolved_at.desc(), Complaint.id.desc())
    if status is not None:
        query = query.where(Complaint.status == ComplaintStatus(status).value)
    if vendor_id is not None:
        query = query.where(Complaint.vendor_id == vendor_id)
    else:
        query = query.where(Vendor.archived_at.is_(None))
    if severity:
        query = query.where(Complaint.severity == severity)
    return query
