"""The vendor's own link through the API, as a client sees it: ask (the link's url shown once), list and
filter, read, revoke; our decisions on what waits (accept, decline, and the proposals' and reports of
done's own names); the contact as the actor of events; the links and answers in exports and backups."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, PASSWORD, make_app
from tests.test_backup import every_row, invoke, new_database, pg_only  # noqa: F401 (a fixture)
from vendortrack import complaints, ledger, mail, vendor_links
from vendortrack.accounts import create_user
from vendortrack.extensions import db
from vendortrack.models import (
    Kind,
    LedgerEvent,
    MailKind,
    OutboxMessage,
    Role,
    Status,
    VendorAnswer,
    VendorLink,
)
from vendortrack.scores.rules import Rules
from vendortrack.vendors import add_contact, create_vendor

pytestmark = pytest.mark.usefixtures("api_clock_at_now")

# NOW is Tuesday 30 June 2026, 12:00 UTC: the API's clock in these tests.
LINKS = vendor_links.LinkRules()
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
UTC_NOW = "2026-06-30T12:00:00+00:00"


@pytest.fixture
def in_mail(app):
    """The contact's answers are written here as the link's page writes them, emailing our owner,
    in a request context of the app's public address (not left on for the backup's own apps)."""
    with mail.mail_context(app):
        yield


@pytest.fixture
def vendor(make_vendor, in_mail):
    return make_vendor("Kovács Építő Kft.")


@pytest.fixture
def anna(session, vendor):
    person = add_contact(session, vendor, name="Kovács Anna", email="anna@kovacs.test", now=NOW)
    session.commit()
    return person


@pytest.fixture
def meeting(session, vendor, anna, editor):
    # A deadline: its contact may report it done before it is due, as a meeting's may not.
    logged = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.deadline,
        title="Site survey",
        due_at=NOW + 2 * DAY,
        actor=editor,
        now=NOW - 3 * DAY,
        contact=anna,
    )
    session.commit()
    return logged


@pytest.fixture
def complaint(session, vendor, anna, editor):
    raised = complaints.raise_complaint(
        session,
        vendor=vendor,
        title="Cracked tiles",
        severity="major",
        channel="email",
        raised_at=NOW - 3 * DAY,
        actor=editor,
        now=NOW - 3 * DAY,
        rules=Rules(),
        contact=anna,
    )
    session.commit()
    return raised


def ask(client, auth, item: str, item_id: int, contact_id, send_email=True):
    return client.post(
        f"/api/v1/{item}/{item_id}/ask-vendor",
        headers=auth,
        json={"contact_id": contact_id, "send_email": send_email},
    )


def asked(client, auth, item: str, item_id: int, contact_id, send_email=True) -> dict:
    response = ask(client, auth, item, item_id, contact_id, send_email)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def link_row(session, link_id: int) -> VendorLink:
    return session.get(VendorLink, link_id)


def token_of(body: dict) -> str:
    return body["url"].rsplit("/v/", 1)[1]


def mails(session, kind: MailKind) -> list[OutboxMessage]:
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (VendorLink, VendorAnswer, OutboxMessage, LedgerEvent)
    )


def fields_of(response) -> list[str]:
    return list(response.get_json()["error"]["fields"])


def propose(session, link_id, *, at=NOW - 5 * HOUR, due_at=NOW + 5 * DAY, reason="The crane broke down"):
    answer = vendor_links.propose(
        session, link_row(session, link_id), due_at=due_at, reason=reason, now=at, address="203.0.113.9"
    )
    session.commit()
    return answer


def report_done(session, link_id, *, done_at=NOW - 2 * HOUR, at=NOW - HOUR):
    answer = vendor_links.report_done(
        session, link_row(session, link_id), done_at=done_at, note="All measured", now=at, address=None
    )
    session.commit()
    return answer


# -- asking ------------------------------------------------------------------------------------


def test_an_ask_answers_the_link_with_its_url_once_and_emails_the_contact(
    client, auth, session, meeting, anna, editor
):
    body = asked(client, auth, "commitments", meeting.id, anna.id)

    assert body["contact"] == {"id": anna.id, "name": "Kovács Anna", "email": "anna@kovacs.test"}
    assert body["item"] == {"type": "commitment", "id": meeting.id, "title": "Site survey"}
    assert (body["commitment_id"], body["complaint_id"], body["vendor_id"]) == (
        meeting.id,
        None,
        meeting.vendor_id,
    )
    assert body["asked_by"] == {"id": editor.id, "email": editor.email}
    assert (body["asked_at"], body["expires_at"]) == (UTC_NOW, "2026-09-28T12:00:00+00:00")
    assert (body["state"], body["emailed_to"], body["automatic"]) == ("open", "anna@kovacs.test", False)
    assert (body["opens"], body["first_opened_at"], body["first_answered_at"]) == (0, None, None)
    assert (body["revoked_at"], body["revoked_by"]) == (None, None)
    assert body["url"].startswith("http://localhost/v/")

    token = token_of(body)
    assert len(token) >= 32
    assert link_row(session, body["id"]).token_hash == vendor_links.token_hash(token)
    assert vendor_links.find_open(session, token, NOW, LINKS).id == body["id"]
    (message,) = mails(session, MailKind.vendor_ask)
    assert message.recipient == "anna@kovacs.test" and body["url"] in message.body_text


def test_the_token_and_its_hash_are_never_read_back(client, auth, session, meeting, anna, viewer, token_for):
    body = asked(client, auth, "commitments", meeting.id, anna.id)
    token, hashed = token_of(body), link_row(session, body["id"]).token_hash
    propose(session, body["id"])

    for headers in (auth, token_for(viewer)):
        for url in (
            f"/api/v1/vendor-links/{body['id']}",
            "/api/v1/vendor-links",
            "/api/v1/vendor-answers",
            "/api/v1/export/ledger",
            f"/api/v1/commitments/{meeting.id}/history",
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            text = response.get_data(as_text=True)
            assert token not in text and hashed not in text and "token_hash" not in text, url
    read = client.get(f"/api/v1/vendor-links/{body['id']}", headers=auth).get_json()
    assert "url" not in read
    # What the ask answered, but the url, and the answer since.
    same = set(body) - {"url", "first_answered_at"}
    assert {key: read[key] for key in same} == {key: body[key] for key in same}
    assert read["first_answered_at"] == "2026-06-30T07:00:00+00:00"


def test_a_link_only_made_sends_nothing_and_may_go_to_a_contact_without_an_address(
    client, auth, session, vendor, meeting
):
    silent = add_contact(session, vendor, name="No Mail", now=NOW)
    session.commit()

    body = asked(client, auth, "commitments", meeting.id, silent.id, send_email=False)

    assert (body["emailed_to"], body["contact"]["email"], body["state"]) == ("", "", "open")
    assert "/v/" in body["url"]
    assert mails(session, MailKind.vendor_ask) == []


def test_asking_about_a_complaint_gives_its_contact_a_link_to_it(client, auth, session, complaint, anna):
    body = asked(client, auth, "complaints", complaint.id, anna.id)

    assert body["item"] == {"type": "complaint", "id": complaint.id, "title": "Cracked tiles"}
    assert (body["commitment_id"], body["complaint_id"]) == (None, complaint.id)
    (message,) = mails(session, MailKind.vendor_ask)
    assert "Cracked tiles" in message.body_text and body["url"] in message.body_text


def test_an_ask_is_refused_naming_the_field_and_nothing_is_written(
    client, auth, session, make_vendor, vendor, meeting, complaint, editor
):
    stranger = add_contact(session, make_vendor("Other Kft."), name="Stranger", email="s@o.test", now=NOW)
    silent = add_contact(session, vendor, name="No Mail", now=NOW)
    session.commit()
    anna_id = meeting.contact_id
    settled = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Quote",
        due_at=NOW - DAY,
        actor=editor,
        now=NOW - 2 * DAY,
    )
    ledger.resolve_kept(session, settled, actor=editor, now=NOW - HOUR)
    complaints.resolve(session, complaint, "fixed", actor=editor, now=NOW - HOUR)
    session.commit()
    before = counts(session)

    for item, item_id, body, field in (
        ("commitments", meeting.id, {"contact_id": stranger.id, "send_email": False}, "contact_id"),
        ("commitments", meeting.id, {"contact_id": silent.id, "send_email": True}, "contact_id"),
        ("commitments", meeting.id, {"contact_id": 424242, "send_email": False}, "contact_id"),
        ("commitments", meeting.id, {"send_email": False}, "contact_id"),
        ("commitments", meeting.id, {"contact_id": anna_id}, "send_email"),
        ("commitments", meeting.id, {"contact_id": anna_id, "send_email": "yes"}, "send_email"),
        ("commitments", meeting.id, {"contact_id": 0, "send_email": False}, "contact_id"),
        ("commitments", settled.id, {"contact_id": anna_id, "send_email": True}, "status"),
        ("complaints", complaint.id, {"contact_id": anna_id, "send_email": True}, "status"),
        ("complaints", complaint.id, {"contact_id": stranger.id, "send_email": True}, "contact_id"),
    ):
        response = client.post(f"/api/v1/{item}/{item_id}/ask-vendor", headers=auth, json=body)
        assert response.status_code == 422, body
        assert fields_of(response) == [field], body
    assert counts(session) == before


def test_an_unknown_item_link_or_answer_is_a_404(client, auth, anna):
    for method, url, body in (
        ("post", "/api/v1/commitments/424242/ask-vendor", {"contact_id": anna.id, "send_email": True}),
        ("post", "/api/v1/complaints/424242/ask-vendor", {"contact_id": anna.id, "send_email": True}),
        ("get", "/api/v1/vendor-links/424242", None),
        ("post", "/api/v1/vendor-links/424242/revoke", None),
        ("get", "/api/v1/vendor-answers/424242", None),
        ("post", "/api/v1/vendor-answers/424242/accept", {}),
        ("post", "/api/v1/vendor-answers/424242/decline", {}),
        ("post", "/api/v1/proposals/424242/accept", {}),
        ("post", "/api/v1/proposals/424242/decline", {}),
        ("post", "/api/v1/done-reports/424242/confirm", None),
        ("post", "/api/v1/done-reports/424242/dispute", {}),
    ):
        response = getattr(client, method)(url, headers=auth, json=body)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"
    message = client.get("/api/v1/vendor-links/424242", headers=auth).get_json()["error"]["message"]
    assert message == "There is no vendor link #424242."


def test_a_viewer_reads_the_links_and_answers_but_gets_403_on_every_write(
    client, auth, session, viewer, token_for, meeting, complaint, anna
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    proposal = propose(session, link["id"])
    done = report_done(session, link["id"])
    as_viewer = token_for(viewer)
    before = counts(session)

    for url, body in (
        (f"/api/v1/commitments/{meeting.id}/ask-vendor", {"contact_id": anna.id, "send_email": True}),
        (f"/api/v1/complaints/{complaint.id}/ask-vendor", {"contact_id": anna.id, "send_email": True}),
        (f"/api/v1/vendor-links/{link['id']}/revoke", None),
        (f"/api/v1/vendor-answers/{proposal.id}/accept", {}),
        (f"/api/v1/vendor-answers/{proposal.id}/decline", {}),
        (f"/api/v1/proposals/{proposal.id}/accept", {}),
        (f"/api/v1/proposals/{proposal.id}/decline", {}),
        (f"/api/v1/done-reports/{done.id}/confirm", None),
        (f"/api/v1/done-reports/{done.id}/dispute", {}),
    ):
        response = client.post(url, headers=as_viewer, json=body)
        assert response.status_code == 403, url
        assert response.get_json()["error"]["code"] == "forbidden"
    assert counts(session) == before
    assert client.get(f"/api/v1/vendor-links/{link['id']}", headers=as_viewer).get_json()["state"] == "open"
    waiting = client.get("/api/v1/vendor-answers?state=waiting", headers=as_viewer).get_json()
    assert [answer["id"] for answer in waiting["items"]] == [done.id, proposal.id]


def test_logging_a_commitment_for_a_vendor_that_asks_for_confirmations_emails_its_contact_a_link(
    client, auth, session, vendor, anna, make_vendor
):
    vendor.ask_to_confirm = True
    quiet = make_vendor("Quiet Kft.")
    quiet_contact = add_contact(session, quiet, name="Béla", email="bela@quiet.test", now=NOW)
    session.commit()
    body = {"kind": "meeting", "title": "Handover", "due_at": "2026-07-02T09:00:00Z"}

    logged = client.post(
        f"/api/v1/vendors/{vendor.id}/commitments", headers=auth, json=body | {"contact_id": anna.id}
    )
    client.post(
        f"/api/v1/vendors/{quiet.id}/commitments", headers=auth, json=body | {"contact_id": quiet_contact.id}
    )

    assert logged.status_code == 201
    links = client.get("/api/v1/vendor-links", headers=auth).get_json()["items"]
    assert [(link["commitment_id"], link["automatic"], link["emailed_to"]) for link in links] == [
        (logged.get_json()["id"], True, "anna@kovacs.test")
    ]
    assert [message.recipient for message in mails(session, MailKind.vendor_ask)] == ["anna@kovacs.test"]


# -- reading, filtering, revoking ----------------------------------------------------------------


def test_the_links_are_listed_newest_first_and_filtered_by_the_state_each_row_shows(
    client, auth, session, make_vendor, vendor, anna, meeting, complaint, editor
):
    def make(item, at, contact=anna):
        link, _token = vendor_links.ask(
            session, item, contact=contact, actor=editor, now=at, rules=LINKS, send_email=False
        )
        session.commit()
        return link.id

    expired = make(meeting, NOW - 91 * DAY)  # past the 90 days whatever happens
    settled = ledger.log_commitment(
        session,
        vendor=vendor,
        kind=Kind.promise,
        title="Quote",
        due_at=NOW - 30 * DAY,
        actor=editor,
        now=NOW - 40 * DAY,
    )
    closed = make(settled, NOW - 35 * DAY)
    ledger.resolve_kept(
        session, settled, actor=editor, now=NOW - 15 * DAY
    )  # resolved past the 14 days' grace
    about_complaint = make(complaint, NOW - 2 * DAY)
    other = make_vendor("Other Kft.")
    bela = add_contact(session, other, name="Béla", email="bela@other.test", now=NOW)
    theirs = ledger.log_commitment(
        session, vendor=other, kind=Kind.deadline, title="Roof", due_at=NOW + DAY, actor=editor, now=NOW - DAY
    )
    session.commit()
    elsewhere = make(theirs, NOW - DAY, contact=bela)
    revoked = make(meeting, NOW - HOUR)
    assert client.post(f"/api/v1/vendor-links/{revoked}/revoke", headers=auth).status_code == 200

    def listed(**query) -> list[int]:
        response = client.get("/api/v1/vendor-links", headers=auth, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [link["id"] for link in response.get_json()["items"]]

    assert listed() == [revoked, elsewhere, about_complaint, closed, expired]
    for state, ids in (
        ("open", [elsewhere, about_complaint]),
        ("revoked", [revoked]),
        ("expired", [expired]),
        ("closed", [closed]),
    ):
        assert listed(state=state) == ids, state
        for link_id in ids:
            assert client.get(f"/api/v1/vendor-links/{link_id}", headers=auth).get_json()["state"] == state
    assert listed(vendor_id=other.id) == [elsewhere]
    assert listed(contact_id=bela.id) == [elsewhere]
    assert listed(commitment_id=meeting.id) == [revoked, expired]
    assert listed(complaint_id=complaint.id) == [about_complaint]
    assert listed(vendor_id=vendor.id, state="open") == [about_complaint]
    page = client.get("/api/v1/vendor-links?per_page=2&page=2", headers=auth).get_json()
    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)
    assert [link["id"] for link in page["items"]] == [about_complaint, closed]
    bad = client.get("/api/v1/vendor-links?state=lost", headers=auth)
    assert (bad.status_code, fields_of(bad)) == (422, ["state"])


def test_a_link_reads_with_every_answer_oldest_first(client, auth, session, meeting, anna):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    vendor_links.confirm(session, link_row(session, link["id"]), now=NOW - 3 * HOUR, address=None)
    session.commit()
    proposal = propose(session, link["id"], reason='<script>alert("x")</script> =1+2')

    body = client.get(f"/api/v1/vendor-links/{link['id']}", headers=auth).get_json()

    assert body["first_answered_at"] == "2026-06-30T09:00:00+00:00"
    confirmed, proposed = body["answers"]
    assert (confirmed["kind"], confirmed["state"], confirmed["at"]) == (
        "confirmed",
        "recorded",
        "2026-06-30T09:00:00+00:00",
    )
    assert proposed == {
        "id": proposal.id,
        "link_id": link["id"],
        "vendor_id": meeting.vendor_id,
        "contact_id": anna.id,
        "commitment_id": meeting.id,
        "complaint_id": None,
        "kind": "proposed",
        "at": "2026-06-30T07:00:00+00:00",
        "state": "waiting",
        "message": '<script>alert("x")</script> =1+2',  # data in JSON, as the contact wrote it
        "proposed_due_at": "2026-07-05T12:00:00+00:00",
        "done_at": None,
        "answer_due_at": None,
        "case_owner_name": "",
        "apologised": None,
        "decided_at": None,
        "decided_by": None,
        "decision_note": "",
    }
    assert client.get(f"/api/v1/vendor-answers/{proposal.id}", headers=auth).get_json() == proposed


def test_a_revoked_link_stops_working_and_is_revoked_once(client, auth, session, meeting, anna, editor):
    link = asked(client, auth, "commitments", meeting.id, anna.id)

    response = client.post(f"/api/v1/vendor-links/{link['id']}/revoke", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["state"], body["revoked_at"]) == ("revoked", UTC_NOW)
    assert body["revoked_by"] == {"id": editor.id, "email": editor.email}
    assert "url" not in body
    assert vendor_links.find_open(session, token_of(link), NOW, LINKS) is None
    again = client.post(f"/api/v1/vendor-links/{link['id']}/revoke", headers=auth)
    assert (again.status_code, fields_of(again)) == (422, ["link"])


# -- our decisions -------------------------------------------------------------------------------


def test_accepting_a_proposal_reschedules_with_the_notice_given_when_it_was_proposed(
    client, auth, session, meeting, anna, editor
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    proposal = propose(session, link["id"], at=NOW - 5 * HOUR, due_at=NOW + 5 * DAY)

    response = client.post(
        f"/api/v1/proposals/{proposal.id}/accept", headers=auth, json={"excuse_category": "third_party"}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["state"], body["decided_at"]) == ("accepted", UTC_NOW)
    assert body["decided_by"] == {"id": editor.id, "email": editor.email}
    moved = client.get(f"/api/v1/commitments/{meeting.id}", headers=auth).get_json()
    assert moved["status"] == "rescheduled"
    assert moved["notified_at"] == "2026-06-30T07:00:00+00:00"  # the proposal's moment, not the acceptance's
    assert (moved["excuse_category"], moved["excuse"]) == ("third_party", "The crane broke down")
    follow_up = client.get(f"/api/v1/commitments/{moved['rescheduled_to']}", headers=auth).get_json()
    assert (follow_up["due_at"], follow_up["status"]) == ("2026-07-05T12:00:00+00:00", "open")
    assert (
        client.get(f"/api/v1/vendor-links/{link['id']}", headers=auth).get_json()["item"]["id"]
        == follow_up["id"]
    )
    (told,) = mails(session, MailKind.vendor_told)
    assert told.recipient == "anna@kovacs.test"
    again = client.post(f"/api/v1/proposals/{proposal.id}/accept", headers=auth, json={})
    assert (again.status_code, fields_of(again)) == (422, ["state"])


def test_declining_a_proposal_keeps_the_time_and_tells_the_vendor_our_note(
    client, auth, session, meeting, anna
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    proposal = propose(session, link["id"])
    too_long = client.post(
        f"/api/v1/proposals/{proposal.id}/decline", headers=auth, json={"note": "x" * 2001}
    )
    assert (too_long.status_code, fields_of(too_long)) == (422, ["note"])

    response = client.post(
        f"/api/v1/proposals/{proposal.id}/decline", headers=auth, json={"note": "We need it this week"}
    )

    assert response.status_code == 200
    assert (response.get_json()["state"], response.get_json()["decision_note"]) == (
        "declined",
        "We need it this week",
    )
    assert client.get(f"/api/v1/commitments/{meeting.id}", headers=auth).get_json()["status"] == "open"
    (told,) = mails(session, MailKind.vendor_told)
    assert "We need it this week" in told.body_text


def test_a_confirmed_report_of_done_keeps_it_at_the_reported_time_and_a_disputed_one_keeps_it_open(
    client, auth, session, meeting, anna, editor
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    disputed = report_done(session, link["id"], at=NOW - 2 * HOUR)
    response = client.post(
        f"/api/v1/done-reports/{disputed.id}/dispute", headers=auth, json={"note": "Not yet"}
    )
    assert response.get_json()["state"] == "declined"
    assert client.get(f"/api/v1/commitments/{meeting.id}", headers=auth).get_json()["status"] == "open"

    reported = report_done(session, link["id"], done_at=NOW - 2 * HOUR, at=NOW - HOUR)
    response = client.post(f"/api/v1/done-reports/{reported.id}/confirm", headers=auth)

    assert (response.status_code, response.get_json()["state"]) == (200, "accepted")
    kept = client.get(f"/api/v1/commitments/{meeting.id}", headers=auth).get_json()
    assert (kept["status"], kept["done_at"]) == ("kept", "2026-06-30T10:00:00+00:00")


def test_each_named_decision_takes_only_its_own_kind_of_answer(client, auth, session, meeting, anna):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    proposal = propose(session, link["id"])
    done = report_done(session, link["id"])
    before = counts(session)

    for url, body in (
        (f"/api/v1/proposals/{done.id}/accept", {}),
        (f"/api/v1/proposals/{done.id}/decline", {}),
        (f"/api/v1/done-reports/{proposal.id}/confirm", None),
        (f"/api/v1/done-reports/{proposal.id}/dispute", {}),
    ):
        response = client.post(url, headers=auth, json=body)
        assert response.status_code == 404, url
    assert counts(session) == before
    message = client.post(f"/api/v1/proposals/{done.id}/accept", headers=auth, json={}).get_json()["error"][
        "message"
    ]
    assert message == f"There is no proposal #{done.id}."


def test_any_waiting_answer_is_accepted_by_its_id_with_an_excuse_category_only_where_it_means_one(
    client, auth, session, meeting, anna
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    vendor_links.confirm(session, link_row(session, link["id"]), now=NOW - 3 * HOUR, address=None)
    session.commit()
    confirmed = session.scalar(sa.select(VendorAnswer.id).where(VendorAnswer.kind == "confirmed"))
    done = report_done(session, link["id"])
    cannot = vendor_links.cannot(
        session, link_row(session, link["id"]), reason="Lost the contract", now=NOW - HOUR, address=None
    )
    session.commit()

    recorded = client.post(f"/api/v1/vendor-answers/{confirmed}/accept", headers=auth, json={})
    assert (recorded.status_code, fields_of(recorded)) == (422, ["state"])
    misplaced = client.post(
        f"/api/v1/vendor-answers/{done.id}/accept", headers=auth, json={"excuse_category": "oversight"}
    )
    assert (misplaced.status_code, fields_of(misplaced)) == (422, ["excuse_category"])
    unknown = client.post(
        f"/api/v1/vendor-answers/{cannot.id}/accept", headers=auth, json={"excuse_category": "x"}
    )
    assert (unknown.status_code, fields_of(unknown)) == (422, ["excuse_category"])
    no_body = client.post(f"/api/v1/vendor-answers/{cannot.id}/accept", headers=auth)
    assert no_body.status_code == 400

    response = client.post(
        f"/api/v1/vendor-answers/{cannot.id}/accept", headers=auth, json={"excuse_category": "personal"}
    )

    assert (response.status_code, response.get_json()["state"]) == (200, "accepted")
    broken = client.get(f"/api/v1/commitments/{meeting.id}", headers=auth).get_json()
    assert (broken["status"], broken["excuse_category"], broken["excuse"]) == (
        "broken",
        "personal",
        "Lost the contract",
    )
    # The report of done came first and the commitment is settled since: it was overtaken, not ours
    # to accept or decline any more.
    assert client.get(f"/api/v1/vendor-answers/{done.id}", headers=auth).get_json()["state"] == "overtaken"
    for decision in ("accept", "decline"):
        stale = client.post(f"/api/v1/vendor-answers/{done.id}/{decision}", headers=auth, json={})
        assert (stale.status_code, fields_of(stale)) == (422, ["state"])


def test_a_reply_to_a_complaint_accepted_keeps_its_dated_answer_when_it_came(
    client, auth, session, complaint, anna
):
    link = asked(client, auth, "complaints", complaint.id, anna.id)
    row = link_row(session, link["id"])
    vendor_links.answer_complaint(
        session,
        row,
        case_owner_name="Szabó Péter",
        apologised=True,
        message="On it",
        answer_by=NOW + 2 * DAY,
        now=NOW - 4 * HOUR,
        address=None,
    )
    reply = vendor_links.reply(session, row, message="New tiles on Monday", now=NOW - 2 * HOUR, address=None)
    session.commit()

    response = client.post(f"/api/v1/vendor-answers/{reply.id}/accept", headers=auth, json={})

    assert response.get_json()["state"] == "accepted"
    read = client.get(f"/api/v1/complaints/{complaint.id}", headers=auth).get_json()
    assert read["acknowledged_at"] == "2026-06-30T08:00:00+00:00"
    assert (read["case_owner_name"], read["apologised"]) == ("Szabó Péter", True)
    promise = client.get(f"/api/v1/commitments/{read['answer_promise_id']}", headers=auth).get_json()
    assert (promise["status"], promise["done_at"]) == ("kept", "2026-06-30T10:00:00+00:00")


def test_the_answers_are_listed_newest_first_and_filtered_by_vendor_state_and_kind(
    client, auth, session, make_vendor, meeting, anna, editor
):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    vendor_links.confirm(session, link_row(session, link["id"]), now=NOW - 6 * HOUR, address=None)
    session.commit()
    proposal = propose(session, link["id"], at=NOW - 5 * HOUR)
    done = report_done(session, link["id"], at=NOW - HOUR)
    confirmed = session.scalar(sa.select(VendorAnswer.id).where(VendorAnswer.kind == "confirmed"))
    other = make_vendor("Other Kft.")
    bela = add_contact(session, other, name="Béla", email="bela@other.test", now=NOW)
    theirs = ledger.log_commitment(
        session, vendor=other, kind=Kind.deadline, title="Roof", due_at=NOW + DAY, actor=editor, now=NOW - DAY
    )
    session.commit()
    their_link = asked(client, auth, "commitments", theirs.id, bela.id)
    their_cannot = vendor_links.cannot(
        session,
        link_row(session, their_link["id"]),
        reason="No crew",
        now=NOW - timedelta(minutes=30),
        address=None,
    )
    session.commit()

    def listed(**query) -> list[int]:
        response = client.get("/api/v1/vendor-answers", headers=auth, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [answer["id"] for answer in response.get_json()["items"]]

    assert listed() == [their_cannot.id, done.id, proposal.id, confirmed]
    assert listed(vendor_id=meeting.vendor_id) == [done.id, proposal.id, confirmed]
    assert listed(state="waiting") == [their_cannot.id, done.id, proposal.id]
    assert listed(state="recorded") == [confirmed]
    assert listed(kind="proposed") == [proposal.id]
    assert listed(link_id=their_link["id"]) == [their_cannot.id]
    assert listed(vendor_id=other.id, kind="cannot", state="waiting") == [their_cannot.id]
    page = client.get("/api/v1/vendor-answers?per_page=3", headers=auth).get_json()
    assert (page["total"], len(page["items"])) == (4, 3)
    bad = client.get("/api/v1/vendor-answers?kind=maybe", headers=auth)
    assert (bad.status_code, fields_of(bad)) == (422, ["kind"])


# -- the contact as the actor of events -----------------------------------------------------------


def test_events_by_the_vendors_contact_carry_the_contact_in_every_history_and_the_event_log(
    client, auth, session, admin, token_for, meeting, complaint, anna, editor
):
    commitment_link = asked(client, auth, "commitments", meeting.id, anna.id)
    vendor_links.confirm(session, link_row(session, commitment_link["id"]), now=NOW - HOUR, address=None)
    complaint_link = asked(client, auth, "complaints", complaint.id, anna.id)
    vendor_links.answer_complaint(
        session,
        link_row(session, complaint_link["id"]),
        case_owner_name="",
        apologised=False,
        message="",
        answer_by=None,
        now=NOW - HOUR,
        address=None,
    )
    session.commit()

    created, confirmed = client.get(f"/api/v1/commitments/{meeting.id}/history", headers=auth).get_json()[
        "items"
    ]
    assert (created["actor"]["id"], created["actor_contact_id"], created["actor_contact_name"]) == (
        editor.id,
        None,
        None,
    )
    assert confirmed["action"] == "vendor_answered"
    assert (confirmed["actor"], confirmed["actor_contact_id"], confirmed["actor_contact_name"]) == (
        None,
        anna.id,
        "Kovács Anna",
    )
    assert confirmed["after"]["answer"] == "confirmed"
    steps = client.get(f"/api/v1/complaints/{complaint.id}/history", headers=auth).get_json()["items"]
    answered = next(step for step in steps if step["action"] == "answered")
    assert (answered["actor"], answered["actor_contact_id"], answered["actor_contact_name"]) == (
        None,
        anna.id,
        "Kovács Anna",
    )

    as_admin = token_for(admin)
    log = client.get("/api/v1/events", headers=as_admin).get_json()["items"]
    newest = log[0]
    assert (
        newest["action"],
        newest["actor_id"],
        newest["actor_contact_id"],
        newest["actor_contact_name"],
    ) == (
        "vendor_answered",
        None,
        anna.id,
        "Kovács Anna",
    )
    # The scheduler's are the events no person made: the contact is a person.
    by_scheduler = client.get("/api/v1/events?user_id=scheduler", headers=as_admin).get_json()["items"]
    assert by_scheduler == []


# -- exports and backups -------------------------------------------------------------------------


@pytest.fixture
def answered_link(client, auth, session, meeting, anna):
    link = asked(client, auth, "commitments", meeting.id, anna.id)
    proposal = propose(session, link["id"], reason='=HYPERLINK("http://evil.test","x") a reason')
    vendor_links.decline(session, proposal, actor=meeting.owner, now=NOW, note="@SUM(1) no")
    session.commit()
    return link


def test_the_json_export_holds_the_links_without_their_secret_and_the_answers(
    client, auth, viewer, token_for, answered_link, anna, meeting
):
    client.login(viewer)
    for document in (
        json.loads(client.get("/export/ledger.json").get_data(as_text=True)),
        client.get("/api/v1/export/ledger", headers=token_for(viewer)).get_json(),
    ):
        (link,) = document["vendor_links"]
        assert set(link) == {
            "id",
            "vendor_id",
            "vendor",
            "contact_id",
            "contact",
            "commitment_id",
            "complaint_id",
            "asked_by_email",
            "asked_at",
            "automatic",
            "emailed_to",
            "expires_at",
            "revoked_at",
            "revoked_by_email",
            "first_opened_at",
            "last_opened_at",
            "opens",
            "first_answered_at",
        }
        assert (link["id"], link["contact"], link["commitment_id"], link["asked_at"]) == (
            answered_link["id"],
            "Kovács Anna",
            meeting.id,
            UTC_NOW,
        )
        (answer,) = document["vendor_answers"]
        assert (answer["kind"], answer["state"], answer["contact"]) == ("proposed", "declined", "Kovács Anna")
        assert (
            answer["message"] == '=HYPERLINK("http://evil.test","x") a reason'
        )  # JSON carries it as written
        assert answer["decision_note"] == "@SUM(1) no"
        assert "address" not in answer


def test_the_csvs_of_links_and_answers_are_listed_and_formula_safe(client, viewer, answered_link):
    client.login(viewer)
    page = client.get("/export/").get_data(as_text=True)
    assert 'href="/export/vendor_links.csv"' in page and 'href="/export/vendor_answers.csv"' in page

    def rows(url) -> list[dict[str, str]]:
        response = client.get(url)
        assert response.status_code == 200
        return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))

    (link,) = rows("/export/vendor_links.csv")
    assert (link["id"], link["emailed_to"]) == (str(answered_link["id"]), "anna@kovacs.test")
    (answer,) = rows("/export/vendor_answers.csv")
    assert answer["message"] == '\'=HYPERLINK("http://evil.test","x") a reason'
    assert answer["decision_note"] == "'@SUM(1) no"


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgresql", marks=pg_only)])
def test_the_links_and_answers_round_trip_through_a_backup(new_database, tmp_path, target):  # noqa: F811
    source = make_app(new_database("sqlite"), tmp_path / "source")
    with source.app_context(), mail.mail_context(source):
        session = db.session
        editor = create_user(
            session, email="edith@example.test", password=PASSWORD, role=Role.editor, now=NOW
        )
        vendor = create_vendor(session, now=NOW, name="Kovács Építő Kft.")
        vendor.ask_to_confirm = True
        anna = add_contact(session, vendor, name="Kovács Anna", email="anna@kovacs.test", now=NOW)
        anna.language, anna.timezone = "hu", "Europe/Budapest"
        meeting = ledger.log_commitment(
            session,
            vendor=vendor,
            kind=Kind.meeting,
            title="Survey",
            due_at=NOW + DAY,
            actor=editor,
            now=NOW,
            contact=anna,
        )
        link = vendor_links.ask_on_logging(session, meeting, actor=editor, now=NOW, rules=LINKS)
        vendor_links.record_open(session, link, NOW + HOUR)
        answer = vendor_links.propose(
            session, link, due_at=NOW + 3 * DAY, reason="Rain", now=NOW + 2 * HOUR, address="198.51.100.7"
        )
        vendor_links.accept(session, answer, actor=editor, now=NOW + 3 * HOUR)
        session.commit()
        meeting_id = meeting.id
        db.session.remove()
    file = tmp_path / "backup.json"
    assert invoke(source, "backup", str(file)).exit_code == 0

    restored_into = make_app(new_database(target), tmp_path / "target")
    result = invoke(restored_into, "restore", str(file))
    assert result.exit_code == 0, result.output

    before, after = every_row(source), every_row(restored_into)
    for table in ("vendor_link", "vendor_answer", "contact", "vendor", "ledger_event", "outbox_message"):
        assert after[table] == before[table], table
    (restored,) = after["vendor_link"]
    assert (restored["opens"], restored["automatic"]) == (1, True)
    assert restored["commitment_id"] != meeting_id  # it followed the accepted move to the follow-up
    assert [(row["kind"], row["state"]) for row in after["vendor_answer"]] == [("proposed", "accepted")]
    assert {row["actor_contact_id"] for row in after["ledger_event"]} == {None, restored["contact_id"]}
    assert Status.rescheduled in {row["status"] for row in after["commitment"]}


def test_an_admins_events_csv_names_the_contact_who_answered(client, admin, answered_link, editor):
    client.login(admin)
    response = client.get("/export/events.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    actors = [(row["action"], row["actor_email"], row["actor_contact"]) for row in rows]
    assert actors == [("created", editor.email, ""), ("vendor_answered", "", "Kovács Anna")]
