"""One write path: pages and the API write through `unit_of_work.writing`, which alone takes the write intent."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, WebClient
from vendortrack import ledger
from vendortrack.database import new_row_values, relationships_behind, write_intent
from vendortrack.models import Commitment, EventAction, Kind, LedgerEvent, Role, Status, User, Vendor
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput

THREADS = 3
TOGGLES = 11  # archive, unarchive, ... archive: each vendor and each user ends archived, disabled
LOGS = 10  # commitments logged on the page, and as many resolved on the page, per thread


@dataclass
class Lane:
    """What one thread writes: its own vendor and user toggled through the API, its page logs and resolves."""

    client: WebClient
    csrf: str
    vendor_id: int
    user_id: int
    page_vendor_id: int
    meeting_ids: list[int]
    answers: list[tuple[str, int, bool | None]] = field(default_factory=list)


def _lane(app, session, admin, make_user, make_vendor, number: int) -> Lane:
    page_vendor = make_vendor(f"Logged on the page {number}")
    meetings = [
        ledger.log_commitment(
            session,
            vendor=page_vendor,
            kind=Kind.meeting,
            title=f"Meeting {n}",
            due_at=NOW,
            actor=admin,
            now=NOW,
        )
        for n in range(LOGS)
    ]
    session.commit()
    app.test_client_class = WebClient
    client = app.test_client()
    client.login(admin)
    return Lane(
        client=client,
        csrf=client.csrf_token(),
        vendor_id=make_vendor(f"Archived through the API {number}").id,
        user_id=make_user(Role.editor).id,
        page_vendor_id=page_vendor.id,
        meeting_ids=[meeting.id for meeting in meetings],
    )


def _write_everything(lane: Lane, api: dict[str, str], owner_id: int, start: threading.Barrier) -> Lane:
    """Interleave the lane's writes: an API vendor toggle, an API user toggle, a page log, a page resolve."""
    start.wait()
    for n in range(TOGGLES):
        action = "archive" if n % 2 == 0 else "unarchive"
        answer = lane.client.post(f"/api/v1/vendors/{lane.vendor_id}/{action}", headers=api)
        lane.answers.append(
            (action, answer.status_code, (answer.get_json() or {}).get("archived_at") is not None)
        )
        action = "disable" if n % 2 == 0 else "enable"
        answer = lane.client.post(f"/api/v1/users/{lane.user_id}/{action}", headers=api)
        lane.answers.append(
            (action, answer.status_code, (answer.get_json() or {}).get("disabled_at") is not None)
        )
        if n == LOGS:
            break
        form = {"kind": "promise", "title": f"Promise {n}", "due_date": "2026-07-01", "due_time": "10:00"}
        form |= {"owner_id": owner_id, "contact_id": 0, "csrf_token": lane.csrf}
        answer = lane.client.post(f"/commitments/new/{lane.page_vendor_id}", data=form)
        lane.answers.append(("log", answer.status_code, None))
        form = {"status": "kept", "done_date": "2026-06-30", "done_time": "12:20", "csrf_token": lane.csrf}
        answer = lane.client.post(f"/commitments/{lane.meeting_ids[n]}/resolve", data=form)
        lane.answers.append(("resolve", answer.status_code, None))
    return lane


def test_writers_on_the_pages_and_the_api_at_once_are_never_told_the_database_is_busy_and_every_write_lands(
    app, session, admin, make_user, make_vendor, token_for
):
    api = token_for(admin)
    lanes = [_lane(app, session, admin, make_user, make_vendor, number) for number in range(THREADS)]
    start, owner_id = (
        threading.Barrier(THREADS, timeout=60),
        admin.id,
    )  # read here: the threads have no app context
    session.commit()  # test code takes the write lock when it reads: let the threads have it
    with ThreadPoolExecutor(THREADS) as pool:
        lanes = list(pool.map(lambda lane: _write_everything(lane, api, owner_id, start), lanes))

    answers = [answer for lane in lanes for answer in lane.answers]
    assert len(answers) == THREADS * (2 * TOGGLES + 2 * LOGS)
    assert [answer for answer in answers if answer[1] not in (200, 302)] == []  # no 503 "database is locked"
    # Each API answer shows its own write: archived after archive, disabled after disable.
    assert {(action, shown) for action, _status, shown in answers if shown is not None} == {
        ("archive", True),
        ("unarchive", False),
        ("disable", True),
        ("enable", False),
    }
    for lane in lanes:
        assert session.get(Vendor, lane.vendor_id).archived_at is not None
        assert session.get(User, lane.user_id).disabled_at is not None
        logged = sa.select(Commitment.title).where(
            Commitment.vendor_id == lane.page_vendor_id, Commitment.kind == Kind.promise
        )
        assert sorted(session.scalars(logged)) == sorted(f"Promise {n}" for n in range(LOGS))
        statuses = session.scalars(sa.select(Commitment.status).where(Commitment.id.in_(lane.meeting_ids)))
        assert list(statuses) == [Status.kept] * LOGS


# -- the write helper --------------------------------------------------------------------------------


def test_a_refused_write_changes_nothing_it_had_already_written(session, admin, make_vendor):
    vendor = make_vendor("Acme")

    with pytest.raises(InvalidInput), writing(session):
        vendor.category = "Printing"
        commitment = ledger.log_commitment(
            session, vendor=vendor, kind=Kind.promise, title="Quote", due_at=NOW, actor=admin, now=NOW
        )
        assert commitment.id is not None  # written, and then refused in the same write
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.promise, title="", due_at=NOW, actor=admin, now=NOW
        )

    session.expire_all()
    assert session.get(Vendor, vendor.id).category == ""
    assert session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEvent)) == 0


def test_a_write_keeps_what_it_wrote_and_gives_the_intent_back(session, make_vendor):
    vendor = make_vendor("Acme")
    intent = write_intent.set(False)  # as a request reads
    try:
        with writing(session):
            assert write_intent.get() is True
            vendor.category = "Printing"
        assert write_intent.get() is False
    finally:
        write_intent.reset(intent)

    session.expire_all()
    assert session.get(Vendor, vendor.id).category == "Printing"


def test_changes_made_before_the_write_began_are_refused_rather_than_written_outside_it(session, make_vendor):
    vendor = make_vendor("Acme")
    vendor.category = "Printing"

    with pytest.raises(RuntimeError, match="before `writing` began"), writing(session):
        pass


# -- the pages through it: a read before the write, a refusal of what went stale --------------------


def _signed_in(app, user) -> WebClient:
    app.test_client_class = WebClient
    client = app.test_client()
    client.login(user)
    return client


def test_two_editors_resolving_the_same_commitments_at_once_resolve_each_once_and_the_later_is_told(
    app, session, editor, make_user, make_vendor
):
    vendor = make_vendor("Acme")
    meetings = [
        ledger.log_commitment(
            session, vendor=vendor, kind=Kind.meeting, title=f"Meeting {n}", due_at=NOW, actor=editor, now=NOW
        ).id
        for n in range(LOGS)
    ]
    session.commit()
    editors = [_signed_in(app, user) for user in (editor, make_user(Role.editor))]
    tokens = [client.csrf_token() for client in editors]
    start = threading.Barrier(len(editors), timeout=60)

    def resolve_all(number: int) -> list[tuple[int, int, str]]:
        client, outcome = editors[number], ("broken", "cancelled")[number]
        start.wait()
        answers = []
        for meeting in meetings:
            answer = client.post(
                f"/commitments/{meeting}/resolve", data={"status": outcome, "csrf_token": tokens[number]}
            )
            answers.append((meeting, answer.status_code, answer.get_data(as_text=True)))
        return answers

    with ThreadPoolExecutor(len(editors)) as pool:
        answers = [answer for answers in pool.map(resolve_all, range(len(editors))) for answer in answers]

    for meeting in meetings:
        statuses = sorted(status for number, status, _page in answers if number == meeting)
        assert statuses == [302, 400]
        (page,) = [page for number, status, page in answers if number == meeting and status == 400]
        assert "already resolved" in page or "Someone resolved this commitment a moment ago." in page
        events = session.scalars(
            sa.select(LedgerEvent.action).where(LedgerEvent.commitment_id == meeting).order_by(LedgerEvent.id)
        )
        assert list(events) == [EventAction.created, EventAction.resolved]


def test_wrong_passwords_sent_at_once_on_sqlite_are_counted_so_only_five_are_even_checked(
    app, session, editor, database_url
):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL reads committed: tries at once may each find room under the limit")
    clients = [_signed_out(app) for _client in range(8)]
    start, email = threading.Barrier(len(clients), timeout=60), editor.email
    session.commit()

    def try_wrong(client_and_token: tuple[WebClient, str]) -> int:
        client, token = client_and_token
        start.wait()
        form = {"email": email, "password": "wrong", "csrf_token": token}
        return client.post("/auth/login", data=form).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = sorted(pool.map(try_wrong, clients))

    assert answers == [401] * 5 + [429] * 3


def _signed_out(app) -> tuple[WebClient, str]:
    app.test_client_class = WebClient
    client = app.test_client()
    return client, client.csrf_token()


# -- Core inserts know every column from the mapper --------------------------------------------------


def test_a_new_column_with_a_default_is_in_the_values_of_a_new_row():
    table = sa.Table(
        "shipment",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("carrier", sa.String, nullable=False),  # the writer must give it
        sa.Column("priority", sa.String, nullable=False, default="normal"),
        sa.Column("tracking", sa.String, nullable=True),
        sa.Column("stamped_at", sa.String, server_default=sa.text("CURRENT_TIMESTAMP")),
    )

    assert new_row_values(table) == {"priority": "normal", "tracking": None}


def test_a_logged_commitment_holds_every_column_as_its_row_does_without_reading_it_back(
    session, editor, make_vendor
):
    commitment = ledger.log_commitment(
        session,
        vendor=make_vendor("Acme"),
        kind=Kind.promise,
        title="Quote",
        due_at=NOW,
        actor=editor,
        now=NOW,
    )
    columns = [column.key for column in Commitment.__table__.columns]
    held = {name: commitment.__dict__[name] for name in columns}  # a KeyError: a column not held

    row = session.execute(sa.select(Commitment.__table__).where(Commitment.id == commitment.id)).one()
    assert held == dict(row._mapping)


def test_a_changed_owner_is_the_one_the_commitment_names_next(session, editor, make_user, make_vendor):
    commitment = ledger.log_commitment(
        session,
        vendor=make_vendor("Acme"),
        kind=Kind.promise,
        title="Quote",
        due_at=NOW,
        actor=editor,
        now=NOW,
    )
    assert commitment.owner == editor
    successor = make_user(Role.editor)

    ledger.edit_commitment(session, commitment, actor=editor, now=NOW, owner=successor)

    assert commitment.owner == successor
    assert relationships_behind(Commitment)["owner_id"] == ("owner",)
