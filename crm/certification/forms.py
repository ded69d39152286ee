"""Forms of the certification pipeline: the two eligibility checks, a new case, a stage move."""

from decimal import Decimal

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    StringField,
)
from wtforms.validators import Optional

from crm.certification.eligibility import HIGH_TECH_FIELDS
from crm.certification.models import PROGRAMME_LABELS, Programme
from crm.enterprises.models import Enterprise
from crm.forms import CrmForm, FiniteDecimalField, InRange, SelectField, TextAreaField
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today

MONEY = {"places": 2, "validators": [Optional(), InRange(0, 10**9)]}
COUNT = {"validators": [Optional(), InRange(0, 10**7)]}


class HighTechForm(CrmForm):
    class Meta:
        csrf = False  # a check changes nothing: it is asked for with GET

    founded_on = DateField(_l("Founded on"), validators=[Optional()])
    apply_on = DateField(_l("Application date"), validators=[Optional()])
    ip_class1 = IntegerField(_l("Class I IP (patents for inventions …)"), **COUNT)
    ip_class2 = IntegerField(_l("Class II IP (utility models, software copyrights …)"), **COUNT)
    field = SelectField(
        _l("Technical field"),
        choices=[
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(key, label) for key, label in HIGH_TECH_FIELDS.items()),
        ],
        default="",
        validate_choice=False,
    )
    staff = IntegerField(_l("Staff"), **COUNT)
    tech_staff = IntegerField(_l("Science and technology staff"), **COUNT)
    sales_last_year = FiniteDecimalField(_l("Sales of the latest year (10 000 yuan)"), **MONEY)
    sales_3y = FiniteDecimalField(_l("Sales over three years (10 000 yuan)"), **MONEY)
    rnd_3y = FiniteDecimalField(_l("R&D expenses over three years (10 000 yuan)"), **MONEY)
    rnd_domestic_3y = FiniteDecimalField(_l("of which spent in China (10 000 yuan)"), **MONEY)
    high_tech_revenue = FiniteDecimalField(
        _l("High-tech products and services revenue (10 000 yuan)"), **MONEY
    )
    total_revenue = FiniteDecimalField(_l("Total revenue (10 000 yuan)"), **MONEY)
    innovation_score = IntegerField(
        _l("Innovation score (self-assessed, out of 100)"),
        validators=[Optional(), InRange(0, 100)],
    )
    major_incident = BooleanField(_l("A major safety, quality or environmental incident"))

    def prefill(self, enterprise: Enterprise) -> None:
        """The enterprise's own figures; three-year sums estimated as three times the last
        year's, to be corrected."""
        self.founded_on.data = enterprise.founded_on
        self.apply_on.data = local_today()
        self.ip_class1.data = enterprise.ip_class1
        self.ip_class2.data = enterprise.ip_class2
        self.staff.data = enterprise.staff
        self.tech_staff.data = enterprise.tech_staff
        self.sales_last_year.data = enterprise.revenue
        self.total_revenue.data = enterprise.revenue
        self.high_tech_revenue.data = enterprise.high_tech_revenue
        if enterprise.revenue is not None:
            self.sales_3y.data = enterprise.revenue * 3
        if enterprise.rnd_expense is not None:
            self.rnd_3y.data = enterprise.rnd_expense * 3
            self.rnd_domestic_3y.data = enterprise.rnd_expense * 3

    def figures(self) -> dict:
        return {name: field.data for name, field in self._fields.items()}


class TechSmeForm(CrmForm):
    class Meta:
        csrf = False

    staff = IntegerField(_l("Staff"), **COUNT)
    tech_staff = IntegerField(_l("Science and technology staff"), **COUNT)
    sales = FiniteDecimalField(_l("Sales (10 000 yuan)"), **MONEY)
    assets = FiniteDecimalField(_l("Total assets (10 000 yuan)"), **MONEY)
    rnd = FiniteDecimalField(_l("R&D expenses (10 000 yuan)"), **MONEY)
    total_cost = FiniteDecimalField(_l("Total costs and expenses (10 000 yuan)"), **MONEY)
    ip_class1 = IntegerField(_l("Class I IP (patents for inventions …)"), **COUNT)
    ip_class2 = IntegerField(_l("Class II IP (utility models, software copyrights …)"), **COUNT)
    major_incident = BooleanField(_l("A major safety, quality or environmental incident"))
    high_tech_valid = BooleanField(_l("Holds a valid high-tech certificate"))
    provincial_rnd_institution = BooleanField(_l("Has a provincial or national R&D institution"))
    national_award = BooleanField(_l("Won a national science and technology award"))
    led_standard = BooleanField(_l("Led a national or industry standard"))

    def prefill(self, enterprise: Enterprise) -> None:
        self.staff.data = enterprise.staff
        self.tech_staff.data = enterprise.tech_staff
        self.sales.data = enterprise.revenue
        self.rnd.data = enterprise.rnd_expense
        self.ip_class1.data = enterprise.ip_class1
        self.ip_class2.data = enterprise.ip_class2
        self.high_tech_valid.data = bool(
            enterprise.high_tech
            and enterprise.high_tech_valid_until
            and enterprise.high_tech_valid_until >= local_today()
        )

    def figures(self) -> dict:
        return {name: field.data for name, field in self._fields.items()}


def plain_figures(figures: dict) -> dict:
    """Figures as JSON can store them (the case's snapshot)."""
    plain = {}
    for key, value in figures.items():
        if isinstance(value, Decimal):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        plain[key] = value
    return plain


class CaseForm(CrmForm):
    programme = SelectField(
        _l("Programme"),
        choices=[SelectChoice(p.value, PROGRAMME_LABELS[p]) for p in Programme],
    )
    year = IntegerField(_l("Year"), validators=[Optional()])
    batch = StringField(_l("Batch"), description=_l("e.g. 2026年第一批"))
    owner_id = SelectField(_l("Officer in charge"), default="", validate_choice=False)
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})
    # The figures of the eligibility check the case was opened from, as its query string.
    checked = HiddenField()


class MoveForm(CrmForm):
    to = HiddenField()
    version = HiddenField()
    on = DateField(_l("Date"), validators=[Optional()])
    certificate_no = StringField(_l("Certificate or registration number"))
    note = TextAreaField(_l("Note"), render_kw={"rows": 2})
