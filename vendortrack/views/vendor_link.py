"""The vendor's own page, /v/<token>: one contact answers about one commitment or complaint.

No account and no cookie: the token in the address is the credential. Every token that opens
nothing (unknown, tampered, revoked, expired, closed) gets the one 404 page; each form carries a
token of the page's own, bound to the link; every write is vendor_links', in one unit of work,
rate-limited in the database. The page shows its one item and nothing else of ours, in the
contact's language and time zone, whoever's browser opens it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer

from vendortrack import vendor_links
from vendortrack.extensions import db
from vendortrack.forms import (
    AnswerDateForm,
    CannotForm,
    ConfirmForm,
    DoneForm,
    PreferencesForm,
    ProposeForm,
    ReplyForm,
    TakeUpForm,
    VendorPageForm,
    past_moment,
    show_moment,
    yes_no,
)
from vendortrack.i18n import LANGUAGES, speaking, user_locale, user_timezone
from vendortrack.models import AnswerKind, AnswerState, EventAction, Status, VendorAnswer, VendorLink
from vendortrack.security import VENDOR_PAGES
from vendortrack.timeutil import utcnow
from vendortrack.unit_of_work import writing
from vendortrack.views.saving import save

bp = Blueprint("vendor_link", __name__, url_prefix=VENDOR_PAGES.rstrip("/"))

# A form's token works this long after its page was drawn: a page left open overnight still answers.
FORM_TOKEN_AGE = timedelta(days=1)
FORM_TOKEN_SALT = "vendor-link-form"  # noqa: S105 - a salt names the purpose; the secret is the key


def link_rules() -> vendor_links.LinkRules:
    return vendor_links.LinkRules.from_config(current_app.config)


def open_link(token: str, now: datetime) -> VendorLink:
    """The link this token opens, or the one 404, whatever the reason it opens nothing."""
    link = vendor_links.find_open(db.session, token, now, link_rules())
    if link is None:
        abort(404)
    return link


# -- the form token: the page's own CSRF token, as a vendor has no session to keep one in --------


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=FORM_TOKEN_SALT)


def form_token(link: VendorLink) -> str:
    return _signer().dumps(link.id)


def is_own_form(link: VendorLink, token: str | None) -> bool:
    """Signed by us, recently, for this link: a token from another link's page opens nothing here."""
    try:
        return _signer().loads(token or "", max_age=FORM_TOKEN_AGE.total_seconds()) == link.id
    except BadData:
        return False


# -- what each form does: the page's actions, each one service call -----------------------------

Save = Callable[[Any, VendorLink, str, datetime, str | None], Any]


@dataclass(frozen=True)
class Action:
    form: type[VendorPageForm]
    save: Save  # (form, link, zone, now, address) -> what was written


def _confirm(form: ConfirmForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.confirm(db.session, link, now=now, address=address)


def _propose(form: ProposeForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    reason = form.message.data or ""
    return vendor_links.propose(
        db.session, link, due_at=form.proposed_at(tz), reason=reason, now=now, address=address
    )


def _done(form: DoneForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    done_at = past_moment(form.done_date, form.done_time, tz, now)
    note = form.message.data or ""
    return vendor_links.report_done(db.session, link, done_at=done_at, note=note, now=now, address=address)


def _cannot(form: CannotForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.cannot(db.session, link, reason=form.message.data or "", now=now, address=address)


def _take_up(form: TakeUpForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.answer_complaint(
        db.session,
        link,
        case_owner_name=form.case_owner_name.data or "",
        apologised=bool(yes_no(form.apologised.data)),
        message=form.message.data or "",
        answer_by=form.answer_by(tz),
        now=now,
        address=address,
    )


def _date_answer(form: AnswerDateForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.give_dated_answer(
        db.session, link, due_at=form.answer_by(tz), now=now, address=address
    )


def _reply(form: ReplyForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.reply(db.session, link, message=form.message.data or "", now=now, address=address)


def _preferences(form: PreferencesForm, link: VendorLink, tz: str, now: datetime, address: str | None):
    return vendor_links.set_preferences(
        link.contact, language=form.language.data, timezone=form.timezone.data
    )


# The last part of each form's address: /v/<token>/<action>.
ACTIONS: dict[str, Action] = {
    "confirm": Action(ConfirmForm, _confirm),
    "propose": Action(ProposeForm, _propose),
    "done": Action(DoneForm, _done),
    "cannot": Action(CannotForm, _cannot),
    "answer": Action(TakeUpForm, _take_up),
    "dated-answer": Action(AnswerDateForm, _date_answer),
    "reply": Action(ReplyForm, _reply),
    "preferences": Action(PreferencesForm, _preferences),
}


def standing(link: VendorLink) -> VendorAnswer | None:
    """What the contact last said about the commitment's time as it stands, if it still holds: their
    confirmation of it (a move makes a new commitment, a corrected date undoes it), or their proposal
    of another time while it waits for us. None: nothing of theirs stands, Confirm is offered."""
    commitment = link.commitment
    said = next(
        (
            answer
            for answer in reversed(link.answers)
            if answer.commitment_id == commitment.id
            and answer.kind in (AnswerKind.confirmed, AnswerKind.proposed)
        ),
        None,
    )
    if said is None:
        return None
    if said.kind == AnswerKind.proposed:
        return said if said.state == AnswerState.waiting else None
    moved = any(
        event.action == EventAction.edited and "due_at" in event.after and event.at > said.at
        for event in commitment.events
    )
    return None if moved else said


def offered(link: VendorLink) -> list[str]:
    """The forms that apply to the item as it stands, in the page's order; none once it is settled.
    Confirm is not offered again while their confirmation or their proposal stands."""
    if link.commitment is not None:
        if link.commitment.status != Status.open:
            return []
        return [*([] if standing(link) else ["confirm"]), "propose", "done", "cannot"]
    complaint = link.complaint
    if complaint.resolution is not None:
        return []
    if complaint.acknowledged_at is None:
        return ["answer"]
    return [*(["dated-answer"] if complaint.dated_answer_at is None else []), "reply"]


def _blank_forms(link: VendorLink, tz: str, now: datetime) -> dict[str, VendorPageForm]:
    """Every form of the page, empty but for what it offers to start from."""
    forms = {name: action.form(formdata=None) for name, action in ACTIONS.items()}
    show_moment(forms["done"].done_date, forms["done"].done_time, now, tz)
    forms["answer"].case_owner_name.data = link.contact.name
    forms["preferences"].language.data = user_locale(link.contact)
    forms["preferences"].timezone.data = tz
    return forms


def thanks(link: VendorLink, kind: str | None) -> str | None:
    """The line that thanks the contact for what they just sent, and says what happens next."""
    answer = next((a for a in reversed(link.answers) if a.kind == kind), None)
    if answer is None:
        return None
    if answer.state != AnswerState.waiting:
        return _("Thank you: your answer is recorded.")
    name = vendor_links.name_for_vendor(vendor_links.who_decides(link))
    if link.contact.email:
        return _("Sent to %(name)s; you will hear back by email.", name=name)
    return _("Sent to %(name)s; their decision will show on this page.", name=name)


def _page(
    link: VendorLink,
    token: str,
    now: datetime,
    *,
    failed: str | None = None,
    form: VendorPageForm | None = None,
    status: int = 200,
):
    tz = user_timezone(link.contact)
    forms = _blank_forms(link, tz, now)
    if failed is not None:
        forms[failed] = form
    item = vendor_links.item_of(link)
    return render_template(
        "vendor_link/page.html",
        link=link,
        item=item,
        is_complaint=link.complaint is not None,
        contact=link.contact,
        tz=tz,
        asked_by=vendor_links.name_for_vendor(link.asked_by),
        standing=standing(link) if link.commitment is not None else None,
        decides=vendor_links.name_for_vendor(vendor_links.who_decides(link)),
        forms=forms,
        offered=offered(link),
        failed=failed,
        thanks=thanks(link, request.args.get("answered")),
        token=token,
        form_token=form_token(link),
        language_name=LANGUAGES[user_locale(link.contact)],
    ), status


# -- the routes ---------------------------------------------------------------------------------


# The query a page's own forms land on (see `act`): that GET is the contact's answer coming back,
# not an opening of the link. An answer lands with ?answered=<its kind>, other forms ?saved=<form>.
LANDINGS = ("answered", "saved")


def is_landing() -> bool:
    return any(name in request.args for name in LANDINGS)


@bp.route("/<token>")
def show(token: str):
    now = utcnow()
    link = open_link(token, now)
    if not is_landing():  # counted: opens measure the contact coming to the link, not its replies
        with writing(db.session, reread=False):
            vendor_links.record_open(db.session, link, now)
    with speaking(link.contact):
        return _page(link, token, now)


@bp.route("/<token>/<action>", methods=["POST"])
def act(token: str, action: str):
    """One form of the page: its token, the rate, then its one service call; back to the page."""
    if action not in ACTIONS:
        abort(404)
    now = utcnow()
    link = open_link(token, now)
    chosen = ACTIONS[action]
    with speaking(link.contact):
        form = chosen.form()
        if not is_own_form(link, request.form.get("form_token")):
            form.form_errors.append(_("This form had expired. Here it is again: please send it once more."))
            return _page(link, token, now, failed=action, form=form, status=400)
        try:
            vendor_links.check_rate(db.session, link, request.remote_addr, now, link_rules())
        except vendor_links.TooManyAnswers as refused:
            return _too_many(token, refused.retry_after)
        tz, address = user_timezone(link.contact), request.remote_addr
        if form.validate() and (written := save(form, lambda: chosen.save(form, link, tz, now, address))):
            if isinstance(written, VendorAnswer):
                landing = {"answered": written.kind.value}
            else:
                landing = {"saved": action}
            return redirect(url_for(".show", token=token, **landing), 303)
        return _page(link, token, now, failed=action, form=form, status=422)


def _too_many(token: str, wait: timedelta):
    seconds = max(1, math.ceil(wait.total_seconds()))
    page = render_template("vendor_link/too_many.html", minutes=math.ceil(seconds / 60), token=token)
    return page, 429, {"Retry-After": str(seconds)}
