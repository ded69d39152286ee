"""/api/v1/problems: the ledger in the caller's scope, one problem with its history, and steps."""

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber, record_id
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.models import Role
from crm.auth.permissions import login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.errors import invalid
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.problems import deadlines, operations
from crm.problems.models import Problem, ProblemCategory, ProblemStatus, Satisfaction
from crm.problems.queries import ledger_order, with_ledger_details
from crm.problems.workflow import step_towards

blp = Blueprint("problems_api", __name__, description="The problem ledger")


class EventSchema(ma.Schema):
    id = WholeNumber(required=True)
    step = ma.fields.String(required=True)
    from_status = ma.fields.Enum(ProblemStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(ProblemStatus, by_value=True, required=True)
    actor_id = WholeNumber(allow_none=True)
    actor_name = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)
    note = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ProblemSchema(ma.Schema):
    id = WholeNumber(required=True)
    enterprise_id = WholeNumber(required=True)
    enterprise_name = ma.fields.String(required=True, attribute="enterprise.name")
    county_code = ma.fields.String(required=True)
    visit_id = WholeNumber(allow_none=True)
    category = ma.fields.Enum(ProblemCategory, by_value=True, required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    raised_on = ma.fields.Date(required=True)
    status = ma.fields.Enum(ProblemStatus, by_value=True, required=True)
    major = ma.fields.Boolean(required=True)
    assignee_id = WholeNumber(allow_none=True)
    unit = ma.fields.String(required=True)
    unit_contact = ma.fields.String(required=True)
    due_on = ma.fields.Date(allow_none=True)
    overdue = ma.fields.Method("is_overdue", required=True)
    days_left = ma.fields.Method("left", allow_none=True)
    resolution = ma.fields.String(required=True)
    resolved_on = ma.fields.Date(allow_none=True)
    satisfaction = ma.fields.Enum(Satisfaction, by_value=True, allow_none=True)
    callback_comment = ma.fields.String(required=True)
    closed_on = ma.fields.Date(allow_none=True)
    reopen_count = WholeNumber(required=True)
    version = WholeNumber(required=True)

    def is_overdue(self, problem: Problem) -> bool:
        return deadlines.is_overdue(problem, local_today())

    def left(self, problem: Problem) -> int | None:
        return deadlines.days_left(problem, local_today())


class ProblemDetailSchema(ProblemSchema):
    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class ProblemArgsSchema(PageArgsSchema):
    status = ma.fields.Enum(ProblemStatus, by_value=True)
    overdue = ma.fields.Boolean()
    county = ma.fields.String(validate=ma.validate.Regexp(r"^\d{6}$"))
    assignee_id = record_id()


class TransitionSchema(ma.Schema):
    """`to` and what that step needs; the rules (and their Chinese messages) are the ledger's."""

    to = ma.fields.Enum(ProblemStatus, by_value=True, required=True)
    version = WholeNumber(required=True)
    assignee_id = WholeNumber(allow_none=True)
    unit = ma.fields.String()
    unit_contact = ma.fields.String()
    due_date = ma.fields.Date(allow_none=True)
    note = ma.fields.String()
    resolution = ma.fields.String()
    satisfaction = ma.fields.Enum(Satisfaction, by_value=True, allow_none=True)
    comment = ma.fields.String()


@blp.get("/problems")
@blp.arguments(ProblemArgsSchema, location="query")
@blp.response(200, page_of(ProblemSchema))
@login_required
def problems(args: dict):
    """The ledger in the caller's scope, newest first; with `overdue`, the longest overdue
    first."""
    stmt = scoped(sa.select(Problem), current_user)
    if "status" in args:
        stmt = stmt.where(Problem.status == args["status"])
    if args.get("overdue"):
        stmt = stmt.where(deadlines.overdue(local_today()))
    if "county" in args:
        stmt = stmt.where(Problem.county_code == args["county"])
    if "assignee_id" in args:
        stmt = stmt.where(Problem.assignee_id == args["assignee_id"])
    order = ledger_order(bool(args.get("overdue")))
    return paginate(with_ledger_details(stmt.order_by(*order)), args)


@blp.get("/problems/<int:problem_id>")
@blp.response(200, ProblemDetailSchema)
@login_required
def problem(problem_id: int):
    """One problem with its history (404 outside the caller's scope)."""
    return get_scoped_or_404(Problem, problem_id)


@blp.post("/problems/<int:problem_id>/transition")
@blp.arguments(TransitionSchema)
@blp.response(200, ProblemDetailSchema)
@role_required(Role.OFFICER, Role.CHIEF)
def transition(values: dict, problem_id: int):
    """Take the step towards `to`; a stale version is 409, a step not allowed 403 or 422."""
    problem = get_scoped_or_404(Problem, problem_id)
    step = step_towards(problem.status, values.pop("to"), values.get("satisfaction"))
    if step is None:
        raise invalid(
            "to",
            _("This problem is %(status)s; it cannot be moved there.", status=problem.status.label),
        )
    operations.take_step(current_user, problem, step, values.pop("version"), values)
    db.session.commit()
    return problem
