"""The archive of monthly workbooks: one row per generated file, every version kept."""

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import enum_type, utcnow
from crm.extensions import db
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
    ReportStatus.PENDING: _l("Waiting"),
    ReportStatus.RUNNING: _l("Generating"),
    ReportStatus.DONE: _l("Ready"),
    ReportStatus.FAILED: _l("Failed"),
}


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
    # None: made by the scheduler (or the command line, which names no user)
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
    def download_name(self) -> str:
        version = f"（第{self.version}版）" if self.version > 1 else ""
        return f"{self.month:%Y年%m月} 万人助万企走访服务月报 {self.region.name}{version}.xlsx"
