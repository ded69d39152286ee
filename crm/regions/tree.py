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
    return _tree().regions


def children_of(code: str) -> list[RegionInfo]:
    """The regions directly below a region, in code order."""
    return list(_tree().children.get(code, ()))


def codes_below(code: str) -> frozenset[str]:
    """The codes of a region and of every region below it (worked out once per region: every
    check of a user's scope asks, some hundreds of times on a page listing colleagues)."""
    tree = _tree()
    codes = tree.below.get(code)
    if codes is None:
        found, frontier = {code}, [code]
        while frontier:
            frontier = [r.code for parent in frontier for r in tree.children.get(parent, ())]
            found.update(frontier)
        codes = tree.below[code] = frozenset(found)
    return codes


def codes_above(code: str) -> list[str]:
    """The codes of a region and of every region above it, up to the root."""
    tree, codes = _tree().regions, []
    current: str | None = code
    while current is not None and current in tree:
        codes.append(current)
        current = tree[current].parent_code
    return codes


@dataclass
class _Tree:
    regions: dict[str, RegionInfo]
    children: dict[str | None, list[RegionInfo]]
    below: dict[str, frozenset[str]]


def _tree() -> _Tree:
    tree = current_app.extensions.get(EXTENSION_KEY)
    if tree is None:
        rows = db.session.execute(
            sa.select(Region.code, Region.name, Region.level, Region.parent_code).order_by(
                Region.code
            )
        ).all()
        by_code = {row.code: RegionInfo(*row) for row in rows}
        children: dict[str | None, list[RegionInfo]] = {}
        for region in by_code.values():
            children.setdefault(region.parent_code, []).append(region)
        tree = current_app.extensions[EXTENSION_KEY] = _Tree(by_code, children, {})
    return tree
