"""What a follow-up needs, checked; who may do what with one; when a repeating one comes back."""

import calendar
import uuid
from datetime import date
from typing import Any

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.errors import FieldErrors, invalid
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Priority, Repeat
from crm.i18n import DUE_YEARS_AHEAD, latest_due, local_today
from crm.i18n import gettext as _
from crm.text import collapse, is_clean, tidy

TITLE_MAX = 100
DETAILS_MAX = 2000
OUTCOME_MAX = 2000
REASON_MAX = 500
# Who can be given a task; chiefs give them to others, officers to themselves.
ASSIGNEE_ROLES = (Role.OFFICER, Role.CHIEF)
ASSIGNERS = (Role.CHIEF,)
CREATORS = (Role.OFFICER, Role.CHIEF, Role.ADMIN)


def can_create_followup(user: User) -> bool:
    return user.role in CREATORS


def can_assign_followups(user: User) -> bool:
    """Chiefs hand tasks to others and reassign them; officers only create their own."""
    return user.role in ASSIGNERS


def _chief_over(user: User, task: FollowUp) -> bool:
    return user.role in ASSIGNERS and in_scope(user, task.county_code)


def can_complete_followup(user: User, task: FollowUp) -> bool:
    return task.status == FollowUpStatus.TODO and (
        task.assignee_id == user.id or _chief_over(user, task)
    )


def can_cancel_followup(user: User, task: FollowUp) -> bool:
    """The chief over it, or the officer who gave it to themselves."""
    own = task.assignee_id == user.id and task.assigned_by_id in (None, user.id)
    return task.status == FollowUpStatus.TODO and (own or _chief_over(user, task))


def can_reassign_followup(user: User, task: FollowUp) -> bool:
    return task.status == FollowUpStatus.TODO and _chief_over(user, task)


def _text(values: dict[str, Any], field: str, limit: int, errors: FieldErrors) -> str:
    text = tidy(values.get(field))
    if len(text) > limit or not is_clean(text, multiline=True):
        errors.add(field, _("At most %(n)d ordinary characters.", n=limit))
    return text


def clean_assignee(
    actor: User, raw: Any, county_code: str, errors: FieldErrors, field: str = "assignee_id"
) -> User | None:
    """The officer a task goes to: the actor, unless a chief names someone of the enterprise's
    region who is also within the chief's own scope."""
    if raw in (None, ""):
        return actor
    try:
        user = db.session.get(User, int(raw)) if 0 < int(raw) < 2**31 else None
    except (TypeError, ValueError):
        user = None
    if user is not None and user.id == actor.id:
        return actor
    usable = (
        user is not None
        and can_assign_followups(actor)
        and user.active
        and user.role in ASSIGNEE_ROLES
        and in_scope(user, county_code)
        and in_scope(actor, user.region_code)
    )
    if not usable:
        errors.add(field, _("Choose an officer of the enterprise's region."))
        return None
    return user


def clean_due(value: Any, errors: FieldErrors, field: str = "due_on") -> date | None:
    if not isinstance(value, date):
        errors.add(field, _("Give the task a due date."))
    elif value < local_today():
        errors.add(field, _("The due date cannot be in the past."))
    elif value > latest_due(local_today()):
        errors.add(
            field, _("The due date lies too far ahead: at most %(n)d years.", n=DUE_YEARS_AHEAD)
        )
    else:
        return value
    return None


def task_number(value: Any) -> uuid.UUID | None:
    """The number a form or API client gave a new task, None when it gave none; a
    ValidationFailed when it is no UUID."""
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        message = _("The task number is not a UUID.")
        raise invalid("client_uuid", message) from None


def clean_followup(
    actor: User, values: dict[str, Any], county_code: str, errors: FieldErrors
) -> dict[str, Any]:
    """Title, details, assignee, due date, priority and repeat, checked."""
    title = collapse(values.get("title"))
    if not title:
        errors.add("title", _("Say what should be followed up."))
    elif len(title) > TITLE_MAX or not is_clean(title):
        errors.add("title", _("At most %(n)d ordinary characters.", n=TITLE_MAX))
    cleaned: dict[str, Any] = {
        "title": title,
        "details": _text(values, "details", DETAILS_MAX, errors),
        "assignee": clean_assignee(actor, values.get("assignee_id"), county_code, errors),
        "due_on": clean_due(values.get("due_on"), errors),
    }
    try:
        cleaned["priority"] = Priority(values.get("priority") or Priority.NORMAL)
    except ValueError:
        errors.add("priority", _("Choose a priority."))
    try:
        cleaned["repeat"] = Repeat(values["repeat"]) if values.get("repeat") else None
    except ValueError:
        errors.add("repeat", _("Choose how the task repeats."))
    return cleaned


def clean_outcome(values: dict[str, Any], errors: FieldErrors) -> str:
    return _text(values, "outcome", OUTCOME_MAX, errors)


def clean_reason(values: dict[str, Any], errors: FieldErrors) -> str:
    reason = _text(values, "reason", REASON_MAX, errors)
    if not reason and "reason" not in errors.fields:
        errors.add("reason", _("Give the reason for cancelling."))
    return reason


def next_due(due_on: date, repeat: Repeat, day: int) -> date:
    """The next occurrence: `repeat.months` later, on `day` or the month's last day if shorter
    (a task due on 31 January comes back on 28 or 29 February, then on 31 March)."""
    month_index = due_on.month - 1 + repeat.months
    year, month = due_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))
