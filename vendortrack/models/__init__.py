"""Typed models, one module per aggregate; import them from here."""

from vendortrack.models.commitment import (
    Commitment,
    EventAction,
    ExcuseCategory,
    Kind,
    LedgerEvent,
    Status,
)
from vendortrack.models.complaint import (
    Channel,
    Complaint,
    ComplaintAction,
    ComplaintEvent,
    ComplaintStatus,
    Resolution,
    Severity,
    complaint_commitment,
)
from vendortrack.models.imports import ImportUpload
from vendortrack.models.outbox import JobRun, MailKind, MailState, OutboxMessage
from vendortrack.models.score import ScoreBucket, ScoreTallyState
from vendortrack.models.security import LoginAttempt
from vendortrack.models.user import WRITERS, ApiToken, Role, User
from vendortrack.models.vendor import Contact, Vendor
from vendortrack.models.vendor_link import AnswerKind, AnswerState, VendorAnswer, VendorLink

__all__ = [
    "AnswerKind",
    "AnswerState",
    "ApiToken",
    "Channel",
    "Commitment",
    "Complaint",
    "ComplaintAction",
    "ComplaintEvent",
    "ComplaintStatus",
    "Contact",
    "EventAction",
    "ExcuseCategory",
    "ImportUpload",
    "JobRun",
    "Kind",
    "LedgerEvent",
    "LoginAttempt",
    "MailKind",
    "MailState",
    "OutboxMessage",
    "Resolution",
    "Role",
    "ScoreBucket",
    "ScoreTallyState",
    "Severity",
    "Status",
    "User",
    "Vendor",
    "VendorAnswer",
    "VendorLink",
    "WRITERS",
    "complaint_commitment",
]
