"""The visit form (tablet first) and the visit list's filters."""

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import Request
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import Optional

from crm.auth.models import User
from crm.extensions import db
from crm.forms import CrmForm, SelectField, SelectMultipleField, TextAreaField
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.policies.models import Policy
from crm.problems.models import CATEGORY_LABELS, ProblemCategory
from crm.regions.models import Region
from crm.visits.attachments import Upload
from crm.visits.models import MODE_LABELS, VisitMode
from crm.visits.rules import COMPANION_ROLES, companion_regions

FILE_TYPES = ".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,image/*"


class ProblemEntryForm(Form):
    """One "+ 问题" row; its rules are those of crm.problems.rules."""

    @staticmethod
    def category_choices() -> list[SelectChoice]:
        return [
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(c.value, CATEGORY_LABELS[c]) for c in ProblemCategory),
        ]

    # The problem's rules name a bad category (in the user's language), not WTForms.
    category = SelectField(
        _l("Category"), choices=category_choices, default="", validate_choice=False
    )
    title = StringField(_l("Problem"))
    description = TextAreaField(_l("Details"))


class VisitForm(CrmForm):
    client_uuid = HiddenField()
    seen = HiddenField()  # editing: the visit's updated_at as the page had it
    enterprise_id = HiddenField()
    visit_date = DateField(_l("Visit date"), default=local_today)
    mode = RadioField(
        _l("Visit mode"),
        choices=[SelectChoice(m.value, MODE_LABELS[m]) for m in VisitMode],
        default=VisitMode.ONSITE.value,
    )
    companion_ids = SelectMultipleField(_l("Companions"), coerce=int, validate_choice=False)
    people_met = StringField(_l("People met"))
    summary = TextAreaField(_l("Visit summary"))
    policy_ids = SelectMultipleField(_l("Policies explained"), coerce=int, validate_choice=False)
    # No max_entries: it would drop rows silently; the visit's rules refuse too many.
    problems = FieldList(FormField(ProblemEntryForm))
    next_step = StringField(_l("Next step"))
    followup_title = StringField(_l("Follow-up"))
    followup_due_on = DateField(_l("Follow-up due"), validators=[Optional()])
    location = StringField(_l("Place of the visit"))
    latitude = HiddenField()
    longitude = HiddenField()
    photos = MultipleFileField(_l("Photos"))
    files = MultipleFileField(_l("Files"))

    # A policy's note is not a field of the form (the policies come from the catalogue): its
    # errors are kept here by policy id, shown beside its note.
    note_errors: dict[int, list[str]]

    def setup(self, lead: User) -> None:
        """The visit's lead, whose colleagues offer_companions lists; a new visit number for
        each form shown (the tablet's script makes its own per visit)."""
        self.lead = lead
        self.note_errors = {}
        if not self.is_submitted():
            self.client_uuid.data = str(uuid.uuid4())

    def offer_companions(self, already: Iterable[User] = ()) -> None:
        """The colleagues the form offers as companions (a county's officer goes with the
        county's people and the city's), and those `already` on the visit. Only a form shown
        needs them: what is sent is checked by the visit's rules (crm.visits.rules), and the
        policies are listed from the catalogue by the page."""
        choices = companion_choices(self.lead, companion_regions(self.lead))
        offered = {choice.value for choice in choices}
        extra = [SelectChoice(u.id, u.display_name) for u in already if u.id not in offered]
        self.companion_ids.choices = [*choices, *extra]

    def values(self, request: Request) -> dict[str, Any]:
        """What the operations take, from the submitted form."""
        values = {
            name: self[name].data
            for name in (
                "client_uuid",
                "visit_date",
                "mode",
                "companion_ids",
                "people_met",
                "summary",
                "policy_ids",
                "next_step",
                "followup_title",
                "followup_due_on",
                "location",
                "latitude",
                "longitude",
            )
        }
        values["policy_notes"] = {
            policy_id: request.form.get(f"policy_note_{policy_id}", "")
            for policy_id in self.policy_ids.data or []
        }
        values["problems"] = [entry.data for entry in self.problems]
        return values


def uploads_of(form: VisitForm, limit: int) -> list[Upload]:
    """The photos and files sent, each read up to one byte past `limit` (enough to refuse it)."""
    uploads = []
    for field in (form.photos, form.files):
        for storage in field.data or []:
            if getattr(storage, "filename", None):
                uploads.append(Upload(field.name, storage.filename, storage.stream.read(limit + 1)))
    return uploads


def active_policies() -> list[Policy]:
    stmt = sa.select(Policy).where(Policy.active.is_(True)).order_by(Policy.position, Policy.id)
    return list(db.session.scalars(stmt))


def companion_choices(
    lead: User | None = None, regions: list[str] | None = None, *, grouped: bool = False
) -> list[SelectChoice]:
    """Active colleagues who go on visits (officers and chiefs), but the lead; of the `regions`
    given (crm.visits.rules.companion_regions), else of every region. Each names its region:
    in data-region (the visit form's companion chips show it), or, `grouped`, as its option's
    group (a filter's select, a city's 200 officers under their county's name)."""
    stmt = (
        sa.select(User.id, User.display_name, Region.name)
        .join(User.region)
        .where(
            User.active.is_(True),
            User.role.in_(COMPANION_ROLES),
            User.id != (lead.id if lead else None),
        )
        .order_by(User.region_code, User.display_name)
    )
    if regions is not None:
        stmt = stmt.where(User.region_code.in_(regions))
    rows = db.session.execute(stmt)
    if grouped:
        return [SelectChoice(id_, name, optgroup=region) for id_, name, region in rows]
    return [SelectChoice(id_, name, render_kw={"data-region": r}) for id_, name, r in rows]
