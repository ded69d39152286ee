"""The audit log, for administrators and chiefs, within their region scope."""

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user
from wtforms import DateField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from crm.audit.labels import ACTION_LABELS
from crm.audit.models import AuditLog
from crm.auth.models import Role
from crm.auth.permissions import role_required
from crm.auth.scope import scoped
from crm.db import page_number
from crm.extensions import db
from crm.forms import CrmForm, NotBefore, SelectField, searchable
from crm.i18n import day_start
from crm.i18n import lazy_gettext as _l

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PER_PAGE = 50


class AuditFilterForm(CrmForm):
    class Meta:
        csrf = False

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=64)], filters=[searchable])
    action = SelectField(_l("Action"), default="")
    entity_id = StringField(
        _l("Record id"), validators=[Optional(), Length(max=64)], filters=[searchable]
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional(), NotBefore("date_from")])


def _filtered_entries(form: AuditFilterForm) -> sa.Select:
    stmt = scoped(sa.select(AuditLog), current_user)
    if form.actor.data:
        stmt = stmt.where(AuditLog.actor_name.icontains(form.actor.data.strip(), autoescape=True))
    if form.action.data:
        stmt = stmt.where(AuditLog.action == form.action.data)
    if form.entity_id.data:
        stmt = stmt.where(AuditLog.entity_id == form.entity_id.data.strip())
    if form.date_from.data:
        stmt = stmt.where(AuditLog.created_at >= day_start(form.date_from.data))
    if form.date_to.data:
        stmt = stmt.where(AuditLog.created_at < day_start(form.date_to.data + timedelta(days=1)))
    return stmt.order_by(AuditLog.id.desc())


@bp.get("/")
@role_required(Role.ADMIN, Role.CHIEF)
def index():
    form = AuditFilterForm(formdata=request.args)
    form.action.choices = [SelectChoice("", _l("All actions"))] + [
        SelectChoice(key, str(label)) for key, label in sorted(ACTION_LABELS.items())
    ]
    valid = form.validate()
    stmt = _filtered_entries(form) if valid else scoped(sa.select(AuditLog)).where(sa.false())
    page = db.paginate(stmt, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("audit/index.html", form=form, page=page)
