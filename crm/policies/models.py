import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import TimestampMixin, enum_type
from crm.extensions import db
from crm.i18n import lazy_gettext as _l


class PolicyCategory(enum.StrEnum):
    QUALIFICATION = "qualification"
    TAX = "tax"
    FINANCE = "finance"
    TALENT = "talent"
    PLATFORM = "platform"
    TRANSFER = "transfer"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS = {
    PolicyCategory.QUALIFICATION: _l("Qualification"),
    PolicyCategory.TAX: _l("Tax and subsidies"),
    PolicyCategory.FINANCE: _l("Finance"),
    PolicyCategory.TALENT: _l("Talent"),
    PolicyCategory.PLATFORM: _l("Platforms"),
    PolicyCategory.TRANSFER: _l("Technology transfer"),
    PolicyCategory.OTHER: _l("Other"),
}


class Policy(TimestampMixin, db.Model):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    category: Mapped[PolicyCategory] = mapped_column(enum_type(PolicyCategory))
    summary: Mapped[str] = mapped_column(sa.String(200), default="")
    issuer: Mapped[str] = mapped_column(sa.String(200), default="")
    reference: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
