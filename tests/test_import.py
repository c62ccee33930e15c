"""CSV import: a preview of every row and problem, then all rows or none, through the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import NOW
from vendortrack import importing
from vendortrack.models import (
    Channel,
    Commitment,
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    ComplaintStatus,
    Contact,
    LedgerEvent,
    Resolution,
    Severity,
    Status,
    Vendor,
)
from vendortrack.scores.rules import Rules
from vendortrack.validation import InvalidInput

RULES = Rules()


@pytest.fixture
def run_import(app, tmp_path):
    runner = app.test_cli_runner()

    def run(content: str | bytes, *args: str):
        path = tmp_path / "import.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return runner.invoke(args=["import", str(path), *args])

    return run


def counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Vendor, Contact, Commitment, LedgerEvent)
    )


POLISH = (
    "\ufeffDostawca;Contact;Kind;Title;Deadline;Status;Done at;Excuse category;Excuse\n"
    "Hurtownia Łódź;Jan Kowalski;promise;Deliver 40 chairs;30.06.2026;kept;29.06.2026 10:00;;\n"
    "hurtownia łódź;Jan Kowalski;deadline;Send the invoice;15.06.2026;broken;;oversight;forgot\n"
    "Drukarnia;;meeting;Proof review;2026.06.01. 09:30;open;;;\n"
)


def test_a_semicolon_file_with_bom_and_polish_dates_imports_vendors_contacts_and_outcomes(
    run_import, session, admin
):
    csv_text = POLISH.replace("Dostawca", "Supplier")

    result = run_import(csv_text, "--commit", "--timezone", "Europe/Warsaw")

    assert result.exit_code == 0, result.output
    assert "Imported 2 new vendors, 1 new contacts and 3 commitments." in result.output
    chairs = session.scalar(sa.select(Commitment).where(Commitment.title == "Deliver 40 chairs"))
    assert chairs.vendor.name == "Hurtownia Łódź" and chairs.contact.name == "Jan Kowalski"
    assert chairs.status == Status.kept
    assert chairs.due_at.replace(tzinfo=UTC) == datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC)
    assert chairs.done_at.replace(tzinfo=UTC) == datetime(2026, 6, 29, 8, 0, tzinfo=UTC)
    assert [e.action.value for e in chairs.events] == ["created", "resolved"]
    assert all(e.actor_id == admin.id for e in chairs.events)
    invoice = session.scalar(sa.select(Commitment).where(Commitment.title == "Send the invoice"))
    assert invoice.status == Status.broken and invoice.excuse == "forgot"
    assert invoice.excuse_category.value == "oversight"
    assert counts(session) == (2, 1, 3, 5)


def test_without_commit_the_preview_lists_every_row_and_changes_nothing(run_import, session, admin):
    result = run_import(POLISH.replace("Dostawca", "Vendor"), "--timezone", "Europe/Warsaw")

    assert result.exit_code == 0, result.output
    assert "Row 2: new vendor Hurtownia Łódź; new contact Jan Kowalski; promise" in result.output
    assert "Row 3: vendor Hurtownia Łódź; contact Jan Kowalski; deadline" in result.output
    assert "Nothing was changed" in result.output
    assert counts(session) == (0, 0, 0, 0)


BAD = (
    "vendor,kind,title,due date,status,done_at,excuse_category\n"
    "Acme,gift,Ship it,2026-06-30,open,,\n"
    "Acme,promise,Ship more,31.13.2026,open,,\n"
    "Acme,promise,Ship again,2026-06-30,kept,,\n"
    "Acme,promise,Ship late,2026-06-30,broken,,aliens\n"
    f"Acme,promise,{'x' * 201},2026-06-30,open,,\n"
)


def test_a_file_with_problems_lists_each_by_row_and_column_and_changes_nothing(run_import, session, admin):
    before = counts(session)

    result = run_import(BAD)

    assert result.exit_code != 0
    for row, column in [(2, "kind"), (3, "due"), (4, "done_at"), (5, "excuse_category"), (6, "title")]:
        assert f"Problem in row {row}, column {column}:" in result.output
    assert "5 problems; nothing was imported." in result.output
    assert counts(session) == before


def test_commit_with_a_problem_changes_nothing(run_import, session, admin):
    good_rows = "vendor,title,due\nFresh Vendor,Call back,2026-06-30\n"

    result = run_import(good_rows + "Fresh Vendor,Call again,not a date\n", "--commit")

    assert result.exit_code != 0
    assert "Problem in row 3, column due:" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_the_same_vendor_in_different_case_is_one_vendor(run_import, session, admin, make_vendor):
    make_vendor("ACME Sp. z o.o.")

    result = run_import(
        "vendor,title,due\nacme sp. Z O.O.,One,2026-06-30\nAcme  SP. z o.o.,Two,2026-07-01\n", "--commit"
    )

    assert result.exit_code == 0, result.output
    assert session.scalars(sa.select(Vendor.name)).all() == ["ACME Sp. z o.o."]
    assert counts(session)[2] == 2


def test_a_naive_time_is_read_in_the_given_time_zone(run_import, session, admin):
    result = run_import(
        "vendor,title,due\nBudapest Kft.,Meet,2026.06.30. 14:00\n",
        "--commit",
        "--timezone",
        "Europe/Budapest",
    )

    assert result.exit_code == 0, result.output
    due = session.scalar(sa.select(Commitment.due_at))
    assert due.replace(tzinfo=UTC) == datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def test_a_row_with_only_a_vendor_creates_just_the_vendor_with_its_details(run_import, session, admin):
    result = run_import("Vendor Name,Category,Email\nSolo Ltd,Printing,hi@solo.test\n", "--commit")

    assert result.exit_code == 0, result.output
    vendor = session.scalar(sa.select(Vendor))
    assert (vendor.name, vendor.category, vendor.email) == ("Solo Ltd", "Printing", "hi@solo.test")
    assert counts(session) == (1, 0, 0, 0)


def test_an_unknown_time_zone_is_refused(run_import, session, admin):
    result = run_import("vendor\nA\n", "--timezone", "Mars/Olympus")

    assert result.exit_code != 0
    assert "timezone: Unknown time zone Mars/Olympus." in result.output


def many_rows(n: int) -> str:
    return "vendor,title,due\n" + "".join(f"Vendor {i:04d},Promise {i},2026-06-30\n" for i in range(n))


def test_a_long_file_shows_a_progress_bar_while_it_is_written(run_import, session, admin):
    result = run_import(many_rows(250), "--commit")

    assert result.exit_code == 0, result.output
    assert "Importing" in result.stderr
    assert "Imported 250 new vendors, 0 new contacts and 250 commitments." in result.stdout
    assert counts(session)[:3] == (250, 0, 250)


def test_a_short_file_has_no_progress_bar(run_import, session, admin):
    result = run_import(many_rows(3), "--commit")

    assert result.exit_code == 0, result.output
    assert "Importing" not in result.output


def test_commit_import_reports_progress_every_fifty_rows_and_at_the_end(app, session, admin):
    heard = []

    importing.commit_import(
        session,
        importing.read_sheet(many_rows(120).encode()),
        actor=admin,
        now=NOW,
        rules=app.config["VENDORTRACK_RULES"],
        timezone="UTC",
        progress=lambda done, total: heard.append((done, total)),
    )

    assert heard == [(50, 120), (100, 120), (120, 120)]


@pytest.mark.parametrize(
    "cell, date_format, expected",
    [
        ("2026-06-30 14:00", "dmy", datetime(2026, 6, 30, 14, 0, tzinfo=UTC)),
        ("2026-06-30 14:00", "mdy", datetime(2026, 6, 30, 14, 0, tzinfo=UTC)),
        ("03/04/2026 10:00", "mdy", datetime(2026, 3, 4, 10, 0, tzinfo=UTC)),
        ("03/04/2026 10:00", "dmy", datetime(2026, 4, 3, 10, 0, tzinfo=UTC)),
    ],
)
def test_iso_dates_are_read_whatever_the_format_and_slashes_as_told(cell, date_format, expected):
    assert importing.parse_moment(cell, timezone="UTC", date_format=date_format) == expected


@pytest.mark.parametrize(
    "locale, expected",
    [
        (None, "auto"),
        ("en", "auto"),
        ("en_US", "mdy"),
        ("en-us", "mdy"),
        ("pl", "dmy"),
        ("ru", "dmy"),
        ("hu", "auto"),
    ],
)
def test_the_default_date_format_follows_the_users_language(locale, expected):
    assert importing.default_date_format(locale) == expected


def test_a_date_at_the_edge_of_the_calendar_is_a_problem_not_a_crash(session):
    sheet = importing.read_text("vendor,title,due\nAcme,Old,0001-01-01 01:00\nAcme,Late,9999-12-31 23:00\n")

    for zone in ("Asia/Tokyo", "America/New_York"):  # each year moves past midnight UTC in one of them
        plan = importing.preview(session, sheet, timezone=zone, now=NOW)
        assert [(p.row, p.column) for p in plan.problems] == [(2, "due"), (3, "due")]


def test_a_date_outside_the_years_a_ledger_can_mean_is_a_problem_in_preview(session):
    sheet = importing.read_text("vendor,title,due\nAcme,Typo,9615-12-21\nAcme,Fine,2999-12-31\n")

    plan = importing.preview(session, sheet, timezone="UTC", now=NOW)

    assert [(p.row, p.column, str(p.message)) for p in plan.problems] == [
        (2, "due", "Give a date from the years 1900 to 2999.")
    ]


def test_a_name_that_grows_when_compared_is_measured_as_compared(session):
    sheet = importing.read_text("vendor\n" + "ß" * 150 + "\n" + "x" * 250 + "\n")

    plan = importing.preview(session, sheet, timezone="UTC", now=NOW)

    assert [(p.row, p.column) for p in plan.problems] == [(2, "vendor"), (3, "vendor")]


@pytest.mark.parametrize(
    "text",
    ["vendor\nA\x00B\n", "vendor\nA\ud800B\n", 'vendor\n"' + "x" * 200_000 + '"\n'],
    ids=["NUL", "lone surrogate", "a cell past the csv module's limit"],
)
def test_text_that_no_database_would_take_is_refused_as_a_whole(text):
    with pytest.raises(InvalidInput) as refused:
        importing.read_text(text)

    assert refused.value.field == "file"


def test_an_import_leaves_the_score_sums_as_a_full_recount_would(app, session, admin):
    from vendortrack.models import ScoreBucket
    from vendortrack.scores import tally

    text = "vendor,kind,title,due,status,done_at,excuse_category\n" + "".join(
        f"Vendor {n % 5},promise,Promise {n},2026-0{1 + n % 6}-1{n % 10},{status},{done},{excuse}\n"
        for n in range(90)
        for status, done, excuse in [
            (("kept", f"2026-0{1 + n % 6}-1{n % 10}", ""), ("broken", "", "oversight"), ("open", "", ""))[
                n % 3
            ]
        ]
    )
    importing.commit_import(
        session,
        importing.read_sheet(text.encode()),
        actor=admin,
        now=NOW,
        rules=app.config["VENDORTRACK_RULES"],
        timezone="UTC",
    )
    session.flush()

    def sums():
        rows = session.execute(
            sa.select(ScoreBucket).order_by(ScoreBucket.vendor_id, ScoreBucket.month_start)
        )
        return [
            (b.vendor_id, b.month_start, b.counted, round(b.weight, 9), round(b.fulfilment, 9))
            for (b,) in rows
        ]

    imported = sums()
    assert len(imported) == 30  # 5 vendors × 6 months
    tally.rebuild(session, app.config["VENDORTRACK_RULES"], NOW)
    assert sums() == imported


# --- complaints and the notice of a move ---------------------------------------------------------

COMPLAINTS = (
    "record;vendor;contact;title;notes;severity;channel;raised at;answered;case owner;apologised;"
    "resolution;resolved;satisfied\n"
    "complaint;Hurtownia Łódź;Jan Kowalski;Chairs arrived scratched;Six of forty;major;phone;"
    "22.06.2026 09:00;22.06.2026 15:30;Jan Kowalski;tak;compensated;26.06.2026 12:00;nie\n"
    "complaint;Hurtownia Łódź;;Invoice twice;;minor;;24.06.2026 10:00;;;;withdrawn;25.06.2026 08:00;\n"
    "complaint;Drukarnia;;Nobody answers the phone;;critical;email;29.06.2026 08:00;;;;;;\n"
)


def complaint_counts(session) -> tuple[int, int]:
    return (
        session.scalar(sa.select(sa.func.count()).select_from(Complaint)),
        session.scalar(sa.select(sa.func.count()).select_from(ComplaintEvent)),
    )


def test_complaint_rows_are_raised_answered_and_resolved_with_their_history(run_import, session, admin):
    result = run_import(COMPLAINTS, "--commit", "--timezone", "Europe/Warsaw")

    assert result.exit_code == 0, result.output
    assert "Imported 2 new vendors, 1 new contacts and 0 commitments." in result.output
    assert "Complaints: 3." in result.output
    scratched, invoice, ignored = session.scalars(sa.select(Complaint).order_by(Complaint.id)).all()
    assert scratched.vendor.name == "Hurtownia Łódź" and scratched.contact.name == "Jan Kowalski"
    assert (scratched.severity, scratched.channel, scratched.details) == (
        Severity.major,
        Channel.phone,
        "Six of forty",
    )
    assert scratched.raised_at.replace(tzinfo=UTC) == datetime(2026, 6, 22, 7, 0, tzinfo=UTC)
    assert scratched.acknowledged_at.replace(tzinfo=UTC) == datetime(2026, 6, 22, 13, 30, tzinfo=UTC)
    assert scratched.case_owner_contact == scratched.contact and scratched.apologised
    assert (scratched.resolution, scratched.satisfied) == (Resolution.compensated, False)
    assert scratched.resolved_at.replace(tzinfo=UTC) == datetime(2026, 6, 26, 10, 0, tzinfo=UTC)
    assert [e.action for e in scratched.events] == [
        ComplaintAction.raised,
        ComplaintAction.answered,
        ComplaintAction.resolved,
    ]
    assert all(e.actor_id == admin.id for e in scratched.events)
    assert (invoice.status, invoice.channel, invoice.satisfied) == (
        ComplaintStatus.withdrawn,
        Channel.other,
        None,
    )
    assert (ignored.status, ignored.owner_id) == (ComplaintStatus.waiting, admin.id)
    assert counts(session) == (2, 1, 0, 0)


def test_the_preview_describes_each_complaint_and_changes_nothing(run_import, session, admin):
    result = run_import(COMPLAINTS, "--timezone", "Europe/Warsaw")

    assert result.exit_code == 0, result.output
    assert 'complaint "Chairs arrived scratched" raised 2026-06-22 07:00 UTC, resolved' in result.output
    assert 'complaint "Nobody answers the phone" raised 2026-06-29 06:00 UTC, waiting' in result.output
    assert "Complaints: 3." in result.output
    assert complaint_counts(session) == (0, 0)


def test_an_answer_before_the_complaint_was_raised_is_refused_naming_the_row_and_column(
    run_import, session, admin
):
    text = (
        "record,vendor,title,severity,raised_at,answered_at\n"
        "complaint,Acme,Late again,major,2026-06-20 10:00,2026-06-20 11:00\n"
        "complaint,Acme,Broken pallets,minor,2026-06-20 10:00,2026-06-19 16:00\n"
    )

    result = run_import(text, "--commit")

    assert result.exit_code != 0
    assert (
        "Problem in row 3, column answered_at: The answer cannot come before the complaint was raised."
        in result.output
    )
    assert "1 problems; nothing was imported." in result.output
    assert complaint_counts(session) == (0, 0) and counts(session) == (0, 0, 0, 0)


COMPLAINT_PROBLEMS = (
    "record,vendor,title,due,status,severity,channel,raised_at,answered_at,case_owner,apologised,"
    "resolution,resolved_at,satisfied\n"
    "complaint,Acme,,,,major,,2026-06-20,,,,,,\n"  # 2: no title
    "complaint,Acme,Late,2026-06-30,,major,,2026-06-20,,,,,,\n"  # 3: a commitment's column
    "complaint,Acme,Late,,,huge,fax,2026-06-20,,,,,,\n"  # 4: severity and channel unknown
    "complaint,Acme,Late,,,major,,,,,,,,\n"  # 5: not raised
    "complaint,Acme,Late,,,major,,2026-06-20,,Ewa,yes,,,\n"  # 6: an owner, no answer
    "complaint,Acme,Late,,,major,,2026-06-20,,,,fixed,,\n"  # 7: resolved, no date
    "complaint,Acme,Late,,,major,,2026-06-20,,,,withdrawn,2026-06-21,yes\n"  # 8: satisfied, withdrawn
    "complaint,Acme,Late,,,major,,2026-06-20,2026-06-21,,perhaps,,,\n"  # 9: neither yes nor no
    "complaint,Acme,Late,,,major,,2026-07-20,,,,,,\n"  # 10: raised in the future
    "complaint,Acme,Late,,,major,,2026-06-20,,,,fixed,2026-06-19,\n"  # 11: resolved before raised
    "promise,Acme,Call back,2026-06-30,open,major,,,,,,,,\n"  # 12: no such record
    "commitment,Acme,Call back,2026-06-30,open,major,,,,,,,,\n"  # 13: a complaint's column
)


def test_every_complaint_problem_is_named_by_row_and_column_and_nothing_is_written(session, admin):
    plan = importing.preview(session, importing.read_text(COMPLAINT_PROBLEMS), timezone="UTC", now=NOW)

    assert [(p.row, p.column) for p in plan.problems] == [
        (2, "title"),
        (3, "due"),
        (4, "severity"),
        (4, "channel"),
        (5, "raised_at"),
        (6, "answered_at"),
        (7, "resolved_at"),
        (8, "satisfied"),
        (9, "apologised"),
        (10, "raised_at"),
        (11, "resolved_at"),
        (12, "record"),
        (13, "severity"),
    ]
    messages = {(p.row, p.column): str(p.message) for p in plan.problems}
    assert messages[(2, "title")] == "Say in a few words what went wrong."
    assert messages[(3, "due")] == "This column is for commitment rows only."
    assert messages[(10, "raised_at")] == "This moment is in the future; log it once it has happened."
    assert messages[(11, "resolved_at")] == "It cannot be resolved before it was raised."
    assert messages[(13, "severity")] == "This column is for complaint rows only."
    assert complaint_counts(session) == (0, 0)


def test_a_row_refused_after_a_complaint_was_written_leaves_no_complaint(
    session, admin, ledger_refuses_import_row
):
    text = (
        "record,vendor,title,due,severity,raised_at,answered_at\n"
        "complaint,Acme,Late again,,major,2026-06-20 10:00,2026-06-20 11:00\n"
        ",Acme,Call back,2026-06-30,,,\n"
    )
    ledger_refuses_import_row(3)

    with pytest.raises(importing.ImportFailed) as failed:
        importing.commit_import(
            session,
            importing.read_text(text),
            actor=admin,
            now=NOW,
            rules=RULES,
            timezone="UTC",
        )

    assert failed.value.row == 3
    assert complaint_counts(session) == (0, 0) and counts(session) == (0, 0, 0, 0)


def test_a_rescheduled_row_keeps_when_the_vendor_told_us(run_import, session, admin):
    text = (
        "vendor,title,due,status,new_due,notified_at\n"
        "Acme,Install the server,2026-05-09,rescheduled,2026-05-23,2026-05-08 17:45\n"
        "Acme,Install the router,2026-05-09,rescheduled,2026-05-23,\n"
    )

    result = run_import(text, "--commit", "--timezone", "Europe/Warsaw")

    assert result.exit_code == 0, result.output
    told, untold = session.scalars(
        sa.select(Commitment).where(Commitment.status == Status.rescheduled).order_by(Commitment.id)
    ).all()
    assert told.notified_at.replace(tzinfo=UTC) == datetime(2026, 5, 8, 15, 45, tzinfo=UTC)
    # Moved weeks before the import: history, whose notice is not known, not a move announced "just now".
    assert untold.notified_at is None


def test_a_notice_on_a_commitment_not_moved_or_in_the_future_is_a_problem(session, admin):
    text = (
        "vendor,title,due,status,new_due,notified_at\n"
        "Acme,Call back,2026-06-10,open,,2026-06-09\n"
        "Acme,Install,2026-06-10,rescheduled,2026-07-23,2026-07-02\n"
    )

    plan = importing.preview(session, importing.read_text(text), timezone="UTC", now=NOW)

    assert [(p.row, p.column, str(p.message)) for p in plan.problems] == [
        (2, "notified_at", "Only a moved commitment has a notice."),
        (3, "notified_at", "The vendor cannot have told us in the future."),
    ]
