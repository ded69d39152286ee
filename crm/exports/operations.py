"""Generating and archiving monthly workbooks: by the scheduler on the 1st, from the reports page
(in the background, with progress), and from the command line. Every generation is a new
version; earlier files stay in the archive."""

import hashlib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from crm.audit.operations import record_audit
from crm.auth.scope import in_scope
from crm.db import utcnow
from crm.errors import ValidationFailed
from crm.exports.metrics import Period, counties_of, parse_month
from crm.exports.models import MonthlyReport, ReportStatus
from crm.exports.workbook import write_workbook
from crm.extensions import db
from crm.i18n import local_date, local_today
from crm.regions.models import Region

PROGRESS_STEP = 5  # percent between two progress writes


def folder() -> Path:
    path = Path(current_app.config["REPORT_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(report: MonthlyReport) -> Path:
    return folder() / report.stored_name


def clean_month(text: str | None, today: date) -> date:
    """The first day of a month given as YYYY-MM that has begun; ValidationFailed otherwise."""
    try:
        month = parse_month(text or "")
    except ValueError:
        raise ValidationFailed(
            _("Give the month as YYYY-MM."), {"month": [_("Give the month as YYYY-MM.")]}
        ) from None
    if month > today:
        message = _("That month has not begun yet.")
        raise ValidationFailed(message, {"month": [message]})
    return month


def regions_for(region: Region, including_counties: bool = True) -> list[Region]:
    """The workbooks a region's generation makes: its own, and for the city each county's."""
    regions = [region]
    if region.is_root and including_counties:
        codes = counties_of(region)
        regions += db.session.scalars(sa.select(Region).where(Region.code.in_(codes))).all()
        regions[1:] = sorted(regions[1:], key=lambda r: r.code)
    return regions


def request_reports(
    actor, month: date, region: Region, *, including_counties: bool = True
) -> list[MonthlyReport]:
    """New versions (waiting) of the month's workbooks for the region (and, for the city,
    each county's); flushed, not written."""
    if actor is not None and not in_scope(actor, region.code):
        raise ValidationFailed(
            _("You may not generate that region's report."),
            {"region": [_("Outside your region.")]},
        )
    reports = []
    for target in regions_for(region, including_counties):
        latest = db.session.scalar(
            sa.select(sa.func.max(MonthlyReport.version)).where(
                MonthlyReport.month == month, MonthlyReport.region_code == target.code
            )
        )
        report = MonthlyReport(
            month=month,
            region_code=target.code,
            region=target,
            version=(latest or 0) + 1,
            generated_by_id=actor.id if actor is not None else None,
            data_as_of=Period.of(month, local_today()).as_of,
        )
        db.session.add(report)
        reports.append(report)
    db.session.flush()
    record_audit(
        "generate_report",
        reports[0],
        changes={"month": [None, f"{month:%Y-%m}"], "workbooks": [None, len(reports)]},
        actor=actor,
    )
    return reports


def generate(report: MonthlyReport, progress: Callable[[int], None] = lambda p: None) -> None:
    """Write the report's workbook to the archive folder and record what it holds."""
    period = Period.of(report.month, local_today())
    stored = f"{report.month:%Y-%m}-{report.region_code}-v{report.version}-{uuid.uuid4().hex[:8]}"
    partial = folder() / f"{stored}.part"
    try:
        counts = write_workbook(partial, report.region, period, report.generated_at, progress)
        final = partial.with_suffix(".xlsx")
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    report.stored_name = final.name
    report.size = final.stat().st_size
    report.sha256 = _sha256(final)
    report.row_counts = counts
    report.data_as_of = period.as_of
    report.status = ReportStatus.DONE
    report.progress = 100
    report.finished_at = utcnow()
    db.session.flush()


def generate_now(actor, month: date, region: Region) -> list[MonthlyReport]:
    """Request and write the workbooks in this transaction (the scheduler, the command line)."""
    reports = request_reports(actor, month, region)
    for report in reports:
        generate(report)
    return reports


def run_requested(report_ids: list[int]) -> None:
    """Write waiting workbooks one by one, committing each (the web page's background work);
    progress is written on its own connection so the page can poll it while the work reads."""
    for report_id in report_ids:
        report = db.session.get(MonthlyReport, report_id)
        if report is None or report.status != ReportStatus.PENDING:
            continue
        report.status = ReportStatus.RUNNING
        db.session.commit()
        try:
            generate(report, _progress_writer(report_id))
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            current_app.logger.exception("monthly report %s failed", report_id)
            _set(report_id, status=ReportStatus.FAILED, error=str(error)[:500])
            raise


def _progress_writer(report_id: int) -> Callable[[int], None]:
    last = [0]

    def write(percent: int) -> None:
        if percent - last[0] >= PROGRESS_STEP or percent >= 100:
            last[0] = percent
            _set(report_id, progress=min(percent, 99))

    return write


def _set(report_id: int, **values) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(MonthlyReport).where(MonthlyReport.id == report_id).values(**values)
        )


def monthly_job(now: datetime) -> int:
    """The scheduler's run on the 1st: last month's workbooks, the city's and each county's."""
    month = local_date(now).replace(day=1)
    previous = Period.of(month, month).previous(month).first
    city = db.session.scalar(sa.select(Region).where(Region.parent_code.is_(None)))
    return len(generate_now(None, previous, city)) if city is not None else 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
