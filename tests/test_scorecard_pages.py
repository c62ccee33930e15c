"""The score pages as a viewer and an editor see them: ranked, filtered, compared, exported, explained."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from vendortrack import ledger
from vendortrack.charts import bar_chart, sparkline, trend_chart
from vendortrack.extensions import db
from vendortrack.models import Commitment, ExcuseCategory, Kind
from vendortrack.scores import scorecard
from vendortrack.scores.rules import weight
from vendortrack.timeutil import utcnow
from vendortrack.vendors import add_contact
from vendortrack.views.scorecards import spreadsheet_safe

# The pages score as of the wall clock, so the ledgers here are laid out back from it.
NOW = utcnow()


def text(response) -> str:
    return response.get_data(as_text=True)


def visible(page: str) -> str:
    """The page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|title)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def rows(page: str) -> list[str]:
    return [visible(row) for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", page, flags=re.S)]


def kept(
    session, vendor, actor, days_ago: float, title: str = "Weekly meeting", late=timedelta(0), contact=None
):
    due = NOW - timedelta(days=days_ago)
    c = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.meeting,
        title=title,
        due_at=due,
        actor=actor,
        now=due - timedelta(days=2),
        contact=contact,
    )
    ledger.resolve_kept(session, c, actor=actor, now=due + late + timedelta(hours=1), done_at=due + late)
    return c


def broken(
    session, vendor, actor, days_ago: float, title: str, category=None, excuse: str = "", contact=None
):
    due = NOW - timedelta(days=days_ago)
    c = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title=title,
        due_at=due,
        actor=actor,
        now=due - timedelta(days=2),
        contact=contact,
    )
    ledger.resolve_broken(
        session, c, actor=actor, now=due + timedelta(hours=2), excuse_category=category, excuse=excuse
    )
    return c


@pytest.fixture
def solid(session, make_vendor, editor):
    """Eight meetings kept on time over five months: a good standing."""
    vendor = make_vendor("Solid Builders", category="Construction")
    for days_ago in range(10, 170, 20):
        kept(session, vendor, editor, days_ago)
    session.commit()
    return vendor


@pytest.fixture
def chaos(session, make_vendor, editor):
    """Broken promises with a fresh excuse each time, and one promise moved twice: unreliable."""
    vendor = make_vendor("Chaos Consulting", category="IT")
    jan = add_contact(session, vendor, now=NOW - timedelta(days=400), name="Jan Kowalski")
    excuses = [
        (ExcuseCategory.oversight, "Forgot"),
        (ExcuseCategory.third_party, "The courier"),
        (ExcuseCategory.oversight, "Wrong week in the calendar"),
        (ExcuseCategory.plot_twist, ""),
        (ExcuseCategory.oversight, "Mixed up the dates"),
        (ExcuseCategory.force_majeure, "The server room flooded"),
    ]
    for i, (category, excuse) in enumerate(excuses):
        broken(
            session, vendor, editor, 100 - 15 * i, f"Promise number {i + 1}", category, excuse, contact=jan
        )
    kept(session, vendor, editor, 120, title="The one kept meeting", late=timedelta(minutes=45))
    due = NOW - timedelta(days=60)
    first = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.deadline,
        title="Migration plan",
        due_at=due,
        actor=editor,
        now=due - timedelta(days=10),
    )
    second = ledger.reschedule(
        session,
        first,
        actor=editor,
        now=due,
        new_due_at=due + timedelta(days=14),
        excuse_category=ExcuseCategory.personal,
        excuse="Flu",
    )
    ledger.reschedule(
        session,
        second,
        actor=editor,
        now=due + timedelta(days=14),
        new_due_at=due + timedelta(days=80),
        excuse_category=ExcuseCategory.third_party,
        excuse="Their supplier again",
    )
    session.commit()
    return vendor


def test_the_scorecard_ranks_the_reliable_vendor_above_the_unreliable_one(client, viewer, solid, chaos):
    client.login(viewer)
    page = text(client.get("/scorecard"))

    shown = visible(page)
    assert shown.index("Solid Builders") < shown.index("Chaos Consulting")
    ranked = [row for row in rows(page) if "Builders" in row or "Consulting" in row]
    assert ranked[0].startswith("1 Solid Builders Construction") and "Good" in ranked[0]
    assert ranked[1].startswith("2 Chaos Consulting IT") and "Unreliable" in ranked[1]
    assert page.count('class="sparkline"') == 2
    assert page.count('class="band"') == 2


def test_a_vendor_with_too_little_history_is_listed_after_the_ranked_ones_as_not_yet_rated(
    client, viewer, solid, chaos, make_vendor
):
    make_vendor("Brand New Ltd")
    client.login(viewer)

    page = text(client.get("/scorecard"))

    ranked = [row for row in rows(page) if row[:1].isdigit()]
    assert [row.split(" ")[1] for row in ranked] == ["Solid", "Chaos"]
    shown = visible(page)
    assert "are not yet rated: they are listed after the ranked ones, without a score." in shown
    assert shown.index("Chaos Consulting") < shown.index("Not yet rated") < shown.index("Brand New Ltd")
    unrated = visible(page.split('id="unrated-h"')[1])
    assert "Brand New Ltd — too little history: 0 of 3 commitments counted nothing counted yet" in unrated


def test_worst_first_puts_the_unreliable_vendor_on_top(client, viewer, solid, chaos):
    client.login(viewer)

    shown = visible(text(client.get("/scorecard?order=worst")))

    assert shown.index("Chaos Consulting") < shown.index("Solid Builders")


def test_the_scorecard_filters_by_category_and_by_standing(client, viewer, solid, chaos):
    client.login(viewer)

    by_category = visible(text(client.get("/scorecard?category=IT")))
    by_standing = visible(text(client.get("/scorecard?standing=good")))

    assert "Chaos Consulting" in by_category and "Solid Builders" not in by_category
    assert "Solid Builders" in by_standing and "Chaos Consulting" not in by_standing


def test_a_standing_not_on_offer_is_named_and_the_list_stays_whole(client, viewer, solid, chaos):
    client.login(viewer)

    response = client.get("/scorecard?standing=superb&order=sideways")

    assert response.status_code == 400
    shown = visible(text(response))
    assert "Standing: “superb” is not one of the standings offered." in shown
    assert "Order: choose best first or worst first." in shown
    assert "Solid Builders" in shown and "Chaos Consulting" in shown


def test_the_trend_is_read_in_the_same_few_statements_for_six_vendors_as_for_two(
    client, viewer, solid, chaos, make_vendor, session, editor
):
    client.login(viewer)

    def statements() -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/scorecard").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    statements()  # the first view may build the monthly tally
    for_two = statements()
    for i in range(4):
        kept(session, make_vendor(f"Extra {i}"), editor, 30)
    session.commit()

    assert statements() == for_two


def test_compare_shows_the_chosen_vendors_side_by_side(client, viewer, solid, chaos):
    client.login(viewer)

    response = client.get(f"/scorecard/compare?vendor={solid.id}&vendor={chaos.id}")

    assert response.status_code == 200
    table = rows(text(response))
    assert table[0] == "Figure Solid Builders Construction Chaos Consulting IT"
    assert any(row.startswith("Standing Good Unreliable") for row in table)
    assert any(row.startswith("Longest reschedule chain 0 2") for row in table)
    assert any(
        row.startswith("Top excuses") and "Oversight (forgot, mixed up dates): 3" in row for row in table
    )
    assert text(response).count('class="sparkline"') == 2


@pytest.mark.parametrize("how_many", [0, 1, 5])
def test_compare_with_fewer_than_two_or_more_than_four_says_so_on_the_scorecard_with_its_filters_and_ticks_kept(
    client, viewer, make_vendor, how_many
):
    vendors = [make_vendor(category="IT") for _ in range(how_many)]
    client.login(viewer)

    picked = "".join(f"&vendor={v.id}" for v in vendors)
    response = client.get(f"/scorecard/compare?category=IT&order=worst{picked}", follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == "/scorecard"
    assert response.request.args["category"] == "IT" and response.request.args["order"] == "worst"
    page = text(response)
    assert f"Pick between 2 and 4 vendors to compare; you picked {how_many}." in visible(page)
    assert page.count("checked>") == how_many
    assert '<option value="worst" selected>' in page


def test_the_compare_button_carries_the_scorecards_filters(client, viewer, solid, chaos):
    client.login(viewer)

    form = (
        text(client.get("/scorecard?category=IT&order=worst"))
        .split('id="compare-form"')[1]
        .split("</form>")[0]
    )

    assert '<input type="hidden" name="category" value="IT">' in form
    assert '<input type="hidden" name="order" value="worst">' in form


def test_compare_refuses_a_vendor_number_that_is_not_a_number(client, viewer, solid):
    client.login(viewer)

    response = client.get(f"/scorecard/compare?vendor={solid.id}&vendor=abc&vendor=%C2%B2")

    assert response.status_code == 400
    assert "Vendor: “abc” is not a vendor number." in visible(text(response))
    assert client.get(f"/scorecard/compare?vendor={solid.id}&vendor=%C2%B2").status_code == 400


@pytest.mark.parametrize("missing", ["999999", "99999999999999"])
def test_compare_with_a_vendor_that_does_not_exist_is_not_found(client, viewer, solid, missing):
    client.login(viewer)

    assert client.get(f"/scorecard/compare?vendor={solid.id}&vendor={missing}").status_code == 404


def test_each_sparkline_ends_at_the_score_shown_beside_it(client, viewer, solid, chaos):
    client.login(viewer)
    page = text(client.get("/scorecard"))

    lines = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)[1:]
    assert len(lines) == 2
    for row in lines:
        score = re.search(r'class="text-end fw-semibold score"[^>]*>([\d.]+)<', row).group(1)
        assert re.search(
            rf'aria-label="Score over the last 12 months, from [\d.]+ to {re.escape(score)}"', row
        )


def test_the_csv_has_a_header_and_one_row_per_vendor_and_defuses_formulas(
    client, viewer, solid, chaos, make_vendor
):
    make_vendor('=HYPERLINK("http://evil.test","Łódź")', category="@IT")
    client.login(viewer)

    response = client.get("/scorecard.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=vendortrack-scorecard-{utcnow():%Y-%m-%d}.csv"
    )
    assert response.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0][:5] == ["rank", "vendor", "category", "score", "standing"]
    # The score's columns keep their places; responsiveness follows them (test_scorecard_responsiveness).
    assert table[0][12:19] == [
        "kept_on_time",
        "kept_late",
        "broken",
        "rescheduled",
        "overdue",
        "cancelled",
        "upcoming",
    ]
    assert [row[1] for row in table[1:]] == [
        "Solid Builders",
        "Chaos Consulting",
        '\'=HYPERLINK("http://evil.test","Łódź")',
    ]
    assert table[3][2] == "'@IT"
    solid_row = dict(zip(table[0], table[1], strict=True))
    assert (
        solid_row["standing"] == "good" and solid_row["kept_on_time"] == "8" and solid_row["counted"] == "8"
    )


def test_the_csv_keeps_the_scorecards_filters(client, viewer, solid, chaos):
    client.login(viewer)
    page = text(client.get("/scorecard?category=IT&order=worst"))
    link = html.unescape(re.search(r'href="(/scorecard\.csv[^"]*)"', page).group(1))

    table = list(csv.reader(io.StringIO(client.get(link).data.decode("utf-8-sig"))))

    assert [row[1] for row in table[1:]] == ["Chaos Consulting"]


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(cell):
    assert spreadsheet_safe(cell) == "'" + cell


def test_a_plain_cell_is_left_alone():
    assert spreadsheet_safe("Drukarnia Łódź") == "Drukarnia Łódź"
    assert spreadsheet_safe(12.5) == "12.5"


def test_the_vendor_page_shows_the_figures_trend_and_excuses_charts(client, viewer, chaos):
    client.login(viewer)

    page = text(client.get(f"/vendors/{chaos.id}"))

    shown = visible(page)
    assert "Scorecard" in shown and "Unreliable" in shown
    assert re.search(r"Score \d+\.\d 90 % band \d+\.\d–\d+\.\d", shown)
    # The first of its commitments came due 120 days ago: the points as of 120, 90, 60, 30 days ago and now.
    assert page.count('class="trend-point') == 5
    assert 'aria-label="Excuses by category: Oversight (forgot, mixed up dates) 3;' in page
    assert "Third party (their supplier, “the system”) 2;" in html.unescape(page)
    assert "Kept late 1" in shown and "Median lateness, meetings 45 min" in shown


def test_the_vendor_page_shows_each_reschedule_with_its_excuse(client, viewer, chaos):
    client.login(viewer)

    shown = visible(text(client.get(f"/vendors/{chaos.id}")))

    assert "Migration plan · moved twice · Open" in shown  # the facts line's words
    assert re.search(
        r"Originally .+? → .+? — Personal \(illness, accident, family\): “Flu” "
        r"→ .+? — Third party \(their supplier, “the system”\): “Their supplier again”",
        shown,
    )


def test_why_this_score_lists_each_counted_commitment_with_its_weight_and_the_sums(client, viewer, chaos):
    client.login(viewer)

    page = text(client.get(f"/vendors/{chaos.id}"))

    why = page.split('id="why-h"')[1]
    shown = visible(why)
    assert "Why this score" in visible(page)
    explained = rows(why.split("<tbody>")[1].split("</tbody>")[0])
    # Six broken, the late meeting, two moves; the open follow-up is not due yet.
    assert len(explained) == 9
    newest_first = [row for row in explained if "Promise number" in row]
    assert "Promise number 6" in newest_first[0] and "Promise number 1" in newest_first[-1]
    row = next(row for row in explained if "Promise number 6" in row)
    w = float(re.search(r"Broken (\d\.\d{3}) 0 0", row).group(1))
    assert w == pytest.approx(weight(NOW - timedelta(days=25), utcnow(), 180), abs=0.0011)
    assert re.search(r"N = Σw = \d\.\d{3}; S f = Σw·f = \d\.\d{3}; S p = Σw·p = \d\.\d{3}", shown)
    assert re.search(
        r"R = \(S f \+ 1\) / \(N \+ 2\) = \(\d\.\d{3} \+ 1\) / \(\d\.\d{3} \+ 2\) = 0\.\d{4}", shown
    )
    assert re.search(
        r"Score = 100 × \(0\.6 × R \+ 0\.4 × P\) = 100 × \(0\.6 × 0\.\d{4} \+ 0\.4 × 0\.\d{4}\)", shown
    )


def test_the_vendor_page_scores_each_contact(client, viewer, chaos):
    client.login(viewer)

    table = rows(text(client.get(f"/vendors/{chaos.id}")))

    assert any(re.fullmatch(r"Jan Kowalski 6 \d+\.\d Unreliable", row) for row in table)


def test_the_vendor_page_prints_as_a_report(client, viewer, chaos):
    client.login(viewer)

    page = text(client.get(f"/vendors/{chaos.id}"))

    assert 'href="/static/print.css" media="print"' in page
    assert '<script src="/static/print.js" defer></script>' in page
    assert 'id="print-scorecard"' in page
    for url, rule in [
        ("/static/print.js", "window.print()"),
        ("/static/print.css", "tr.print-trim { display: none; }"),
    ]:
        with client.get(url) as response:  # a static file is streamed: close it
            assert rule in text(response)


def test_logging_with_an_unreliable_vendor_warns_and_shows_the_last_broken_promises(client, editor, chaos):
    client.login(editor)

    shown = visible(text(client.get(f"/commitments/new/{chaos.id}")))

    assert "This vendor's record is unreliable" in shown
    assert "Promise number 6" in shown and "Promise number 4" in shown and "Promise number 3" not in shown
    assert "Force majeure (flood, storm, outage): “The server room flooded”" in shown


def test_logging_with_an_unreliable_vendor_still_logs_it(client, editor, chaos, session):
    client.login(editor)

    response = client.submit(
        f"/commitments/new/{chaos.id}",
        {
            "kind": "promise",
            "title": "One more chance",
            "due_date": (NOW + timedelta(days=7)).date().isoformat(),
            "owner_id": editor.id,
            "contact_id": 0,
        },
        follow_redirects=True,
    )

    assert response.status_code == 200
    shown = visible(text(response))
    assert "Logged: One more chance." in shown
    assert "Keep an eye on it: Chaos Consulting stands at Unreliable" in shown
    assert session.scalar(sa.select(Commitment.id).where(Commitment.title == "One more chance")) is not None


def test_the_warning_after_logging_gives_the_score_with_what_was_just_logged(client, editor, chaos, app):
    rules = app.config["VENDORTRACK_RULES"]
    before = scorecard.vendor_score(db.session, chaos, rules, utcnow()).figures.score
    client.login(editor)

    # History written down: a promise broken a week ago moves the score before the page is shown.
    response = client.submit(
        f"/commitments/new/{chaos.id}",
        {
            "kind": "promise",
            "title": "Backfilled broken promise",
            "owner_id": editor.id,
            "contact_id": 0,
            "due_date": (utcnow() - timedelta(days=7)).date().isoformat(),
            "status": "broken",
            "excuse_category": "oversight",
        },
        follow_redirects=True,
    )

    after = scorecard.vendor_score(db.session, chaos, rules, utcnow()).figures.score
    shown = visible(text(response))
    assert f"{after:.1f}" != f"{before:.1f}"
    assert f"Keep an eye on it: Chaos Consulting stands at Unreliable, score {after:.1f}." in shown


def test_a_refused_log_with_an_unreliable_vendor_still_warns(client, editor, chaos):
    client.login(editor)

    response = client.submit(f"/commitments/new/{chaos.id}", {"kind": "promise", "title": ""})

    assert response.status_code == 400
    assert "This vendor's record is unreliable" in visible(text(response))


def test_logging_with_a_reliable_vendor_shows_no_warning(client, editor, solid):
    client.login(editor)

    shown = visible(text(client.get(f"/commitments/new/{solid.id}")))

    assert "Log a commitment" in shown and "record is" not in shown


def test_a_viewer_sees_the_scorecard_compare_the_csv_and_the_vendor_section(client, viewer, solid, chaos):
    client.login(viewer)

    for url in [
        "/scorecard",
        f"/scorecard/compare?vendor={solid.id}&vendor={chaos.id}",
        "/scorecard.csv",
        f"/vendors/{solid.id}",
    ]:
        assert client.get(url).status_code == 200, url
    assert 'href="/scorecard"' in text(client.get("/vendors/"))


def test_the_score_pages_send_a_signed_out_visitor_to_sign_in(client, solid, chaos):
    for url in ["/scorecard", f"/scorecard/compare?vendor={solid.id}&vendor={chaos.id}", "/scorecard.csv"]:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login"), url


def test_the_score_pages_use_no_inline_style_or_script(client, viewer, solid, chaos):
    client.login(viewer)

    for url in [
        "/scorecard",
        f"/scorecard/compare?vendor={solid.id}&vendor={chaos.id}",
        f"/vendors/{chaos.id}",
        f"/commitments/new/{chaos.id}",
    ]:
        page = text(client.get(url))
        assert " style=" not in page, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url


def test_the_trend_chart_draws_twelve_points_and_the_standing_floors():
    chart = trend_chart([(50 + i, "fair", f"d{i}") for i in range(12)])

    assert len(chart.points) == 12 and chart.points[0].x == chart.left and chart.points[-1].x == chart.right
    assert [t.score for t in chart.thresholds] == [90, 75, 60, 40]
    assert chart.points[-1].y < chart.points[0].y  # a higher score sits higher up


def test_the_longest_excuse_bar_fills_the_track_and_the_rest_are_in_proportion():
    chart = bar_chart({"oversight": 4, "personal": 2, "other": 1})

    assert [b.key for b in chart.bars] == ["oversight", "personal", "other"]
    assert chart.bars[0].width == chart.track and chart.bars[1].width == chart.track / 2


def test_a_sparkline_keeps_scores_on_a_fixed_scale():
    line = sparkline([0, 100])

    assert line.points == "3.0,25.0 97.0,3.0"
