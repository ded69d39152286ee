"""Forms of follow-up tasks: a new task, and completing, cancelling or reassigning one."""

import uuid

from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import Optional

from crm.auth.models import User
from crm.followups.models import PRIORITY_LABELS, REPEAT_LABELS, Priority, Repeat
from crm.forms import CrmForm, SelectField, TextAreaField
from crm.i18n import lazy_gettext as _l


def people_choices(people: list[User], blank: str = "") -> list[SelectChoice]:
    choices = [SelectChoice("", blank)] if blank else []
    return choices + [
        SelectChoice(str(u.id), f"{u.display_name}（{u.region.name}）") for u in people
    ]


class FollowUpForm(CrmForm):
    # The new task's number, made with the page: sending the form again stores no second task.
    client_uuid = HiddenField(default=lambda: str(uuid.uuid4()))
    title = StringField(_l("Task"), render_kw={"maxlength": 100})
    details = TextAreaField(_l("Details"), render_kw={"rows": 3})
    assignee_id = SelectField(_l("For"), default="", validate_choice=False)
    due_on = DateField(_l("Due on"), validators=[Optional()])
    priority = RadioField(
        _l("Priority"),
        choices=[SelectChoice(p.value, PRIORITY_LABELS[p]) for p in Priority],
        default=Priority.NORMAL.value,
        validate_choice=False,
    )
    repeat = SelectField(
        _l("Repeats"),
        choices=[
            SelectChoice("", _l("Does not repeat")),
            *(SelectChoice(r.value, REPEAT_LABELS[r]) for r in Repeat),
        ],
        default="",
        validate_choice=False,
    )

    def values(self) -> dict:
        return {
            name: self[name].data
            for name in (
                "client_uuid",
                "title",
                "details",
                "assignee_id",
                "due_on",
                "priority",
                "repeat",
            )
        }


class CompleteForm(CrmForm):
    version = HiddenField()
    outcome = StringField(_l("Outcome"), render_kw={"maxlength": 2000})


class CancelForm(CrmForm):
    version = HiddenField()
    # Required by the operation (its message); marked so that the page asks no confirmation
    # of a cancellation that is bound to be refused.
    reason = StringField(
        _l("Reason for cancelling"), render_kw={"maxlength": 500, "required": True}
    )


class ReassignForm(CrmForm):
    version = HiddenField()
    assignee_id = SelectField(_l("Reassign to"), default="", validate_choice=False)
    due_on = DateField(_l("New due date"), validators=[Optional()])
