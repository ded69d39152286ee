import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.permissions import login_required
from crm.regions.models import Region, RegionLevel

blp = Blueprint("regions_api", __name__, description="Reference data: the region tree")


class RegionSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.Enum(RegionLevel, by_value=True, required=True)
    parent_code = ma.fields.String(required=True, allow_none=True)


class RegionArgsSchema(PageArgsSchema):
    level = ma.fields.Enum(RegionLevel, by_value=True)
    parent = ma.fields.String(validate=ma.validate.Regexp(r"^\d{6,12}$"))
    per_page = WholeNumber(load_default=200, validate=ma.validate.Range(min=1, max=200))


@blp.get("/regions")
@blp.arguments(RegionArgsSchema, location="query")
@blp.response(200, page_of(RegionSchema))
@login_required
def regions(args: dict):
    """Every region (city, counties, townships); reference data, the same for every user."""
    stmt = sa.select(Region).order_by(Region.code)
    if "level" in args:
        stmt = stmt.where(Region.level == args["level"])
    if "parent" in args:
        stmt = stmt.where(Region.parent_code == args["parent"])
    return paginate(stmt, args)
