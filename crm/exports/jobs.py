"""Writing the workbooks asked for, each in its own transaction: the reports page's background
work, the command line, and the scheduler's run on the 1st. No write transaction stays open
while a workbook is written (SQLite allows one writer at a time, and a city workbook takes a
while); progress goes to the database on a connection of its own, for the page to poll."""

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from crm.exports import operations
from crm.exports.metrics import Period
from crm.exports.models import MonthlyReport, ReportOrigin, ReportStatus
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import local_date
from crm.regions.models import Region

PROGRESS_STEP = 5  # percent between two progress writes


def write_requested(report_ids: list[int]) -> int:
    """Write the waiting workbooks one by one; a failed one is marked and the next goes on.
    The number written."""
    written = 0
    for report_id in report_ids:
        report = db.session.get(MonthlyReport, report_id)
        if report is None or report.status != ReportStatus.PENDING:
            continue
        report.status = ReportStatus.RUNNING
        db.session.commit()
        try:
            operations.generate(report, _progress_writer(report_id))
            db.session.commit()
            written += 1
        except Exception:
            db.session.rollback()
            current_app.logger.exception("monthly report %s failed", report_id)
            _set(report_id, status=ReportStatus.FAILED, error=_("Writing the workbook failed."))
    return written


def _progress_writer(report_id: int) -> Callable[[int], None]:
    last = [0]

    def write(percent: int) -> None:
        if percent - last[0] >= PROGRESS_STEP:
            last[0] = percent
            _set(report_id, progress=min(percent, 99))

    return write


def _set(report_id: int, **values: object) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(MonthlyReport).where(MonthlyReport.id == report_id).values(**values)
        )


def monthly_job(due: datetime) -> int:
    """The scheduler's run due on the 1st: the month before's workbooks, the city's and each
    county's. A run cut off and tried again writes only the workbooks still missing."""
    first = local_date(due).replace(day=1)
    month = Period.of(first, first).previous(first).first
    city = db.session.scalar(sa.select(Region).where(Region.parent_code.is_(None)))
    if city is None:
        return 0
    made = set(
        db.session.scalars(
            sa.select(MonthlyReport.region_code).where(
                MonthlyReport.month == month,
                MonthlyReport.origin == ReportOrigin.SCHEDULER,
                MonthlyReport.status == ReportStatus.DONE,
            )
        )
    )
    ids = []
    for region in operations.regions_for(city):
        if region.code not in made:
            reports = operations.request_reports(
                None, month, region, origin=ReportOrigin.SCHEDULER, including_counties=False
            )
            ids += [report.id for report in reports]
    db.session.commit()
    written = write_requested(ids)
    if written < len(ids):  # the job is marked failed and tried again: those are missing
        raise RuntimeError(f"{len(ids) - written} of {len(ids)} workbooks failed")
    return written
