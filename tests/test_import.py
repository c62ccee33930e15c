"""CSV import: a preview of every row and problem, then all rows or none, through the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from vendortrack.models import Commitment, Contact, LedgerEvent, Status, Vendor


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

    result = run_import("vendor,title,due\nacme sp. Z O.O.,One,2026-06-30\nAcme  SP. z o.o.,Two,2026-07-01\n",
                        "--commit")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert session.scalars(sa.select(Vendor.name)).all() == ["ACME Sp. z o.o."]
    assert counts(session)[2] == 2


def test_a_naive_time_is_read_in_the_given_time_zone(run_import, session, admin):
    result = run_import("vendor,title,due\nBudapest Kft.,Meet,2026.06.30. 14:00\n", "--commit",
                        "--timezone", "Europe/Budapest")  # fmt: skip

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
