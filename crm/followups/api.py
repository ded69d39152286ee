"""/api/v1/followups and /api/v1/notifications: tasks in the caller's scope, and the caller's own
notifications. The same operations as the pages, with the same rules and messages."""

import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber, record_id
from crm.api.idempotency import take_idempotency_key
from crm.api.pagination import PageArgsSchema, page_of, paginate
from crm.auth.models import Role
from crm.auth.permissions import login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.enterprises.models import Enterprise
from crm.errors import invalid
from crm.extensions import db
from crm.followups import notifications, operations
from crm.followups.models import (
    FollowUp,
    FollowUpStatus,
    Notification,
    NotificationKind,
    Priority,
    Repeat,
)
from crm.followups.queries import TASK_ORDER, with_task_details
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.problems.models import Problem
from crm.visits.models import Visit

blp = Blueprint("followups_api", __name__, description="Follow-up tasks and notifications")
TASK_ROLES = (Role.OFFICER, Role.CHIEF, Role.ADMIN)


class FollowUpSchema(ma.Schema):
    id = WholeNumber(required=True)
    enterprise_id = WholeNumber(required=True)
    enterprise_name = ma.fields.String(required=True, attribute="enterprise.name")
    county_code = ma.fields.String(required=True)
    visit_id = WholeNumber(allow_none=True)
    problem_id = WholeNumber(allow_none=True)
    title = ma.fields.String(required=True)
    details = ma.fields.String(required=True)
    assignee_id = WholeNumber(required=True)
    assignee_name = ma.fields.String(required=True, attribute="assignee.display_name")
    assigned_by_id = WholeNumber(allow_none=True)
    due_on = ma.fields.Date(required=True)
    overdue = ma.fields.Method("is_overdue", required=True)
    priority = ma.fields.Enum(Priority, by_value=True, required=True)
    status = ma.fields.Enum(FollowUpStatus, by_value=True, required=True)
    repeat = ma.fields.Enum(Repeat, by_value=True, allow_none=True)
    previous_id = WholeNumber(allow_none=True)
    outcome = ma.fields.String(required=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    cancel_reason = ma.fields.String(required=True)
    version = WholeNumber(required=True)

    def is_overdue(self, task: FollowUp) -> bool:
        return task.status == FollowUpStatus.TODO and task.due_on < local_today()


class CompletedSchema(FollowUpSchema):
    next = ma.fields.Nested(FollowUpSchema, allow_none=True)


class FollowUpArgsSchema(PageArgsSchema):
    status = ma.fields.Enum(FollowUpStatus, by_value=True)
    assignee_id = record_id()
    enterprise_id = record_id()
    overdue = ma.fields.Boolean()
    mine = ma.fields.Boolean(metadata={"description": "only the caller's own tasks"})


class FollowUpInputSchema(ma.Schema):
    """Types only: the task's rules (and their Chinese messages) are the operation's."""

    client_uuid = ma.fields.UUID(
        metadata={
            "description": "made by the client (or sent as Idempotency-Key): sending it again "
            "returns the stored task with 200"
        }
    )
    enterprise_id = record_id()
    visit_id = record_id()
    problem_id = record_id()
    title = ma.fields.String()
    details = ma.fields.String()
    assignee_id = WholeNumber(
        allow_none=True, metadata={"description": "a chief's choice; the caller when omitted"}
    )
    due_on = ma.fields.Date()
    priority = ma.fields.String(validate=ma.validate.Length(max=16))
    repeat = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=16))


class CompleteSchema(ma.Schema):
    version = WholeNumber(required=True)
    outcome = ma.fields.String()


class CancelSchema(ma.Schema):
    version = WholeNumber(required=True)
    reason = ma.fields.String()


class ReassignSchema(ma.Schema):
    version = WholeNumber(required=True)
    assignee_id = WholeNumber(required=True)
    due_on = ma.fields.Date(allow_none=True)


class NotificationSchema(ma.Schema):
    id = WholeNumber(required=True)
    kind = ma.fields.Enum(NotificationKind, by_value=True, required=True)
    text = ma.fields.String(required=True)
    link = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    read_at = ma.fields.DateTime(allow_none=True)


class NotificationArgsSchema(PageArgsSchema):
    unread = ma.fields.Boolean()


@blp.get("/followups")
@blp.arguments(FollowUpArgsSchema, location="query")
@blp.response(200, page_of(FollowUpSchema))
@login_required
def followups(args: dict):
    """Tasks in the caller's scope (their region's, and their own), the nearest due first."""
    stmt = scoped(sa.select(FollowUp), current_user)
    if "status" in args:
        stmt = stmt.where(FollowUp.status == args["status"])
    if args.get("overdue"):
        stmt = stmt.where(FollowUp.status == FollowUpStatus.TODO, FollowUp.due_on < local_today())
    if "assignee_id" in args:
        stmt = stmt.where(FollowUp.assignee_id == args["assignee_id"])
    if args.get("mine"):
        stmt = stmt.where(FollowUp.assignee_id == current_user.id)
    if "enterprise_id" in args:
        stmt = stmt.where(FollowUp.enterprise_id == args["enterprise_id"])
    return paginate(with_task_details(stmt.order_by(*TASK_ORDER)), args)


def _source(values: dict) -> tuple[Enterprise, dict]:
    if visit_id := values.pop("visit_id", None):
        visit = get_scoped_or_404(Visit, visit_id)
        return visit.enterprise, {"visit_id": visit.id}
    if problem_id := values.pop("problem_id", None):
        problem = get_scoped_or_404(Problem, problem_id)
        return problem.enterprise, {"problem_id": problem.id}
    enterprise_id = values.pop("enterprise_id", None)
    if enterprise_id is None:
        raise invalid("enterprise_id", _("Name the enterprise, visit or problem of the task."))
    return get_scoped_or_404(Enterprise, enterprise_id), {}


@blp.post("/followups")
@blp.arguments(FollowUpInputSchema)
@blp.response(201, FollowUpSchema)
@blp.alt_response(200, schema=FollowUpSchema, description="The task was already stored")
@role_required(*TASK_ROLES)
def create_followup(values: dict):
    """A new task, for the caller or (a chief's) for an officer of the enterprise's region;
    sending the same client_uuid again returns the stored task with 200."""
    take_idempotency_key(values)
    enterprise, links = _source(values)
    task, created = operations.create_followup_once(current_user, enterprise, values, **links)
    db.session.commit()
    return task, 201 if created else 200


@blp.get("/followups/<int:followup_id>")
@blp.response(200, FollowUpSchema)
@login_required
def followup(followup_id: int):
    """One task (404 outside the caller's scope)."""
    return get_scoped_or_404(FollowUp, followup_id)


@blp.post("/followups/<int:followup_id>/complete")
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedSchema)
@role_required(*TASK_ROLES)
def complete(values: dict, followup_id: int):
    """Mark the task done; a repeating task's next occurrence comes back as `next`. A stale
    version is 409."""
    task = get_scoped_or_404(FollowUp, followup_id)
    following = operations.complete_followup(current_user, task, values.pop("version"), values)
    db.session.commit()
    task.next = following
    return task


@blp.post("/followups/<int:followup_id>/cancel")
@blp.arguments(CancelSchema)
@blp.response(200, FollowUpSchema)
@role_required(*TASK_ROLES)
def cancel(values: dict, followup_id: int):
    """Cancel the task, with the reason (required)."""
    task = get_scoped_or_404(FollowUp, followup_id)
    operations.cancel_followup(current_user, task, values.pop("version"), values)
    db.session.commit()
    return task


@blp.post("/followups/<int:followup_id>/reassign")
@blp.arguments(ReassignSchema)
@blp.response(200, FollowUpSchema)
@role_required(Role.CHIEF)
def reassign(values: dict, followup_id: int):
    """A chief hands the task to another officer of its region (within the chief's scope)."""
    task = get_scoped_or_404(FollowUp, followup_id)
    operations.reassign_followup(current_user, task, values.pop("version"), values)
    db.session.commit()
    return task


@blp.get("/notifications")
@blp.arguments(NotificationArgsSchema, location="query")
@blp.response(200, page_of(NotificationSchema))
@login_required
def notification_list(args: dict):
    """The caller's notifications, newest first (`unread=1`: only unread ones)."""
    return paginate(notifications.notifications_of(current_user, bool(args.get("unread"))), args)


@blp.post("/notifications/<int:notification_id>/read")
@blp.response(200, NotificationSchema)
@login_required
def notification_read(notification_id: int):
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    stmt = sa.select(Notification).where(
        Notification.id == notification_id, Notification.user_id == current_user.id
    )
    notification = db.session.scalar(stmt)
    if notification is None:
        abort(404)
    notifications.mark_read(current_user, [notification.id])
    db.session.commit()
    db.session.refresh(notification)
    return notification
