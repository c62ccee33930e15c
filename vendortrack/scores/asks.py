"""How fast vendors answer what we ask through their links: the asks read from the ledger, per
vendor and per contact, as of a moment, and those of a week (the rule itself is `rules.ask_answers`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vendortrack.models import Contact, Vendor, VendorLink
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


@dataclass(frozen=True)
class FirstAnswer:
    """A contact's first answer through a link, and how long after our ask it came."""

    contact_name: str
    vendor_id: int
    vendor_name: str
    took: timedelta


@dataclass(frozen=True)
class AsksOfTheWeek:
    """Our asks of a week, for the digest: how many we made in it, how many were first answered in it,
    how many still waited at its end within their time (`rules.ask_answers`'s waiting), and its
    fastest and slowest first answers."""

    asked: int
    answered: int
    waiting: int
    fastest: FirstAnswer | None
    slowest: FirstAnswer | None

    @property
    def quiet(self) -> bool:
        return not (self.asked or self.answered or self.waiting)


def of_the_week(
    session: Session, rules: Rules, start: datetime, end: datetime, *, now: datetime
) -> AsksOfTheWeek:
    """The asks of [start, end) as they stood at its end, so the digest of a past week says what it
    said then: those made before the end and not answered before the start, archived vendors' aside.

    A week in progress (`now` before its end) stands as of now: an ask whose time runs out later
    this week is still waiting, not unanswered (its end has not come, so it cannot be counted).
    """
    as_of = min(end, now)
    rows = session.execute(
        sa.select(
            VendorLink.asked_at,
            VendorLink.first_answered_at,
            VendorLink.revoked_at,
            Contact.name.label("contact_name"),
            Vendor.id.label("vendor_id"),
            Vendor.name.label("vendor_name"),
        )
        .join(Vendor, Vendor.id == VendorLink.vendor_id)
        .join(Contact, Contact.id == VendorLink.contact_id)
        .where(
            Vendor.archived_at.is_(None),
            VendorLink.asked_at < as_of,
            sa.or_(VendorLink.first_answered_at.is_(None), VendorLink.first_answered_at >= start),
        )
        .order_by(VendorLink.asked_at, VendorLink.id)
    ).all()
    answers = [
        FirstAnswer(row.contact_name, row.vendor_id, row.vendor_name, row.first_answered_at - row.asked_at)
        for row in rows
        if row.first_answered_at is not None and row.first_answered_at < as_of
    ]
    # min and max keep the first of equals: the ask made first, so a week always says the same.
    return AsksOfTheWeek(
        asked=sum(1 for row in rows if row.asked_at >= start),
        answered=len(answers),
        waiting=ask_answers(map(_fact, rows), rules, as_of).waiting,
        fastest=min(answers, key=lambda answer: answer.took, default=None),
        slowest=max(answers, key=lambda answer: answer.took, default=None),
    )
