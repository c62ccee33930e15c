"""How fast a vendor answers what we ask through its links, everywhere the app shows a vendor: its
page (a card and each contact), the scorecard's "Answers asks" column, the comparison, the CSV and
the API, for a small known ledger of asks (the rule itself: scores.rules.ask_answers)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.test_scorecard_pages import NOW, kept, rows, text, visible
from tests.test_scorecard_responsiveness import csv_table
from vendortrack import ledger, vendor_links
from vendortrack.models import Kind
from vendortrack.scores.rules import AskAnswers
from vendortrack.templating import asks_words
from vendortrack.vendors import add_contact

LINKS = vendor_links.LinkRules()
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# What the prompt vendor's asks come to as of now (the pages' clock): Anna answered both of hers,
# after 2 h and 6 h; Bela's first ask went unanswered past its time and her second is an hour old;
# one ask to Anna we took back before she answered, which never counts.
PROMPT_LINE = "answered 2 of 3 asks (67 %) · median 4 h to answer · 1 waiting"
ANNA_LINE = "answered 2 of 2 asks (100 %) · median 4 h to answer"
BELA_LINE = "answered 0 of 1 ask (0 %) · 1 waiting"
NOT_ASKED = "not asked through a link yet"


class Asked:
    """A vendor asked five times through its links, with three contacts (one never asked), and a
    vendor never asked at all; both with four meetings kept, so both are rated."""

    def __init__(self, session, make_vendor, editor):
        self.prompt = make_vendor("Prompt Logistics", category="Transport")
        self.quiet = make_vendor("Quiet Print", category="Printing")
        for vendor in (self.prompt, self.quiet):
            for days_ago in range(15, 95, 20):
                kept(session, vendor, editor, days_ago)
        self.anna = add_contact(session, self.prompt, now=NOW - 30 * DAY, name="Anna Answers")
        self.bela = add_contact(session, self.prompt, now=NOW - 30 * DAY, name="Bela Busy")
        self.cecil = add_contact(session, self.prompt, now=NOW - 30 * DAY, name="Cecil Unasked")
        self.asked_at = {}

        def ask(contact, ago: timedelta):
            # Each about a meeting of its own: asking again about the same one would replace an
            # unanswered link rather than add an ask.
            meeting = ledger.log_commitment(
                session,
                vendor=self.prompt,
                kind=Kind.meeting,
                title="Depot walk-through",
                due_at=NOW + 5 * DAY,
                actor=editor,
                now=NOW - 20 * DAY,
                contact=contact,
            )
            link, _token = vendor_links.ask(
                session, meeting, contact=contact, actor=editor, now=NOW - ago, rules=LINKS, send_email=False
            )
            self.asked_at[link.id] = link.asked_at
            return link

        first = ask(self.anna, 10 * DAY)
        vendor_links.confirm(session, first, now=first.asked_at + 2 * HOUR, address="203.0.113.7")
        second = ask(self.anna, 9 * DAY)
        vendor_links.confirm(session, second, now=second.asked_at + 6 * HOUR, address="203.0.113.7")
        ask(self.bela, 8 * DAY)  # never answered: counted once its time passed
        ask(self.bela, HOUR)  # still within its time: waiting, not counted
        revoked = ask(self.anna, 7 * DAY)
        vendor_links.revoke(session, revoked, actor=editor, now=revoked.asked_at + HOUR)
        session.commit()


@pytest.fixture
def asked(session, make_vendor, editor) -> Asked:
    return Asked(session, make_vendor, editor)


def card(page: str) -> str:
    return visible(page.split('aria-labelledby="asks-h">', 1)[1].split("</section>", 1)[0])


def contact_item(page: str, name: str) -> str:
    return next(visible(item) for item in re.findall(r"<li\b.*?</li>", page, flags=re.S) if name in item)


# --- the vendor's page ----------------------------------------------------------------------------


def test_the_vendor_page_shows_the_share_answered_the_median_and_the_asks_waiting(client, viewer, asked):
    client.login(viewer)

    page = text(client.get(f"/vendors/{asked.prompt.id}"))

    shown = card(page)
    assert shown.startswith("Answers to our asks")
    assert "Asks answered 67 % 2 of 3 counted asks" in shown
    assert "Median time to answer 4 h from the ask to the first answer" in shown
    assert "Waiting 1 asked, not answered yet, still within their time" in shown
    assert f"Through its links: {PROMPT_LINE}" in shown


def test_the_vendor_page_says_how_the_asks_are_counted(client, viewer, asked):
    client.login(viewer)

    page = text(client.get(f"/vendors/{asked.prompt.id}"))

    assert (
        "How it is counted: An ask counts once the contact answers through the link, or once the time a "
        "vendor has to answer a complaint has passed (the end of the next working day, in UTC); an ask we "
        "revoked while the contact still had time never counts. The time to answer runs from the ask to the first answer, "
        "in calendar hours."
    ) in card(page)


def test_each_contact_shows_their_own_asks_and_one_never_asked_says_so(client, viewer, asked):
    client.login(viewer)

    page = text(client.get(f"/vendors/{asked.prompt.id}"))

    assert contact_item(page, "Anna Answers").endswith(f"Asks through links: {ANNA_LINE}")
    assert contact_item(page, "Bela Busy").endswith(f"Asks through links: {BELA_LINE}")
    assert contact_item(page, "Cecil Unasked").endswith(f"Asks through links: {NOT_ASKED}")


def test_a_vendor_never_asked_reads_not_asked_and_never_zero_percent(client, viewer, asked):
    client.login(viewer)

    shown = card(text(client.get(f"/vendors/{asked.quiet.id}")))

    assert f"Through its links: {NOT_ASKED}" in shown
    assert "Asks answered — no ask counted yet" in shown
    assert "Waiting 0" in shown
    assert "%" not in shown


def test_the_asks_card_sits_beside_the_responsiveness_panel_and_is_not_printed(client, viewer, asked):
    client.login(viewer)

    page = text(client.get(f"/vendors/{asked.prompt.id}"))

    assert page.index('id="responsiveness-h"') < page.index('id="asks-h"') < page.index('id="overdue-h"')
    assert re.search(r'<section class="[^"]*\bno-print\b[^"]*" aria-labelledby="asks-h"', page)


# --- the scorecard, its print, the comparison and the CSV -----------------------------------------


def line_of(page: str, name: str) -> str:
    return next(row for row in rows(page) if name in row)


def test_the_scorecard_has_an_answers_asks_column_with_the_share_and_median(client, viewer, asked):
    client.login(viewer)

    page = text(client.get("/scorecard"))

    header = next(row for row in rows(page) if row.startswith("Compare #"))
    assert header.endswith("Responsiveness Answers asks")
    assert line_of(page, "Prompt Logistics").endswith(f"67 % {PROMPT_LINE}")
    assert line_of(page, "Quiet Print").endswith(f"— {NOT_ASKED}")
    assert "Answers asks: An ask counts once the contact answers through the link" in visible(page)


def test_the_printed_scorecard_keeps_the_answers_asks_column(client, viewer, asked):
    client.login(viewer)

    page = text(client.get("/scorecard"))
    with client.get("/static/print.css") as response:  # a static file is streamed: close it
        print_css = text(response)

    cell = re.search(r'<td class="([^"]*)" data-label="Answers asks">', page)
    assert cell and "no-print" not in cell.group(1)
    assert re.search(r'<th scope="col">Answers asks</th>', page)
    # Nothing in the print style hides the column: only the tick boxes and what is marked no-print go.
    hidden = re.findall(r"([^{}]+)\{[^}]*display:\s*none", print_css)
    assert not any(re.search(r"\.asks\b", rule) for rule in hidden)


def test_the_comparison_shows_each_vendors_answers_to_our_asks(client, viewer, asked):
    client.login(viewer)

    page = text(client.get(f"/scorecard/compare?vendor={asked.prompt.id}&vendor={asked.quiet.id}"))

    assert f"Answers asks 67 % {PROMPT_LINE} — {NOT_ASKED}" in rows(page)
    assert "Answers asks: An ask counts once the contact answers through the link" in visible(page)


def test_the_csv_carries_the_asks_last_and_leaves_the_share_empty_for_a_vendor_never_asked(
    client, viewer, asked
):
    client.login(viewer)

    table = {line["vendor"]: line for line in csv_table(client)}

    columns = (
        "asks_counted",
        "asks_answered",
        "asks_share_answered",
        "asks_median_hours_to_answer",
        "asks_waiting",
    )
    assert list(table["Prompt Logistics"])[-5:] == list(columns)
    assert [table["Prompt Logistics"][c] for c in columns] == ["3", "2", "0.6667", "4.0", "1"]
    assert [table["Quiet Print"][c] for c in columns] == ["0", "0", "", "", "0"]


# --- the API ----------------------------------------------------------------------------------------


def api(client, token_for, user, url: str) -> dict:
    response = client.get(url, headers=token_for(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_vendor_score_gives_its_asks_and_each_contacts(client, viewer, token_for, asked):
    body = api(client, token_for, viewer, f"/api/v1/vendors/{asked.prompt.id}/score")

    assert body["asks"] == {
        "asks": 3,
        "answered": 2,
        "share_answered": pytest.approx(2 / 3),
        "median_hours_to_answer": 4.0,
        "waiting": 1,
    }
    by_name = {contact["name"]: contact["asks"] for contact in body["contacts"]}
    assert by_name["Anna Answers"] == {
        "asks": 2,
        "answered": 2,
        "share_answered": 1.0,
        "median_hours_to_answer": 4.0,
        "waiting": 0,
    }
    assert by_name["Bela Busy"] == {
        "asks": 1,
        "answered": 0,
        "share_answered": 0.0,
        "median_hours_to_answer": None,
        "waiting": 1,
    }
    never = {"asks": 0, "answered": 0, "share_answered": None, "median_hours_to_answer": None, "waiting": 0}
    assert by_name["Cecil Unasked"] == never


def test_the_vendor_score_as_of_a_past_moment_counts_only_the_asks_made_by_then(
    client, viewer, token_for, asked
):
    as_of = NOW - 9 * DAY - 12 * HOUR  # after Anna's first answer, before the second ask
    body = api(client, token_for, viewer, f"/api/v1/vendors/{asked.prompt.id}/score?as_of={iso(as_of)}")

    assert body["asks"] == {
        "asks": 1,
        "answered": 1,
        "share_answered": 1.0,
        "median_hours_to_answer": 2.0,
        "waiting": 0,
    }


def test_one_contacts_score_gives_that_contacts_asks(client, viewer, token_for, asked):
    url = f"/api/v1/vendors/{asked.prompt.id}/score?contact_id={asked.bela.id}"

    body = api(client, token_for, viewer, url)

    assert body["asks"] == {
        "asks": 1,
        "answered": 0,
        "share_answered": 0.0,
        "median_hours_to_answer": None,
        "waiting": 1,
    }


def test_every_scorecard_line_gives_its_asks_as_of_the_moment_asked(client, viewer, token_for, asked):
    now = {
        line["name"]: line["asks"] for line in api(client, token_for, viewer, "/api/v1/scorecard")["items"]
    }
    as_of = NOW - 8 * DAY + HOUR  # Bela's first ask is an hour old then: still within its time
    then = api(client, token_for, viewer, f"/api/v1/scorecard?as_of={iso(as_of)}")["items"]
    then = {line["name"]: line["asks"] for line in then}

    assert now["Prompt Logistics"]["share_answered"] == pytest.approx(2 / 3)
    assert (now["Prompt Logistics"]["asks"], now["Prompt Logistics"]["waiting"]) == (3, 1)
    assert now["Quiet Print"] == {
        "asks": 0,
        "answered": 0,
        "share_answered": None,
        "median_hours_to_answer": None,
        "waiting": 0,
    }
    assert then["Prompt Logistics"] == {
        "asks": 2,
        "answered": 2,
        "share_answered": 1.0,
        "median_hours_to_answer": 4.0,
        "waiting": 1,
    }


def test_the_openapi_document_describes_the_asks_of_a_score_a_contact_and_a_scorecard_line(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    asks = schemas["AskAnswers"]
    assert set(asks["properties"]) == {
        "asks",
        "answered",
        "share_answered",
        "median_hours_to_answer",
        "waiting",
    }
    assert set(asks["required"]) == set(asks["properties"])
    for owner in ("Score", "ContactScore", "ScorecardLine"):
        assert schemas[owner]["properties"]["asks"].get("$ref", "").endswith("/AskAnswers") or any(
            ref.get("$ref", "").endswith("/AskAnswers")
            for ref in schemas[owner]["properties"]["asks"].get("allOf", [])
        ), owner
        assert "asks" in schemas[owner]["required"], owner


# --- the words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "words"),
    [
        (AskAnswers(0, 0, None, 0), "not asked through a link yet"),
        (AskAnswers(0, 0, None, 2), "2 asks waiting for an answer"),  # asked, none counted yet: no share
        (AskAnswers(1, 1, 5.0, 0), "answered 1 of 1 ask (100 %) · 5 h to answer"),
        (AskAnswers(2, 0, None, 1), "answered 0 of 2 asks (0 %) · 1 waiting"),
        (AskAnswers(4, 3, 50.5, 0), "answered 3 of 4 asks (75 %) · median 2 days 2 h to answer"),
    ],
)
def test_the_asks_read_as_one_line_and_a_share_only_once_an_ask_counts(app, figures, words):
    with app.test_request_context():
        assert asks_words(figures) == words
