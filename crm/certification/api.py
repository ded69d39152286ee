"""/api/v1/certifications and /api/v1/eligibility: pipeline cases in the caller's scope, their
stage moves, and the two eligibility checks on figures given in the body."""

import math

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber, record_id
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.permissions import login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.certification import operations
from crm.certification.eligibility import check_high_tech, check_tech_sme, impossible_figures
from crm.certification.models import CertificationCase, Programme, Stage
from crm.certification.workflow import CASE_ROLES
from crm.enterprises.models import Enterprise
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import local_today
from crm.text import is_clean

blp = Blueprint("certification_api", __name__, description="The certification pipeline")


class StageEventSchema(ma.Schema):
    from_stage = ma.fields.Enum(Stage, by_value=True, allow_none=True)
    to_stage = ma.fields.Enum(Stage, by_value=True, required=True)
    actor_name = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)
    note = ma.fields.String(required=True)


class CaseSchema(ma.Schema):
    id = WholeNumber(required=True)
    enterprise_id = WholeNumber(required=True)
    enterprise_name = ma.fields.String(required=True, attribute="enterprise.name")
    county_code = ma.fields.String(required=True)
    programme = ma.fields.Enum(Programme, by_value=True, required=True)
    year = WholeNumber(required=True)
    batch = ma.fields.String(required=True)
    stage = ma.fields.Enum(Stage, by_value=True, required=True)
    owner_id = WholeNumber(allow_none=True)
    figures = ma.fields.Dict(required=True)
    submitted_on = ma.fields.Date(allow_none=True)
    result_on = ma.fields.Date(allow_none=True)
    certificate_no = ma.fields.String(required=True)
    valid_from = ma.fields.Date(allow_none=True)
    valid_until = ma.fields.Date(allow_none=True)
    renews_id = WholeNumber(allow_none=True)
    version = WholeNumber(required=True)


class CaseDetailSchema(CaseSchema):
    events = ma.fields.List(ma.fields.Nested(StageEventSchema), required=True)


class CaseArgsSchema(PageArgsSchema):
    programme = ma.fields.Enum(Programme, by_value=True)
    year = WholeNumber(validate=ma.validate.Range(min=2000, max=2100))
    stage = ma.fields.Enum(Stage, by_value=True)
    enterprise_id = record_id()


class CaseInputSchema(ma.Schema):
    """Types only: the case's rules (and their Chinese messages) are the operation's."""

    enterprise_id = record_id(required=True)
    programme = ma.fields.String(validate=ma.validate.Length(max=16))
    year = WholeNumber(validate=ma.validate.Range(min=1, max=9999))
    batch = ma.fields.String()
    owner_id = WholeNumber(allow_none=True)
    notes = ma.fields.String()
    figures = ma.fields.Dict(
        keys=ma.fields.String(validate=lambda key: _figure_key(key)),
        values=ma.fields.Raw(allow_none=True, validate=lambda value: _plain_figure(value)),
        metadata={"description": "the figures of the eligibility check, by its field names"},
    )


class MoveSchema(ma.Schema):
    to = ma.fields.Enum(Stage, by_value=True, required=True)
    version = WholeNumber(required=True)
    on = ma.fields.Date(
        allow_none=True, metadata={"description": "submitted, certified or registered on"}
    )
    certificate_no = ma.fields.String()
    note = ma.fields.String()


class CriterionSchema(ma.Schema):
    key = ma.fields.String(required=True)
    passed = ma.fields.Boolean(required=True)
    value = ma.fields.Raw(allow_none=True)
    threshold = ma.fields.Raw(allow_none=True)
    explanation = ma.fields.String(required=True)


class EligibilitySchema(ma.Schema):
    eligible = ma.fields.Boolean(required=True)
    criteria = ma.fields.List(ma.fields.Nested(CriterionSchema), required=True)


# Bounds documented as numbers too (apispec would write a Decimal field's bounds as strings).
MONEY = {
    "allow_none": True,
    "validate": ma.validate.Range(min=0, max=10**9),
    "metadata": {"minimum": 0, "maximum": 10**9},
}
COUNT = {"allow_none": True, "validate": ma.validate.Range(min=0, max=10**7)}


class HighTechFiguresSchema(ma.Schema):
    founded_on = ma.fields.Date(allow_none=True)
    apply_on = ma.fields.Date(allow_none=True)
    ip_class1 = WholeNumber(**COUNT)
    ip_class2 = WholeNumber(**COUNT)
    field = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=32))
    staff = WholeNumber(**COUNT)
    tech_staff = WholeNumber(**COUNT)
    sales_last_year = ma.fields.Decimal(**MONEY)
    sales_3y = ma.fields.Decimal(**MONEY)
    rnd_3y = ma.fields.Decimal(**MONEY)
    rnd_domestic_3y = ma.fields.Decimal(**MONEY)
    high_tech_revenue = ma.fields.Decimal(**MONEY)
    total_revenue = ma.fields.Decimal(**MONEY)
    innovation_score = ma.fields.Decimal(
        allow_none=True,
        validate=ma.validate.Range(min=0, max=100),
        metadata={"minimum": 0, "maximum": 100},
    )
    major_incident = ma.fields.Boolean()


class TechSmeFiguresSchema(ma.Schema):
    staff = WholeNumber(**COUNT)
    tech_staff = WholeNumber(**COUNT)
    sales = ma.fields.Decimal(**MONEY)
    assets = ma.fields.Decimal(**MONEY)
    rnd = ma.fields.Decimal(**MONEY)
    total_cost = ma.fields.Decimal(**MONEY)
    ip_class1 = WholeNumber(**COUNT)
    ip_class2 = WholeNumber(**COUNT)
    major_incident = ma.fields.Boolean()
    high_tech_valid = ma.fields.Boolean()
    provincial_rnd_institution = ma.fields.Boolean()
    national_award = ma.fields.Boolean()
    led_standard = ma.fields.Boolean()


FIGURE_KEYS = frozenset(HighTechFiguresSchema().fields) | frozenset(TechSmeFiguresSchema().fields)


def _figure_key(key: str) -> None:
    if key not in FIGURE_KEYS:
        raise ma.ValidationError("Not a figure of the eligibility check.")


def _plain_figure(value: object) -> None:
    """A figure as the eligibility check keeps it: a yes/no, a finite number, or a short text
    (a date, an amount written out)."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int | float) and math.isfinite(value) and abs(value) <= 10**12:
        return
    if isinstance(value, str) and len(value) <= 64 and is_clean(value):
        return
    raise ma.ValidationError("A yes/no, a number or a short text.")


@blp.get("/certifications")
@blp.arguments(CaseArgsSchema, location="query")
@blp.response(200, page_of(CaseSchema))
@login_required
def cases(args: dict):
    """Pipeline cases in the caller's scope, the longest in their stage first."""
    stmt = scoped(sa.select(CertificationCase).join(Enterprise), current_user, joined=(Enterprise,))
    for name in ("programme", "year", "stage", "enterprise_id"):
        if name in args:
            stmt = stmt.where(getattr(CertificationCase, name) == args[name])
    stmt = stmt.order_by(CertificationCase.stage_since, CertificationCase.id)
    return paginate(stmt, args)


@blp.post("/certifications")
@blp.arguments(CaseInputSchema)
@blp.response(201, CaseDetailSchema)
@role_required(*CASE_ROLES)
def open_case(values: dict):
    """Open a case (储备) for an enterprise in scope; one open case per programme. Figures that
    cannot all be true are refused, as the eligibility check refuses them."""
    enterprise = get_scoped_or_404(Enterprise, values.pop("enterprise_id", 0))
    _possible(values.get("figures") or {}, under="figures.")
    case = operations.open_case(current_user, enterprise, values)
    db.session.commit()
    return case


@blp.get("/certifications/<int:case_id>")
@blp.response(200, CaseDetailSchema)
@login_required
def case(case_id: int):
    """One case with its history (404 outside the caller's scope)."""
    return get_scoped_or_404(CertificationCase, case_id)


@blp.post("/certifications/<int:case_id>/stage")
@blp.arguments(MoveSchema)
@blp.response(200, CaseDetailSchema)
@role_required(*CASE_ROLES)
def move(values: dict, case_id: int):
    """Move the case to `to`; a stale version is 409, a move not allowed 403 or 422."""
    found = get_scoped_or_404(CertificationCase, case_id)
    operations.move_case(current_user, found, values.pop("to"), values.pop("version"), values)
    db.session.commit()
    return found


@blp.post("/eligibility/high-tech")
@blp.arguments(HighTechFiguresSchema)
@blp.response(200, EligibilitySchema)
@login_required
def high_tech(figures: dict):
    """The 高新技术企业 check on the figures given (money in 万元); applying today when
    `apply_on` is not given."""
    figures["apply_on"] = figures.get("apply_on") or local_today()
    return check_high_tech(_possible(figures))


@blp.post("/eligibility/tech-sme")
@blp.arguments(TechSmeFiguresSchema)
@blp.response(200, EligibilitySchema)
@login_required
def tech_sme(figures: dict):
    """The 科技型中小企业 check on the figures given (money in 万元)."""
    return check_tech_sme(_possible(figures))


def _possible(figures: dict, under: str = "") -> dict:
    """The figures, when they can all be true; a 422 naming each one that cannot (its field
    name after `under`, a case's "figures.")."""
    if wrong := impossible_figures(figures):
        fields = {f"{under}{name}": [message] for name, message in wrong.items()}
        raise ValidationFailed(next(iter(wrong.values())), fields)
    return figures
