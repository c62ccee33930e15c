"""How vendors answer complaints, read from the ledger: the facts SCORING.md §10 needs, per vendor.

The rules themselves (the answer deadline, what counts, the credit, the figures) are in `rules.py`;
this module only reads the complaints they apply to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vendortrack.models import Commitment, Complaint, Resolution, Status
from vendortrack.scores.rules import ComplaintFact, Responsiveness, Rules, responsiveness_of

_promise = aliased(Commitment)
# When the dated answer was kept: the newest live promise of the complaint's chain (a moved promise's
# follow-up; a cancelled follow-up only when nothing else is left), if kept; else NULL.
_ANSWER_KEPT_AT = (
    sa.select(sa.case((_promise.status == Status.kept, _promise.done_at)))
    .where(_promise.complaint_id == Complaint.id)
    .order_by(sa.case((_promise.status == Status.cancelled, 1), else_=0), _promise.id.desc())
    .limit(1)
    .correlate(Complaint)
    .scalar_subquery()
)

FACT_COLUMNS = (
    Complaint.id,
    Complaint.raised_at,
    Complaint.acknowledged_at,
    sa.case((Complaint.resolution == Resolution.withdrawn, True), else_=False),
    sa.or_(Complaint.case_owner_contact_id.is_not(None), Complaint.case_owner_name != ""),
    Complaint.dated_answer_at,
    _ANSWER_KEPT_AT,
    Complaint.contact_id,
    Complaint.title,
    sa.type_coerce(Complaint.severity, sa.String),
)


def facts_query() -> sa.Select:
    """Every complaint as a ComplaintFact's fields in order, after its vendor's id."""
    return sa.select(Complaint.vendor_id, *FACT_COLUMNS).order_by(Complaint.raised_at, Complaint.id)


def _fact(row) -> ComplaintFact:
    return ComplaintFact(row[0], row[1], row[2], bool(row[3]), bool(row[4]), *row[5:])


def facts_of(session: Session, vendor_id: int) -> list[ComplaintFact]:
    query = facts_query().where(Complaint.vendor_id == vendor_id)
    return [_fact(row[1:]) for row in session.execute(query)]


def facts_by_vendor(
    session: Session, vendor_ids: Iterable[int] | None = None
) -> dict[int, list[ComplaintFact]]:
    query = facts_query()
    if vendor_ids is not None:
        query = query.where(Complaint.vendor_id.in_(list(vendor_ids)))
    grouped: dict[int, list[ComplaintFact]] = defaultdict(list)
    for row in session.execute(query):
        grouped[row[0]].append(_fact(row[1:]))
    return grouped


def by_vendor(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: Iterable[int] | None = None
) -> dict[int, Responsiveness]:
    """Each vendor's responsiveness as of a moment, for vendors with complaints (the rest have none)."""
    return {
        vendor_id: responsiveness_of(facts, rules, as_of)
        for vendor_id, facts in facts_by_vendor(session, vendor_ids).items()
    }
