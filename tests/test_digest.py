"""The weekly digest as a subscriber reads it: its sections, its two parts, its pages, its schedule."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import current_app

from config import ConfigError, DevelopmentConfig
from tests.conftest import NOW
from vendortrack import digest, jobs, ledger, mail
from vendortrack.models import ExcuseCategory, Kind, MailKind, OutboxMessage, Role, User
from vendortrack.scores import scorecard, tally
from vendortrack.scores.rules import Standing
from vendortrack.week import Move

WARSAW = "Europe/Warsaw"
# The digest of the week of Monday 22 June 2026 goes out on Monday 29 June, 08:00 in Warsaw (06:00 UTC).
WEEK_START = datetime(2026, 6, 22, 6, 0, tzinfo=UTC)
WEEK_END = datetime(2026, 6, 29, 6, 0, tzinfo=UTC)
WEEK = "2026-W26"


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def log(session, vendor, editor, title, due, kind=Kind.promise):
    return ledger.log_commitment(
        session, vendor=vendor, kind=kind, title=title, due_at=due, actor=editor, now=due - timedelta(days=5)
    )


class Ledger:
    """A week of commitments for three vendors with a little history, and a newcomer with none."""

    def __init__(self, session, make_vendor, editor):
        self.acme = make_vendor("Acme Plumbing")
        self.bodge = make_vendor("Bodge & Sons <script>alert(1)</script>")
        self.slow = make_vendor("Slowpoke IT")
        self.newcomer = make_vendor("Newcomer Ltd")  # no history at all: too little to rank
        for day in (4, 11, 18):  # May: Acme on time, Slowpoke late, Bodge broken
            for vendor in (self.acme, self.slow, self.bodge):
                c = log(session, vendor, editor, f"May job {day}", at(day, 9, month=5))
                if vendor is self.bodge:
                    ledger.resolve_broken(session, c, actor=editor, now=at(day, 12, month=5))
                else:
                    late = timedelta(0) if vendor is self.acme else timedelta(hours=5)
                    ledger.resolve_kept(
                        session, c, actor=editor, now=at(day, 20, month=5), done_at=at(day, 9, month=5) + late
                    )
        # The week itself.
        visit = log(session, self.acme, editor, "Site visit", at(23, 8), Kind.meeting)  # 10:00 in Warsaw
        ledger.resolve_kept(session, visit, actor=editor, now=at(23, 9), done_at=at(23, 8, 2))
        quote = log(session, self.slow, editor, "Send the quote", at(24, 10))
        ledger.resolve_kept(session, quote, actor=editor, now=at(24, 13), done_at=at(24, 13))
        boiler = log(session, self.bodge, editor, "Deliver the boiler", at(25, 15), Kind.deadline)
        ledger.resolve_broken(
            session,
            boiler,
            actor=editor,
            now=at(26, 9),
            excuse_category=ExcuseCategory.third_party,
            excuse="<b>The supplier</b> never shipped",
        )
        call = log(session, self.slow, editor, "Call back", at(22, 12))
        self.call_again = ledger.reschedule(
            session,
            call,
            actor=editor,
            now=at(23, 10),
            new_due_at=at(1, 10, month=7),
            excuse_category=ExcuseCategory.third_party,
            excuse="Our system was down",
        )
        self.invoice = log(session, self.slow, editor, "Send the invoice", at(26, 12))  # overdue by the end
        log(session, self.acme, editor, "Confirm the date", at(28, 20))  # within its grace at the end
        # Before the week: an old promise still open, and one broken this week though due earlier.
        log(session, self.acme, editor, "Old report", at(1, 9))
        old = log(session, self.bodge, editor, "Fix the gate", at(10, 9))
        ledger.resolve_broken(
            session,
            old,
            actor=editor,
            now=at(23, 14),
            excuse_category=ExcuseCategory.personal,
            excuse="The foreman was ill",
        )
        # After it: due next week, and the week after.
        log(session, self.acme, editor, "Install the meter", at(2, 7, month=7))
        log(session, self.acme, editor, "Annual review", at(20, 9, month=7))
        session.commit()
        tally.bring_up_to_date(session, current_app.config["VENDORTRACK_RULES"], NOW)
        session.commit()


@pytest.fixture
def week(session, make_vendor, editor) -> Ledger:
    return Ledger(session, make_vendor, editor)


@pytest.fixture
def subscriber(make_user) -> User:
    return make_user(Role.viewer, name="Sue Scriber", timezone=WARSAW)


def composed(app, session, user: User, end: datetime = WEEK_END, now: datetime = NOW) -> mail.Rendered:
    """The digest email of the week ending at `end`, composed at `now` (by default after that week)."""
    with mail.mail_context(app):
        return digest.compose(session, user, end, digest.WeekCache.from_config(current_app.config), now=now)


def text_section(text: str, title: str) -> str:
    """What the text part says under '== title ==', up to the next heading."""
    after = text.split(f"== {title} ==", 1)[1]
    return after.split("\n== ", 1)[0]


def html_section(html: str, anchor: str) -> str:
    after = html.split(f'id="{anchor}"', 1)[1]
    return after.split("<h2", 1)[0]


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def score(session, vendor, as_of: datetime) -> float:
    rules = current_app.config["VENDORTRACK_RULES"]
    return scorecard.vendor_score(session, vendor, rules, as_of).figures.score


# --- what the digest holds ----------------------------------------------------------------------


def test_the_subject_names_the_week_by_its_monday(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)

    assert rendered.subject == "Vendor digest for the week of June 22, 2026"


def test_what_came_due_says_what_became_of_each_commitment(app, session, week, subscriber):
    text = text_section(composed(app, session, subscriber).text, "What came due this week")

    assert "6 commitments came due." in text
    assert "Kept on time" in text.split("Site visit", 1)[1].splitlines()[1]
    assert "Kept 3 h late" in text.split("Send the quote", 1)[1].splitlines()[1]  # templating.lateness
    assert "Broken" in text.split("Deliver the boiler", 1)[1].splitlines()[1]
    assert "Rescheduled to 7/1/2026" in text.split("Call back", 1)[1].splitlines()[1]
    assert "Overdue, no outcome logged" in text.split("Send the invoice", 1)[1].splitlines()[1]
    assert "Open, still within its grace period" in text.split("Confirm the date", 1)[1].splitlines()[1]
    assert "Old report" not in text and "Install the meter" not in text


def test_times_are_shown_on_the_subscribers_clock(app, session, week, subscriber, make_user):
    new_yorker = make_user(Role.viewer, timezone="America/New_York")

    warsaw = text_section(composed(app, session, subscriber).text, "What came due this week")
    # The New Yorker's week ends at their own Monday 08:00; the visit on Tuesday is in it too.
    new_york = text_section(
        composed(app, session, new_yorker, datetime(2026, 6, 29, 12, tzinfo=UTC)).text,
        "What came due this week",
    )

    assert "10:00" in line_with(warsaw, "Site visit")  # 08:00 UTC, in summer time
    assert "4:00" in line_with(new_york, "Site visit")
    assert "Times are in Europe/Warsaw." in composed(app, session, subscriber).text


def test_the_movers_show_the_old_and_the_new_score(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)
    text = text_section(rendered.text, "Scores that moved")
    up, down = text.split("Down:", 1)
    acme_old, acme_new = score(session, week.acme, WEEK_START), score(session, week.acme, WEEK_END)
    bodge_old, bodge_new = score(session, week.bodge, WEEK_START), score(session, week.bodge, WEEK_END)

    def moved(old: float, new: float) -> str:  # the difference of the two figures as shown
        return f"{old:.1f} → {new:.1f} ({round(new, 1) - round(old, 1):+.1f})"

    assert f"Acme Plumbing: {moved(acme_old, acme_new)}" in up
    assert moved(bodge_old, bodge_new) in line_with(down, "Bodge")
    assert "Slowpoke IT" in down
    assert "Newcomer Ltd" not in text  # no history: its score never moved from 50
    html = html_section(rendered.html, "movers")
    assert f"{acme_old:.1f} → <b>{acme_new:.1f}</b>" in html


def test_new_broken_promises_come_with_their_excuses(app, session, week, subscriber):
    text = text_section(composed(app, session, subscriber).text, "New broken promises")

    assert "Deliver the boiler" in text and "Fix the gate" in text  # broken this week, whenever due
    assert "Third party (their supplier, “the system”): “<b>The supplier</b> never shipped”" in text
    assert "Personal (illness, accident, family): “The foreman was ill”" in text
    assert "Call back" not in text  # rescheduled, not broken


def test_overdue_lists_open_commitments_past_their_grace_oldest_first(app, session, week, subscriber):
    text = text_section(composed(app, session, subscriber).text, "Overdue, still without an outcome")

    assert text.index("Old report") < text.index("Send the invoice")
    assert "Confirm the date" not in text  # still within its grace period at the week's end
    assert "ask Edith Editor" in line_with(text, "Old report")


def test_overdue_shows_twenty_and_counts_the_rest(app, session, subscriber, make_vendor, editor):
    vendor = make_vendor("Busy Builders")
    for day in range(1, 24):
        log(session, vendor, editor, f"Overdue job {day:02d}", at(day, 9, month=5))
    session.commit()

    text = text_section(composed(app, session, subscriber).text, "Overdue, still without an outcome")

    assert "Overdue job 01" in text and "Overdue job 20" in text and "Overdue job 21" not in text
    assert "… and 3 more." in text


def test_due_next_week_lists_the_coming_week_only(app, session, week, subscriber):
    text = text_section(composed(app, session, subscriber).text, "Due next week")

    assert "Install the meter" in text and "Call back" in text  # the rescheduled promise's new date
    assert "Annual review" not in text


def test_best_and_worst_split_the_rated_vendors_and_never_name_one_twice(app, session, week, subscriber):
    text = text_section(composed(app, session, subscriber).text, "Best and worst vendors")
    best, worst = text.split("Worst:", 1)
    worst = worst.split("Not yet rated:", 1)[0]

    # Three rated vendors (SCORING.md §9): best takes ceil(3/2) = 2, worst floor(3/2) = 1.
    def ranked(lines: str) -> list[str]:
        return [line for line in lines.splitlines() if re.match(r"  \d+\. ", line)]

    assert [line.split(":")[0].strip() for line in ranked(best)] == ["1. Acme Plumbing", "2. Slowpoke IT"]
    assert f"{score(session, week.acme, WEEK_END):.1f} (Fair)" in line_with(best, "Acme")
    assert ranked(worst) == [
        f"  1. Bodge & Sons <script>alert(1)</script>: {score(session, week.bodge, WEEK_END):.1f} (Unreliable)"
    ]
    # Under each, its responsiveness: none of these vendors has had a complaint.
    assert best.count("responsiveness: no complaints yet") == 2
    assert "Slowpoke IT" not in worst  # third from the top is also second from the bottom: best has it


def test_vendors_not_yet_rated_follow_the_ranked_ones_with_a_dash_and_the_intro_says_so(
    app, session, week, subscriber
):
    rendered = composed(app, session, subscriber)
    text = text_section(rendered.text, "Best and worst vendors")

    assert (
        "Vendors with fewer than 3 counted commitments are not yet rated: they follow the ranked ones, "
        "without a score."
    ) in text
    assert text.index("Worst:") < text.index("Not yet rated:") < text.index("Newcomer Ltd")
    assert "  - Newcomer Ltd: — (too little history: 0 of 3 commitments counted)" in text
    html = unescape(html_section(rendered.html, "ranking"))
    assert html.index("Worst") < html.index("Not yet rated") < html.index("Newcomer Ltd")
    assert "too little history: 0 of 3 commitments counted" in html


def test_a_vendor_with_too_little_history_gets_a_dash_and_no_figure_anywhere_in_the_digest(
    app, session, week, subscriber, make_vendor, editor, client
):
    fresh = make_vendor("Fresh Supplies")
    first = log(session, fresh, editor, "First order", at(10, 9))
    ledger.resolve_kept(session, first, actor=editor, now=at(10, 10), done_at=at(10, 9))
    second = log(session, fresh, editor, "Second order", at(24, 9))  # counted this week: its "score" moved
    ledger.resolve_broken(session, second, actor=editor, now=at(24, 12))
    session.commit()

    rendered = composed(app, session, subscriber)

    ranking = text_section(rendered.text, "Best and worst vendors")
    assert line_with(ranking, "Fresh Supplies") == (
        "  - Fresh Supplies: — (too little history: 2 of 3 commitments counted)"
    )
    assert "Fresh Supplies" not in text_section(rendered.text, "Scores that moved")
    assert "Fresh Supplies" not in html_section(rendered.html, "movers")
    html_row = unescape(rendered.html).split(">Fresh Supplies</a>")[-1].split("</tr>", 1)[0]
    assert "too little history: 2 of 3 commitments counted" in html_row and "<b>—</b>" in html_row
    assert not re.search(r"\d[.,]\d", html_row)
    client.login(subscriber)
    page = unescape(client.get(f"/digest?week={WEEK}").get_data(as_text=True))
    page_row = page.split(f'/vendors/{fresh.id}">Fresh Supplies</a>')[-1].split("</tr>", 1)[0]
    assert "too little history: 2 of 3 commitments counted" in page_row
    assert not re.search(r"\d[.,]\d", page_row)


def test_a_single_rated_vendor_is_best_and_nobody_is_worst(app, session, subscriber, make_vendor, editor):
    solo = make_vendor("Solo Services")
    for day in (1, 8, 15):
        c = log(session, solo, editor, f"Job {day}", at(day, 9))
        ledger.resolve_kept(session, c, actor=editor, now=at(day, 10), done_at=at(day, 9))
    session.commit()

    text = text_section(composed(app, session, subscriber).text, "Best and worst vendors")

    assert "  1. Solo Services:" in text.split("Best:", 1)[1]
    assert "Worst:" not in text


def test_scores_that_moved_leave_out_small_moves_and_vendors_with_nothing_due(
    app, session, week, subscriber, make_vendor, editor
):
    # A vendor whose whole record is old: a short half-life moves its score a lot in a week, but
    # nothing of its came due, so the move is the weights drifting, not news.
    drifting = make_vendor("Drifting Ltd")
    for day in (1, 2, 3, 4):
        c = log(session, drifting, editor, f"Old job {day}", at(day, 9))
        ledger.resolve_broken(session, c, actor=editor, now=at(day, 12))
    session.commit()
    app.config["VENDORTRACK_RULES"] = dataclasses.replace(app.config["VENDORTRACK_RULES"], half_life_days=14)

    text = text_section(composed(app, session, subscriber).text, "Scores that moved")
    drift = score(session, drifting, WEEK_END) - score(session, drifting, WEEK_START)

    assert drift >= 1.0  # it did move, by more than the threshold
    assert "Drifting Ltd" not in text
    assert "Moves of 1.0 points or more, of vendors with a commitment that came due this week." in text


def test_the_smallest_move_listed_is_a_setting(app, session, week, subscriber):
    slow_move = score(session, week.slow, WEEK_END) - score(session, week.slow, WEEK_START)
    acme_move = score(session, week.acme, WEEK_END) - score(session, week.acme, WEEK_START)
    app.config["VENDORTRACK_DIGEST_MIN_MOVE"] = round(abs(slow_move) - 0.5, 1)
    assert abs(acme_move) < app.config["VENDORTRACK_DIGEST_MIN_MOVE"]

    text = text_section(composed(app, session, subscriber).text, "Scores that moved")

    assert "Slowpoke IT" in text and "Acme Plumbing" not in text
    app.config["VENDORTRACK_DIGEST_MIN_MOVE"] = 50.0
    quiet = text_section(composed(app, session, subscriber).text, "Scores that moved")
    assert "No vendor's score moved by 50.0 points or more this week." in quiet


@pytest.mark.parametrize("raw", ["-1", "101", "a lot", "nan"])
def test_a_bad_smallest_move_stops_the_start_naming_the_setting(tmp_path, raw):
    with pytest.raises(ConfigError, match="VENDORTRACK_DIGEST_MIN_MOVE"):
        DevelopmentConfig({"VENDORTRACK_DIGEST_MIN_MOVE": raw}, instance_path=tmp_path)


def test_the_smallest_move_defaults_to_one_point(tmp_path):
    assert DevelopmentConfig({}, instance_path=tmp_path).VENDORTRACK_DIGEST_MIN_MOVE == 1.0


def test_the_excuse_of_the_week_is_the_most_common_with_an_example(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)
    text = text_section(rendered.text, "Excuse of the week")

    # The week's three: the boiler and the call came due this week, the gate was marked broken in it.
    assert (
        "Third party (their supplier, “the system”): 2 of the week's 3 broken or rescheduled commitments."
        in text
    )
    assert "“Our system was down” (Slowpoke IT, Call back)" in text
    assert "“Our system was down”" in html_section(rendered.html, "excuse")


def test_every_section_appears_in_both_parts(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)

    for title, anchor in [
        ("What came due this week", "came-due"),
        ("Scores that moved", "movers"),
        ("New broken promises", "broken"),
        ("Overdue, still without an outcome", "overdue"),
        ("Due next week", "next-week"),
        ("Best and worst vendors", "ranking"),
        ("Excuse of the week", "excuse"),
    ]:
        assert f"== {title} ==" in rendered.text
        assert re.search(f'<h2 id="{anchor}"[^>]*>{title}</h2>', rendered.html)
    for title in ("Site visit", "Deliver the boiler", "Send the invoice", "Install the meter"):
        assert title in rendered.html


def test_a_quiet_week_says_so_in_every_section(app, session, week, subscriber):
    quiet_end = datetime(2025, 1, 6, 7, 0, tzinfo=UTC)  # before anything was ever due

    rendered = composed(app, session, subscriber, quiet_end)

    for sentence in (
        "Nothing came due this week.",
        "No vendor's score moved by 1.0 points or more this week.",
        "No promise was marked broken this week.",
        "Nothing is overdue.",
        "Nothing is due next week.",
        "No vendor has enough history to rank yet.",
        "No excuses this week: nothing was broken or rescheduled.",
    ):
        assert sentence in rendered.text
        assert sentence in unescape(rendered.html)


def test_links_lead_to_each_vendor_and_commitment(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)
    base = app.config["VENDORTRACK_BASE_URL"]

    assert f'href="{base}/vendors/{week.acme.id}"' in rendered.html
    assert f'href="{base}/commitments/{week.invoice.id}"' in rendered.html
    assert f"{base}/commitments/{week.invoice.id}" in rendered.text
    assert f"{base}/digest?week={WEEK}" in rendered.text


def test_markup_in_a_vendor_name_or_an_excuse_is_escaped_in_the_html_part(app, session, week, subscriber):
    rendered = composed(app, session, subscriber)

    assert "<script>alert(1)</script>" not in rendered.html
    assert "Bodge &amp; Sons &lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<b>The supplier</b>" not in rendered.html
    assert "&lt;b&gt;The supplier&lt;/b&gt; never shipped" in rendered.html
    assert "Bodge & Sons <script>alert(1)</script>" in rendered.text  # the text part is not HTML


def test_the_html_charts_need_no_script_no_images_and_no_css(app, session, week, subscriber):
    html = composed(app, session, subscriber).html

    assert "<script" not in html and "<img" not in html and "<svg" not in html
    # The one style: the layout's cap of 600 px, which mail clients honour only inline.
    assert re.findall(r"style=\"[^\"]*\"", html) == ['style="max-width:600px"']
    # The score bars are table cells sized and coloured by attributes: Acme's bar is yellow (fair).
    acme_score = round(score(session, week.acme, WEEK_END))
    assert f'<td width="{acme_score}%" bgcolor="#ffc107"' in html_section(html, "ranking")


# --- unsubscribing -------------------------------------------------------------------------------


def queued_digest(app, session, user: User) -> OutboxMessage:
    user.digest_next_at = WEEK_END
    session.commit()
    with mail.mail_context(app):
        jobs.send_digests(session, WEEK_END, app.config)
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == user.email)).one()


def test_the_queued_digest_carries_a_one_click_list_unsubscribe_header(
    app, session, week, subscriber, client
):
    message = queued_digest(app, session, subscriber)
    link = re.fullmatch(r"<(.+)>", message.headers["List-Unsubscribe"]).group(1)

    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in message.body_text and f'href="{link}"' in message.body_html
    # What a mail client does with it: a POST, with no session and no CSRF token.
    assert client.post(urlsplit(link).path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    session.refresh(subscriber)
    assert subscriber.digest_enabled is False


# What the link's page says and when it stops working: tests/test_unsubscribe.py.


# --- the profile ---------------------------------------------------------------------------------


def profile_data(user: User, **changes) -> dict:
    data = {"name": user.name, "timezone": user.timezone or ""}
    if user.digest_enabled:
        data["digest_enabled"] = "y"
    return data | changes


def digest_box(client) -> str:
    page = client.get("/auth/profile").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="digest_enabled"[^>]*>', page).group(0)
    assert 'type="checkbox"' in box and "Send me the weekly digest" in page
    return "ticked" if re.search(r"\bchecked\b", box) else "unticked"


def test_the_profile_checkbox_turns_the_digest_off_and_on(session, subscriber, client):
    client.login(subscriber)
    assert digest_box(client) == "ticked"  # on by default
    subscriber.digest_next_at = WEEK_END
    session.commit()

    data = profile_data(subscriber)
    del data["digest_enabled"]  # an unticked box is not sent at all
    assert client.submit("/auth/profile", data).status_code == 302
    session.refresh(subscriber)
    assert subscriber.digest_enabled is False
    assert digest_box(client) == "unticked"

    assert client.submit("/auth/profile", profile_data(subscriber, digest_enabled="y")).status_code == 302
    session.refresh(subscriber)
    assert subscriber.digest_enabled is True
    assert subscriber.digest_next_at is None  # the job schedules the next Monday afresh


def test_changing_time_zone_resets_the_next_digest(session, subscriber, client):
    client.login(subscriber)
    subscriber.digest_next_at = WEEK_END
    session.commit()

    client.submit("/auth/profile", profile_data(subscriber, name="Sue"))
    session.refresh(subscriber)
    assert subscriber.digest_next_at == WEEK_END  # nothing about the schedule changed

    client.submit("/auth/profile", profile_data(subscriber, timezone="America/New_York"))
    session.refresh(subscriber)
    assert subscriber.timezone == "America/New_York"
    assert subscriber.digest_next_at is None


# --- the pages -----------------------------------------------------------------------------------


def test_the_digest_page_shows_a_signed_in_users_digest_in_the_site(session, week, subscriber, client):
    client.login(subscriber)

    page = client.get(f"/digest?week={WEEK}")

    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Vendor digest for the week of June 22, 2026" in body
    assert "Deliver the boiler" in body and "Excuse of the week" in body
    assert "Content-Security-Policy" in page.headers
    digest_part = body.split('<div class="digest">', 1)[1]
    assert "style=" not in digest_part and "<script>alert" not in digest_part
    assert 'href="/digest?week=2026-W25"' in body and 'href="/digest?week=2026-W27"' in body


def test_the_digest_page_defaults_to_the_latest_week(session, subscriber, client):
    client.login(subscriber)

    page = client.get("/digest")

    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Vendor digest for the week of" in body
    assert 'href="/digest">Digest</a>' in body  # the nav leads here


@pytest.mark.parametrize(
    ("week_value", "message"),
    [
        ("banana", "Week: write it as year, W and week number, e.g. 2026-W26."),
        ("2026-W60", "Week: 2026 has no week 60."),
        ("2025-W53", "Week: 2025 has no week 53."),
        ("0001-W01", "Week: choose a year from 1970 to 9998."),
    ],
)
def test_a_bad_week_gets_a_clear_message(subscriber, client, week_value, message):
    client.login(subscriber)

    page = client.get(f"/digest?week={week_value}")

    assert page.status_code == 400
    assert message in page.get_data(as_text=True)


def test_the_digest_page_needs_a_sign_in(client):
    page = client.get("/digest")

    assert page.status_code == 302 and page.headers["Location"].startswith("/auth/login")


def test_an_admin_previews_anyones_digest_for_any_week(session, week, subscriber, admin, client):
    client.login(admin)

    page = client.get(f"/admin/digest?user_id={subscriber.id}&week={WEEK}")

    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Vendor digest for the week of June 22, 2026" in body
    assert "Europe/Warsaw" in body
    assert "== What came due this week ==" in body  # the text part, too
    assert "Deliver the boiler" in body
    assert client.get("/admin/digest").status_code == 200  # the form alone


def test_the_admin_preview_refuses_a_missing_user_and_a_bad_week(subscriber, admin, client):
    client.login(admin)

    missing = client.get("/admin/digest?user_id=999999")
    bad_week = client.get(f"/admin/digest?user_id={subscriber.id}&week=2026-W99")

    assert missing.status_code == 404 and "there is no user #999999" in missing.get_data(as_text=True)
    assert bad_week.status_code == 400 and "2026 has no week 99" in bad_week.get_data(as_text=True)


def test_a_viewer_may_not_preview_other_peoples_digests(subscriber, viewer, client):
    client.login(viewer)

    assert client.get(f"/admin/digest?user_id={subscriber.id}").status_code == 403


# --- the schedule --------------------------------------------------------------------------------


def run_digests(app, session, now: datetime) -> dict[str, int]:
    with mail.mail_context(app):
        return jobs.send_digests(session, now, app.config)


def digests_for(session, user: User) -> list[OutboxMessage]:
    return session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.recipient == user.email, OutboxMessage.kind == MailKind.digest
        )
    ).all()


def test_the_digest_job_queues_one_per_subscriber_and_none_on_a_rerun(app, session, week, make_user):
    subscribers = [make_user(Role.viewer, timezone=WARSAW) for _ in range(3)]
    quiet = make_user(Role.viewer, timezone=WARSAW)
    quiet.digest_enabled = False
    session.commit()
    run_digests(app, session, at(24, 12))  # a Wednesday: each is given their first Monday

    first = run_digests(app, session, WEEK_END)
    again = run_digests(app, session, WEEK_END + timedelta(minutes=5))

    assert first == {"due": 3, "queued": 3} and again == {"due": 0, "queued": 0}
    for user in subscribers:
        [message] = digests_for(session, user)
        assert message.subject == "Vendor digest for the week of June 22, 2026"
        assert "Deliver the boiler" in message.body_text and "Deliver the boiler" in message.body_html
    assert digests_for(session, quiet) == []


def test_a_new_users_first_digest_goes_out_the_next_monday_at_eight_on_their_clock(app, session, make_user):
    user = make_user(Role.viewer, timezone="America/New_York")

    run_digests(app, session, at(24, 12))  # Wednesday 24 June
    session.refresh(user)

    assert user.digest_next_at == datetime(2026, 6, 29, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    assert run_digests(app, session, user.digest_next_at - timedelta(minutes=1))["queued"] == 0
    assert run_digests(app, session, user.digest_next_at)["queued"] == 1


MONDAYS_ACROSS_DST = [
    # zone, a moment in the week of the change, the Monday after it
    (WARSAW, datetime(2026, 3, 27, 12, tzinfo=UTC), datetime(2026, 3, 30, 6, tzinfo=UTC)),  # to CEST
    (WARSAW, datetime(2026, 10, 23, 12, tzinfo=UTC), datetime(2026, 10, 26, 7, tzinfo=UTC)),  # to CET
    ("America/New_York", datetime(2026, 3, 6, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 10, 30, 12, tzinfo=UTC), datetime(2026, 11, 2, 13, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "after", "monday"), MONDAYS_ACROSS_DST)
def test_the_next_digest_is_monday_eight_local_across_a_dst_change(zone, after, monday):
    user = User(timezone=zone)

    following = user.next_digest_at(after, "UTC")

    assert following == monday
    local = following.astimezone(ZoneInfo(zone))
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)
    # And the Monday after that, a week on the wall clock: 167 or 169 hours in UTC.
    assert user.next_digest_at(following, "UTC").astimezone(ZoneInfo(zone)).replace(tzinfo=None) == (
        local.replace(tzinfo=None) + timedelta(days=7)
    )


@pytest.mark.parametrize(
    ("zone", "sunday"),
    [
        (WARSAW, datetime(2026, 3, 29, tzinfo=UTC)),
        (WARSAW, datetime(2026, 10, 25, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 8, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_an_hourly_job_across_a_dst_week_sends_each_digest_once_at_eight_local(
    app, session, make_user, zone, sunday
):
    user = make_user(Role.viewer, timezone=zone)
    start = sunday - timedelta(days=8)  # the Saturday the week before: two Mondays ahead

    for hour in range(0, 10 * 24):
        run_digests(app, session, start + timedelta(hours=hour))

    sent = sorted(message.created_at.astimezone(ZoneInfo(zone)) for message in digests_for(session, user))
    assert [(m.date().isoformat(), m.weekday(), m.hour, m.minute) for m in sent] == [
        ((sunday - timedelta(days=6)).date().isoformat(), 0, 8, 0),  # the Monday before the change
        ((sunday + timedelta(days=1)).date().isoformat(), 0, 8, 0),  # the Monday after it
    ]


def test_each_digest_covers_the_week_since_the_last_one_on_the_wall_clock(app, session, subscriber):
    # Warsaw leaves summer time on 25 October: that week is 169 hours long, and the digest covers all of them.
    end = datetime(2026, 10, 26, 7, tzinfo=UTC)

    week = digest.preview(session, subscriber, end, digest.WeekCache.from_config(app.config), now=end).week

    assert week.start == datetime(2026, 10, 19, 6, tzinfo=UTC)  # Monday 08:00 in summer time
    assert week.following == datetime(2026, 11, 2, 7, tzinfo=UTC)


def test_the_latest_week_ends_at_the_last_monday_eight_on_the_users_clock(subscriber):
    monday_eight = datetime(2026, 6, 29, 6, 0, tzinfo=UTC)

    assert digest.last_digest_at(subscriber, monday_eight) == monday_eight
    assert digest.last_digest_at(subscriber, monday_eight - timedelta(minutes=1)) == WEEK_START
    assert digest.last_digest_at(subscriber, monday_eight + timedelta(days=6)) == monday_eight


def test_a_move_is_the_difference_of_the_two_scores_the_reader_sees():
    move = Move(vendor_id=1, name="Solid Ground Builders", old=59.84, new=55.56, standing=Standing.poor)

    # Shown as 59.8 → 55.6: the move beside them is -4.2, not the -4.3 of the unrounded scores.
    assert move.delta == -4.2
