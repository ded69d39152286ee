import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber
from crm.auth.models import Role
from crm.auth.permissions import login_required

blp = Blueprint("auth_api", __name__, description="The caller")


class MeSchema(ma.Schema):
    id = WholeNumber(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    unit = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)
    region_name = ma.fields.String(required=True, attribute="region.name")


@blp.get("/me")
@blp.response(200, MeSchema)
@login_required
def me():
    """The authenticated caller: id, username, role and region scope."""
    return current_user
