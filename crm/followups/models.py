"""跟进任务 and notifications: what an officer must do by when, and what the system tells whom."""

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type, utcnow
from crm.enterprises.models import Enterprise, copies_enterprise_county
from crm.extensions import db
from crm.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from crm.problems.models import Problem
    from crm.visits.models import Visit


class FollowUpStatus(enum.StrEnum):
    TODO = "todo"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    FollowUpStatus.TODO: _l("To do"),
    FollowUpStatus.DONE: _l("Completed"),
    FollowUpStatus.CANCELLED: _l("Cancelled"),
}


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"

    @property
    def label(self) -> str:
        return str(PRIORITY_LABELS[self])


PRIORITY_LABELS = {
    Priority.LOW: _l("Low"),
    Priority.NORMAL: _l("Normal"),
    Priority.HIGH: _l("High"),
}


class Repeat(enum.StrEnum):
    """A task that comes back: completing one creates the next, a month or a quarter later."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def label(self) -> str:
        return str(REPEAT_LABELS[self])

    @property
    def months(self) -> int:
        return 1 if self is Repeat.MONTHLY else 3


REPEAT_LABELS = {Repeat.MONTHLY: _l("Every month"), Repeat.QUARTERLY: _l("Every quarter")}


@copies_enterprise_county
class FollowUp(TimestampMixin, db.Model):
    __tablename__ = "followups"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The number the task's form or API client gave it: a repeated submission (a retry on a
    # weak network, a second tap) finds the task stored the first time instead of a twin.
    client_uuid: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, unique=True, default=None)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    # The enterprise's county, copied so that task lists filter without a join.
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    # Where the task comes from, when not directly from the enterprise.
    visit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("visits.id", ondelete="SET NULL"), index=True, default=None
    )
    problem_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("problems.id", ondelete="SET NULL"), index=True, default=None
    )
    title: Mapped[str] = mapped_column(sa.String(100))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_on: Mapped[date]
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), default=Priority.NORMAL)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_type(FollowUpStatus), default=FollowUpStatus.TODO
    )
    repeat: Mapped[Repeat | None] = mapped_column(enum_type(Repeat), default=None)
    # The series' day of the month: a task due on the 31st comes back on the last day of
    # shorter months, and on the 31st again when the month has one.
    repeat_day: Mapped[int | None] = mapped_column(default=None)
    # The task this one repeats (the series' previous occurrence).
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("followups.id", ondelete="SET NULL"), unique=True, default=None
    )
    outcome: Mapped[str] = mapped_column(sa.Text, default="")
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    closed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Reminder bookkeeping: when the due-soon reminder went out, and when the overdue task was
    # escalated (both cleared when the task is reassigned or its due date moves).
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped["Visit | None"] = relationship()
    problem: Mapped["Problem | None"] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    # 我的任务 lists one assignee's open tasks by due date, and the last ones done (an officer's
    # done tasks only grow); the board and the reminder jobs read a scope's or the whole city's
    # open tasks by due date.
    __table_args__ = (
        sa.Index("ix_followups_assignee_status_due", "assignee_id", "status", "due_on"),
        sa.Index("ix_followups_assignee_status_completed", "assignee_id", "status", "completed_at"),
        sa.Index("ix_followups_county_status_due", "county_code", "status", "due_on"),
        sa.Index("ix_followups_status_due", "status", "due_on"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def __repr__(self) -> str:
        return f"<FollowUp {self.id} {self.status}>"


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    PROBLEM = "problem"
    CERTIFICATION = "certification"


class Notification(db.Model):
    """A message to one user: shown under the bell in the top bar, and e-mailed when SMTP is
    configured. `key` names the event it reports, so that a job run twice tells it once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    text: Mapped[str] = mapped_column(sa.String(500))
    link: Mapped[str] = mapped_column(sa.String(200), default="")
    key: Mapped[str | None] = mapped_column(sa.String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    # E-mail: claimed by the sender before it sends (None: not sent, or no mail to send).
    mailed_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        sa.Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),
    )
