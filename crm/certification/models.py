"""Certification cases (高企/科小 培育): an enterprise's way to a certificate, stage by stage."""

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type, utcnow
from crm.enterprises.models import Enterprise, copies_enterprise_county
from crm.extensions import db
from crm.i18n import lazy_gettext as _l


class Programme(enum.StrEnum):
    HIGH_TECH = "high_tech"
    TECH_SME = "tech_sme"

    @property
    def label(self) -> str:
        return str(PROGRAMME_LABELS[self])


PROGRAMME_LABELS = {
    Programme.HIGH_TECH: _l("High-tech enterprise"),
    Programme.TECH_SME: _l("Tech-based SME"),
}


class Stage(enum.StrEnum):
    PROSPECT = "prospect"
    COACHING = "coaching"
    PREPARING = "preparing"
    SUBMITTED = "submitted"
    REVIEWING = "reviewing"
    PUBLICIZED = "publicized"
    CERTIFIED = "certified"
    REGISTERED = "registered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(STAGE_LABELS[self])


STAGE_LABELS = {
    Stage.PROSPECT: _l("Prospect"),
    Stage.COACHING: _l("Coaching"),
    Stage.PREPARING: _l("Preparing the application"),
    Stage.SUBMITTED: _l("Submitted"),
    Stage.REVIEWING: _l("Expert review"),
    Stage.PUBLICIZED: _l("Publicized"),
    Stage.CERTIFIED: _l("Certified"),
    Stage.REGISTERED: _l("Registered (tech-based SME)"),
    Stage.REJECTED: _l("Not passed"),
    Stage.WITHDRAWN: _l("Withdrawn"),
}


@copies_enterprise_county
class CertificationCase(TimestampMixin, db.Model):
    __tablename__ = "certification_cases"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    programme: Mapped[Programme] = mapped_column(enum_type(Programme))
    year: Mapped[int]
    batch: Mapped[str] = mapped_column(sa.String(32), default="")  # e.g. 2026年第一批
    stage: Mapped[Stage] = mapped_column(enum_type(Stage), default=Stage.PROSPECT)
    stage_since: Mapped[datetime] = mapped_column(default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # The figures the eligibility check was run on when the case was opened or updated.
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    submitted_on: Mapped[date | None] = mapped_column(default=None)
    result_on: Mapped[date | None] = mapped_column(default=None)
    # Certificate number (高企) or registration number (科小).
    certificate_no: Mapped[str] = mapped_column(sa.String(32), default="")
    valid_from: Mapped[date | None] = mapped_column(default=None)
    valid_until: Mapped[date | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # A re-certification (重新认定) names the case whose certificate runs out; one per case.
    renews_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certification_cases.id", ondelete="SET NULL"), unique=True, default=None
    )
    version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    owner: Mapped[User | None] = relationship()
    events: Mapped[list["StageEvent"]] = relationship(
        back_populates="case",
        order_by="StageEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    # The board reads one programme and year, in scope; the watch reads certificates by expiry.
    __table_args__ = (
        sa.Index("ix_certification_cases_programme_year_stage", "programme", "year", "stage"),
        sa.Index(
            "ix_certification_cases_county_programme_year", "county_code", "programme", "year"
        ),
        sa.Index("ix_certification_cases_stage_valid_until", "stage", "valid_until"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def __repr__(self) -> str:
        return f"<CertificationCase {self.id} {self.programme} {self.stage}>"


class StageEvent(db.Model):
    """One move of a case: who, when, from which stage to which, and why."""

    __tablename__ = "certification_stage_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certification_cases.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage | None] = mapped_column(enum_type(Stage), default=None)
    to_stage: Mapped[Stage] = mapped_column(enum_type(Stage))
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_name: Mapped[str] = mapped_column(sa.String(50), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    case: Mapped[CertificationCase] = relationship(back_populates="events")
