"""How fast vendors answer what we ask through their links: the asks read from the ledger, per
vendor and per contact, as of a moment (the rule itself is `rules.ask_answers`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vendortrack.models import VendorLink
from vendortrack.scores.rules import AskAnswers, AskFact, Rules, ask_answers

NO_ASKS = AskAnswers(0, 0, None, 0)


def _rows(session: Session, as_of: datetime, *where: sa.ColumnElement[bool]) -> Iterable[sa.Row]:
    return session.execute(
        sa.select(
            VendorLink.vendor_id,
            VendorLink.contact_id,
            VendorLink.asked_at,
            VendorLink.first_answered_at,
            VendorLink.revoked_at,
        ).where(VendorLink.asked_at <= as_of, *where)
    )


def _fact(row: sa.Row) -> AskFact:
    return AskFact(row.asked_at, row.first_answered_at, row.revoked_at)


def by_vendor(
    session: Session, rules: Rules, as_of: datetime, vendor_ids: Iterable[int] | None = None
) -> dict[int, AskAnswers]:
    """Each vendor's answers to our asks; a vendor never asked is left out (read it as NO_ASKS)."""
    where = [VendorLink.vendor_id.in_(list(vendor_ids))] if vendor_ids is not None else []
    facts: dict[int, list[AskFact]] = defaultdict(list)
    for row in _rows(session, as_of, *where):
        facts[row.vendor_id].append(_fact(row))
    return {vendor_id: ask_answers(each, rules, as_of) for vendor_id, each in facts.items()}


def for_vendor(session: Session, vendor_id: int, rules: Rules, as_of: datetime) -> AskAnswers:
    return by_vendor(session, rules, as_of, [vendor_id]).get(vendor_id, NO_ASKS)


def per_contact(session: Session, vendor_id: int, rules: Rules, as_of: datetime) -> dict[int, AskAnswers]:
    """The same for each of a vendor's contacts that was asked."""
    facts: dict[int, list[AskFact]] = defaultdict(list)
    for row in _rows(session, as_of, VendorLink.vendor_id == vendor_id):
        facts[row.contact_id].append(_fact(row))
    return {contact_id: ask_answers(each, rules, as_of) for contact_id, each in facts.items()}
