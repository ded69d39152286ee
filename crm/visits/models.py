"""A visit to an enterprise (走访记录), the policies explained in it and its attachments."""

import enum
import uuid
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type
from crm.enterprises.models import Enterprise, copies_enterprise_county
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.policies.models import Policy
from crm.problems.models import Problem


class VisitMode(enum.StrEnum):
    ONSITE = "onsite"
    MEETING = "meeting"
    PHONE = "phone"
    VIDEO = "video"
    POLICY_DELIVERY = "policy_delivery"

    @property
    def label(self) -> str:
        return str(MODE_LABELS[self])


MODE_LABELS = {
    VisitMode.ONSITE: _l("On-site visit"),
    VisitMode.MEETING: _l("Meeting"),
    VisitMode.PHONE: _l("Phone call"),
    VisitMode.VIDEO: _l("Video call"),
    VisitMode.POLICY_DELIVERY: _l("Policy delivery"),
}

visit_companions = sa.Table(
    "visit_companions",
    db.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_visit_companions_user_id", "user_id"),
)


@copies_enterprise_county
class Visit(TimestampMixin, db.Model):
    __tablename__ = "visits"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made by the device that recorded the visit: a retried submission is stored once.
    client_uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    # The enterprise's county, copied so that lists filter by county and month on one index.
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    visit_date: Mapped[date]
    mode: Mapped[VisitMode] = mapped_column(enum_type(VisitMode))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    people_met: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text)
    next_step: Mapped[str] = mapped_column(sa.String(500), default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6), default=None)
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6), default=None)
    # The follow-up the officer asked for; the follow-up feature turns it into a task.
    followup_title: Mapped[str] = mapped_column(sa.String(100), default="")
    followup_due_on: Mapped[date | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    enterprise: Mapped[Enterprise] = relationship()
    lead: Mapped[User] = relationship(foreign_keys=[lead_id])
    companions: Mapped[list[User]] = relationship(
        secondary=visit_companions, order_by="User.display_name"
    )
    policies: Mapped[list["VisitPolicy"]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="VisitPolicy.policy_id"
    )
    problems: Mapped[list[Problem]] = relationship(back_populates="visit", order_by=Problem.id)
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    __table_args__ = (
        sa.Index("ix_visits_county_date", "county_code", "visit_date", "id"),
        sa.Index("ix_visits_date", "visit_date", "id"),
        sa.Index("ix_visits_enterprise_date", "enterprise_id", "visit_date"),
        sa.Index("ix_visits_lead_date", "lead_id", "visit_date"),
    )

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.visit_date}>"


class VisitPolicy(db.Model):
    """A policy explained during a visit, with what was said about it."""

    __tablename__ = "visit_policies"

    visit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("policies.id"), primary_key=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    visit: Mapped[Visit] = relationship(back_populates="policies")
    policy: Mapped[Policy] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (sa.Index("ix_visit_policies_policy_id", "policy_id"),)


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    PDF = "pdf"
    OFFICE = "office"


class Attachment(TimestampMixin, db.Model):
    """A photo or document of a visit; the file lives in ATTACHMENT_FOLDER under `stored_name`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AttachmentKind] = mapped_column(enum_type(AttachmentKind))
    # The name the user's device gave the file, cleaned; only ever shown, never used as a path.
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    visit: Mapped[Visit] = relationship(back_populates="attachments")
