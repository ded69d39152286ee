"""/api/v1/enterprises: search, read, register and change enterprises within the caller's scope."""

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber, record_id
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.permissions import EDITORS, login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.enterprises import operations
from crm.enterprises.models import Enterprise, Scale, SpecializedLevel
from crm.enterprises.queries import editable_or_403, searched
from crm.extensions import db

blp = Blueprint("enterprises_api", __name__, description="The enterprise registry")


def count() -> ma.fields.Integer:
    return WholeNumber(allow_none=True, validate=ma.validate.Range(min=0))


def money() -> ma.fields.Decimal:
    # The bound documented as a number (apispec would write the Decimal as the string "0.00").
    return ma.fields.Decimal(
        places=2, allow_none=True, validate=ma.validate.Range(min=0), metadata={"minimum": 0}
    )


class ContactSchema(ma.Schema):
    id = WholeNumber(required=True)
    name = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    phone = ma.fields.String(required=True)
    primary = ma.fields.Boolean(required=True)


class EnterpriseSummarySchema(ma.Schema):
    id = WholeNumber(required=True)
    name = ma.fields.String(required=True)
    credit_code = ma.fields.String(required=True)
    county_code = ma.fields.String(required=True)
    county_name = ma.fields.String(required=True, attribute="county.name")
    township_code = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True)
    high_tech = ma.fields.Boolean(required=True)
    tech_sme = ma.fields.Boolean(required=True)
    specialized = ma.fields.Enum(SpecializedLevel, by_value=True, allow_none=True)
    liaison_id = WholeNumber(allow_none=True)
    last_visited_on = ma.fields.Date(allow_none=True)


class EnterpriseSchema(EnterpriseSummarySchema):
    credit_code_unverified = ma.fields.Boolean(required=True)
    address = ma.fields.String(required=True)
    legal_representative = ma.fields.String(required=True)
    founded_on = ma.fields.Date(allow_none=True)
    scale = ma.fields.Enum(Scale, by_value=True, allow_none=True)
    above_scale = ma.fields.Boolean(required=True)
    staff = WholeNumber(allow_none=True)
    tech_staff = WholeNumber(allow_none=True)
    revenue = ma.fields.Float(allow_none=True, metadata={"description": "万元"})
    rnd_expense = ma.fields.Float(allow_none=True, metadata={"description": "万元"})
    high_tech_revenue = ma.fields.Float(allow_none=True, metadata={"description": "万元"})
    ip_class1 = WholeNumber(allow_none=True)
    ip_class2 = WholeNumber(allow_none=True)
    high_tech_certificate = ma.fields.String(required=True)
    high_tech_valid_until = ma.fields.Date(allow_none=True)
    tech_sme_number = ma.fields.String(required=True)
    tech_sme_year = WholeNumber(allow_none=True)
    tags = ma.fields.List(ma.fields.String(), required=True)
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema), required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class EnterpriseInputSchema(ma.Schema):
    """What a client may send; the rules themselves are those of the web form."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(max=200))
    credit_code = ma.fields.String(required=True, validate=ma.validate.Length(max=40))
    credit_code_confirmed = ma.fields.Boolean(load_default=False)
    county_code = ma.fields.String(required=True, validate=ma.validate.Length(max=12))
    township_code = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=12))
    industry = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=3))
    address = ma.fields.String(validate=ma.validate.Length(max=200))
    legal_representative = ma.fields.String(validate=ma.validate.Length(max=50))
    founded_on = ma.fields.Date(allow_none=True)
    scale = ma.fields.Enum(Scale, by_value=True, allow_none=True)
    above_scale = ma.fields.Boolean()
    staff = count()
    tech_staff = count()
    revenue = money()
    rnd_expense = money()
    high_tech_revenue = money()
    ip_class1 = count()
    ip_class2 = count()
    high_tech = ma.fields.Boolean()
    high_tech_certificate = ma.fields.String(validate=ma.validate.Length(max=32))
    high_tech_valid_until = ma.fields.Date(allow_none=True)
    tech_sme = ma.fields.Boolean()
    tech_sme_number = ma.fields.String(validate=ma.validate.Length(max=32))
    tech_sme_year = WholeNumber(allow_none=True)
    specialized = ma.fields.Enum(SpecializedLevel, by_value=True, allow_none=True)
    liaison_id = record_id(allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=20)))


class EnterprisePatchSchema(EnterpriseInputSchema):
    """The same fields, each optional (used with partial=True)."""


class EnterpriseArgsSchema(PageArgsSchema):
    q = ma.fields.String(
        validate=ma.validate.Length(max=100),
        metadata={"description": "name part, pinyin initials or full pinyin, credit-code prefix"},
    )
    county = ma.fields.String(validate=ma.validate.Regexp(r"^\d{6}$"))


@blp.get("/enterprises")
@blp.arguments(EnterpriseArgsSchema, location="query")
@blp.response(200, page_of(EnterpriseSummarySchema))
@login_required
def enterprises(args: dict):
    """Enterprises in the caller's scope; with q, best matches first."""
    stmt = scoped(sa.select(Enterprise), current_user)
    if county := args.get("county"):
        stmt = stmt.where(Enterprise.county_code == county)
    found = searched(stmt, args.get("q", ""))
    if found is None:
        found = stmt.order_by(Enterprise.name_pinyin, Enterprise.id)
    return paginate(found, args)


@blp.post("/enterprises")
@blp.arguments(EnterpriseInputSchema)
@blp.response(201, EnterpriseSchema)
@role_required(*EDITORS)
def create_enterprise(values: dict):
    """Register an enterprise; an invalid code is 422, an already registered one 409."""
    confirmed = values.pop("credit_code_confirmed")
    enterprise = operations.create_enterprise(current_user, values, confirmed=confirmed)
    db.session.commit()
    return enterprise


@blp.get("/enterprises/<int:enterprise_id>")
@blp.response(200, EnterpriseSchema)
@login_required
def enterprise(enterprise_id: int):
    """One enterprise with its contacts (404 outside the caller's scope)."""
    return get_scoped_or_404(Enterprise, enterprise_id)


@blp.patch("/enterprises/<int:enterprise_id>")
@blp.arguments(EnterprisePatchSchema(partial=True))
@blp.response(200, EnterpriseSchema)
@role_required(*EDITORS)
def update_enterprise(values: dict, enterprise_id: int):
    """Change the fields sent; the others stay as they are."""
    enterprise = editable_or_403(enterprise_id)
    confirmed = values.pop("credit_code_confirmed", False)
    operations.update_enterprise(current_user, enterprise, values, confirmed=confirmed)
    db.session.commit()
    return enterprise
