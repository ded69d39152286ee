"""The reports page's form: which month, which region."""

import sqlalchemy as sa
from wtforms import SelectChoice, StringField
from wtforms.validators import InputRequired

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.extensions import db
from crm.forms import CrmForm, SelectField
from crm.i18n import lazy_gettext as _l
from crm.regions.models import Region, RegionLevel


class ReportForm(CrmForm):
    month = StringField(
        _l("Month"),
        validators=[InputRequired(_l("Choose a month."))],
        render_kw={"type": "month"},
    )
    region = SelectField(_l("Region"), validators=[InputRequired()])


def region_choices(user: User) -> list[SelectChoice]:
    """The regions whose reports the user may have: the city (with every county's workbook)
    for a city user, else the user's county."""
    stmt = (
        sa.select(Region)
        .where(Region.level.in_([RegionLevel.CITY, RegionLevel.COUNTY]))
        .order_by(Region.code)
    )
    return [
        SelectChoice(region.code, region.name) for region in db.session.scalars(scoped(stmt, user))
    ]
