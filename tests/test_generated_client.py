"""A client generated from the OpenAPI document (openapi-python-client) reads every answer as typed objects."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "vendortrack_client"
MODULES = {
    "client": "",
    "models": ".models",
    "post_vendor": ".api.api_vendors.post_api_v1_vendors",
    "log_commitment": ".api.api_commitments.post_api_v1_vendors_vendor_id_commitments",
    "resolve": ".api.api_commitments.post_api_v1_commitments_commitment_id_resolve",
    "history": ".api.api_commitments.get_api_v1_commitments_commitment_id_history",
    "import_csv": ".api.api_imports.post_api_v1_import",
    "raise_complaint": ".api.api_complaints.post_api_v1_vendors_vendor_id_complaints",
    "answer": ".api.api_complaints.post_api_v1_complaints_complaint_id_answer",
    "dated_answer": ".api.api_complaints.post_api_v1_complaints_complaint_id_dated_answer",
    "complaint": ".api.api_complaints.get_api_v1_complaints_complaint_id",
    "score": ".api.api_scores.get_api_v1_vendors_vendor_id_score",
    "post_contact": ".api.api_vendors.post_api_v1_vendors_vendor_id_contacts",
    "ask_vendor": ".api.api_vendor_links.post_api_v1_commitments_commitment_id_ask_vendor",
    "vendor_links": ".api.api_vendor_links.get_api_v1_vendor_links",
    "vendor_link": ".api.api_vendor_links.get_api_v1_vendor_links_link_id",
    "revoke_link": ".api.api_vendor_links.post_api_v1_vendor_links_link_id_revoke",
}


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch) -> Iterator[SimpleNamespace]:
    """The client package, generated from the document the live server hands out, then imported."""
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # unformatted: ruff need not be on the PATH
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--url",
            f"{live_server}/api/v1/openapi.json",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield SimpleNamespace(
            **{name: importlib.import_module(PACKAGE + module) for name, module in MODULES.items()}
        )
    finally:
        # The next database's run generates and imports its own.
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_a_generated_client_logs_and_resolves_a_commitment_and_reads_its_history_as_typed_objects(
    auth, editor, generated, live_server
):
    api, m = generated, generated.models
    with api.client.AuthenticatedClient(
        base_url=live_server, token=auth["Authorization"].split()[1]
    ) as client:
        vendor = api.post_vendor.sync(
            client=client, body=m.VendorCreate(name="Printer Ltd", category="Print")
        )
        assert isinstance(vendor, m.Vendor)
        assert (vendor.name, vendor.category, vendor.archived_at) == ("Printer Ltd", "Print", None)

        due = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        commitment = api.log_commitment.sync(
            vendor.id,
            client=client,
            body=m.CommitmentCreate(kind=m.CommitmentCreateKind.PROMISE, title="The quote", due_at=due),
        )
        assert isinstance(commitment, m.Commitment)
        assert (commitment.title, commitment.due_at, commitment.excuse_category) == ("The quote", due, None)

        broken = api.resolve.sync(
            commitment.id,
            client=client,
            body=m.Resolve(
                status=m.ResolveStatus.BROKEN,
                excuse_category=m.ExcuseCategory.THIRD_PARTY,
                excuse="The courier lost it",
            ),
        )
        assert isinstance(broken, m.Commitment)
        assert broken.status == m.CommitmentStatus.BROKEN
        assert broken.excuse_category is m.ExcuseCategory.THIRD_PARTY
        assert broken.excuse == "The courier lost it"

        history = api.history.sync(commitment.id, client=client)
        assert isinstance(history, m.EventList)
        assert [event.action for event in history.items] == [m.EventAction.CREATED, m.EventAction.RESOLVED]
        for event in history.items:
            assert isinstance(event.actor, m.UserRef)
            assert (event.actor.id, event.actor.email) == (editor.id, editor.email)
        assert history.items[1].after["status"] == "broken"

        preview = api.import_csv.sync(
            client=client,
            body=m.ImportRequest(
                csv="vendor,kind,title,due\nPrinter Ltd,meeting,Proofs,2026-07-01 10:00\nNew Co,,,\n",
                timezone="UTC",
                commit=False,
            ),
        )
        assert isinstance(preview, m.ImportPreview)
        planned, vendor_only = preview.rows
        assert isinstance(planned.commitment, m.ImportCommitment)
        assert (planned.commitment.kind, planned.commitment.title) == ("meeting", "Proofs")
        assert planned.commitment.due_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
        assert vendor_only.commitment is None


def test_a_generated_client_raises_a_complaint_records_the_answer_and_reads_the_responsiveness(
    auth, editor, generated, live_server
):
    api, m = generated, generated.models
    with api.client.AuthenticatedClient(
        base_url=live_server, token=auth["Authorization"].split()[1]
    ) as client:
        vendor = api.post_vendor.sync(client=client, body=m.VendorCreate(name="Courier Ltd"))
        raised_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        complaint = api.raise_complaint.sync(
            vendor.id,
            client=client,
            body=m.ComplaintCreate(
                title="Parcel lost",
                severity=m.ComplaintCreateSeverity.CRITICAL,
                channel=m.ComplaintCreateChannel.PHONE,
                raised_at=raised_at,
            ),
        )
        assert isinstance(complaint, m.Complaint)
        assert (complaint.raised_at, complaint.resolution, complaint.answer_promise_id) == (
            raised_at,
            None,
            None,
        )
        assert complaint.commitment_ids == []

        answered = api.answer.sync(
            complaint.id,
            client=client,
            body=m.Answer(at=raised_at + timedelta(hours=2), owner_name="Olga", apologised=True),
        )
        assert (answered.case_owner_name, answered.owner_named, answered.apologised) == ("Olga", True, True)
        promise = api.dated_answer.sync(
            complaint.id, client=client, body=m.DatedAnswer(due_at=raised_at + timedelta(days=7))
        )
        assert isinstance(promise, m.Commitment)
        assert promise.complaint_id == complaint.id
        assert api.complaint.sync(complaint.id, client=client).answer_promise_id == promise.id

        score = api.score.sync(vendor.id, client=client)
        assert isinstance(score.responsiveness, m.Responsiveness)
        assert (score.responsiveness.counted, score.responsiveness.answered_in_time) == (1, 1)
        assert score.responsiveness.median_hours_to_answer == 2.0
        assert isinstance(score.notice, m.Notice) and score.notice.last_minute_moves == 0
        assert [item.complaint_id for item in score.explain_complaints] == [complaint.id]


def test_a_generated_client_asks_a_vendors_contact_and_reads_and_revokes_the_link_as_typed_objects(
    auth, editor, generated, live_server
):
    api, m = generated, generated.models
    with api.client.AuthenticatedClient(
        base_url=live_server, token=auth["Authorization"].split()[1]
    ) as client:
        vendor = api.post_vendor.sync(client=client, body=m.VendorCreate(name="Builder Kft."))
        anna = api.post_contact.sync(
            vendor.id, client=client, body=m.ContactCreate(name="Kovács Anna", email="anna@builder.test")
        )
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        meeting = api.log_commitment.sync(
            vendor.id,
            client=client,
            body=m.CommitmentCreate(
                kind=m.CommitmentCreateKind.MEETING, title="Site survey", due_at=due, contact_id=anna.id
            ),
        )

        asked = api.ask_vendor.sync(
            meeting.id, client=client, body=m.AskVendor(contact_id=anna.id, send_email=False)
        )
        assert isinstance(asked, m.VendorLinkCreated)
        assert f"{live_server}/v/" in asked.url
        assert isinstance(asked.item, m.ItemRef) and asked.item.type_ == m.ItemRefType.COMMITMENT
        assert (asked.item.id, asked.item.title) == (meeting.id, "Site survey")
        assert isinstance(asked.contact, m.ContactRef) and asked.contact.name == "Kovács Anna"
        assert asked.state == m.VendorLinkCreatedState.OPEN and asked.revoked_by is None

        listed = api.vendor_links.sync(client=client, state=m.GetApiV1VendorLinksState.OPEN)
        assert isinstance(listed, m.VendorLinkPage)
        assert [link.id for link in listed.items] == [asked.id]
        assert not hasattr(listed.items[0], "url")

        revoked = api.revoke_link.sync(asked.id, client=client)
        assert isinstance(revoked, m.VendorLink) and revoked.state == m.VendorLinkState.REVOKED
        assert isinstance(revoked.revoked_by, m.UserRef) and revoked.revoked_by.id == editor.id
        detail = api.vendor_link.sync(asked.id, client=client)
        assert isinstance(detail, m.VendorLinkDetail) and detail.answers == []
        assert detail.state == m.VendorLinkDetailState.REVOKED
