"""Import pages: upload a CSV, see every row and every problem, then commit it all or nothing."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField

from vendortrack import errors, importing
from vendortrack.extensions import db
from vendortrack.importing import ImportFailed
from vendortrack.models import ImportUpload
from vendortrack.permissions import editor_required
from vendortrack.timeutil import TIMEZONES, utcnow
from vendortrack.unit_of_work import writing
from vendortrack.validation import InvalidInput
from vendortrack.views.locale import current_timezone
from vendortrack.views.saving import save, status_for

bp = Blueprint("imports", __name__, url_prefix="/import")

ROWS_PER_PAGE = 200
PROBLEMS_SHOWN = 1000  # past that the file needs fixing at the source, not reading here
FORM_OVERHEAD = 64 * 1024  # the other fields and the multipart boundaries around the file
DATE_FORMAT_LABELS = {
    "auto": _l("Automatic: 2026-06-30, 30.06.2026, 2026.06.30.; 30/06/2026 is read day first"),
    "iso": _l("ISO only: 2026-06-30 or 2026-06-30 14:00"),
    "dmy": _l("Day first: 30.06.2026 / 30/06/2026"),
    "mdy": _l("Month first (US): 06/30/2026"),
}
COUNTS = ("vendors", "contacts", "commitments", "complaints")


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to import."))])
    timezone = SelectField(_l("Time zone of the times in the file"), choices=TIMEZONES)
    date_format = SelectField(_l("How dates are written"), choices=list(DATE_FORMAT_LABELS.items()))


def get_upload(upload_id: int) -> ImportUpload:
    """The signed-in user's own upload; anyone else's is as absent as one never made."""
    upload = db.get_or_404(ImportUpload, upload_id)
    if upload.user_id != current_user.id:
        abort(404)
    return upload


@bp.url_value_preprocessor
def limit_upload_size(endpoint: str | None, values: dict | None) -> None:
    # Runs before every before_request, so the cap holds even while the CSRF check reads the form.
    if endpoint == "imports.upload":
        request.max_content_length = importing.MAX_UPLOAD_BYTES + FORM_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    if not (current_user.is_authenticated and current_user.can_write):
        return errors.handle_http_error(error)
    form = UploadForm(formdata=None, timezone=current_timezone(), date_format=_default_date_format())
    form.file.errors = [str(importing.TOO_LARGE)]
    return _upload_page(form), 413


def _default_date_format() -> str:
    return importing.default_date_format(current_user.locale)


def _upload_page(form: UploadForm) -> str:
    return render_template(
        "imports/upload.html",
        form=form,
        columns=importing.COLUMNS,
        max_mb=importing.MAX_UPLOAD_BYTES // (1024 * 1024),
    )


def _wants_json() -> bool:
    """The page's script sends the file itself to show its progress; it is told where to go next."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@bp.route("/", methods=["GET", "POST"])
@editor_required
def upload():
    form = UploadForm()
    if request.method == "GET":
        form.timezone.data, form.date_format.data = current_timezone(), _default_date_format()
    if form.validate_on_submit() and (stored := save(form, lambda: _store(form))):
        target = url_for(".preview", upload_id=stored.id)
        return jsonify(url=target) if _wants_json() else redirect(target)
    return _upload_page(form), status_for(form)


def _store(form: UploadForm) -> ImportUpload:
    data = form.file.data.read(importing.MAX_UPLOAD_BYTES + 1)
    return importing.store_upload(
        db.session,
        user=current_user,
        filename=form.file.data.filename or "",
        data=data,
        timezone=form.timezone.data,
        date_format=form.date_format.data,
        now=utcnow(),
    )


@bp.route("/template.csv")
@editor_required
def template():
    response = Response(importing.template_csv(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=vendortrack-import-template.csv"
    return response


@dataclass
class RowsPage:
    """One page of the preview's rows, shaped like Flask-SQLAlchemy's pages for the pagination macro."""

    items: list
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _rows_page(plans: list) -> RowsPage:
    pages = max(1, math.ceil(len(plans) / ROWS_PER_PAGE))
    number = request.args.get("page", 1, type=int)
    if not 1 <= number <= pages:
        abort(404)
    start = (number - 1) * ROWS_PER_PAGE
    return RowsPage(plans[start : start + ROWS_PER_PAGE], number, pages)


@bp.route("/<id:upload_id>")
@editor_required
def preview(upload_id: int):
    upload = get_upload(upload_id)
    if upload.committed_at is not None:
        return render_template("imports/preview.html", upload=upload, plan=None)
    try:
        sheet = importing.read_sheet(upload.data)
    except InvalidInput as error:  # refused at upload; kept here so an old row cannot end in a 500
        flash(str(error.message), "danger")
        return redirect(url_for(".upload"))
    plan = importing.preview(
        db.session, sheet, timezone=upload.timezone, now=utcnow(), date_format=upload.date_format
    )
    by_row: dict[int, list] = {}
    for problem in plan.problems:
        by_row.setdefault(problem.row, []).append(problem)
    return render_template(
        "imports/preview.html",
        upload=upload,
        plan=plan,
        counts=plan.counts(),
        page=_rows_page(plan.plans),
        problems=plan.problems[:PROBLEMS_SHOWN],
        by_row=by_row,
        date_format=DATE_FORMAT_LABELS.get(upload.date_format),
    )


def counts_message(counts: dict[str, int]) -> str:
    vendors = ngettext("%(num)d new vendor", "%(num)d new vendors", counts["vendors"])
    contacts = ngettext("%(num)d new contact", "%(num)d new contacts", counts["contacts"])
    commitments = ngettext("%(num)d commitment", "%(num)d commitments", counts["commitments"])
    if counts.get("complaints"):
        return _(
            "Imported: %(vendors)s, %(contacts)s, %(commitments)s, %(complaints)s.",
            vendors=vendors,
            contacts=contacts,
            commitments=commitments,
            complaints=ngettext("%(num)d complaint", "%(num)d complaints", counts["complaints"]),
        )
    return _(
        "Imported: %(vendors)s, %(contacts)s, %(commitments)s.",
        vendors=vendors,
        contacts=contacts,
        commitments=commitments,
    )


def failure_message(error: ImportFailed) -> str:
    return _(
        "Row %(row)d, column %(column)s: %(message)s Nothing was imported.",
        row=error.row,
        column=error.column or "-",
        message=str(error.message),
    )


def _wants_stream() -> bool:
    return "text/event-stream" in request.headers.get("Accept", "") or request.args.get("stream") == "1"


@bp.route("/<id:upload_id>/commit", methods=["POST"])
@editor_required
def commit(upload_id: int):
    upload = get_upload(upload_id)
    if _wants_stream():
        events = stream_with_context(_commit_events(upload))
        return Response(
            events,
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    now = utcnow()
    try:
        with writing(db.session):
            importing.claim_upload(db.session, upload, now=now)
            sheet = importing.read_sheet(upload.data)
            plan = importing.commit_import(
                db.session,
                sheet,
                actor=current_user,
                now=now,
                rules=current_app.config["VENDORTRACK_RULES"],
                timezone=upload.timezone,
                date_format=upload.date_format,
            )
    except InvalidInput as error:
        flash(str(error.message), "warning")
        return redirect(url_for(".preview", upload_id=upload.id))
    except ImportFailed as error:
        flash(failure_message(error), "danger")
        return redirect(url_for(".preview", upload_id=upload.id))
    flash(counts_message(plan.counts()), "success")
    return redirect(url_for("vendors.index"))


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _commit_events(upload: ImportUpload) -> Iterator[str]:
    """The commit as server-sent events: progress as rows are written, then where to go, or what failed."""
    now = utcnow()
    try:
        # The write lasts while the progress is sent: one transaction, all rows or none.
        with writing(db.session):
            importing.claim_upload(db.session, upload, now=now)
            sheet = importing.read_sheet(upload.data)
            plan = importing.checked_plan(
                db.session, sheet, timezone=upload.timezone, now=now, date_format=upload.date_format
            )
            total = len(plan.plans)
            yield _event("progress", {"done": 0, "total": total})
            rules = current_app.config["VENDORTRACK_RULES"]
            for done in importing.write_plan(db.session, plan, actor=current_user, now=now, rules=rules):
                yield _event("progress", {"done": done, "total": total})
    except InvalidInput as error:
        yield _event("error", {"row": None, "column": error.field, "message": str(error.message)})
        return
    except ImportFailed as error:
        yield _event("error", {"row": error.row, "column": error.column, "message": failure_message(error)})
        return
    except Exception:
        # The status line is sent already: log it and tell the page, which shows it instead of a 500.
        current_app.logger.exception("Import of upload %s failed", upload.id)
        yield _event(
            "error",
            {"row": None, "column": None, "message": _("Something went wrong; nothing was imported.")},
        )
        return
    counts = plan.counts()
    # A streamed response has sent its session cookie already, so the flash is set on the next page.
    url = url_for(".finished", upload_id=upload.id, **counts)
    yield _event("done", {"url": url, "message": counts_message(counts), **counts})


@bp.route("/<id:upload_id>/finished")
@editor_required
def finished(upload_id: int):
    """Where a streamed commit ends: the counts it reported as a flash, then the vendors."""
    upload = get_upload(upload_id)
    if upload.committed_at is None:
        return redirect(url_for(".preview", upload_id=upload.id))
    counts = {name: max(0, request.args.get(name, 0, type=int)) for name in COUNTS}
    flash(counts_message(counts), "success")
    return redirect(url_for("vendors.index"))
