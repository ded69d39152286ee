"""The list envelope of the API: {"items": [...], "total": N, "page": 1, "per_page": 50}."""

from functools import cache
from typing import Any

import marshmallow as ma
import sqlalchemy as sa

from crm.api.fields import WholeNumber
from crm.db import MAX_PAGE_SIZE
from crm.db import paginate as keys_first
from crm.extensions import db

MAX_PER_PAGE = MAX_PAGE_SIZE


class PageArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    page = WholeNumber(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = WholeNumber(load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


@cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope schema listing items of `item_schema`."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "total": WholeNumber(required=True),
            "page": WholeNumber(required=True),
            "per_page": WholeNumber(required=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )


def paginate(stmt: sa.Select[Any], args: dict[str, Any]) -> dict[str, Any]:
    """Run `stmt` for one page and wrap the rows in the envelope."""
    page = keys_first(db.session, stmt, page=args["page"], per_page=args["per_page"], exact=True)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}
