"""The problem ledger's records: what an enterprise asked the bureau to solve."""

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type, utcnow
from crm.enterprises.models import Enterprise, copies_enterprise_county
from crm.extensions import db
from crm.i18n import lazy_gettext as _l

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


class Satisfaction(enum.StrEnum):
    """The enterprise's answer on the call-back (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"

    @property
    def label(self) -> str:
        return str(SATISFACTION_LABELS[self])


SATISFACTION_LABELS = {
    Satisfaction.SATISFIED: _l("Satisfied"),
    Satisfaction.BASICALLY_SATISFIED: _l("Basically satisfied"),
    Satisfaction.DISSATISFIED: _l("Dissatisfied"),
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
    # A major problem (重大问题) gets the longer deadline.
    major: Mapped[bool] = mapped_column(default=False)
    # 交办: to an officer, or to a responsible unit outside the bureau (市人社局, 县自然资源局).
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    unit: Mapped[str] = mapped_column(sa.String(100), default="")
    unit_contact: Mapped[str] = mapped_column(sa.String(100), default="")
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    due_on: Mapped[date | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    first_progress_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_on: Mapped[date | None] = mapped_column(default=None)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(enum_type(Satisfaction), default=None)
    callback_comment: Mapped[str] = mapped_column(sa.String(500), default="")
    closed_on: Mapped[date | None] = mapped_column(default=None)
    closed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reopen_count: Mapped[int] = mapped_column(default=0)
    unresolvable_reason: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped["Visit | None"] = relationship(back_populates="problems")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    events: Mapped[list["ProblemEvent"]] = relationship(
        back_populates="problem",
        order_by="ProblemEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    # The ledger lists newest first within a scope or a status tab, and filters overdue by scope
    # or city-wide; 我的问题 lists one assignee's open problems by due date.
    __table_args__ = (
        sa.Index("ix_problems_county_status_due", "county_code", "status", "due_on"),
        sa.Index("ix_problems_status_due", "status", "due_on"),
        sa.Index("ix_problems_county_raised", "county_code", "raised_on"),
        sa.Index("ix_problems_status_raised", "status", "raised_on"),
        sa.Index("ix_problems_assignee_status_due", "assignee_id", "status", "due_on"),
        sa.Index("ix_problems_raised_on", "raised_on"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def __repr__(self) -> str:
        return f"<Problem {self.id} {self.status}>"


class ProblemEvent(db.Model):
    """One step in a problem's life: who took it, when, from which state to which, and why."""

    __tablename__ = "problem_events"
    # The monthly figures read the reopenings up to a day (the dissatisfied call-backs).
    __table_args__ = (sa.Index("ix_problem_events_step_at", "step", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        sa.ForeignKey("problems.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[ProblemStatus | None] = mapped_column(
        enum_type(ProblemStatus), default=None
    )
    to_status: Mapped[ProblemStatus] = mapped_column(enum_type(ProblemStatus))
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_name: Mapped[str] = mapped_column(sa.String(50), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # What the step set, for the timeline (assignee's name, unit, due date, satisfaction).
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The problem's version after this step: a stale client is shown the steps it missed.
    version: Mapped[int] = mapped_column(default=1)

    problem: Mapped[Problem] = relationship(back_populates="events")
