import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import enum_type
from crm.extensions import db
from crm.i18n import lazy_gettext as _l


class RegionLevel(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"

    @property
    def label(self) -> str:
        return str(REGION_LEVEL_LABELS[self])


REGION_LEVEL_LABELS = {
    RegionLevel.CITY: _l("City"),
    RegionLevel.COUNTY: _l("County/district"),
    RegionLevel.TOWNSHIP: _l("Township/street"),
}


class Region(db.Model):
    __tablename__ = "regions"
    # A region is within a user's scope when it is the user's region or lies below it.
    __scope_column__ = "code"

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(32))
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel))
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("regions.code"), index=True, default=None
    )

    parent: Mapped["Region | None"] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list["Region"]] = relationship(back_populates="parent", order_by="Region.code")

    @property
    def is_root(self) -> bool:
        """The top of the tree: a user scoped here sees every record."""
        return self.parent_code is None

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
