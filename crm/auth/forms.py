import uuid

from wtforms import BooleanField, HiddenField, PasswordField, SelectChoice, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from crm.auth.models import Role
from crm.forms import CrmForm, SelectField, searchable
from crm.i18n import lazy_gettext as _l


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, role.label) for role in Role]


class LoginForm(CrmForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(CrmForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("At least 8 characters, with letters and digits."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class UserEditForm(CrmForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=32)], render_kw={"inputmode": "tel"}
    )
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=120)],
        description=_l(
            "Notifications are e-mailed here too when the bureau's mail server is set up."
        ),
        render_kw={"inputmode": "email", "autocomplete": "off"},
    )
    role = SelectField(
        _l("Role"), choices=role_choices, default=Role.OFFICER.value, validators=[DataRequired()]
    )
    region_code = SelectField(_l("Region scope"), validators=[DataRequired()])
    unit = StringField(
        _l("Unit"),
        validators=[Optional(), Length(max=64)],
        description=_l("e.g. 高新技术科, 成果转化科, or a county bureau."),
    )


class UserCreateForm(UserEditForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(min=2, max=32)],
        description=_l("Used to log in; lower-case letters, digits, '.', '_' or '-'."),
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("The user must change it at first login."),
        render_kw={"autocomplete": "new-password"},
    )
    must_change_password = BooleanField(_l("Require a new password at first login"), default=True)


class ResetPasswordForm(CrmForm):
    password = PasswordField(
        _l("Temporary password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("Tell it to the user; they must choose a new one when they log in."),
        render_kw={"autocomplete": "new-password"},
    )


class TokenForm(CrmForm):
    # A number per form shown: the same form sent again (a reload of the page that showed the
    # new token) creates no second token.
    once = HiddenField(default=lambda: uuid.uuid4().hex)
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("What will use it, e.g. 县区数据对接."),
    )


class UserFilterForm(CrmForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=64)], filters=[searchable])
    role = SelectField(
        _l("Role"), choices=lambda: [SelectChoice("", _l("All roles")), *role_choices()], default=""
    )
    region = SelectField(_l("Region"), default="")
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("active", _l("Active")),
            SelectChoice("inactive", _l("Deactivated")),
        ],
        default="",
    )
