"""What templates can call: local times, status labels, the enums, the current moment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time, get_datetime_format
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale, ngettext, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from vendortrack.extensions import db
from vendortrack.models import (
    AnswerKind,
    AnswerState,
    Channel,
    ComplaintAction,
    ComplaintStatus,
    Contact,
    EventAction,
    ExcuseCategory,
    Kind,
    Resolution,
    Role,
    Severity,
    Status,
    User,
)
from vendortrack.scores.rules import (
    COUNTED,
    LAST_MINUTE,
    MIN_COUNTED,
    AskAnswers,
    Outcome,
    Responsiveness,
    Rules,
    Standing,
    is_on_time,
    notice,
)

KIND_LABELS = {Kind.meeting: _l("Meeting"), Kind.promise: _l("Promise"), Kind.deadline: _l("Deadline")}
STATUS_LABELS = {
    Status.open: _l("Open"),
    Status.kept: _l("Kept"),
    Status.broken: _l("Broken"),
    Status.rescheduled: _l("Rescheduled"),
    Status.cancelled: _l("Cancelled"),
}
STATUS_BADGES = {
    Status.open: "text-bg-primary",
    Status.kept: "text-bg-success",
    Status.broken: "text-bg-danger",
    Status.rescheduled: "text-bg-warning",
    Status.cancelled: "text-bg-secondary",
}
EXCUSE_LABELS = {
    ExcuseCategory.force_majeure: _l("Force majeure (flood, storm, outage)"),
    ExcuseCategory.personal: _l("Personal (illness, accident, family)"),
    ExcuseCategory.oversight: _l("Oversight (forgot, mixed up dates)"),
    ExcuseCategory.third_party: _l("Third party (their supplier, “the system”)"),
    ExcuseCategory.plot_twist: _l("Plot twist (sudden change of plans)"),
    ExcuseCategory.none_given: _l("None given"),
    ExcuseCategory.other: _l("Other"),
}
ACTION_LABELS = {
    EventAction.created: _l("Logged"),
    EventAction.edited: _l("Edited"),
    EventAction.resolved: _l("Resolved"),
    EventAction.rescheduled: _l("Rescheduled"),
    EventAction.flagged_overdue: _l("Flagged overdue"),
    EventAction.reopened: _l("Reopened"),
    EventAction.vendor_answered: _l("The vendor answered through its link"),
}
STANDING_LABELS = {
    Standing.excellent: _l("Excellent"),
    Standing.good: _l("Good"),
    Standing.fair: _l("Fair"),
    Standing.poor: _l("Poor"),
    Standing.unreliable: _l("Unreliable"),
    Standing.insufficient_data: _l("Too little history"),
}
OUTCOME_LABELS = {
    Outcome.kept_on_time: _l("Kept on time"),
    Outcome.kept_late: _l("Kept late"),
    Outcome.broken: _l("Broken"),
    Outcome.rescheduled: _l("Rescheduled"),
    Outcome.overdue: _l("Overdue (counts as broken)"),
}
ROLE_LABELS = {Role.viewer: _l("Viewer"), Role.editor: _l("Editor"), Role.admin: _l("Admin")}
FIELD_LABELS = {
    "kind": _l("Kind"),
    "title": _l("Title"),
    "notes": _l("Notes"),
    "due_at": _l("Due"),
    "contact_id": _l("Contact"),
    "owner_id": _l("Owner"),
    "status": _l("Status"),
    "done_at": _l("Done at"),
    "excuse_category": _l("Excuse category"),
    "excuse": _l("Excuse"),
    "reason": _l("Reason"),
    "rescheduled_to": _l("Moved to"),
    "rescheduled_from": _l("Moved from"),
    "flagged_overdue_at": _l("Flagged overdue"),
    "notified_at": _l("The vendor told us"),
}

# -- complaints ---------------------------------------------------------------------------------
SEVERITY_LABELS = {
    Severity.minor: _l("Minor"),
    Severity.major: _l("Major"),
    Severity.critical: _l("Critical"),
}
SEVERITY_BADGES = {
    Severity.minor: "text-bg-light",
    Severity.major: "text-bg-warning",
    Severity.critical: "text-bg-danger",
}
CHANNEL_LABELS = {
    Channel.email: _l("Email"),
    Channel.phone: _l("Phone"),
    Channel.meeting: _l("Meeting"),
    Channel.other: _l("Other"),
}
RESOLUTION_LABELS = {
    Resolution.fixed: _l("Fixed"),
    Resolution.compensated: _l("Compensated"),
    Resolution.declined: _l("Declined by the vendor"),
    Resolution.withdrawn: _l("Withdrawn by us"),
}
COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.waiting: _l("Waiting for an answer"),
    ComplaintStatus.answered: _l("Answered"),
    ComplaintStatus.resolved: _l("Resolved"),
    ComplaintStatus.withdrawn: _l("Withdrawn"),
}
COMPLAINT_STATUS_BADGES = {
    ComplaintStatus.waiting: "text-bg-danger",
    ComplaintStatus.answered: "text-bg-primary",
    ComplaintStatus.resolved: "text-bg-success",
    ComplaintStatus.withdrawn: "text-bg-secondary",
}
COMPLAINT_ACTION_LABELS = {
    ComplaintAction.raised: _l("Raised"),
    ComplaintAction.edited: _l("Edited"),
    ComplaintAction.answered: _l("The vendor answered"),
    ComplaintAction.dated_answer: _l("Dated answer"),
    ComplaintAction.resolved: _l("Resolved"),
    ComplaintAction.withdrawn: _l("Withdrawn by us"),
    ComplaintAction.reopened: _l("Reopened"),
    ComplaintAction.flagged_unanswered: _l("Flagged unanswered"),
    ComplaintAction.vendor_answered: _l("The vendor answered through its link"),
}
ANSWER_STATE_LABELS = {
    AnswerState.recorded: _l("Recorded"),
    AnswerState.waiting: _l("Waiting for our decision"),
    AnswerState.accepted: _l("Accepted"),
    AnswerState.declined: _l("Declined"),
    AnswerState.superseded: _l("Replaced by a newer answer"),
    AnswerState.overtaken: _l("Overtaken: it was settled another way"),
}
# Our two choices on an answer that waits for us, by what the vendor said: the buttons on the
# item's page (views/link_panel.py) and the owner's email that names them.
DECISION_LABELS = {
    AnswerKind.proposed: (_l("Accept the new time"), _l("Decline")),
    AnswerKind.done: (_l("Confirm it was kept then"), _l("Dispute")),
    AnswerKind.cannot: (_l("Record it as broken"), _l("Keep it open")),
    AnswerKind.reply: (_l("Keep the dated answer's promise"), _l("Decline")),
}
# What a complaint event's before/after holds, beyond the commitment fields above.
COMPLAINT_FIELD_LABELS = {
    "title": _l("Title"),
    "details": _l("Details"),
    "severity": _l("Severity"),
    "channel": _l("How it was raised"),
    "raised_at": _l("Vendor told"),
    "contact_id": _l("Raised with"),
    "owner_id": _l("Owner"),
    "commitment_ids": _l("Concerns"),
    "acknowledged_at": _l("Answered"),
    "case_owner_name": _l("Owner at the vendor"),
    "case_owner_contact_id": _l("Owner at the vendor"),
    "apologised": _l("Apologised"),
    "dated_answer_at": _l("Dated answer given"),
    "resolution": _l("Resolution"),
    "resolved_at": _l("Resolved at"),
    "satisfied": _l("Satisfied"),
    "promise_id": _l("Answer promised in"),
    "flagged_unanswered_at": _l("Flagged unanswered"),
}


# Babel skeletons: each locale orders the date's parts its own way ("Tue, Jun 2, 2026").
DATE_SKELETONS = {"short": "yMd", "medium": "yMMMd", "long": "yMMMMEEEEd"}


def local(moment: datetime | str | None, format: str = "medium", tz: str | None = None) -> str:
    """A stored UTC moment shown in the viewer's time zone (or `tz`, for mail) and locale, to the minute."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    moment = moment.astimezone(ZoneInfo(tz)) if tz else to_user_timezone(moment)
    locale = get_locale()
    day = format_skeleton(DATE_SKELETONS[format], moment, locale=locale)
    clock = format_time(moment, "short", locale=locale)
    if format == "long":
        clock = f"{clock} {moment.strftime('%Z')}"
    return get_datetime_format("medium", locale=locale).replace("{1}", day).replace("{0}", clock)


def decimal(value: float, digits: int | None = 1, signed: bool = False) -> str:
    """A figure as the viewer's locale writes it: 87.3 in English, 87,3 in Polish, Hungarian, Russian.

    `digits=None` writes only the digits a value has, up to three: 1, 0.5, 0.6 (for weights and credits).
    """
    pattern = "0.###" if digits is None else "0" + ("." + "0" * digits if digits else "")
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return format_decimal(value, format=pattern, locale=get_locale())


def lateness(delta: timedelta | float | None) -> str:
    """How late, in the largest sensible unit: "35 min", "2 h 10 min", "1 day 10 h", "3 days" (SCORING.md §9).

    The one wording for lateness on every page, email and digest; a float is taken as minutes.
    """
    if delta is None:
        return "—"
    minutes = delta if isinstance(delta, int | float) else delta / timedelta(minutes=1)
    minutes = max(1, math.ceil(minutes - 1e-9))  # late at all is at least a minute late
    if minutes < 60:
        return _("%(num)d min", num=minutes)
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        if not rest:
            return _("%(num)d h", num=hours)
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    hours = round(minutes / 60)
    if hours < 3 * 24:  # "1 day" for 34 hours would hide most of a working day
        days, rest = divmod(hours, 24)
        if rest:
            return ngettext("%(num)d day %(hours)d h", "%(num)d days %(hours)d h", days, hours=rest)
    return ngettext("%(num)d day", "%(num)d days", round(minutes / (24 * 60)))


def too_little_history(counted: int) -> str:
    """What stands in for a score, reliability or punctuality the record cannot carry (SCORING.md §9)."""
    return ngettext(
        "too little history: %(num)d of %(needed)d commitments counted",
        "too little history: %(num)d of %(needed)d commitments counted",
        counted,
        needed=MIN_COUNTED,
    )


def too_few_complaints(counted: int) -> str:
    """What stands in for a responsiveness the complaints cannot carry yet (SCORING.md §9, §10)."""
    if not counted:
        return _("no complaints yet")
    return ngettext(
        "too little history: %(num)d of %(needed)d complaints counted",
        "too little history: %(num)d of %(needed)d complaints counted",
        counted,
        needed=MIN_COUNTED,
    )


def waited(complaint: Any, now: datetime) -> str:
    """How long a complaint waited for the vendor's first answer: "answered after 3 h", or so far."""
    if complaint.acknowledged_at is not None:
        return _("answered after %(time)s", time=lateness(complaint.acknowledged_at - complaint.raised_at))
    if complaint.resolution is not None:
        return _("closed without an answer")
    return _("waiting %(time)s", time=lateness(max(now - complaint.raised_at, timedelta(0))))


def notice_words(warned: timedelta | float | None) -> str:
    """How early the vendor warned of a move (SCORING.md §11), in the lateness wording; a float is hours.

    In whole minutes, the seconds dropped: the pages show both moments to the minute, and a notice
    must read as their difference (told 20:23:40 of a 17:00 meeting is "3 h 23 min after").
    """
    if warned is None:
        return "—"
    if isinstance(warned, int | float):
        warned = timedelta(hours=warned)
    warned = timedelta(minutes=int(warned / timedelta(minutes=1)))
    if warned < timedelta(0):
        return _("told us %(time)s after the time", time=lateness(-warned))
    return _("told us %(time)s ahead", time=lateness(warned))


def kept_on_time(rules: Rules, commitment: Any) -> bool:
    """Whether a kept commitment counts as on time: done no later than its tolerance after it was due
    (SCORING.md §3), so a page never calls "late" what the score counts as on time."""
    return is_on_time(commitment.done_at - commitment.due_at, rules.tolerance(commitment.kind))


def answer_deadline_rule(rules: Rules) -> str:
    """What a complaint's answer deadline is, with the zone whose days and midnights it counts in."""
    return ngettext(
        "the end of the next working day, in %(zone)s",
        "the end of the day %(num)d working days later, in %(zone)s",
        rules.ack_working_days,
        zone=rules.timezone,
    )


def last_minute_rule() -> str:
    return _("less than %(time)s ahead, or after the time", time=lateness(LAST_MINUTE))


def answers_line(answers: Responsiveness) -> str:
    """The plain facts beside the smoothed responsiveness, over the counted complaints, in one line:
    "2 of 4 answered in time, 1 late, 1 unanswered, first answer after a median of 5 h".

    As `facts_line`: a part that is zero is left out, but "0 of 4 answered in time" stays.
    """
    if not answers.counted:
        return ""  # too_few_complaints already says there are none
    parts = [
        ngettext(
            "%(in_time)d of %(num)d answered in time",
            "%(in_time)d of %(num)d answered in time",
            answers.counted,
            in_time=answers.answered_in_time,
        )
    ]
    if answers.answered_late:
        parts.append(ngettext("%(num)d answered late", "%(num)d answered late", answers.answered_late))
    if answers.unanswered:
        parts.append(ngettext("%(num)d unanswered", "%(num)d unanswered", answers.unanswered))
    hours = answers.median_hours_to_answer
    if hours is not None:
        waited = lateness(hours * 60)
        answered = answers.answered_in_time + answers.answered_late
        if answered == 1:
            parts.append(_("the one answer came after %(lateness)s", lateness=waited))
        else:
            parts.append(
                ngettext(
                    "median time to the first answer %(lateness)s, over the %(num)d answered",
                    "median time to the first answer %(lateness)s, over the %(num)d answered",
                    answered,
                    lateness=waited,
                )
            )
    return ", ".join(parts)


def responsiveness_words(answers: Responsiveness) -> str:
    """A vendor's responsiveness in one line, for the digest: its figure and band with the plain
    facts, or what stands in for the figure while too few complaints count (SCORING.md §9, §10)."""
    if not answers.rated:
        return _("responsiveness: %(facts)s", facts=too_few_complaints(answers.counted))
    return _(
        "responsiveness %(value)s %% (90 %% band %(low)s–%(high)s %%): %(facts)s",
        value=decimal(100 * answers.value),
        low=decimal(100 * answers.band[0]),
        high=decimal(100 * answers.band[1]),
        facts=answers_line(answers),
    )


def asks_share_words(answers: AskAnswers) -> str:
    """The share of the counted asks answered: "answered 3 of 4 asks (75 %)"; empty while none counts."""
    if not answers.asks:
        return ""
    return ngettext(
        "answered %(answered)d of %(num)d ask (%(share)s %%)",
        "answered %(answered)d of %(num)d asks (%(share)s %%)",
        answers.asks,
        answered=answers.answered,
        share=decimal(100 * answers.share, digits=0),
    )


def asks_words(answers: AskAnswers) -> str:
    """How a vendor (or a contact) answers what we ask through its links, in one line: "answered 3 of
    4 asks (75 %) · median 5 h to answer · 1 waiting". Never "0 %" for a vendor not asked: with no
    counted ask there is no share, only the asks still waiting, or "not asked through a link yet"."""
    parts = []
    if answers.asks:
        parts.append(asks_share_words(answers))
        hours = answers.median_hours
        if hours is not None and answers.answered == 1:
            parts.append(_("%(time)s to answer", time=lateness(hours * 60)))
        elif hours is not None:
            parts.append(_("median %(time)s to answer", time=lateness(hours * 60)))
    if answers.waiting and parts:
        parts.append(ngettext("%(num)d waiting", "%(num)d waiting", answers.waiting))
    elif answers.waiting:
        parts.append(
            ngettext(
                "%(num)d ask waiting for an answer", "%(num)d asks waiting for an answer", answers.waiting
            )
        )
    return " · ".join(parts) or _("not asked through a link yet")


def asks_rule(rules: Rules) -> str:
    """How the asks are counted, in one line, beside their figures (scores.rules.is_counted_ask)."""
    return _(
        "An ask counts once the contact answers through the link, or once the time a vendor has to answer "
        "a complaint has passed (%(deadline)s); an ask we revoked while the contact still had time never "
        "counts. The time to answer runs from the ask to the first answer, in calendar hours.",
        deadline=answer_deadline_rule(rules),
    )


def times_moved(moves: int) -> str:
    """How often a vendor moved something, as people say it: "moved once", "moved twice", "moved 3 times"."""
    if moves == 1:
        return _("moved once")
    if moves == 2:
        return _("moved twice")
    return ngettext("moved %(num)d time", "moved %(num)d times", moves)


def facts_line(counts: Mapping[str, int], median_lateness: timedelta | None = None) -> str:
    """The plain facts beside the smoothed score, over the counted commitments, in one line:
    "1 of 6 on time, 1 broken, moved twice, 2 late by a median of 1 h 20 min".

    `counts` as rules.score_vendor gives them; a part that is zero is left out, but "0 of 6 on time"
    stays, as it is the point. Without a median (the ranked list has none) the late part is a count.
    """
    counted = sum(counts[key] for key in COUNTED)
    if not counted:
        return _("nothing counted yet")
    on_time, late = counts["kept_on_time"], counts["kept_late"]
    broken, overdue, moved = counts["broken"], counts["overdue"], counts["rescheduled"]
    parts = [
        ngettext("%(on_time)d of %(num)d on time", "%(on_time)d of %(num)d on time", counted, on_time=on_time)
    ]
    if broken:
        parts.append(ngettext("%(num)d broken", "%(num)d broken", broken))
    if overdue:
        parts.append(ngettext("%(num)d overdue", "%(num)d overdue", overdue))
    if moved:
        parts.append(times_moved(moved))
    if late and median_lateness is None:
        parts.append(ngettext("%(num)d late", "%(num)d late", late))
    elif late == 1:
        parts.append(_("1 late by %(lateness)s", lateness=lateness(median_lateness)))
    elif late:
        parts.append(
            ngettext(
                "%(num)d late by a median of %(lateness)s",
                "%(num)d late by a median of %(lateness)s",
                late,
                lateness=lateness(median_lateness),
            )
        )
    return ", ".join(parts)


def describe(field: str, value: Any) -> str:
    """A value from an event's before/after as a person reads it: labels and names, not ids."""
    if value is None or value == "":
        return "—"
    if field.endswith("_at"):
        return local(value)
    labels = {"kind": KIND_LABELS, "status": STATUS_LABELS, "excuse_category": EXCUSE_LABELS}
    if field in labels:
        return str(labels[field].get(value, value))
    labels = {
        "severity": SEVERITY_LABELS,
        "channel": CHANNEL_LABELS,
        "resolution": RESOLUTION_LABELS,
    }
    if field in labels:
        return str(labels[field].get(value, value))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if field == "commitment_ids":
        return ", ".join(f"#{i}" for i in value) or "—"
    if field == "owner_id":
        user = db.session.get(User, value)
        return user.display_name if user else f"#{value}"
    if field in ("contact_id", "case_owner_contact_id"):
        contact = db.session.get(Contact, value)
        return contact.name if contact else f"#{value}"
    return str(value)


def answer_words(answer: Any, tz: str | None = None) -> str:
    """What a contact said through their link, in one sentence, for our pages, their page and the
    emails (moments in `tz` when given, with the zone named)."""

    def when(moment: datetime) -> str:
        return local(moment, "long", tz=tz)

    match answer.kind:
        case AnswerKind.confirmed:
            return _("Confirmed it.")
        case AnswerKind.proposed:
            return _(
                "Proposed %(when)s instead: %(reason)s",
                when=when(answer.proposed_due_at),
                reason=answer.message,
            )
        case AnswerKind.done:
            said = _("Reported it done on %(when)s.", when=when(answer.done_at))
        case AnswerKind.cannot:
            return _("Said it cannot be done: %(reason)s", reason=answer.message)
        case AnswerKind.answered:
            said = (
                _("Took the complaint up; %(name)s owns it, with an apology.", name=answer.case_owner_name)
                if answer.apologised
                else _("Took the complaint up; %(name)s owns it.", name=answer.case_owner_name)
            )
        case AnswerKind.dated_answer:
            return _("Promised an answer by %(when)s.", when=when(answer.answer_due_at))
        case _:
            said = _("Answered:")
    return f"{said} {answer.message}".strip()


def said_through_link(after: Mapping[str, Any], tz: str | None = None) -> str:
    """What a contact answered, read back from their `vendor_answered` event's after (ledger.recorded
    values: moments as ISO text), in answer_words' sentence."""
    try:
        kind = AnswerKind(after.get("answer"))
    except ValueError:
        return _("Answered.")
    said = SimpleNamespace(
        kind=kind,
        **{name: after.get(name) for name in ("proposed_due_at", "done_at", "answer_due_at", "apologised")},
        message=after.get("message") or "",
        case_owner_name=after.get("case_owner_name") or "",
    )
    return answer_words(said, tz)


def register(app: Flask) -> None:
    app.add_template_filter(local, "local")
    app.add_template_filter(decimal, "decimal")
    app.add_template_filter(lateness, "lateness")
    app.add_template_global(get_locale, "get_locale")
    app.add_template_global(describe, "describe")
    app.add_template_global(facts_line, "facts_line")
    app.add_template_global(times_moved, "times_moved")
    app.add_template_global(too_little_history, "too_little_history")
    app.add_template_global(too_few_complaints, "too_few_complaints")
    app.add_template_global(waited, "waited")
    app.add_template_global(notice_words, "notice_words")
    app.add_template_global(
        partial(answer_deadline_rule, app.config["VENDORTRACK_RULES"]), "answer_deadline_rule"
    )
    app.add_template_global(partial(kept_on_time, app.config["VENDORTRACK_RULES"]), "kept_on_time")
    app.add_template_global(last_minute_rule, "last_minute_rule")
    app.add_template_global(notice, "notice")
    app.add_template_global(answers_line, "answers_line")
    app.add_template_global(responsiveness_words, "responsiveness_words")
    app.add_template_global(asks_words, "asks_words")
    app.add_template_global(asks_share_words, "asks_share_words")
    app.add_template_global(partial(asks_rule, app.config["VENDORTRACK_RULES"]), "asks_rule")
    app.add_template_global(answer_words, "answer_words")
    app.add_template_global(said_through_link, "said_through_link")

    # Globals, not a context processor, so imported macros see them too.
    app.jinja_env.globals.update(
        {
            "Kind": Kind,
            "Status": Status,
            "ExcuseCategory": ExcuseCategory,
            "Role": Role,
            "KIND_LABELS": KIND_LABELS,
            "STATUS_LABELS": STATUS_LABELS,
            "STATUS_BADGES": STATUS_BADGES,
            "EXCUSE_LABELS": EXCUSE_LABELS,
            "ACTION_LABELS": ACTION_LABELS,
            "ROLE_LABELS": ROLE_LABELS,
            "FIELD_LABELS": FIELD_LABELS,
            "Standing": Standing,
            "STANDING_LABELS": STANDING_LABELS,
            "OUTCOME_LABELS": OUTCOME_LABELS,
            "ComplaintStatus": ComplaintStatus,
            "SEVERITY_LABELS": SEVERITY_LABELS,
            "SEVERITY_BADGES": SEVERITY_BADGES,
            "CHANNEL_LABELS": CHANNEL_LABELS,
            "RESOLUTION_LABELS": RESOLUTION_LABELS,
            "COMPLAINT_STATUS_LABELS": COMPLAINT_STATUS_LABELS,
            "COMPLAINT_STATUS_BADGES": COMPLAINT_STATUS_BADGES,
            "COMPLAINT_ACTION_LABELS": COMPLAINT_ACTION_LABELS,
            "COMPLAINT_FIELD_LABELS": COMPLAINT_FIELD_LABELS,
            "AnswerKind": AnswerKind,
            "AnswerState": AnswerState,
            "ANSWER_STATE_LABELS": ANSWER_STATE_LABELS,
            "DECISION_LABELS": DECISION_LABELS,
        }
    )
