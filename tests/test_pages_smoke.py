from datetime import timedelta

from tests.conftest import NOW
from vendortrack import ledger
from vendortrack.models import Kind


def test_pages_render(client, editor, make_vendor, session):
    vendor = make_vendor("Acme")
    c = ledger.log_commitment(
        session, vendor=vendor, kind=Kind.meeting, title="Kickoff", due_at=NOW, actor=editor, now=NOW
    )
    ledger.resolve_kept(
        session, c, actor=editor, now=NOW + timedelta(hours=1), done_at=NOW + timedelta(minutes=20)
    )
    session.commit()
    client.login(editor)
    for url in [
        "/vendors/",
        f"/vendors/{vendor.id}",
        f"/commitments/{c.id}",
        "/commitments/?view=resolved",
        "/vendors/new",
        f"/commitments/new/{vendor.id}",
        f"/commitments/{c.id}/edit",
        f"/vendors/{vendor.id}/edit",
    ]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[-2000:])
