"""Score pages: every vendor ranked, two to four side by side, the CSV, and a vendor's scorecard section."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

import sqlalchemy as sa
from babel.dates import format_skeleton
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import Session

from vendortrack import charts
from vendortrack.csvsafe import spreadsheet_safe
from vendortrack.extensions import db
from vendortrack.models import Commitment, Status, Vendor
from vendortrack.scores import scorecard
from vendortrack.scores.asks import NO_ASKS
from vendortrack.scores.rules import (
    MIN_COUNTED,
    Headline,
    Responsiveness,
    Rules,
    Standing,
    Totals,
    VendorScore,
    totals_of,
    trend_moments,
    trend_point,
)
from vendortrack.timeutil import utcnow
from vendortrack.views.paging import MAX_PAGE, text_arg

bp = Blueprint("scorecards", __name__)

ORDERS = ("best", "worst")
RANK_BY = scorecard.ORDERS  # what the list is ranked by: the score, or the responsiveness (§10)
FILTERS = ("category", "standing", "responsiveness", "by", "order")  # the query string a list keeps
COMPARE_MIN, COMPARE_MAX = 2, 4
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
EXPLAIN_SHOWN = 200  # rows of "why this score" on the page; the sums always cover every one
CHAINS_SHOWN = 10
CSV_COLUMNS = (
    "rank",
    "vendor",
    "category",
    "score",
    "standing",
    "reliability",
    "reliability_low",
    "reliability_high",
    "punctuality",
    "punctuality_low",
    "punctuality_high",
    "counted",
    "kept_on_time",
    "kept_late",
    "broken",
    "rescheduled",
    "overdue",
    "cancelled",
    "upcoming",
    # Responsiveness (SCORING.md §10) after the score's columns, so a sheet built on those still reads.
    "responsiveness",
    "responsiveness_low",
    "responsiveness_high",
    "responsiveness_standing",
    "complaints_counted",
    "answered_in_time",
    "answered_late",
    "unanswered",
    "median_hours_to_answer",
    # Our asks through the vendor's links (scores.asks), last: the share is empty while none counts.
    "asks_counted",
    "asks_answered",
    "asks_share_answered",
    "asks_median_hours_to_answer",
    "asks_waiting",
)
COUNT_COLUMNS = CSV_COLUMNS[12:19]


def rules() -> Rules:
    return current_app.config["VENDORTRACK_RULES"]


def short_date(moment: datetime) -> str:
    """'27 Dec 2026' or 'Dec 27, 2026': a day as the viewer's locale writes it, without the time."""
    return format_skeleton("yMMMd", to_user_timezone(moment), locale=get_locale())


def score_band(figures: Headline) -> charts.Band:
    """The score's band: the reliability/punctuality mix of the Wilson lows, and of the highs."""
    return charts.band(figures.ranking_key / 100, figures.worst_key / 100, figures.score / 100)


def answer_band(answers: Responsiveness) -> charts.Band:
    """The responsiveness's Wilson band, marked at its value."""
    return charts.band(*answers.band, answers.value)


# --- the ranked scorecard -------------------------------------------------------------------


def _filters() -> tuple[dict[str, str], list[str]]:
    """The scorecard's filters from the query string; a value not on offer is named and dropped."""
    values = {
        "category": text_arg("category", 80),
        "standing": text_arg("standing", 40),
        "responsiveness": text_arg("responsiveness", 40),
        "by": text_arg("by", 20) or "score",
        "order": text_arg("order", 10) or "best",
    }
    errors = []
    if values["standing"] and values["standing"] not in set(Standing):
        errors.append(
            _("Standing: “%(value)s” is not one of the standings offered.", value=values["standing"])
        )
        values["standing"] = ""
    if values["responsiveness"] and values["responsiveness"] not in set(Standing):
        errors.append(
            _(
                "Responsiveness: “%(value)s” is not one of the standings offered.",
                value=values["responsiveness"],
            )
        )
        values["responsiveness"] = ""
    if values["by"] not in RANK_BY:
        errors.append(_("Rank by: choose the score or the responsiveness."))
        values["by"] = "score"
    if values["order"] not in ORDERS:
        errors.append(_("Order: choose best first or worst first."))
        values["order"] = "best"
    return values, errors


def _ranked(now: datetime, filters: dict[str, str]) -> list[scorecard.Ranked]:
    the_rules = rules()
    return scorecard.ranked(
        db.session,
        the_rules,
        now,
        category=filters["category"] or None,
        standing=filters["standing"] or None,
        worst_first=filters["order"] == "worst",
        by=filters["by"],
        responsiveness_standing=filters["responsiveness"] or None,
    )


def trend_scores(vendor_ids: list[int], now: datetime) -> dict[int, list[float | None]]:
    """Twelve scores per vendor, oldest first, None before anything counted (scoring.trend_point):
    one pass over all the vendors per moment, not per vendor."""
    if not vendor_ids:
        return {}
    ids = None if len(vendor_ids) > 500 else vendor_ids  # as scorecard.ranked: a long IN list costs more
    the_rules = rules()
    lines: dict[int, list[float | None]] = {vendor_id: [] for vendor_id in vendor_ids}
    for moment in trend_moments(now):
        totals = scorecard.totals_by_vendor(db.session, the_rules, moment, ids)
        for vendor_id, scores in lines.items():
            sums = totals.get(vendor_id, (Totals(), None))[0]
            scores.append(trend_point(sums, the_rules, moment)["score"])
    return lines


@dataclass
class Page:
    """One page of an already ranked list, shaped for macros.pagination."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def _page_of(lines: list) -> Page:
    number = request.args.get("page", 1, type=int)
    if not 1 <= number <= MAX_PAGE:
        abort(404)
    size = current_app.config["VENDORTRACK_PAGE_SIZE"]
    page = Page(lines[(number - 1) * size : number * size], number, size, len(lines))
    if number > page.pages:
        abort(404)
    return page


def _categories() -> list[str]:
    return db.session.scalars(
        sa.select(Vendor.category)
        .where(Vendor.category != "", Vendor.archived_at.is_(None))
        .distinct()
        .order_by(Vendor.category)
    ).all()


@bp.route("/scorecard")
@login_required
def index():
    now = utcnow()
    filters, errors = _filters()
    page = _page_of(_ranked(now, filters))
    # The ranked order puts the vendors with too little history last, so on a page they follow the rest;
    # ranked by responsiveness, too little history is too few complaints, whatever the score.
    ranked_lines = [line for line in page.items if line.judged(filters["by"]).rated]
    not_yet_rated = [line for line in page.items if not line.judged(filters["by"]).rated]
    trends = trend_scores([line.vendor_id for line in ranked_lines if line.figures.rated], now)
    return render_template(
        "scorecards/index.html",
        page=page,
        ranked=ranked_lines,
        not_yet_rated=not_yet_rated,
        filters=filters,
        errors=errors,
        categories=_categories(),
        picked=_picked(),
        trends=trends,
        sparklines={vendor_id: charts.sparkline(line) for vendor_id, line in trends.items()},
        bands={line.vendor_id: score_band(line.figures) for line in ranked_lines if line.figures.rated},
        answer_bands={line.vendor_id: answer_band(line.responsiveness) for line in page.items},
        standings=list(Standing),
        rank_by=filters["by"],
        min_counted=MIN_COUNTED,
        now=now,
    ), (400 if errors else 200)


def _picked() -> set[int]:
    """The vendors ticked for comparing, when compare sent the reader back to tick more or fewer."""
    return set(_compare_ids()[0])


def csv_row(rank: int, line: scorecard.Ranked, by: str = "score") -> list[str]:
    """One vendor's line; a vendor not yet rated has no rank and no figures, as on the page: no score
    while the score is not rated, no responsiveness while too few complaints count, no rank while the
    figure the list is ranked by is not rated."""
    f, answers = line.figures, line.responsiveness
    figures = [
        round(f.reliability, 4),
        round(f.reliability_band[0], 4),
        round(f.reliability_band[1], 4),
        round(f.punctuality, 4),
        round(f.punctuality_band[0], 4),
        round(f.punctuality_band[1], 4),
    ]
    if not f.rated:
        score, figures = "", [""] * len(figures)
    else:
        score = round(f.score, 2)
    answer_figures = [round(answers.value, 4), round(answers.band[0], 4), round(answers.band[1], 4)]
    if not answers.rated:
        answer_figures = [""] * len(answer_figures)
    if not line.judged(by).rated:
        rank = ""
    hours, asked = answers.median_hours_to_answer, line.asks
    cells = [
        rank,
        line.name,
        line.category,
        score,
        f.standing.value,
        *figures,
        f.counted,
        *(line.counts[key] for key in COUNT_COLUMNS),
        *answer_figures,
        answers.standing.value,
        answers.counted,
        answers.answered_in_time,
        answers.answered_late,
        answers.unanswered,
        "" if hours is None else round(hours, 2),
        asked.asks,
        asked.answered,
        "" if asked.share is None else round(asked.share, 4),
        "" if asked.median_hours is None else round(asked.median_hours, 2),
        asked.waiting,
    ]
    return [spreadsheet_safe(cell) for cell in cells]


@bp.route("/scorecard.csv")
@login_required
def export_csv():
    now = utcnow()
    filters, errors = _filters()
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for rank, line in enumerate(_ranked(now, filters), start=1):
        writer.writerow(csv_row(rank, line, filters["by"]))
    # The byte-order mark tells Excel the file is UTF-8, so Łódź and Győr survive a double-click.
    response = Response(buffer.getvalue().encode("utf-8-sig"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=vendortrack-scorecard-{now:%Y-%m-%d}.csv"
    return response


# --- compare --------------------------------------------------------------------------------


def _compare_ids() -> tuple[list[int], str | None]:
    raw = request.args.getlist("vendor")
    ids: list[int] = []
    for value in (v.strip() for v in raw):
        # isascii: "²" is a digit to str.isdigit() but not to int().
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            return [], _("Vendor: “%(value)s” is not a vendor number.", value=value[:40])
        if int(value) not in ids:
            ids.append(int(value))
    return ids, None


@bp.route("/scorecard/compare")
@login_required
def compare():
    ids, error = _compare_ids()
    if error:  # only a hand-made address gets here: the scorecard's boxes send vendor numbers
        return render_template("scorecards/compare.html", columns=[], error=error), 400
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        # Said on the scorecard itself, its filters and page kept and the ticked boxes still ticked.
        flash(
            _(
                "Pick between %(low)d and %(high)d vendors to compare; you picked %(n)d.",
                low=COMPARE_MIN,
                high=COMPARE_MAX,
                n=len(ids),
            ),
            "warning",
        )
        kept = {name: request.args[name] for name in (*FILTERS, "page") if request.args.get(name)}
        return redirect(url_for("scorecards.index", **kept, vendor=ids))
    now = utcnow()
    columns = []
    for vendor_id in ids:
        if vendor_id > MAX_ID:  # no such row, and PostgreSQL would refuse the number outright
            abort(404)
        vendor = db.get_or_404(Vendor, vendor_id)
        report = scorecard.vendor_score(db.session, vendor, rules(), now)
        columns.append(
            {
                "vendor": vendor,
                "report": report,
                "band": score_band(report.figures),
                "answer_band": answer_band(report.responsiveness),
                "excuses": sorted(report.excuses.items(), key=lambda item: (-item[1], item[0]))[:3],
                "sparkline": charts.sparkline([point["score"] for point in report.trend]),
                "rated": report.figures.rated,
            }
        )
    return render_template("scorecards/compare.html", columns=columns, error=None, now=now)


# --- a vendor's scorecard section -----------------------------------------------------------


@dataclass
class Move:
    """One reschedule: the commitment that was moved, from its date to its successor's, and why."""

    commitment_id: int
    from_due: datetime
    to_due: datetime
    excuse_category: str | None
    excuse: str


@dataclass
class Chain:
    title: str
    first_id: int
    original_due: datetime
    moves: list[Move] = field(default_factory=list)
    last_id: int = 0
    last_status: str = ""


def reschedule_chains(session: Session, vendor_id: int, limit: int = CHAINS_SHOWN) -> list[Chain]:
    """The vendor's commitments moved at least once, the most-moved first: each with every move."""
    c = Commitment
    rows = session.execute(
        sa.select(
            c.id,
            c.title,
            c.due_at,
            c.status,
            c.rescheduled_from_id,
            c.rescheduled_to_id,
            c.excuse_category,
            c.excuse,
        )
        .where(c.vendor_id == vendor_id)
        .order_by(c.id)
    ).all()
    by_id = {row.id: row for row in rows}

    def follow_up(row):
        return by_id.get(row.rescheduled_to_id)

    chains = []
    for row in rows:
        if row.rescheduled_from_id is not None or row.status != Status.rescheduled:
            continue
        links = [row]
        while links[-1].status == Status.rescheduled and (nxt := follow_up(links[-1])) is not None:
            links.append(nxt)
        moves = [
            Move(a.id, a.due_at, b.due_at, a.excuse_category, a.excuse or "") for a, b in pairwise(links)
        ]
        if moves:
            chains.append(Chain(row.title, row.id, row.due_at, moves, links[-1].id, links[-1].status))
    chains.sort(key=lambda chain: (-len(chain.moves), -chain.original_due.timestamp()))
    return chains[:limit]


def vendor_section(vendor: Vendor, now: datetime) -> dict:
    """What the vendor page's scorecard section shows: the report, its charts, chains, sums."""
    the_rules = rules()
    report = scorecard.vendor_score(db.session, vendor, the_rules, now)
    explain = sorted(report.explain, key=lambda credit: (credit.fact.due_at, credit.fact.id), reverse=True)
    trend_points = [(p["score"], p["standing"], short_date(p["as_of"])) for p in report.trend]
    return {
        "report": report,
        "rules": the_rules,
        "rated": report.figures.rated,
        "sums": totals_of(report.explain),
        "explain": explain[:EXPLAIN_SHOWN],
        "bands": {
            "score": score_band(report.figures),
            "reliability": charts.band(*report.figures.reliability_band, report.figures.reliability),
            "punctuality": charts.band(*report.figures.punctuality_band, report.figures.punctuality),
        },
        "trend_chart": charts.trend_chart(trend_points),
        "excuse_chart": charts.bar_chart(report.excuses),
        "chains": reschedule_chains(db.session, vendor.id),
        # Each contact's answers to our asks, for the contacts list: "not asked" for one never asked.
        "contact_asks": {c.id: report.contact_asks.get(c.id, NO_ASKS) for c in vendor.contacts},
    }


# --- the warning when logging with a poor vendor --------------------------------------------

WARN_STANDINGS = frozenset({Standing.poor, Standing.unreliable})


@dataclass
class StandingWarning:
    report: VendorScore
    broken: list[Commitment]


def standing_warning(vendor: Vendor, now: datetime) -> StandingWarning | None:
    """A warning for whoever logs a new commitment with a vendor in poor or unreliable standing."""
    report = scorecard.vendor_score(db.session, vendor, rules(), now)
    if report.figures.standing not in WARN_STANDINGS:
        return None
    broken = db.session.scalars(
        sa.select(Commitment)
        .where(Commitment.vendor_id == vendor.id, Commitment.status == Status.broken)
        .order_by(Commitment.due_at.desc(), Commitment.id.desc())
        .limit(3)
    ).all()
    return StandingWarning(report, list(broken))
