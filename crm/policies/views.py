"""The policy catalogue: everyone reads it; administrators add and change entries."""

import itertools

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from crm.auth.models import Role
from crm.auth.permissions import can_manage_policies, login_required, role_required
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import attach_errors
from crm.i18n import gettext as _
from crm.policies import operations
from crm.policies.forms import PolicyForm
from crm.policies.models import Policy, PolicyCategory

bp = Blueprint("policies", __name__, url_prefix="/policies")


@bp.get("/")
@login_required
def index():
    stmt = sa.select(Policy).order_by(Policy.category, Policy.position, Policy.id)
    if not can_manage_policies(current_user):
        stmt = stmt.where(Policy.active.is_(True))
    policies = db.session.scalars(stmt).all()
    order = list(PolicyCategory)
    policies = sorted(policies, key=lambda policy: order.index(policy.category))
    groups = [
        (category, list(items))
        for category, items in itertools.groupby(policies, key=lambda p: p.category)
    ]
    return render_template("policies/index.html", groups=groups)


def _save(form: PolicyForm, policy: Policy | None):
    values = {
        name: form[name].data
        for name in ("name", "category", "summary", "issuer", "reference", "active")
    }
    try:
        if policy is None:
            policy = operations.create_policy(current_user, values)
        else:
            operations.update_policy(current_user, policy, values)
    except DomainError as error:
        attach_errors(form, error)
        return None
    db.session.commit()
    flash(_("Policy %(name)s saved.", name=policy.name), "success")
    return redirect(url_for("policies.index"))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create():
    form = PolicyForm()
    if form.validate_on_submit() and (done := _save(form, None)):
        return done
    return render_template("policies/form.html", form=form, policy=None)


@bp.route("/<int:policy_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(policy_id: int):
    policy = db.session.get(Policy, policy_id) or abort(404)
    form = PolicyForm(obj=policy)
    if form.validate_on_submit() and (done := _save(form, policy)):
        return done
    return render_template("policies/form.html", form=form, policy=policy)
