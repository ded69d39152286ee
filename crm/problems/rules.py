"""The rules for a problem's fields and for what each step is given, shared by every way in."""

from datetime import date
from typing import Any

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.errors import FieldErrors
from crm.extensions import db
from crm.i18n import DUE_YEARS_AHEAD, latest_due, local_today
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.problems.models import Problem, ProblemCategory, Satisfaction
from crm.problems.workflow import Step
from crm.regions.tree import codes_above
from crm.text import collapse, is_clean, tidy

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
UNIT_MAX = 100
COMMENT_MAX = 500
EARLIEST = date(2000, 1, 1)
# Who can be handed a problem inside the bureau.
ASSIGNEE_ROLES = (Role.OFFICER, Role.CHIEF)


def clean_problem(values: dict[str, Any], errors: FieldErrors, prefix: str = "") -> dict[str, Any]:
    """Category, title and description checked; errors are reported as `prefix` + field."""
    title = collapse(values.get("title"))
    description = tidy(values.get("description"))
    category = values.get("category")
    if not title:
        errors.add(f"{prefix}title", _("Give the problem a title."))
    elif len(title) > TITLE_MAX or not is_clean(title):
        errors.add(f"{prefix}title", _("At most %(n)d ordinary characters.", n=TITLE_MAX))
    if len(description) > DESCRIPTION_MAX or not is_clean(description, multiline=True):
        errors.add(
            f"{prefix}description", _("At most %(n)d ordinary characters.", n=DESCRIPTION_MAX)
        )
    try:
        category = ProblemCategory(category)
    except ValueError:
        errors.add(f"{prefix}category", _("Choose a category."))
    return {"category": category, "title": title, "description": description}


def clean_raised_on(value: Any, errors: FieldErrors) -> date | None:
    if not isinstance(value, date):
        errors.add("raised_on", _("Enter the date the problem was raised."))
    elif value > local_today():
        errors.add("raised_on", _("The date cannot be in the future."))
    elif value < EARLIEST:
        errors.add("raised_on", _("The date must lie between 2000 and today."))
    else:
        return value
    return None


def _text(values: dict[str, Any], field: str, limit: int, errors: FieldErrors) -> str:
    text = tidy(values.get(field))
    if len(text) > limit or not is_clean(text, multiline=True):
        errors.add(field, _("At most %(n)d ordinary characters.", n=limit))
    return text


def _assignee(values: dict[str, Any], problem: Problem, errors: FieldErrors) -> User | None:
    raw = values.get("assignee_id")
    if raw in (None, ""):
        return None
    try:
        user = db.session.get(User, int(raw)) if 0 < int(raw) < 2**31 else None
    except (TypeError, ValueError):
        user = None
    usable = (
        user is not None
        and user.active
        and user.role in ASSIGNEE_ROLES
        and in_scope(user, problem.county_code)
    )
    if not usable:
        errors.add("assignee_id", _("Choose an officer of the problem's region."))
        return None
    return user


def _due(values: dict[str, Any], errors: FieldErrors) -> date | None:
    due = values.get("due_date")
    if due in (None, ""):
        return None
    if not isinstance(due, date) or due < local_today():
        errors.add("due_date", _("The deadline cannot be in the past."))
        return None
    if due > latest_due(local_today()):
        message = _("The deadline lies too far ahead: at most %(n)d years.", n=DUE_YEARS_AHEAD)
        errors.add("due_date", message)
        return None
    return due


def _clean_assignment(values: dict[str, Any], problem: Problem, errors: FieldErrors) -> dict:
    assignee = _assignee(values, problem, errors)
    unit = collapse(values.get("unit"))
    contact = collapse(values.get("unit_contact"))
    for field, text in (("unit", unit), ("unit_contact", contact)):
        if len(text) > UNIT_MAX or not is_clean(text):
            errors.add(field, _("At most %(n)d ordinary characters.", n=UNIT_MAX))
    if assignee is None and not unit and "assignee_id" not in errors.fields:
        errors.add("assignee_id", _("Assign the problem to an officer or to a responsible unit."))
    if assignee is not None and unit:
        errors.add("unit", _("Assign to an officer or to a unit, not both."))
    elif assignee is not None and contact:
        errors.add("unit_contact", _("A contact goes with a unit; leave it empty for an officer."))
    return {
        "assignee": assignee,
        "unit": unit,
        "unit_contact": contact,
        "due_on": _due(values, errors),
    }


def _clean_callback(step: Step, values: dict[str, Any], errors: FieldErrors) -> dict:
    try:
        satisfaction = Satisfaction(values.get("satisfaction"))
    except ValueError:
        errors.add("satisfaction", _("Record the enterprise's answer on the call-back."))
        satisfaction = None
    comment = collapse(values.get("comment"))
    if len(comment) > COMMENT_MAX or not is_clean(comment):
        errors.add("comment", _("At most %(n)d ordinary characters.", n=COMMENT_MAX))
    if step == Step.REOPEN and not comment:
        errors.add("comment", _("Say what the enterprise is not satisfied with."))
    return {"satisfaction": satisfaction, "comment": comment}


def _required_note(field: str, message: Any):  # type: ignore[no-untyped-def]
    def clean(step: Step, values: dict[str, Any], errors: FieldErrors) -> dict:
        text = _text(values, field, NOTE_MAX, errors)
        if not text and field not in errors.fields:
            errors.add(field, str(message))
        return {field: text}

    return clean


def clean_step(step: Step, values: dict[str, Any], problem: Problem) -> dict[str, Any]:
    """What `step` is given, checked; ValidationFailed naming every bad field."""
    errors = FieldErrors()
    if step == Step.ASSIGN:
        cleaned = _clean_assignment(values, problem, errors)
        cleaned["note"] = _text(values, "note", NOTE_MAX, errors)
    elif step in (Step.CLOSE, Step.REOPEN):
        cleaned = _clean_callback(step, values, errors)
    else:
        cleaned = NOTE_RULES[step](step, values, errors)
    errors.raise_any()
    return cleaned


NOTE_RULES = {
    Step.ACCEPT: lambda step, values, errors: {"note": _text(values, "note", NOTE_MAX, errors)},
    Step.PROGRESS: _required_note("note", _l("Write what has been done.")),
    Step.RESOLVE: _required_note("resolution", _l("Write how the problem was solved.")),
    Step.MARK_UNRESOLVABLE: _required_note("note", _l("Give the reason.")),
}


def assignees(serving: str | None = None) -> sa.Select:
    """Active officers and chiefs, whom a problem can be handed to (each within their region);
    with `serving`, those whose scope covers that region: its own and those of the regions
    above it."""
    stmt = sa.select(User).where(User.active.is_(True), User.role.in_(ASSIGNEE_ROLES))
    if serving is not None:
        stmt = stmt.where(User.region_code.in_(codes_above(serving)))
    return stmt.order_by(User.region_code, User.display_name)
