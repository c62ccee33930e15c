"""API for editors: the CSV import, previewed row by row, then committed all or nothing."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from vendortrack import importing
from vendortrack.extensions import db
from vendortrack.i18n import user_timezone
from vendortrack.importing import ImportFailed, Preview, Problem
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views.api.guard import ApiBlueprint, current_api_user, documented, request_now
from vendortrack.views.api.schemas import ErrorSchema, StrictBoolean, UTCDateTime, known_timezone

bp = ApiBlueprint(
    "api_imports",
    __name__,
    url_prefix="/api/v1/import",
    description="Import vendors, contacts, commitments and complaints from CSV text.",
)

# JSON escapes can double the text's size; past that the body is refused before it is read.
MAX_BODY_BYTES = 2 * importing.MAX_UPLOAD_BYTES + 64 * 1024


class ImportRequestSchema(Schema):
    csv = fields.String(
        required=True,
        validate=validate.Length(min=1, max=importing.MAX_UPLOAD_BYTES),
        metadata={
            "description": "The file's text: a header row, then one row per line, comma- or "
            "semicolon-separated. Columns: " + ", ".join(importing.COLUMNS) + ". A row whose record is "
            "complaint is a complaint; any other row with a title, a commitment."
        },
    )
    timezone = fields.String(
        allow_none=True,
        validate=known_timezone,
        metadata={"description": "The IANA zone of times without an offset; by default your own."},
    )
    date_format = fields.String(
        allow_none=True,
        validate=validate.OneOf(importing.DATE_FORMATS),
        metadata={
            "description": "How to read 03/04/2026: auto and dmy day first, mdy month first, iso only "
            "ISO 8601. By default: from your language."
        },
    )
    commit = StrictBoolean(
        load_default=False, metadata={"description": "Write the rows; without it, only the preview."}
    )


class ImportCountsSchema(Schema):
    vendors = fields.Integer(required=True, metadata={"description": "Vendors the import creates."})
    contacts = fields.Integer(required=True, metadata={"description": "Contacts the import creates."})
    commitments = fields.Integer(required=True, metadata={"description": "Commitments the import logs."})
    complaints = fields.Integer(required=True, metadata={"description": "Complaints the import logs."})


class ImportProblemSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "The line in the file; the header is 1."})
    column = fields.String(required=True)
    message = fields.String(required=True)


class ImportCommitmentSchema(Schema):
    kind = fields.String(allow_none=True, required=True)
    title = fields.String(required=True)
    due_at = UTCDateTime(allow_none=True, required=True)
    status = fields.String(required=True)
    done_at = UTCDateTime(allow_none=True, required=True)
    new_due_at = UTCDateTime(allow_none=True, required=True)
    notified_at = UTCDateTime(allow_none=True, required=True)


class ImportComplaintSchema(Schema):
    title = fields.String(required=True)
    severity = fields.String(allow_none=True, required=True)
    channel = fields.String(required=True)
    status = fields.String(
        required=True, metadata={"description": "waiting, answered, resolved or withdrawn."}
    )
    raised_at = UTCDateTime(allow_none=True, required=True)
    answered_at = UTCDateTime(allow_none=True, required=True)
    case_owner = fields.String(required=True)
    apologised = fields.Boolean(required=True)
    resolution = fields.String(allow_none=True, required=True)
    resolved_at = UTCDateTime(allow_none=True, required=True)
    satisfied = fields.Boolean(allow_none=True, required=True)


class ImportRowSchema(Schema):
    row = fields.Integer(required=True)
    vendor = fields.String(required=True)
    vendor_new = fields.Boolean(required=True)
    contact = fields.String(allow_none=True, required=True)
    contact_new = fields.Boolean(required=True)
    commitment = fields.Nested(ImportCommitmentSchema, allow_none=True, required=True)
    complaint = fields.Nested(ImportComplaintSchema, allow_none=True, required=True)


class ImportPreviewSchema(Schema):
    committed = fields.Boolean(required=True)
    counts = fields.Nested(ImportCountsSchema, required=True)
    rows = fields.List(fields.Nested(ImportRowSchema), required=True)
    problems = fields.List(fields.Nested(ImportProblemSchema), required=True)


class ImportResultSchema(Schema):
    committed = fields.Boolean(required=True)
    counts = fields.Nested(ImportCountsSchema, required=True)


class ImportRefusedSchema(ErrorSchema):
    """The error envelope; a file with problems adds every one of them, by row and column."""

    problems = fields.List(fields.Nested(ImportProblemSchema))


@bp.before_request
def limit_body_size() -> None:
    # Runs after `authenticate`: a caller without a token is told so whatever they send.
    request.max_content_length = MAX_BODY_BYTES


def _row(plan: importing.RowPlan) -> dict[str, Any]:
    commitment = None
    if plan.has_commitment:
        commitment = {
            "kind": plan.kind and plan.kind.value,
            "title": plan.title,
            "due_at": plan.due_at,
            "status": plan.status.value,
            "done_at": plan.done_at,
            "new_due_at": plan.new_due_at,
            "notified_at": plan.notified_at,
        }
    complaint = None
    if (facts := plan.complaint) is not None:
        complaint = {
            "title": plan.title,
            "severity": facts.severity and facts.severity.value,
            "channel": facts.channel.value,
            "status": facts.status.value,
            "raised_at": facts.raised_at,
            "answered_at": facts.answered_at,
            "case_owner": facts.case_owner,
            "apologised": facts.apologised,
            "resolution": facts.resolution and facts.resolution.value,
            "resolved_at": facts.resolved_at,
            "satisfied": facts.satisfied,
        }
    return {
        "row": plan.row,
        "vendor": plan.vendor,
        "vendor_new": plan.vendor_new,
        "contact": plan.contact,
        "contact_new": plan.contact_new,
        "commitment": commitment,
        "complaint": complaint,
    }


def _problem(problem: Problem | ImportFailed) -> dict[str, Any]:
    return {"row": problem.row, "column": problem.column, "message": str(problem.message)}


def _refused(problems: list[dict[str, Any]], message: str | None = None):
    """The error envelope the API always answers with, plus the problems by row and column."""
    message = message or _("The file has problems; nothing was imported.")
    lines = [_("Row %(row)d, column %(column)s: %(message)s", **p) for p in problems]
    body = {
        "error": {"code": "validation_error", "message": message, "fields": {"csv": lines or [message]}},
        "problems": problems,
    }
    return jsonify(body), 422


@bp.route("", methods=["POST"])
@documented(bp, finds=False)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@bp.alt_response(422, schema=ImportRefusedSchema, description="The request or the file has problems.")
@bp.alt_response(201, schema=ImportResultSchema, description="Every row was imported.", success=True)
@bp.arguments(ImportRequestSchema)
@bp.response(200, ImportPreviewSchema, description="The preview: what every row creates; nothing written.")
def post(values: dict[str, Any]):
    """Preview a CSV file of vendors, contacts, commitments and complaints; with `commit`, import every row
    or none."""
    user, now = current_api_user(), request_now()
    timezone = values.get("timezone") or user_timezone(user)
    date_format = values.get("date_format") or importing.default_date_format(user.locale)
    try:
        sheet = importing.read_text(values["csv"])
    except InvalidInput as error:
        return _refused([], str(error.message))
    if not values["commit"]:
        plan: Preview = importing.preview(
            db.session, sheet, timezone=timezone, now=now, date_format=date_format
        )
        db.session.rollback()
        return {
            "committed": False,
            "counts": plan.counts(),
            "rows": [_row(p) for p in plan.plans],
            "problems": [_problem(p) for p in plan.problems],
        }
    try:
        # The preview that decides and the rows it writes, in one write.
        with writing(db.session):
            plan = importing.preview(db.session, sheet, timezone=timezone, now=now, date_format=date_format)
            if not plan.problems:
                rules = current_app.config["VENDORTRACK_RULES"]
                for _written in importing.write_plan(db.session, plan, actor=user, now=now, rules=rules):
                    pass  # the API answers once, at the end
    except ImportFailed as error:
        return _refused([_problem(error)])
    if plan.problems:
        return _refused([_problem(p) for p in plan.problems])
    return jsonify(ImportResultSchema().dump({"committed": True, "counts": plan.counts()})), 201
