"""Reads of the region tree (small reference data, held in memory: crm.regions.tree)."""

import sqlalchemy as sa
from wtforms import SelectChoice

from crm.auth.scope import scoped
from crm.extensions import db
from crm.regions.models import Region, RegionLevel
from crm.regions.tree import regions


def region_name(code: str) -> str:
    """The name of a region, or the code itself when it is not in the tree."""
    found = regions().get(code)
    return found.name if found else code


def scope_regions(user: object) -> list[Region]:
    """The city and counties a user may assign or filter by: their own region and below."""
    stmt = sa.select(Region).where(Region.level != RegionLevel.TOWNSHIP).order_by(Region.code)
    return list(db.session.scalars(scoped(stmt, user)))


def region_choices(user: object) -> list[SelectChoice]:
    return [SelectChoice(region.code, region.name) for region in scope_regions(user)]
