"""The archive of monthly workbooks: one row per generated file, every version kept."""

import enum
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import enum_type, utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.regions.models import Region


class ReportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ReportStatus.PENDING: _l("Queued"),
    ReportStatus.RUNNING: _l("Generating"),
    ReportStatus.DONE: _l("Ready"),
    ReportStatus.FAILED: _l("Failed"),
}


class ReportOrigin(enum.StrEnum):
    SCHEDULER = "scheduler"
    USER = "user"
    COMMAND = "command"

    @property
    def label(self) -> str:
        return str(ORIGIN_LABELS[self])


ORIGIN_LABELS = {
    ReportOrigin.SCHEDULER: _l("Scheduled job"),
    ReportOrigin.USER: _l("On the reports page"),
    ReportOrigin.COMMAND: _l("Command line"),
}


# A workbook still "being written" this long after it was asked for was cut off (its process
# ended): it is shown as failed and may be asked for again.
STALE_AFTER = timedelta(minutes=30)


class MonthlyReport(db.Model):
    """One generated workbook: a county's, or the city's. Regenerating a month adds a version;
    the earlier files stay."""

    __tablename__ = "monthly_reports"
    __table_args__ = (sa.UniqueConstraint("month", "region_code", "version"),)
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # the first day of the month
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[ReportStatus] = mapped_column(
        enum_type(ReportStatus), default=ReportStatus.PENDING
    )
    progress: Mapped[int] = mapped_column(default=0)  # percent
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    origin: Mapped[ReportOrigin] = mapped_column(enum_type(ReportOrigin), default=ReportOrigin.USER)
    generated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    data_as_of: Mapped[date]
    stored_name: Mapped[str] = mapped_column(sa.String(80), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    row_counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.String(500), default="")

    region: Mapped[Region] = relationship(lazy="joined")
    generated_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def stale(self) -> bool:
        waiting = self.status in (ReportStatus.PENDING, ReportStatus.RUNNING)
        return waiting and utcnow() - self.generated_at > STALE_AFTER

    @property
    def in_progress(self) -> bool:
        return self.status in (ReportStatus.PENDING, ReportStatus.RUNNING) and not self.stale

    @property
    def shown_status(self) -> ReportStatus:
        return ReportStatus.FAILED if self.stale else self.status

    @property
    def download_name(self) -> str:
        version = f"（第{self.version}版）" if self.version > 1 else ""
        return f"{self.month:%Y年%m月} 万人助万企走访服务月报 {self.region.name}{version}.xlsx"
