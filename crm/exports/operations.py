"""Asking for and writing monthly workbooks, and finding them in the archive. Every generation
is a new version; earlier files stay. (crm.exports.jobs runs the writing and commits.)"""

import hashlib
import tempfile
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from crm.audit.labels import register_labels
from crm.audit.operations import record_audit
from crm.auth.models import User
from crm.auth.scope import in_scope, scoped
from crm.db import utcnow
from crm.errors import Conflict, ValidationFailed
from crm.exports.metrics import FIRST_YEAR, Period, counties_of
from crm.exports.models import MonthlyReport, ReportOrigin, ReportStatus
from crm.exports.workbook import write_workbook
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.regions.models import Region

register_labels(
    {"generate_report": _l("Generated monthly workbooks")},
    {"month": _l("Month"), "workbooks": _l("Workbooks")},
    {"monthly_reports": _l("Monthly workbook")},
)


def folder() -> Path:
    path = Path(current_app.config["REPORT_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(report: MonthlyReport) -> Path:
    return folder() / report.stored_name


def clean_month(text: str | None, today: date) -> date:
    """The first day of a month given as YYYY-MM that has begun; ValidationFailed otherwise."""
    try:
        month = datetime.strptime((text or "").strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationFailed(
            _("Give the month as YYYY-MM."), {"month": [_("Give the month as YYYY-MM.")]}
        ) from None
    if month.year < FIRST_YEAR:
        message = _("Months before %(year)d are not kept.", year=FIRST_YEAR)
        raise ValidationFailed(message, {"month": [message]})
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
    actor: User | None,
    month: date,
    region: Region,
    *,
    origin: ReportOrigin = ReportOrigin.USER,
    including_counties: bool = True,
) -> list[MonthlyReport]:
    """New versions (waiting) of the month's workbooks for the region and, for the city, each
    county's; flushed, not written. Refused while any of them is still being written."""
    if actor is not None and not in_scope(actor, region.code):
        raise ValidationFailed(
            _("You may not generate that region's report."),
            {"region": [_("Outside your region.")]},
        )
    targets = regions_for(region, including_counties)
    busy = _being_written(month, [t.code for t in targets])
    if busy:
        raise Conflict(_("These workbooks are being generated; wait until they are ready."))
    reports = []
    try:
        with db.session.begin_nested():
            for target in targets:
                reports.append(_new_version(actor, month, target, origin))
            db.session.flush()
    except IntegrityError:  # someone else asked for the same version at the same moment
        raise Conflict(
            _("These workbooks are being generated; wait until they are ready.")
        ) from None
    record_audit(
        "generate_report",
        reports[0],
        changes={"month": [None, f"{month:%Y-%m}"], "workbooks": [None, len(reports)]},
        actor=actor,
    )
    return reports


def _being_written(month: date, codes: list[str]) -> list[MonthlyReport]:
    stmt = sa.select(MonthlyReport).where(
        MonthlyReport.month == month,
        MonthlyReport.region_code.in_(codes),
        MonthlyReport.status.in_([ReportStatus.PENDING, ReportStatus.RUNNING]),
    )
    return [report for report in db.session.scalars(stmt) if report.in_progress]


def _new_version(
    actor: User | None, month: date, region: Region, origin: ReportOrigin
) -> MonthlyReport:
    latest = db.session.scalar(
        sa.select(sa.func.max(MonthlyReport.version)).where(
            MonthlyReport.month == month, MonthlyReport.region_code == region.code
        )
    )
    report = MonthlyReport(
        month=month,
        region_code=region.code,
        region=region,
        version=(latest or 0) + 1,
        origin=origin,
        generated_by_id=actor.id if actor is not None else None,
        data_as_of=Period.of(month, local_today()).as_of,
    )
    db.session.add(report)
    return report


def generate(report: MonthlyReport, progress: Callable[[int], None] = lambda p: None) -> None:
    """Write the report's workbook into the archive folder and record what it holds. On any
    failure no file is left behind (xlsxwriter's own temporary files included)."""
    period = Period.of(report.month, local_today())
    stored = f"{report.month:%Y-%m}-{report.region_code}-v{report.version}-{uuid.uuid4().hex[:8]}"
    final = folder() / f"{stored}.xlsx"
    with tempfile.TemporaryDirectory(dir=folder(), prefix=".writing-") as scratch:
        partial = Path(scratch) / final.name
        counts = write_workbook(
            partial, report.region, period, report.generated_at, progress, scratch=scratch
        )
        partial.replace(final)
    report.stored_name = final.name
    report.size = final.stat().st_size
    report.sha256 = _sha256(final)
    report.row_counts = counts
    report.data_as_of = period.as_of
    report.status = ReportStatus.DONE
    report.progress = 100
    report.finished_at = utcnow()
    db.session.flush()


def latest_reports(user: User, month: date) -> list[MonthlyReport]:
    """The newest finished version of each of the month's workbooks in the user's scope."""
    latest = (
        sa.select(MonthlyReport.region_code, sa.func.max(MonthlyReport.version).label("version"))
        .where(MonthlyReport.month == month, MonthlyReport.status == ReportStatus.DONE)
        .group_by(MonthlyReport.region_code)
        .subquery()
    )
    stmt = (
        scoped(sa.select(MonthlyReport), user)
        .join(
            latest,
            sa.and_(
                latest.c.region_code == MonthlyReport.region_code,
                latest.c.version == MonthlyReport.version,
            ),
        )
        .where(MonthlyReport.month == month)  # a version number of another month is no match
    )
    return list(db.session.scalars(stmt.order_by(MonthlyReport.region_code)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
