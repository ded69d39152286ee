"""The reports page: generate a month's workbooks (in the background, the page polls their
progress), the archive of every version, downloads of one workbook or of a month's as a zip."""

import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_login import current_user

from crm import background
from crm.auth.models import Role
from crm.auth.permissions import role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.errors import DomainError
from crm.exports import jobs, operations
from crm.exports.forms import ReportForm, region_choices
from crm.exports.metrics import parse_month
from crm.exports.models import MonthlyReport, ReportStatus
from crm.extensions import db
from crm.forms import attach_errors
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.regions.models import Region

bp = Blueprint("reports", __name__, url_prefix="/reports")
REPORTERS = (Role.ADMIN, Role.CHIEF, Role.VIEWER)
ARCHIVE_ROWS = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _archive() -> list[MonthlyReport]:
    stmt = scoped(sa.select(MonthlyReport)).order_by(
        MonthlyReport.month.desc(),
        MonthlyReport.region_code,
        MonthlyReport.version.desc(),
    )
    return list(db.session.scalars(stmt.limit(ARCHIVE_ROWS)))


def _page(form: ReportForm, status: int = 200):
    reports = _archive()
    months = list(dict.fromkeys(r.month for r in reports if r.status == ReportStatus.DONE))
    return render_template("reports/index.html", form=form, reports=reports, months=months), status


def _form() -> ReportForm:
    form = ReportForm()
    form.region.choices = region_choices(current_user)
    return form


@bp.get("/")
@role_required(*REPORTERS)
def index():
    form = _form()
    last_month = local_today().replace(day=1) - timedelta(days=1)
    form.month.data = f"{last_month:%Y-%m}"
    form.region.data = current_user.region_code
    return _page(form)


@bp.post("/")
@role_required(*REPORTERS)
def generate():
    form = _form()
    if form.validate_on_submit():
        try:
            month = operations.clean_month(form.month.data, local_today())
            region = db.session.get(Region, form.region.data)
            reports = operations.request_reports(current_user, month, region)
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
        else:
            db.session.commit()
            background.start(jobs.write_requested, [r.id for r in reports])
            month_text = f"{month:%Y-%m}"
            if len(reports) == 1:
                message = _(
                    "Generating the workbook for %(month)s; this page shows its progress.",
                    month=month_text,
                )
            else:
                message = _(
                    "Generating %(n)d workbooks for %(month)s; this page shows their progress.",
                    n=len(reports),
                    month=month_text,
                )
            flash(message, "info")
            return redirect(url_for(".index"), 303)
    return _page(form, 422)


@bp.get("/archive")
@role_required(*REPORTERS)
def archive():
    """The archive table alone: what the page polls while workbooks are being written."""
    return render_template("reports/_archive.html", reports=_archive())


@bp.get("/<int:report_id>/download")
@role_required(*REPORTERS)
def download(report_id: int):
    report = get_scoped_or_404(MonthlyReport, report_id)
    if report.status != ReportStatus.DONE:
        abort(404)
    return send_file(
        _file_or_404(report),
        mimetype=XLSX,
        as_attachment=True,
        download_name=report.download_name,
    )


@bp.get("/<month>/all.zip")
@role_required(*REPORTERS)
def download_month(month: str):
    """The newest version of each of the month's workbooks in the user's scope, in one zip
    (stored as they are: a workbook is compressed already)."""
    try:
        first = parse_month(month)
    except ValueError:
        abort(404)
    reports = operations.latest_reports(current_user, first)
    if not reports:
        abort(404)
    bundle = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 (send_file closes it)
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_STORED) as archive_file:
        for report in reports:
            archive_file.write(_file_or_404(report), report.download_name)
    bundle.seek(0)
    return send_file(
        bundle,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{first:%Y年%m月} 万人助万企走访服务月报.zip",
    )


def _file_or_404(report: MonthlyReport) -> Path:
    path = operations.file_of(report)
    if not path.is_file():
        current_app.logger.error("monthly report %s: file %s is missing", report.id, path)
        abort(404)
    return path


def in_progress(reports: list[MonthlyReport]) -> bool:
    return any(report.in_progress for report in reports)


bp.add_app_template_global(in_progress, "reports_in_progress")
