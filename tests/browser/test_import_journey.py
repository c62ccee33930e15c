"""An editor brings a spreadsheet in, in a real browser: upload, preview, commit with progress, the vendors."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_ledger_journey import sign_in
from vendortrack.models import Commitment, ImportUpload, Status

pytestmark = pytest.mark.browser

WATCH_PROGRESS = """() => {
    const form = document.getElementById("import-commit");
    const shown = [];
    new MutationObserver(() => {
        shown.push([form.querySelector("progress").value, form.querySelector("[data-status]").textContent]);
        sessionStorage.setItem("import-progress", JSON.stringify(shown));
    }).observe(form, {subtree: true, attributes: true, childList: true, characterData: true});
}"""

SPREADSHEET = (
    "\ufeffSupplier;Contact person;Type;Promise;Due date;Outcome;Done at;Excuse category;Excuse\n"
    "Hurtownia Łódź;Jan Kowalski;deadline;Deliver 40 chairs;30.06.2026;kept;29.06.2026 10:00;;\n"
    "Hurtownia Łódź;Jan Kowalski;meeting;Showroom visit;02.07.2026 09:30;broken;;oversight;Forgot\n"
) + "".join(f"Supplier {i:03d};;promise;Quote {i};15.07.2026;open;;;\n" for i in range(118))


def test_editor_imports_a_spreadsheet_and_watches_it_written_to_the_end(page, editor, session, tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text(SPREADSHEET, encoding="utf-8")
    saved_as_latin1 = tmp_path / "suppliers-latin1.csv"
    saved_as_latin1.write_bytes("vendor\nCafé Müller\n".encode("latin-1"))
    sign_in(page, editor)

    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import vendors and commitments")).to_be_visible()
    page.get_by_label("Time zone of the times in the file").select_option("Europe/Warsaw")
    page.get_by_label("How dates are written").select_option("dmy")
    page.get_by_label("CSV file").set_input_files(str(saved_as_latin1))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("The file is not UTF-8 text; save it as CSV UTF-8.")).to_be_visible()

    # The refused form came back in place, with the choices kept; the right file goes through it.
    expect(page.get_by_label("Time zone of the times in the file")).to_have_value("Europe/Warsaw")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.get_by_text("No problems found.")).to_be_visible()
    rows = page.locator("table.import-rows")
    expect(rows).to_contain_text("Hurtownia Łódź")
    expect(rows).to_contain_text(
        re.compile(r"Meeting: Showroom visit\s+\S+\s+9:30")
    )  # Warsaw time, as entered
    screenshot(page, "import-preview")

    # The page moves on as soon as the last row is written: what the bar showed is kept for the test in
    # sessionStorage, which the next page of the same tab still reads.
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Import all 120 rows").click()

    expect(page.get_by_role("heading", name="Vendors")).to_be_visible()
    expect(page.get_by_text("Imported: 119 new vendors, 1 new contact, 120 commitments.")).to_be_visible()
    expect(page.get_by_role("link", name="Hurtownia Łódź")).to_be_visible()
    screenshot(page, "import-done")
    shown = json.loads(page.evaluate("() => sessionStorage.getItem('import-progress')"))
    assert [120, "Imported: 119 new vendors, 1 new contact, 120 commitments."] == shown[-1]
    assert any(text.endswith(" of 120 rows written") for _value, text in shown)  # the bar moved on its way

    session.rollback()  # end the test thread's read snapshot to see what the browser wrote
    assert session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 120
    chairs = session.scalar(sa.select(Commitment).where(Commitment.title == "Deliver 40 chairs"))
    assert chairs.status == Status.kept
    assert session.scalar(sa.select(ImportUpload.committed_at)) is not None
