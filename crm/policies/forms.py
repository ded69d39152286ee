from wtforms import BooleanField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, Optional

from crm.forms import CrmForm, SelectField, TextAreaField
from crm.i18n import lazy_gettext as _l
from crm.policies.models import CATEGORY_LABELS, PolicyCategory


class PolicyForm(CrmForm):
    name = StringField(_l("Policy name"), validators=[DataRequired(), Length(max=100)])
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice(c.value, CATEGORY_LABELS[c]) for c in PolicyCategory],
        validators=[DataRequired()],
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[Optional(), Length(max=200)],
        description=_l("One line an officer can read out: what the enterprise gets or must do."),
        render_kw={"rows": 2},
    )
    issuer = StringField(_l("Issued by"), validators=[Optional(), Length(max=200)])
    reference = StringField(
        _l("Document"),
        validators=[Optional(), Length(max=200)],
        description=_l("e.g. 国科发火〔2016〕32号"),
    )
    active = BooleanField(_l("In use (offered on visits)"), default=True)
