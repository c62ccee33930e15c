"""The vendor's links on a commitment's or a complaint's page: whom to ask, each link asked (how it
was sent, whether it was opened, whether it still works) with its answers, and our forms to decide.

It reads and shapes only; the writes are views/asking.py's, through vendor_links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from vendortrack import vendor_links
from vendortrack.extensions import db
from vendortrack.forms import Form
from vendortrack.models import (
    AnswerKind,
    AnswerState,
    Commitment,
    Complaint,
    Contact,
    ExcuseCategory,
    VendorAnswer,
    VendorLink,
)
from vendortrack.templating import DECISION_LABELS, EXCUSE_LABELS
from vendortrack.vendor_links import LinkState

Item = Commitment | Complaint

LINK_STATE_LABELS = {
    LinkState.open: _l("works"),
    LinkState.revoked: _l("revoked"),
    LinkState.expired: _l("expired"),
    LinkState.closed: _l("closed: settled a while ago"),
}
LINK_STATE_BADGES = {
    LinkState.open: "text-bg-success",
    LinkState.revoked: "text-bg-secondary",
    LinkState.expired: "text-bg-secondary",
    LinkState.closed: "text-bg-light border",
}
ANSWER_STATE_BADGES = {
    AnswerState.recorded: "text-bg-light border",
    AnswerState.waiting: "text-bg-warning",
    AnswerState.accepted: "text-bg-success",
    AnswerState.declined: "text-bg-secondary",
    AnswerState.superseded: "text-bg-light border",
}
# Accepting these moves or breaks the commitment: the vendor's reason is the excuse, in a category.
EXCUSED = (AnswerKind.proposed, AnswerKind.cannot)


class AskForm(Form):
    # Any id is taken and vendor_links.ask decides: another vendor's contact is refused by name.
    contact_id = SelectField(_l("Whom to ask"), coerce=int, validate_choice=False)
    send = SelectField(choices=[("email", _l("Send by email")), ("copy", _l("Copy link"))])

    def set_choices(self, contacts: list[Contact]) -> None:
        self.contact_id.choices = [
            (c.id, c.name if c.email else _l("%(name)s (no email address: copy the link)", name=c.name))
            for c in contacts
        ]


class AcceptForm(Form):
    excuse_category = SelectField(
        _l("Excuse"),
        choices=[(c.value, label) for c, label in EXCUSE_LABELS.items()],
        default=ExcuseCategory.other.value,
        description=_l("The vendor's reason is kept as what they said."),
    )


class DeclineForm(Form):
    decision_note = TextAreaField(
        _l("A note for the vendor (optional)"), validators=[Length(max=vendor_links.MESSAGE_MAX)]
    )


class RevokeForm(Form):
    """Nothing to fill in: the CSRF token, and a refusal's place."""


FORMS = {"ask": AskForm, "accept": AcceptForm, "decline": DeclineForm, "revoke": RevokeForm}


@dataclass(frozen=True)
class Refused:
    """The form that was sent and refused, to show again with its errors: which, and for which row."""

    action: str
    row_id: int | None
    form: Form


@dataclass(frozen=True)
class AskedLink:
    link: VendorLink
    state: LinkState

    @property
    def answers(self) -> list[VendorAnswer]:
        return list(reversed(self.link.answers))  # newest first, as the history

    @property
    def state_label(self) -> str:
        return str(LINK_STATE_LABELS[self.state])

    @property
    def state_badge(self) -> str:
        return LINK_STATE_BADGES[self.state]


@dataclass
class Panel:
    item: Item
    links: list[AskedLink]
    ask: AskForm | None  # None: nothing to ask about (settled), or no one here may ask
    contacts: list[Contact]
    refused: Refused | None = None
    _forms: dict[tuple[str, int | None], Form] = field(default_factory=dict)

    def form(self, action: str, row_id: int | None = None) -> Form:
        """The refused form if it is this one, else an empty one (made once per page)."""
        if self.refused is not None and (self.refused.action, self.refused.row_id) == (action, row_id):
            return self.refused.form
        key = (action, row_id)
        if key not in self._forms:
            self._forms[key] = FORMS[action](formdata=None)
        return self._forms[key]

    def failed(self, action: str, row_id: int | None = None) -> bool:
        return self.refused is not None and (self.refused.action, self.refused.row_id) == (action, row_id)

    @property
    def waiting(self) -> int:
        return sum(a.state == AnswerState.waiting for row in self.links for a in row.link.answers)

    def refusal(self) -> list[str]:
        """Every message of the refused form, for a row whose form is no longer shown."""
        if self.refused is None:
            return []
        form = self.refused.form
        return [*map(str, form.form_errors), *(str(error) for f in form for error in f.errors)]

    @property
    def is_open(self) -> bool:
        return vendor_links.is_open_item(self.item)

    @property
    def is_complaint(self) -> bool:
        return isinstance(self.item, Complaint)

    @staticmethod
    def answer_badge(answer: VendorAnswer) -> str:
        return ANSWER_STATE_BADGES[answer.state]

    @staticmethod
    def decision_labels(answer: VendorAnswer) -> tuple[str, str]:
        return DECISION_LABELS[answer.kind]

    @staticmethod
    def takes_excuse(answer: VendorAnswer) -> bool:
        return answer.kind in EXCUSED


def rules() -> vendor_links.LinkRules:
    return vendor_links.LinkRules.from_config(current_app.config)


def links_of(item: Item, chain: list[Commitment] | None = None) -> list[VendorLink]:
    """The links asked about this complaint, or about this commitment's engagement: a link follows
    the moves to the live commitment, so every page of a reschedule chain shows the same links."""
    if isinstance(item, Complaint):
        about = VendorLink.complaint_id == item.id
    else:
        about = VendorLink.commitment_id.in_([c.id for c in chain or [item]])
    return db.session.scalars(
        sa.select(VendorLink)
        .where(about)
        .options(
            selectinload(VendorLink.answers).selectinload(VendorAnswer.decided_by),
            selectinload(VendorLink.contact),
            selectinload(VendorLink.asked_by),
            selectinload(VendorLink.revoked_by),
        )
        .order_by(VendorLink.asked_at.desc(), VendorLink.id.desc())
    ).all()


def panel(
    item: Item, now: datetime, *, chain: list[Commitment] | None = None, refused: Refused | None = None
) -> Panel:
    link_rules = rules()
    links = [
        AskedLink(link, vendor_links.link_state(link, now, link_rules)) for link in links_of(item, chain)
    ]
    contacts = sorted(item.vendor.contacts, key=lambda c: (c.name.casefold(), c.id))
    ask = None
    if refused is not None and refused.action == "ask":
        ask = refused.form  # shown with its refusal, even if the item was settled meanwhile
    elif current_user.can_write and vendor_links.is_open_item(item) and contacts:
        ask = AskForm(formdata=None)
        ask.contact_id.data = item.contact_id  # who made the promise, or whom it was raised with
    if ask is not None:
        ask.set_choices(contacts)
    return Panel(item=item, links=links, ask=ask, contacts=contacts, refused=refused)
