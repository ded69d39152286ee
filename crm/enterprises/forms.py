import sqlalchemy as sa
import wtforms
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.auth.models import Role, User
from crm.auth.scope import in_scope, region_filter
from crm.enterprises import industries
from crm.enterprises.models import SCALE_LABELS, SPECIALIZED_LABELS, Scale, SpecializedLevel
from crm.enterprises.rules import TAG_SEPARATORS
from crm.extensions import db
from crm.forms import CrmForm, FiniteDecimalField, InRange, SelectField
from crm.i18n import lazy_gettext as _l
from crm.regions.models import RegionLevel
from crm.regions.tree import children_of, codes_above, regions

NONE = SelectChoice("", "—")


def industry_choices() -> list[SelectChoice]:
    """Sections, each followed by its divisions (grouped under the section's name)."""
    choices = [NONE]
    whole = _l("whole section")
    for section, name in industries.SECTIONS.items():
        group = f"{section} {name}"
        choices.append(SelectChoice(section, f"{section} {name}（{whole}）", optgroup=group))
        for division, (division_name, parent) in industries.DIVISIONS.items():
            if parent == section:
                choices.append(
                    SelectChoice(
                        f"{section}{division}", f"{division} {division_name}", optgroup=group
                    )
                )
    return choices


def county_choices(user: User) -> list[SelectChoice]:
    """The counties within the user's scope, in code order."""
    return [
        SelectChoice(r.code, r.name)
        for r in regions().values()
        if r.level == RegionLevel.COUNTY and in_scope(user, r.code)
    ]


def county_field_choices(user: User) -> list[SelectChoice]:
    """A county user's own county, or an explicit choice among several (never a silent default)."""
    choices = county_choices(user)
    return choices if len(choices) == 1 else [NONE, *choices]


def township_choices(county_code: str | None) -> list[SelectChoice]:
    """The townships of a county (none for the city: its children are counties)."""
    county = regions().get(county_code or "")
    if county is None or county.level != RegionLevel.COUNTY:
        return [NONE]
    return [NONE, *(SelectChoice(r.code, r.name) for r in children_of(county.code))]


def keep_township_of_county(form: wtforms.Form) -> None:
    """A filter's township left from the county chosen before: dropped (all the county's
    townships), not refused beside a box that shows 全部."""
    if form.township.data not in {str(choice.value) for choice in form.township.choices}:
        form.township.data = ""


def liaison_choices(user: User) -> list[SelectChoice]:
    """Active officers and chiefs who may be the liaison of an enterprise in the user's scope:
    those within it, and those of the regions above it (a city officer looks after county
    enterprises too, and a county officer's edit must not drop them)."""
    stmt = (
        sa.select(User)
        .where(User.active.is_(True), User.role.in_([Role.OFFICER, Role.CHIEF]))
        .order_by(User.region_code, User.display_name)
    )
    above = User.region_code.in_(codes_above(user.region_code))
    people = db.session.scalars(stmt.where(sa.or_(region_filter(User.region_code, user), above)))
    return [
        NONE,
        *(SelectChoice(str(u.id), f"{u.display_name}（{u.region.name}）") for u in people),
    ]


def optional_int(value: object) -> int | None:
    return int(value) if value not in (None, "", "None") else None


class EnterpriseForm(CrmForm):
    name = StringField(_l("Enterprise name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("18 characters, as on the business licence."),
        render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"},
    )
    credit_code_confirmed = BooleanField(_l("Checked against the business licence"))
    seen = HiddenField()  # editing: crm.enterprises.operations.edited_state as the page had it
    county_code = SelectField(_l("County/district"), validators=[DataRequired()])
    township_code = SelectField(_l("Township/street"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    legal_representative = StringField(
        _l("Legal representative"), validators=[Optional(), Length(max=50)]
    )
    founded_on = DateField(_l("Founded on"), validators=[Optional()])
    industry = SelectField(_l("Industry (GB/T 4754-2017)"), validators=[Optional()])
    scale = SelectField(
        _l("Scale"),
        choices=[NONE, *(SelectChoice(s.value, SCALE_LABELS[s]) for s in Scale)],
        validators=[Optional()],
    )
    above_scale = BooleanField(_l("Above designated size (规上)"))
    staff = IntegerField(_l("Staff"), validators=[Optional(), InRange()])
    tech_staff = IntegerField(_l("Technical staff"), validators=[Optional(), InRange()])
    revenue = FiniteDecimalField(
        _l("Revenue last year (10k yuan)"), places=2, validators=[Optional(), InRange()]
    )
    rnd_expense = FiniteDecimalField(
        _l("R&D expense (10k yuan)"), places=2, validators=[Optional(), InRange()]
    )
    high_tech_revenue = FiniteDecimalField(
        _l("High-tech product revenue (10k yuan)"),
        places=2,
        validators=[Optional(), InRange()],
    )
    ip_class1 = IntegerField(_l("Class I IP"), validators=[Optional(), InRange()])
    ip_class2 = IntegerField(_l("Class II IP"), validators=[Optional(), InRange()])
    high_tech = BooleanField(_l("High-tech enterprise"))
    high_tech_certificate = StringField(
        _l("Certificate no."), validators=[Optional(), Length(max=32)]
    )
    high_tech_valid_until = DateField(_l("Valid until"), validators=[Optional()])
    tech_sme = BooleanField(_l("Tech-based SME (registered)"))
    tech_sme_number = StringField(_l("Registration no."), validators=[Optional(), Length(max=32)])
    tech_sme_year = IntegerField(_l("Registration year"), validators=[Optional()])
    specialized = SelectField(
        _l("Specialised SME (专精特新)"),
        choices=[NONE, *(SelectChoice(s.value, SPECIALIZED_LABELS[s]) for s in SpecializedLevel)],
        validators=[Optional()],
    )
    liaison_id = SelectField(_l("Liaison officer (包联)"), validators=[Optional()])
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=300)],
        description=_l("Separated by commas, e.g. 重点培育, 链主企业"),
    )

    def setup(self, user: User, county_code: str | None) -> None:
        """Choices that depend on the user and on the chosen county."""
        self.county_code.choices = county_field_choices(user)
        self.township_code.choices = township_choices(county_code or self.county_code.data)
        self.industry.choices = industry_choices()
        self.liaison_id.choices = liaison_choices(user)

    def values(self) -> dict[str, object]:
        """The submitted values, typed for crm.enterprises.operations."""
        values = {
            field.name: field.data
            for field in self
            if field.name
            not in ("csrf_token", "credit_code_confirmed", "seen", "tags", "liaison_id")
        }
        for name in ("township_code", "industry", "scale", "specialized"):
            values[name] = values[name] or None
        values["liaison_id"] = optional_int(self.liaison_id.data)
        values["tags"] = [tag for tag in TAG_SEPARATORS.split(self.tags.data or "") if tag]
        return values


class ContactForm(CrmForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=50)])
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=32)], render_kw={"inputmode": "tel"}
    )
    primary = BooleanField(_l("Primary contact"))


class ImportUploadForm(CrmForm):
    file = FileField(
        _l("Excel file (.xlsx)"),
        validators=[FileRequired(_l("Choose the Excel file to import."))],
    )
