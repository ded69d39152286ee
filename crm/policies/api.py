import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.permissions import login_required
from crm.policies.models import Policy, PolicyCategory

blp = Blueprint("policies_api", __name__, description="Reference data: the policy catalogue")


class PolicySchema(ma.Schema):
    id = WholeNumber(required=True)
    name = ma.fields.String(required=True)
    category = ma.fields.Enum(PolicyCategory, by_value=True, required=True)
    summary = ma.fields.String(required=True)
    issuer = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)


class PolicyArgsSchema(PageArgsSchema):
    category = ma.fields.Enum(PolicyCategory, by_value=True)
    include_inactive = ma.fields.Boolean(load_default=False)


@blp.get("/policies")
@blp.arguments(PolicyArgsSchema, location="query")
@blp.response(200, page_of(PolicySchema))
@login_required
def policies(args: dict):
    """The policies officers explain on visits (those in use, unless include_inactive)."""
    stmt = sa.select(Policy).order_by(Policy.category, Policy.position, Policy.id)
    if not args["include_inactive"]:
        stmt = stmt.where(Policy.active.is_(True))
    if "category" in args:
        stmt = stmt.where(Policy.category == args["category"])
    return paginate(stmt, args)
