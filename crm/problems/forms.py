"""Forms of the problem ledger: a step on one problem, 批量交办, a problem without a visit."""

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import Optional

from crm.auth.models import User
from crm.extensions import db
from crm.forms import CrmForm, SelectField, TextAreaField
from crm.i18n import lazy_gettext as _l
from crm.problems.models import CATEGORY_LABELS, SATISFACTION_LABELS, ProblemCategory, Satisfaction
from crm.problems.rules import assignees
from crm.regions.models import Region


class StepForm(CrmForm):
    """Every field a step may need; each step's form on the page shows its own."""

    version = HiddenField()
    assignee_id = SelectField(_l("Assigned officer"), default="", validate_choice=False)
    unit = StringField(_l("or a responsible unit"))
    unit_contact = StringField(_l("Contact at the unit"))
    due_date = DateField(_l("Due date"), validators=[Optional()])
    note = TextAreaField(_l("Note"))
    resolution = TextAreaField(_l("How it was solved"))
    satisfaction = RadioField(
        _l("The enterprise's answer"),
        choices=[SelectChoice(s.value, SATISFACTION_LABELS[s]) for s in Satisfaction],
        validate_choice=False,
    )
    comment = StringField(_l("Call-back comment"))

    def setup(self, county_code: str | None) -> None:
        """Officers and chiefs who can take problems of this county (any county when None):
        their ids and names, not their rows (a city chief's ledger offers some 200)."""
        people = assignees(county_code).with_only_columns(User.id, User.display_name, Region.name)
        self.assignee_id.choices = [
            SelectChoice("", "—"),
            *(
                SelectChoice(str(id_), f"{name}（{region}）")
                for id_, name, region in db.session.execute(people.join(User.region))
            ),
        ]

    def values(self) -> dict:
        return {field.name: field.data for field in self if field.name != "csrf_token"}


class BulkAssignForm(StepForm):
    """批量交办: the step form of an assignment, for the problems ticked on the ledger."""


class ProblemForm(CrmForm):
    enterprise_id = HiddenField()
    category = SelectField(
        _l("Category"),
        choices=[
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(c.value, CATEGORY_LABELS[c]) for c in ProblemCategory),
        ],
        default="",
        validate_choice=False,
    )
    title = StringField(_l("Problem"))
    description = TextAreaField(_l("Details"))
    raised_on = DateField(_l("Raised on"), validators=[Optional()])
    major = BooleanField(_l("Major problem (30 days)"))
