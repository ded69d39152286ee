import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import TimestampMixin, enum_type
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.regions.models import Region

Money = sa.Numeric(14, 2)  # 万元


class Scale(enum.StrEnum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"

    @property
    def label(self) -> str:
        return str(SCALE_LABELS[self])


SCALE_LABELS = {
    Scale.LARGE: _l("Large"),
    Scale.MEDIUM: _l("Medium"),
    Scale.SMALL: _l("Small"),
    Scale.MICRO: _l("Micro"),
}


class SpecializedLevel(enum.StrEnum):
    """专精特新 (specialised, refined, distinctive, innovative SMEs), by who named it."""

    CITY = "city"
    PROVINCE = "province"
    NATIONAL = "national"

    @property
    def label(self) -> str:
        return str(SPECIALIZED_LABELS[self])


SPECIALIZED_LABELS = {
    SpecializedLevel.CITY: _l("City-level specialised SME"),
    SpecializedLevel.PROVINCE: _l("Provincial specialised SME"),
    SpecializedLevel.NATIONAL: _l("National 'little giant'"),
}


# Models keeping a copy of their enterprise's county (visits, problems), so their lists filter by
# county on their own index; the enterprise operations move the copies when the county changes.
COUNTY_COPIES: list[type] = []


def copies_enterprise_county(model: type) -> type:
    """Class decorator: `model` has `enterprise_id` and a `county_code` copied from it."""
    COUNTY_COPIES.append(model)
    return model


class Enterprise(TimestampMixin, db.Model):
    __tablename__ = "enterprises"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    # The check character did not match; a user confirmed the code against the licence.
    credit_code_unverified: Mapped[bool] = mapped_column(default=False)
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    township_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), default=None)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    legal_representative: Mapped[str] = mapped_column(sa.String(50), default="")
    founded_on: Mapped[date | None] = mapped_column(default=None)
    # GB/T 4754-2017: a section letter, optionally followed by the two-digit division ("C39").
    industry: Mapped[str | None] = mapped_column(sa.String(3), index=True, default=None)
    scale: Mapped[Scale | None] = mapped_column(enum_type(Scale), default=None)
    above_scale: Mapped[bool] = mapped_column(default=False)  # 规上
    staff: Mapped[int | None] = mapped_column(default=None)
    tech_staff: Mapped[int | None] = mapped_column(default=None)
    revenue: Mapped[Decimal | None] = mapped_column(Money, default=None)  # last year, 万元
    rnd_expense: Mapped[Decimal | None] = mapped_column(Money, default=None)
    high_tech_revenue: Mapped[Decimal | None] = mapped_column(Money, default=None)
    ip_class1: Mapped[int | None] = mapped_column(default=None)
    ip_class2: Mapped[int | None] = mapped_column(default=None)
    high_tech: Mapped[bool] = mapped_column(default=False)
    high_tech_certificate: Mapped[str] = mapped_column(sa.String(32), default="")
    high_tech_valid_until: Mapped[date | None] = mapped_column(default=None)
    tech_sme: Mapped[bool] = mapped_column(default=False)
    tech_sme_number: Mapped[str] = mapped_column(sa.String(32), default="")
    tech_sme_year: Mapped[int | None] = mapped_column(default=None)
    specialized: Mapped[SpecializedLevel | None] = mapped_column(
        enum_type(SpecializedLevel), default=None
    )
    liaison_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    name_pinyin: Mapped[str] = mapped_column(sa.String(600), default="")
    name_initials: Mapped[str] = mapped_column(sa.String(200), default="")
    # Bigram tokens for the full-text index (crm.enterprises.search); kept by the operations.
    search_doc: Mapped[str] = mapped_column(sa.Text, default="")
    # Kept by the visits feature, so "not visited in N days" needs no scan of the visits.
    last_visited_on: Mapped[date | None] = mapped_column(index=True, default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    county: Mapped[Region] = relationship(foreign_keys=[county_code], lazy="joined", innerjoin=True)
    township: Mapped[Region | None] = relationship(foreign_keys=[township_code])
    liaison: Mapped[User | None] = relationship(foreign_keys=[liaison_id])
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="enterprise",
        order_by="(Contact.primary.desc(), Contact.id)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        # One live enterprise per code; a deleted one may be registered again.
        sa.Index(
            "uq_enterprises_live_credit_code",
            "credit_code",
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_enterprises_county_name", "county_code", "name"),
        # The list's default order (crm.enterprises.queries.SORTS["name"]): a page is read off
        # the index, not sorted out of a city's 100 000 enterprises.
        sa.Index("ix_enterprises_pinyin_order", "name_pinyin", "name", "id"),
    )

    def __repr__(self) -> str:
        return f"<Enterprise {self.credit_code} {self.name}>"


class Contact(TimestampMixin, db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(50), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    primary: Mapped[bool] = mapped_column(default=False)

    enterprise: Mapped[Enterprise] = relationship(back_populates="contacts")
