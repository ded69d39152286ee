"""Region scope: the one way to read scoped records.

A scoped model names its region column in `__scope_column__`; models with a `deleted_at` column
are soft-deleted. `scoped(select(Model), user)` keeps the live rows inside the user's region, and
nothing else: not a visit one led, nor a task one holds, once it lies outside (the user moved, or
its enterprise did). `get_scoped_or_404` loads one record the same way and answers 404 for
anything outside it.
"""

from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from crm.extensions import db
from crm.regions.models import Region
from crm.regions.tree import codes_below

T = TypeVar("T")


def region_codes_within(code: str) -> sa.Select[tuple[str]]:
    """The codes of a region and of every region below it (the tree is three levels deep)."""
    children = sa.select(Region.code).where(Region.parent_code == code)
    return sa.select(Region.code).where(
        sa.or_(
            Region.code == code,
            Region.parent_code == code,
            Region.parent_code.in_(children.scalar_subquery()),
        )
    )


def codes_within(code: str) -> frozenset[str]:
    """The codes of a region and of every region below it (from the tree in memory)."""
    return codes_below(code)


def region_filter(column: Any, user: Any) -> sa.ColumnElement[bool]:
    """A condition keeping rows whose region `column` lies within the user's scope.

    The codes are written into the statement, not read by a subquery: the planner then knows
    which counties it reads and picks their index (a subquery hides them until run time)."""
    if user is None or not user.is_authenticated:
        raise PermissionError("a scoped read needs an authenticated user")
    if user.region.is_root:
        return sa.true()
    return column.in_(sorted(codes_within(user.region_code)))


def scoped(
    stmt: sa.Select[Any], user: Any = None, *, joined: tuple[type, ...] = ()
) -> sa.Select[Any]:
    """Keep the rows of every selected scoped model (and of `joined` ones) in the user's scope.

    Deleted rows are left out too. A scoped model that is joined but not selected must be named
    in `joined`, or its rows are not filtered.
    """
    user = user if user is not None else current_user
    selected = [column.get("entity") for column in stmt.column_descriptions]
    models = dict.fromkeys(m for m in (*selected, *joined) if hasattr(m, "__scope_column__"))
    if not models:
        raise TypeError("scoped() needs a select of a scoped model")
    for model in models:
        stmt = stmt.where(region_filter(getattr(model, model.__scope_column__), user))
        if hasattr(model, "deleted_at"):
            stmt = stmt.where(model.deleted_at.is_(None))
    return stmt


def get_scoped_or_404(model: type[T], ident: Any, user: Any = None) -> T:
    """Load one record by id within the user's scope, or 404 (never 403, which would leak)."""
    record = db.session.scalars(scoped(sa.select(model).where(model.id == ident), user)).first()
    if record is None:
        abort(404)
    return record


def in_scope(user: Any, region_code: str | None) -> bool:
    """True when a record in `region_code` lies within the user's scope."""
    if user.region.is_root:
        return True
    return region_code is not None and region_code in codes_within(user.region_code)
