"""The region tree in memory: reference data that only a migration changes, read once per app
process (a deployment restarts its processes after migrating)."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from crm.extensions import db
from crm.regions.models import Region, RegionLevel

EXTENSION_KEY = "crm.regions"


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


def regions() -> dict[str, RegionInfo]:
    """Every region by code, in code order; read from the database once per app."""
    tree = current_app.extensions.get(EXTENSION_KEY)
    if tree is None:
        rows = db.session.execute(
            sa.select(Region.code, Region.name, Region.level, Region.parent_code).order_by(
                Region.code
            )
        ).all()
        tree = current_app.extensions[EXTENSION_KEY] = {row.code: RegionInfo(*row) for row in rows}
    return tree


def children_of(code: str) -> list[RegionInfo]:
    """The regions directly below a region, in code order."""
    return [region for region in regions().values() if region.parent_code == code]


def codes_below(code: str) -> frozenset[str]:
    """The codes of a region and of every region below it."""
    codes = {code}
    frontier = [code]
    while frontier:
        below = [r.code for parent in frontier for r in children_of(parent)]
        codes.update(below)
        frontier = below
    return frozenset(codes)
