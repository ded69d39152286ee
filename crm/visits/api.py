"""/api/v1/visits: read visits in scope and record them, idempotent on client_uuid."""

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber, record_id
from crm.api.idempotency import take_idempotency_key
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.permissions import VISITORS, login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.extensions import db
from crm.problems.models import ProblemCategory, ProblemStatus
from crm.visits import operations
from crm.visits.models import AttachmentKind, Visit, VisitMode
from crm.visits.queries import enterprise_for_visit, newest_first, with_full_details

blp = Blueprint("visits_api", __name__, description="Visits to enterprises")


class VisitPolicySchema(ma.Schema):
    policy_id = WholeNumber(required=True)
    name = ma.fields.String(required=True, attribute="policy.name")
    note = ma.fields.String(required=True)


class PersonSchema(ma.Schema):
    id = WholeNumber(required=True)
    display_name = ma.fields.String(required=True)


class RaisedProblemSchema(ma.Schema):
    id = WholeNumber(required=True)
    category = ma.fields.Enum(ProblemCategory, by_value=True, required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    status = ma.fields.Enum(ProblemStatus, by_value=True, required=True)


class AttachmentSchema(ma.Schema):
    id = WholeNumber(required=True)
    kind = ma.fields.Enum(AttachmentKind, by_value=True, required=True)
    filename = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = WholeNumber(required=True)
    url = ma.fields.Method("attachment_url", required=True)

    def attachment_url(self, attachment) -> str:
        return url_for(
            "visits.attachment", visit_id=attachment.visit_id, attachment_id=attachment.id
        )


class VisitSchema(ma.Schema):
    id = WholeNumber(required=True)
    client_uuid = ma.fields.UUID(required=True)
    enterprise_id = WholeNumber(required=True)
    enterprise_name = ma.fields.String(required=True, attribute="enterprise.name")
    county_code = ma.fields.String(required=True)
    visit_date = ma.fields.Date(required=True)
    mode = ma.fields.Enum(VisitMode, by_value=True, required=True)
    lead = ma.fields.Nested(PersonSchema, required=True)
    companions = ma.fields.List(ma.fields.Nested(PersonSchema), required=True)
    people_met = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    policies = ma.fields.List(ma.fields.Nested(VisitPolicySchema), required=True)
    problems = ma.fields.List(ma.fields.Nested(RaisedProblemSchema), required=True)
    next_step = ma.fields.String(required=True)
    location = ma.fields.String(required=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    followup_title = ma.fields.String(required=True)
    followup_due_on = ma.fields.Date(allow_none=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class ProblemInputSchema(ma.Schema):
    """Types only: the problem's rules (and their Chinese messages) are the operation's."""

    category = ma.fields.String(validate=ma.validate.Length(max=32))
    title = ma.fields.String()
    description = ma.fields.String()


class VisitInputSchema(ma.Schema):
    client_uuid = ma.fields.UUID(
        metadata={"description": "made by the client; required unless Idempotency-Key is sent"}
    )
    enterprise_id = record_id()
    visit_date = ma.fields.Date()
    mode = ma.fields.String(validate=ma.validate.Length(max=32))
    summary = ma.fields.String()
    people_met = ma.fields.String()
    next_step = ma.fields.String()
    location = ma.fields.String()
    latitude = ma.fields.Decimal(allow_none=True)
    longitude = ma.fields.Decimal(allow_none=True)
    policy_ids = ma.fields.List(record_id())
    policy_notes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "a note per policy id explained"},
    )
    companion_ids = ma.fields.List(record_id())
    problems = ma.fields.List(ma.fields.Nested(ProblemInputSchema))
    followup_title = ma.fields.String()
    followup_due_on = ma.fields.Date(allow_none=True)


class VisitArgsSchema(PageArgsSchema):
    enterprise_id = record_id()
    county = ma.fields.String(validate=ma.validate.Regexp(r"^\d{6}$"))
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")

    @ma.validates_schema
    def _in_order(self, data: dict, **_: object) -> None:
        if "start" in data and "end" in data and data["end"] < data["start"]:
            raise ma.ValidationError("Must not be earlier than from.", "to")


@blp.get("/visits")
@blp.arguments(VisitArgsSchema, location="query")
@blp.response(200, page_of(VisitSchema))
@login_required
def visits(args: dict):
    """Visits the caller may see, newest first."""
    stmt = scoped(sa.select(Visit), current_user)
    if "enterprise_id" in args:
        stmt = stmt.where(Visit.enterprise_id == args["enterprise_id"])
    if "county" in args:
        stmt = stmt.where(Visit.county_code == args["county"])
    if "start" in args:
        stmt = stmt.where(Visit.visit_date >= args["start"])
    if "end" in args:
        stmt = stmt.where(Visit.visit_date <= args["end"])
    return paginate(with_full_details(newest_first(stmt)), args)


@blp.get("/visits/<int:visit_id>")
@blp.response(200, VisitSchema)
@login_required
def visit(visit_id: int):
    """One visit (404 outside the caller's scope, unless the caller took part in it)."""
    return get_scoped_or_404(Visit, visit_id)


@blp.post("/visits")
@blp.arguments(VisitInputSchema)
@blp.response(201, VisitSchema)
@blp.alt_response(200, schema=VisitSchema, description="The visit was already stored")
@role_required(*VISITORS)
def record_visit(values: dict):
    """Record a visit; sending the same client_uuid again returns the stored visit with 200."""
    take_idempotency_key(values)
    enterprise = enterprise_for_visit(values.get("enterprise_id"), current_user)
    visit, created = operations.record_visit(current_user, enterprise, values)
    db.session.commit()
    return visit, 201 if created else 200
