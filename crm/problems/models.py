"""The problem ledger's records: what an enterprise asked the bureau to solve."""

import enum
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type
from crm.enterprises.models import Enterprise, copies_enterprise_county
from crm.extensions import db

if TYPE_CHECKING:
    from crm.visits.models import Visit


class ProblemCategory(enum.StrEnum):
    TALENT = "talent"
    FINANCING = "financing"
    TECHNOLOGY = "technology"
    CERTIFICATION = "certification"
    LAND = "land"
    POLICY = "policy"
    MARKET = "market"
    APPROVAL = "approval"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS = {
    ProblemCategory.TALENT: _l("Talent"),
    ProblemCategory.FINANCING: _l("Financing"),
    ProblemCategory.TECHNOLOGY: _l("Technology"),
    ProblemCategory.CERTIFICATION: _l("Certification"),
    ProblemCategory.LAND: _l("Land and premises"),
    ProblemCategory.POLICY: _l("Policy benefits"),
    ProblemCategory.MARKET: _l("Market"),
    ProblemCategory.APPROVAL: _l("Approvals"),
    ProblemCategory.OTHER: _l("Other"),
}


class ProblemStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    UNRESOLVABLE = "unresolvable"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ProblemStatus.NEW: _l("To be assigned"),
    ProblemStatus.ASSIGNED: _l("Assigned"),
    ProblemStatus.IN_PROGRESS: _l("In progress"),
    ProblemStatus.RESOLVED: _l("Resolved, awaiting call-back"),
    ProblemStatus.CLOSED: _l("Closed"),
    ProblemStatus.UNRESOLVABLE: _l("Cannot be solved for now"),
}


@copies_enterprise_county
class Problem(TimestampMixin, db.Model):
    __tablename__ = "problems"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    # The enterprise's county, copied so that the ledger filters without a join.
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    visit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("visits.id", ondelete="SET NULL"), index=True, default=None
    )
    category: Mapped[ProblemCategory] = mapped_column(enum_type(ProblemCategory))
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    raised_on: Mapped[date]
    status: Mapped[ProblemStatus] = mapped_column(
        enum_type(ProblemStatus), default=ProblemStatus.NEW
    )
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped["Visit | None"] = relationship(back_populates="problems")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_problems_county_status", "county_code", "status"),
        sa.Index("ix_problems_raised_on", "raised_on"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def __repr__(self) -> str:
        return f"<Problem {self.id} {self.status}>"
