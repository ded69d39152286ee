"""Reads of the region tree."""

import sqlalchemy as sa
from flask import g
from wtforms import SelectChoice

from crm.auth.scope import scoped
from crm.extensions import db
from crm.regions.models import Region, RegionLevel


def scope_regions(user: object) -> list[Region]:
    """The city and counties a user may assign or filter by: their own region and below."""
    stmt = sa.select(Region).where(Region.level != RegionLevel.TOWNSHIP).order_by(Region.code)
    return list(db.session.scalars(scoped(stmt, user)))


def region_choices(user: object) -> list[SelectChoice]:
    return [SelectChoice(region.code, region.name) for region in scope_regions(user)]


def region_name(code: str) -> str:
    """The name of a region, from a per-request cache of the (small) reference table."""
    if "region_names" not in g:
        g.region_names = dict(db.session.execute(sa.select(Region.code, Region.name)).all())
    return g.region_names.get(code, code)
