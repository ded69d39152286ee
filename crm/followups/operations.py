"""Every write to follow-ups: create, complete (and the next of a repeating one), cancel,
reassign. Each is audited; the assignee is told when someone else gives them a task. Nothing
here commits.

A change names the version of the task its author saw; when someone changed the task since, the
change is refused with a Conflict and nothing is overwritten.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.labels import register_labels
from crm.audit.operations import plain_value, record_audit
from crm.auth.models import User
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, FieldErrors, Forbidden, ValidationFailed
from crm.extensions import db
from crm.followups import rules
from crm.followups.models import (
    PRIORITY_LABELS,
    REPEAT_LABELS,
    STATUS_LABELS,
    FollowUp,
    FollowUpStatus,
    NotificationKind,
    Priority,
    Repeat,
)
from crm.followups.notifications import link_to, notify
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.text import collapse

register_labels(
    {
        "followup.create": _l("Created a follow-up task"),
        "followup.complete": _l("Completed a follow-up task"),
        "followup.cancel": _l("Cancelled a follow-up task"),
        "followup.reassign": _l("Reassigned a follow-up task"),
    },
    {
        "title": _l("Task"),
        "due_on": _l("Due on"),
        "priority": _l("Priority"),
        "repeat": _l("Repeats"),
        "assignee": _l("Assigned to"),
        "status": _l("Status"),
        "outcome": _l("Outcome"),
        "cancel_reason": _l("Reason for cancelling"),
        "next": _l("Next task"),
    },
    {"followups": _l("Follow-up task")},
    {
        "status": lambda value: STATUS_LABELS[FollowUpStatus(value)],
        "priority": lambda value: PRIORITY_LABELS[Priority(value)],
        "repeat": lambda value: REPEAT_LABELS[Repeat(value)],
    },
)


def task_link(task: FollowUp) -> str:
    return link_to("followups.show", followup_id=task.id)


def _tell_assignee(actor: User | None, task: FollowUp) -> None:
    if actor is None or task.assignee_id != actor.id:
        notify(
            task.assignee,
            NotificationKind.ASSIGNED,
            _l(
                "%(who)s gave you a task: %(title)s (%(enterprise)s), due %(due)s",
                who=actor.display_name if actor else "",
                title=task.title,
                enterprise=task.enterprise.name,
                due=task.due_on.isoformat(),
            ),
            task_link(task),
            key=f"followup:{task.id}:assigned:{task.assignee_id}:{task.version}",
        )


def create_followup(
    actor: User,
    enterprise: Enterprise,
    values: dict[str, Any],
    *,
    visit_id: int | None = None,
    problem_id: int | None = None,
    client_uuid: uuid.UUID | None = None,
) -> FollowUp:
    """A task on an enterprise (from one of its visits or problems), for the actor or, given by
    a chief, for an officer of the enterprise's region."""
    if not rules.can_create_followup(actor):
        raise Forbidden(_("Viewers do not have follow-up tasks."))
    if enterprise.deleted_at is not None:
        message = _("This enterprise has been deleted; it takes no new tasks.")
        raise Conflict(message, {"enterprise_id": [message]})
    errors = FieldErrors()
    cleaned = rules.clean_followup(actor, values, enterprise.county_code, errors)
    errors.raise_any()
    task = FollowUp(
        client_uuid=client_uuid,
        enterprise=enterprise,
        county_code=enterprise.county_code,
        visit_id=visit_id,
        problem_id=problem_id,
        title=cleaned["title"],
        details=cleaned["details"],
        assignee=cleaned["assignee"],
        assigned_by_id=actor.id,
        due_on=cleaned["due_on"],
        priority=cleaned["priority"],
        repeat=cleaned["repeat"],
        repeat_day=cleaned["due_on"].day if cleaned["repeat"] else None,
    )
    db.session.add(task)
    db.session.flush()
    record_audit(
        "followup.create",
        task,
        actor=actor,
        region_code=task.county_code,
        changes={
            "title": [None, task.title],
            "assignee": [None, task.assignee.display_name],
            "due_on": [None, task.due_on.isoformat()],
            "priority": [None, task.priority.value],
            **({"repeat": [None, task.repeat.value]} if task.repeat else {}),
        },
    )
    _tell_assignee(actor, task)
    return task


def create_followup_once(
    actor: User, enterprise: Enterprise, values: dict[str, Any], **links: int
) -> tuple[FollowUp, bool]:
    """create_followup, once per values["client_uuid"]: a repeated submission of the same task
    (a retry, a second tap) gets the stored task back as (task, False)."""
    number = rules.task_number(values.get("client_uuid"))
    if number is None:
        return create_followup(actor, enterprise, values, **links), True
    if existing := _task_numbered(number):
        return _stored_already(actor, existing, enterprise, values), False
    try:
        with db.session.begin_nested():
            task = create_followup(actor, enterprise, values, client_uuid=number, **links)
    except IntegrityError:
        # The same task arrived at the same moment by another request, which stored it first.
        if existing := _task_numbered(number):
            return _stored_already(actor, existing, enterprise, values), False
        raise
    return task, True


def _task_numbered(number: uuid.UUID) -> FollowUp | None:
    return db.session.scalars(sa.select(FollowUp).where(FollowUp.client_uuid == number)).first()


def _stored_already(
    actor: User, task: FollowUp, enterprise: Enterprise, values: dict[str, Any]
) -> FollowUp:
    """The task a repeated submission refers to: the sender's own, on the same enterprise and
    with the same title, not another that carries a used number (its words would be lost)."""
    same = task.enterprise_id == enterprise.id and collapse(values.get("title")) == task.title
    if task.assigned_by_id != actor.id or not same:
        message = _("This task number belongs to another task.")
        raise Conflict(message, {"client_uuid": [message]})
    return task


def _check_version(task: FollowUp, version: Any) -> None:
    if str(version) != str(task.version):
        raise _stale()


def _stale() -> Conflict:
    message = _(
        "This task changed after you opened it (by someone else, or by you on another page). "
        "Nothing was saved; reload it and try again."
    )
    return Conflict(message, {"version": [message]})


def _flush() -> None:
    try:
        db.session.flush()  # the UPDATE names the version read: a concurrent change fails here
    except StaleDataError as error:
        db.session.rollback()
        raise _stale() from error


def _refuse_unless(allowed: bool, task: FollowUp) -> None:
    if task.status != FollowUpStatus.TODO:
        message = _("This task is %(status)s already.", status=task.status.label)
        raise ValidationFailed(message, {"status": [message]})
    if not allowed:
        raise Forbidden(_("Only the task's officer or a chief of its region may do this."))


def complete_followup(
    actor: User, task: FollowUp, version: Any, values: dict[str, Any]
) -> FollowUp | None:
    """Mark the task done with its outcome; a repeating task's next occurrence is created (and
    returned) at the same moment, exactly once."""
    _check_version(task, version)
    _refuse_unless(rules.can_complete_followup(actor, task), task)
    errors = FieldErrors()
    outcome = rules.clean_outcome(values, errors)
    errors.raise_any()
    task.status = FollowUpStatus.DONE
    task.outcome = outcome
    task.completed_at = utcnow()
    task.closed_by_id = actor.id
    _flush()
    following = _next_of(task) if task.repeat else None
    changes = {"status": ["todo", "done"], "outcome": [None, outcome]}
    if following is not None:
        changes["next"] = [None, following.due_on.isoformat()]
    record_audit("followup.complete", task, actor=actor, changes=changes)
    return following


def _next_of(task: FollowUp) -> FollowUp:
    assert task.repeat is not None
    day = task.repeat_day or task.due_on.day
    following = FollowUp(
        enterprise_id=task.enterprise_id,
        county_code=task.county_code,
        visit_id=task.visit_id,
        problem_id=task.problem_id,
        title=task.title,
        details=task.details,
        assignee_id=task.assignee_id,
        assigned_by_id=task.assigned_by_id,
        due_on=rules.next_due(task.due_on, task.repeat, day),
        priority=task.priority,
        repeat=task.repeat,
        repeat_day=day,
        previous_id=task.id,  # unique: a series has one next task
    )
    db.session.add(following)
    db.session.flush()
    record_audit(
        "followup.create",
        following,
        region_code=following.county_code,
        changes={"title": [None, following.title], "due_on": [None, following.due_on.isoformat()]},
    )
    return following


def cancel_followup(actor: User, task: FollowUp, version: Any, values: dict[str, Any]) -> None:
    """Cancel a task that is no longer needed, with the reason; a repeating series ends here."""
    _check_version(task, version)
    _refuse_unless(rules.can_cancel_followup(actor, task), task)
    errors = FieldErrors()
    reason = rules.clean_reason(values, errors)
    errors.raise_any()
    task.status = FollowUpStatus.CANCELLED
    task.cancel_reason = reason
    task.completed_at = utcnow()
    task.closed_by_id = actor.id
    _flush()
    record_audit(
        "followup.cancel",
        task,
        actor=actor,
        changes={"status": ["todo", "cancelled"], "cancel_reason": [None, reason]},
    )


def reassign_followup(actor: User, task: FollowUp, version: Any, values: dict[str, Any]) -> None:
    """A chief hands the task to another officer of its region (and may move its due date);
    the reminders start afresh and the new officer is told."""
    _check_version(task, version)
    _refuse_unless(rules.can_reassign_followup(actor, task), task)
    errors = FieldErrors()
    raw = values.get("assignee_id")
    assignee = None
    if raw in (None, ""):
        errors.add("assignee_id", _("Choose an officer of the enterprise's region."))
    else:
        assignee = rules.clean_assignee(actor, raw, task.county_code, errors)
    due = values.get("due_on")
    due = task.due_on if due in (None, "") else rules.clean_due(due, errors)
    errors.raise_any()
    assert assignee is not None and due is not None
    changes: dict[str, list] = {}
    if assignee.id != task.assignee_id:
        changes["assignee"] = [task.assignee.display_name, assignee.display_name]
        task.assignee = assignee
    if due != task.due_on:
        changes["due_on"] = [plain_value(task.due_on), plain_value(due)]
        task.due_on = due
    if not changes:
        message = _(
            "%(name)s has this task already, due on that day: choose another officer or date.",
            name=assignee.display_name,
        )
        raise ValidationFailed(message, {"assignee_id": [message]})
    task.assigned_by_id = actor.id
    task.reminded_at = task.escalated_at = None
    _flush()
    record_audit("followup.reassign", task, actor=actor, changes=changes)
    _tell_assignee(actor, task)


def cancel_tasks_of(actor: User, enterprise: Enterprise, reason: str) -> int:
    """Cancel the open tasks on an enterprise that is being deleted (each audited)."""
    open_tasks = db.session.scalars(
        sa.select(FollowUp).where(
            FollowUp.enterprise_id == enterprise.id, FollowUp.status == FollowUpStatus.TODO
        )
    ).all()
    for task in open_tasks:
        task.status = FollowUpStatus.CANCELLED
        task.cancel_reason = reason
        task.completed_at = utcnow()
        task.closed_by_id = actor.id if actor else None
        record_audit(
            "followup.cancel",
            task,
            actor=actor,
            changes={"status": ["todo", "cancelled"], "cancel_reason": [None, reason]},
        )
    db.session.flush()
    return len(open_tasks)
