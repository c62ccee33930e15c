"""The vendor's own link: we ask one contact about one commitment or complaint; they answer themselves.

Every write of the feature is here, as functions of (session, ..., now) like the ledger's: asking
(by email or a link to copy), revoking, opening, the contact's answers, and our owner's decision on
those that wait for one. An answer is measured at the server's clock (`now`), never typed, and its
actor is the contact. The caller commits; an InvalidInput names the field and changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from vendortrack import complaints, ledger, mail, vendors
from vendortrack.i18n import speaking, user_timezone
from vendortrack.models import (
    AnswerKind,
    AnswerState,
    Commitment,
    Complaint,
    Contact,
    ExcuseCategory,
    Kind,
    MailKind,
    Status,
    User,
    VendorAnswer,
    VendorLink,
)
from vendortrack.throttle import address_key
from vendortrack.timeutil import CLOCK_SKEW
from vendortrack.validation import InvalidInput, check_plain_text

TOKEN_BYTES = 24  # 192 bits, at least the 128 the design asks for
MESSAGE_MAX = 2000
NAME_MAX = 200
RATE_WINDOW = timedelta(hours=1)

Item = Commitment | Complaint


@dataclass(frozen=True)
class LinkRules:
    """How long a link works and how often it may answer; built once from the configuration."""

    grace: timedelta = timedelta(days=14)  # after its item is resolved
    max_age: timedelta = timedelta(days=90)  # after it was made, whatever happens
    per_link: int = 20  # answers an hour through one link
    per_address: int = 60  # answers an hour from one address

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LinkRules:
        return cls(
            grace=config["VENDORTRACK_LINK_GRACE"],
            max_age=config["VENDORTRACK_LINK_MAX_AGE"],
            per_link=config["VENDORTRACK_LINK_ANSWERS_PER_LINK"],
            per_address=config["VENDORTRACK_LINK_ANSWERS_PER_ADDRESS"],
        )


# -- the token ----------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: a copy of the database opens no link. A plain SHA-256 is enough
    for 192 random bits (no dictionary to try), and lets the lookup be one indexed equality."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def link_url(token: str) -> str:
    """The vendor's page, absolute, for the ask's email and "Copy link"."""
    return f"{url_for('index', _external=True)}v/{token}"


# -- whether a link works: one rule, on a link's values or on its columns -----------------------


class LinkState(StrEnum):
    open = "open"
    revoked = "revoked"
    expired = "expired"  # VENDORTRACK_LINK_MAX_DAYS after it was made
    closed = "closed"  # its item was resolved more than VENDORTRACK_LINK_GRACE_DAYS ago


_NEVER = datetime.max.replace(tzinfo=UTC)  # a moment not set, in `state_of`


def _state_steps(
    revoked_at: Any, expires_at: Any, item_resolved_at: Any, now: datetime, rules: LinkRules
) -> list[tuple[Any, LinkState]]:
    """The states in the order they are decided. Written with `<=`, they read the same on columns
    (SQL: a NULL moment compares false) and on values, where `_value_steps` stands a far future in
    for a moment not set; the link's page, its owner's list and the API's filter all decide by these."""
    return [
        (revoked_at <= now, LinkState.revoked),
        (expires_at <= now, LinkState.expired),
        (item_resolved_at <= now - rules.grace, LinkState.closed),
    ]


def _state(
    revoked_at: datetime | None,
    expires_at: datetime,
    item_resolved_at: datetime | None,
    now: datetime,
    rules: LinkRules,
) -> LinkState:
    steps = _state_steps(revoked_at or _NEVER, expires_at, item_resolved_at or _NEVER, now, rules)
    return next((state for holds, state in steps if holds), LinkState.open)


def state_of(
    link: VendorLink, item_resolved_at: datetime | None, now: datetime, rules: LinkRules
) -> LinkState:
    return _state(link.revoked_at, link.expires_at, item_resolved_at, now, rules)


def item_resolved_at_sql() -> sa.ColumnElement[datetime]:
    """When the link's item was resolved, in SQL: the commitment's (the link follows its moves, so
    this is the live one's) or the complaint's; NULL while it is open."""
    commitment = (
        sa.select(Commitment.resolved_at).where(Commitment.id == VendorLink.commitment_id).scalar_subquery()
    )
    complaint = (
        sa.select(Complaint.resolved_at).where(Complaint.id == VendorLink.complaint_id).scalar_subquery()
    )
    return sa.type_coerce(sa.func.coalesce(commitment, complaint), VendorLink.asked_at.type)


def state_sql(now: datetime, rules: LinkRules) -> sa.ColumnElement[str]:
    steps = _state_steps(VendorLink.revoked_at, VendorLink.expires_at, item_resolved_at_sql(), now, rules)
    return sa.case(*((holds, state.value) for holds, state in steps), else_=LinkState.open.value)


def item_resolved_at(link: VendorLink) -> datetime | None:
    item = link.commitment or link.complaint
    return item.resolved_at if item is not None else None


def link_state(link: VendorLink, now: datetime, rules: LinkRules) -> LinkState:
    return state_of(link, item_resolved_at(link), now, rules)


def find_open(session: Session, token: str, now: datetime, rules: LinkRules) -> VendorLink | None:
    """The open link this token opens, else None, whatever the reason (unknown, revoked, expired,
    closed): every refusal looks the same. A refusal costs one indexed statement whether or not the
    token exists, and the same work after it: only the moments that decide are read, and the link
    itself is loaded only once it opens (loading it for a revoked one took measurably longer than
    finding none: bench/vendor_link_tokens.py)."""
    row = session.execute(
        sa.select(VendorLink.id, VendorLink.revoked_at, VendorLink.expires_at, item_resolved_at_sql()).where(
            VendorLink.token_hash == token_hash(token)
        )
    ).first()
    link_id, revoked_at, expires_at, resolved_at = row or (None, None, now, None)  # none: as expired
    if _state(revoked_at, expires_at, resolved_at, now, rules) != LinkState.open or link_id is None:
        return None
    return session.get(VendorLink, link_id)


# -- asking -------------------------------------------------------------------------------------


def is_open_item(item: Item) -> bool:
    """Only what still waits on the vendor can be asked about."""
    if isinstance(item, Commitment):
        return item.status == Status.open
    return item.resolution is None


def ask(
    session: Session,
    item: Item,
    *,
    contact: Contact | None,
    actor: User,
    now: datetime,
    rules: LinkRules,
    send_email: bool,
    automatic: bool = False,
) -> tuple[VendorLink, str]:
    """Make a link for `contact` to answer `item`; returns it with its token, which is shown once
    (only its hash is kept). With `send_email`, the ask goes to the contact through the outbox."""
    if contact is None:
        raise InvalidInput("contact_id", _l("Choose the vendor's contact to ask."))
    if contact.vendor_id != item.vendor_id:
        raise InvalidInput("contact_id", _l("This contact works for another vendor."))
    if send_email and not contact.email:
        raise InvalidInput(
            "contact_id", _l("This contact has no email address: copy the link and send it another way.")
        )
    if not is_open_item(item):
        raise InvalidInput("status", _l("It is already resolved: there is nothing to ask the vendor."))
    _replace_unanswered(session, item, contact, actor, now)
    token = new_token()
    link = VendorLink(
        token_hash=token_hash(token),
        vendor_id=item.vendor_id,
        contact=contact,
        commitment_id=item.id if isinstance(item, Commitment) else None,
        complaint_id=item.id if isinstance(item, Complaint) else None,
        asked_by=actor,
        asked_at=now,
        automatic=automatic,
        emailed_to=contact.email if send_email else "",
        expires_at=now + rules.max_age,
        opens=0,
    )
    session.add(link)
    session.flush()
    if send_email:
        _email_contact(session, link, item, MailKind.vendor_ask, f"link-{link.id}", now, token=token)
    return link, token


def _replace_unanswered(session: Session, item: Item, contact: Contact, actor: User, now: datetime) -> None:
    """Asking a contact again about the same item replaces their earlier link that has no answer yet
    (a copied link never sent, a page reloaded): it is revoked, so one question is counted once
    (an ask revoked while the contact still had time never counts, scores.rules.is_counted_ask)."""
    about = VendorLink.commitment_id if isinstance(item, Commitment) else VendorLink.complaint_id
    session.execute(
        sa.update(VendorLink)
        .where(
            about == item.id,
            VendorLink.contact_id == contact.id,
            VendorLink.revoked_at.is_(None),
            VendorLink.first_answered_at.is_(None),
            VendorLink.expires_at > now,  # one that ran out stays as it ended
            VendorLink.asked_at <= now,
        )
        .values(revoked_at=now, revoked_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )


def ask_on_logging(
    session: Session, commitment: Commitment, *, actor: User, now: datetime, rules: LinkRules
) -> VendorLink | None:
    """A vendor that asks for confirmations (Vendor.ask_to_confirm) gets the ask as soon as a
    commitment is logged, when its contact has an email address; else nothing is sent."""
    contact = commitment.contact
    if not commitment.vendor.ask_to_confirm or contact is None or not contact.email:
        return None
    if not is_open_item(commitment) or commitment.due_at <= now:
        return None  # history written down after the fact: nothing left to confirm
    link, _token = ask(
        session,
        commitment,
        contact=contact,
        actor=actor,
        now=now,
        rules=rules,
        send_email=True,
        automatic=True,
    )
    return link


def revoke(session: Session, link: VendorLink, *, actor: User, now: datetime) -> VendorLink:
    if link.revoked_at is not None:
        raise InvalidInput("link", _l("This link is already revoked."))
    link.revoked_at = now
    link.revoked_by = actor
    session.flush()
    return link


def record_open(session: Session, link: VendorLink, now: datetime) -> None:
    """The contact opened the page: counted, and the first time kept, with one UPDATE each."""
    session.execute(
        sa.update(VendorLink)
        .where(VendorLink.id == link.id)
        .values(
            opens=VendorLink.opens + 1,
            last_opened_at=now,
            first_opened_at=sa.func.coalesce(VendorLink.first_opened_at, now),
        )
        .execution_options(synchronize_session=False)
    )


# -- the contact's answers ----------------------------------------------------------------------


class TooManyAnswers(Exception):
    def __init__(self, retry_after: timedelta):
        super().__init__("too many answers")
        self.retry_after = retry_after


def check_rate(
    session: Session, link: VendorLink, address: str | None, now: datetime, rules: LinkRules
) -> None:
    """Answers are counted in the database per link and per address, as sign-ins are: the limit
    holds across every worker. Raises TooManyAnswers with how long to wait."""
    since = now - RATE_WINDOW
    recent = sa.select(VendorAnswer.at).where(VendorAnswer.at > since)
    waits = [timedelta(0)]
    for where, limit in (
        (VendorAnswer.link_id == link.id, rules.per_link),
        (VendorAnswer.address == address_key(address), rules.per_address),
    ):
        oldest = session.scalar(
            recent.where(where).order_by(VendorAnswer.at.desc()).offset(limit - 1).limit(1)
        )
        if oldest is not None:
            waits.append(oldest + RATE_WINDOW - now)
    wait = max(waits)
    if wait > timedelta(0):
        raise TooManyAnswers(wait)


def _text(field: str, text: str | None, *, required: Any = None, limit: int = MESSAGE_MAX) -> str:
    text = (check_plain_text(field, text, multiline=True) or "").strip()
    if required is not None and not text:
        raise InvalidInput(field, required)
    if len(text) > limit:
        raise InvalidInput(field, _l("Keep it under %(num)d characters.", num=limit))
    return text


def _open_commitment(link: VendorLink) -> Commitment:
    commitment = link.commitment
    if commitment is None:
        raise InvalidInput("link", _l("This link is about a complaint."))
    if commitment.status != Status.open:
        raise InvalidInput("status", _l("This is already settled: there is nothing more to answer."))
    return commitment


def _open_complaint(link: VendorLink) -> Complaint:
    complaint = link.complaint
    if complaint is None:
        raise InvalidInput("link", _l("This link is about a commitment."))
    if complaint.resolution is not None:
        raise InvalidInput("status", _l("This complaint is already closed: there is nothing more to answer."))
    return complaint


def _answer(
    session: Session,
    link: VendorLink,
    kind: AnswerKind,
    *,
    now: datetime,
    address: str | None,
    waits: bool,
    **values: Any,
) -> VendorAnswer:
    if waits:
        # A newer answer of the same kind replaces the one still waiting: the vendor changed its mind.
        session.execute(
            sa.update(VendorAnswer)
            .where(
                VendorAnswer.link_id == link.id,
                VendorAnswer.kind == kind,
                VendorAnswer.state == AnswerState.waiting,
            )
            .values(state=AnswerState.superseded)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        sa.update(VendorLink)
        .where(VendorLink.id == link.id, VendorLink.first_answered_at.is_(None))
        .values(first_answered_at=now)
        .execution_options(synchronize_session=False)
    )
    answer = VendorAnswer(
        link_id=link.id,
        vendor_id=link.vendor_id,
        contact_id=link.contact_id,
        commitment_id=link.commitment_id,
        complaint_id=link.complaint_id,
        kind=kind,
        at=now,
        address=address_key(address),
        state=AnswerState.waiting if waits else AnswerState.recorded,
        message=values.pop("message", ""),
        case_owner_name=values.pop("case_owner_name", ""),
        decision_note="",
        **values,
    )
    session.add(answer)
    session.flush()
    session.expire(link, ["first_answered_at", "answers"])
    return answer


def _in_history(session: Session, link: VendorLink, answer: VendorAnswer, now: datetime) -> None:
    """The answer in its item's history, by the contact, for what it does not record by itself."""
    said = {
        "answer": answer.kind,
        "link_id": link.id,
        **{
            name: getattr(answer, name)
            for name in ("proposed_due_at", "done_at", "message")
            if getattr(answer, name)
        },
    }
    if link.commitment is not None:
        ledger.note_vendor_answer(session, link.commitment, contact=link.contact, now=now, answer=said)
    else:
        complaints.note_vendor_answer(session, link.complaint, contact=link.contact, now=now, answer=said)


def confirm(session: Session, link: VendorLink, *, now: datetime, address: str | None) -> VendorAnswer:
    """ "I'll be there": an event in the history; it changes no score."""
    _open_commitment(link)
    answer = _answer(session, link, AnswerKind.confirmed, now=now, address=address, waits=False)
    _in_history(session, link, answer, now)
    return answer


def propose(
    session: Session,
    link: VendorLink,
    *,
    due_at: datetime | None,
    reason: str,
    now: datetime,
    address: str | None,
) -> VendorAnswer:
    """Another time, with a reason: waits for our owner, who accepts (a reschedule, told at `now`)
    or declines it."""
    commitment = _open_commitment(link)
    due_at = ledger.check_moment("proposed_due_at", due_at)
    if due_at <= now:
        raise InvalidInput("proposed_due_at", _l("Propose a time that is still to come."))
    if due_at == commitment.due_at:
        raise InvalidInput("proposed_due_at", _l("That is the time already agreed."))
    reason = _text("message", reason, required=_l("Say why it has to move."))
    answer = _answer(
        session,
        link,
        AnswerKind.proposed,
        now=now,
        address=address,
        waits=True,
        proposed_due_at=due_at,
        message=reason,
    )
    _in_history(session, link, answer, now)
    _tell_owner(session, link, answer, now)
    return answer


def report_done(
    session: Session,
    link: VendorLink,
    *,
    done_at: datetime | None,
    note: str,
    now: datetime,
    address: str | None,
) -> VendorAnswer:
    """It is done, and when: waits for our owner, who confirms it (kept at that time) or disputes it.
    A promise or a deadline may be done early; a meeting cannot have happened before its time."""
    commitment = _open_commitment(link)
    if commitment.kind == Kind.meeting and now < commitment.due_at:
        raise InvalidInput(
            "done_at", _l("The meeting is still to come: confirm it, or propose another time.")
        )
    done_at = ledger.check_moment("done_at", done_at or now)
    if done_at > now + CLOCK_SKEW:
        raise InvalidInput("done_at", _l("It cannot have been done in the future."))
    note = _text("message", note)
    answer = _answer(
        session,
        link,
        AnswerKind.done,
        now=now,
        address=address,
        waits=True,
        done_at=min(done_at, now),
        message=note,
    )
    _in_history(session, link, answer, now)
    _tell_owner(session, link, answer, now)
    return answer


def cannot(
    session: Session, link: VendorLink, *, reason: str, now: datetime, address: str | None
) -> VendorAnswer:
    """It cannot be done: waits for our owner, who records it broken with the vendor's reason."""
    _open_commitment(link)
    reason = _text("message", reason, required=_l("Say why it cannot be done."))
    answer = _answer(session, link, AnswerKind.cannot, now=now, address=address, waits=True, message=reason)
    _in_history(session, link, answer, now)
    _tell_owner(session, link, answer, now)
    return answer


def answer_complaint(
    session: Session,
    link: VendorLink,
    *,
    case_owner_name: str,
    apologised: bool,
    message: str,
    answer_by: datetime | None,
    now: datetime,
    address: str | None,
) -> VendorAnswer:
    """The contact takes the complaint up: who owns it at the vendor, an apology or not, a message,
    and, if they give one, the date of their answer (a promise in the ledger). Recorded at once, at
    the server's clock: this is the complaint's answered-at."""
    complaint = _open_complaint(link)
    if complaint.acknowledged_at is not None:
        raise InvalidInput("case_owner_name", _l("Your answer is already recorded."))
    name = _text("case_owner_name", case_owner_name, limit=NAME_MAX) or link.contact.name
    message = _text("message", message)
    complaints.answer(
        session,
        complaint,
        at=now,
        actor=None,
        now=now,
        case_owner_name=name,
        apologised=apologised,
        by_contact=link.contact,
    )
    answer = _answer(
        session,
        link,
        AnswerKind.answered,
        now=now,
        address=address,
        waits=False,
        case_owner_name=name,
        apologised=bool(apologised),
        message=message,
    )
    if answer_by is not None:
        give_dated_answer(session, link, due_at=answer_by, now=now, address=address, tell=False)
    _tell_owner(session, link, answer, now)
    return answer


def give_dated_answer(
    session: Session,
    link: VendorLink,
    *,
    due_at: datetime | None,
    now: datetime,
    address: str | None,
    tell: bool = True,
) -> VendorAnswer:
    """ "You'll have our answer by ...": the promise goes in the ledger at once, scored as every promise."""
    complaint = _open_complaint(link)
    if complaint.acknowledged_at is None:
        raise InvalidInput("answer_by", _l("Answer the complaint first: who owns it at your end."))
    if due_at is None:
        raise InvalidInput("answer_by", _l("Give the date of your answer."))
    if due_at <= now:  # said to the contact in their words; the ledger refuses it too
        raise InvalidInput("answer_by", _l("Give a date that is still to come."))
    try:
        complaints.give_dated_answer(
            session, complaint, due_at=due_at, actor=None, now=now, at=now, by_contact=link.contact
        )
    except InvalidInput as refused:
        raise InvalidInput("answer_by", refused.message) from None
    answer = _answer(
        session, link, AnswerKind.dated_answer, now=now, address=address, waits=False, answer_due_at=due_at
    )
    if tell:
        _tell_owner(session, link, answer, now)
    return answer


def reply(
    session: Session, link: VendorLink, *, message: str, now: datetime, address: str | None
) -> VendorAnswer:
    """The answer itself. While a dated answer's promise is open it waits for our owner, whose
    acceptance keeps that promise at this moment; else it is recorded."""
    complaint = _open_complaint(link)
    message = _text("message", message, required=_l("Write your answer."))
    promise = complaint.answer_promise
    waits = promise is not None and promise.status == Status.open
    answer = _answer(
        session, link, AnswerKind.reply, now=now, address=address, waits=waits, done_at=now, message=message
    )
    _in_history(session, link, answer, now)
    _tell_owner(session, link, answer, now)
    return answer


def set_preferences(contact: Contact, *, language: str | None, timezone: str | None) -> Contact:
    """The contact's language and zone, picked on their page and remembered for the next one;
    checked as the contact form checks them (vendors.cleaned)."""
    for field, value in (("language", language), ("timezone", timezone)):
        if value is not None:
            setattr(contact, field, vendors.cleaned(field, value))
    return contact


# -- our decision -------------------------------------------------------------------------------


def _waiting(answer: VendorAnswer) -> None:
    if answer.state != AnswerState.waiting:
        raise InvalidInput("state", _l("This answer is not waiting for a decision."))


def accept(
    session: Session,
    answer: VendorAnswer,
    *,
    actor: User,
    now: datetime,
    excuse_category: ExcuseCategory | str | None = None,
    rules: LinkRules = LinkRules(),
) -> VendorAnswer:
    """Our owner agrees: a proposal reschedules (the vendor told us when it proposed, SCORING.md
    §11), a report of done keeps the commitment at the reported time, "cannot" breaks it with the
    vendor's reason, a reply keeps the dated answer's promise when the answer came."""
    _waiting(answer)
    link = answer.link
    if answer.kind in (AnswerKind.proposed, AnswerKind.done, AnswerKind.cannot):
        commitment = answer.commitment
        if commitment is None or commitment.status != Status.open or link.commitment_id != commitment.id:
            raise InvalidInput(
                "state", _l("The commitment has changed since the vendor answered; decline this.")
            )
        if answer.kind == AnswerKind.proposed:
            if answer.proposed_due_at <= now:
                raise InvalidInput(
                    "proposed_due_at",
                    _l("The time the vendor proposed has passed; decline it and ask again."),
                )
            ledger.reschedule(
                session,
                commitment,
                actor=actor,
                now=now,
                new_due_at=answer.proposed_due_at,
                excuse_category=excuse_category or ExcuseCategory.other,
                excuse=answer.message,
                confirm_past=True,  # the vendor's own proposal, earlier or later: no typo to guard
                notified_at=min(answer.at, now),
            )
        elif answer.kind == AnswerKind.done:
            ledger.resolve_kept(session, commitment, actor=actor, now=now, done_at=answer.done_at)
        else:
            ledger.resolve_broken(
                session,
                commitment,
                actor=actor,
                now=now,
                excuse_category=excuse_category or ExcuseCategory.other,
                excuse=answer.message,
            )
    elif answer.kind == AnswerKind.reply:
        promise = answer.complaint.answer_promise if answer.complaint is not None else None
        if promise is None or promise.status != Status.open:
            raise InvalidInput("state", _l("The dated answer's promise is no longer open; decline this."))
        ledger.resolve_kept(session, promise, actor=actor, now=now, done_at=answer.at)
    else:
        raise InvalidInput("state", _l("This answer is not waiting for a decision."))
    _decide(answer, AnswerState.accepted, actor, now, "")
    _tell_contact(session, answer, now, rules)
    return answer


def decline(
    session: Session,
    answer: VendorAnswer,
    *,
    actor: User,
    now: datetime,
    note: str = "",
    rules: LinkRules = LinkRules(),
) -> VendorAnswer:
    """Our owner does not agree; the vendor is told, with our note."""
    _waiting(answer)
    _decide(answer, AnswerState.declined, actor, now, _text("decision_note", note))
    _tell_contact(session, answer, now, rules)
    return answer


def _decide(answer: VendorAnswer, state: AnswerState, actor: User, now: datetime, note: str) -> None:
    answer.state = state
    answer.decided_at = now
    answer.decided_by = actor
    answer.decision_note = note


# -- the emails ---------------------------------------------------------------------------------


def item_of(link: VendorLink) -> Item:
    return link.commitment or link.complaint


def _email_contact(
    session: Session,
    link: VendorLink,
    item: Item,
    kind: MailKind,
    period_key: str,
    now: datetime,
    **context: Any,
) -> bool:
    contact = link.contact
    if not contact.email:
        return False
    answer = context.get("answer")
    # Who speaks to the vendor: the one who decided on their answer, else who asked; never by email.
    asker = name_for_vendor(answer.decided_by if answer is not None and answer.decided_by else link.asked_by)
    with speaking(contact):
        context = {
            "asker": asker,
            "link": link,
            "item": item,
            "is_complaint": isinstance(item, Complaint),
            "contact": contact,
            "tz": user_timezone(contact),
            **context,
        }
        if "token" in context:
            context["url"] = link_url(context.pop("token"))
        subject = _subject(kind, link, item, answer, asker)
        rendered = mail.render(kind.value, subject, **context)
    return mail.queue(
        session, recipient=contact.email, kind=kind, period_key=period_key, rendered=rendered, now=now
    )


def _subject(
    kind: MailKind, link: VendorLink, item: Item, answer: VendorAnswer | None, asker: str = ""
) -> str:
    if kind == MailKind.vendor_ask:
        return _("%(name)s asks you about: %(title)s", name=asker, title=item.title)
    if kind == MailKind.vendor_told:
        if answer.state == AnswerState.accepted:
            return _("%(name)s agreed to your answer: %(title)s", name=asker, title=item.title)
        return _("%(name)s did not agree to your answer: %(title)s", name=asker, title=item.title)
    return _(
        "%(contact)s (%(vendor)s) answered: %(title)s",
        contact=link.contact.name,
        vendor=link.vendor.name,
        title=item.title,
    )


def who_decides(link: VendorLink) -> User:
    """Who decides on an answer that waits: the item's owner, or whoever asked if the owner has left."""
    owner = item_of(link).owner
    return owner if owner.is_active else link.asked_by


def name_for_vendor(user: User) -> str:
    """One of us as the vendor's page names them: by name, never by email address."""
    return user.name or _("our team")


def _tell_owner(session: Session, link: VendorLink, answer: VendorAnswer, now: datetime) -> bool:
    """Our owner is emailed for each answer that needs them: all but a plain confirmation."""
    item = item_of(link)
    owner = who_decides(link)
    with speaking(owner):
        url = (
            url_for("commitments.detail", commitment_id=item.id, _external=True)
            if isinstance(item, Commitment)
            else mail.complaint_url(item.id)
        )
        rendered = mail.render(
            MailKind.vendor_answer.value,
            _subject(MailKind.vendor_answer, link, item, answer),
            link=link,
            item=item,
            answer=answer,
            owner=owner,
            url=url,
            tz=user_timezone(owner),
        )
    return mail.queue(
        session,
        recipient=owner.email,
        kind=MailKind.vendor_answer,
        period_key=f"answer-{answer.id}",
        rendered=rendered,
        now=now,
        user_id=owner.id,
    )


def _tell_contact(session: Session, answer: VendorAnswer, now: datetime, rules: LinkRules) -> bool:
    """The contact hears what we decided on an answer that waited for us, when we have their email."""
    link = answer.link
    return _email_contact(
        session,
        link,
        item_of(link),
        MailKind.vendor_told,
        f"decision-{answer.id}",
        now,
        answer=answer,
        # Whether to invite them back to their page: only while it still opens.
        link_opens=link_state(link, now, rules) == LinkState.open,
    )
