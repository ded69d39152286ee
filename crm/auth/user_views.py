"""The administrator's user pages: list, create, edit, deactivate, reset password, tokens."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from crm.audit.models import AuditLog
from crm.auth import operations
from crm.auth.forms import ResetPasswordForm, UserCreateForm, UserEditForm, UserFilterForm
from crm.auth.models import ApiToken, Role, User
from crm.auth.permissions import role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.db import page_number
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.forms import attach_errors, check_anyway
from crm.i18n import gettext as _
from crm.problems.deadlines import OPEN as HANDLING
from crm.problems.models import Problem
from crm.regions.queries import region_choices

bp = Blueprint("users", __name__, url_prefix="/admin/users")
PER_PAGE = 30


def _filtered_users(form: UserFilterForm) -> sa.Select:
    stmt = scoped(sa.select(User), current_user)
    if q := (form.q.data or "").strip():
        columns = (User.username, User.display_name, User.unit, User.phone)
        stmt = stmt.where(sa.or_(*(column.icontains(q, autoescape=True) for column in columns)))
    if form.role.data:
        stmt = stmt.where(User.role == form.role.data)
    if form.region.data:
        stmt = stmt.where(User.region_code == form.region.data)
    if form.status.data:
        stmt = stmt.where(User.active.is_(form.status.data == "active"))
    return stmt.order_by(User.active.desc(), User.region_code, User.role, User.username)


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    form = UserFilterForm(formdata=request.args)
    form.region.choices = [SelectChoice("", _("All regions")), *region_choices(current_user)]
    stmt = _filtered_users(form) if form.validate() else scoped(sa.select(User)).where(sa.false())
    page = db.paginate(stmt, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("auth/user_list.html", form=form, page=page)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create():
    form = UserCreateForm()
    form.region_code.choices = region_choices(current_user)

    def create_user() -> User:
        return operations.create_user(
            current_user,
            username=form.username.data or "",
            password=form.password.data or "",
            must_change_password=form.must_change_password.data,
            **{name: form[name].data or "" for name in operations.EDITABLE_FIELDS},
        )

    if not form.validate_on_submit():
        check_anyway(form, create_user)
        return render_template("auth/user_create.html", form=form)
    try:
        user = create_user()
    except DomainError as error:
        attach_errors(form, error)
        return render_template("auth/user_create.html", form=form)
    db.session.commit()
    flash(_("User %(name)s has been created.", name=user.display_name), "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(user_id: int):
    user = get_scoped_or_404(User, user_id)
    form = _edit_form(user)

    region_before = user.region_code

    def update_user() -> None:
        values = {name: form[name].data or "" for name in operations.EDITABLE_FIELDS}
        operations.update_user(current_user, user, values)

    if not form.validate_on_submit():
        check_anyway(form, update_user)
        return _user_page(user, form, ResetPasswordForm(formdata=None))
    try:
        update_user()
    except DomainError as error:
        attach_errors(form, error)
        return _user_page(user, form, ResetPasswordForm(formdata=None))
    db.session.commit()
    flash(_("Changes saved."), "success")
    if user.region_code != region_before:
        _warn_of_open_work(user)
    return redirect(url_for("users.edit", user_id=user.id))


def _edit_form(user: User, **kwargs: object) -> UserEditForm:
    form = UserEditForm(obj=user, **kwargs)
    form.region_code.choices = region_choices(current_user)
    return form


@dataclass(frozen=True)
class OpenWork:
    """What a user still holds: problems handed to them not yet resolved, tasks not done. Moved
    to another region or deactivated, they would hold them where they can no longer act."""

    problems: int
    tasks: int

    def __bool__(self) -> bool:
        return bool(self.problems or self.tasks)


def open_work(user: User) -> OpenWork:
    problems = sa.select(sa.func.count(Problem.id)).where(
        Problem.assignee_id == user.id, Problem.status.in_(HANDLING)
    )
    tasks = sa.select(sa.func.count(FollowUp.id)).where(
        FollowUp.assignee_id == user.id, FollowUp.status == FollowUpStatus.TODO
    )
    return OpenWork(db.session.scalar(problems) or 0, db.session.scalar(tasks) or 0)


def _warn_of_open_work(user: User) -> None:
    if work := open_work(user):
        message = _(
            "%(name)s still holds %(problems)d open problems and %(tasks)d open follow-up tasks: "
            "hand them to someone who can act on them.",
            name=user.display_name,
            problems=work.problems,
            tasks=work.tasks,
        )
        flash(message, "warning")


def _user_page(user: User, form: UserEditForm, reset_form: ResetPasswordForm):
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    about_user = sa.select(AuditLog).where(
        AuditLog.entity_type == User.__tablename__, AuditLog.entity_id == str(user.id)
    )
    history = db.session.scalars(
        scoped(about_user, current_user).order_by(AuditLog.id.desc()).limit(20)
    ).all()
    return render_template(
        "auth/user_edit.html",
        user=user,
        form=form,
        reset_form=reset_form,
        tokens=tokens,
        history=history,
        work=open_work(user),
    )


@bp.post("/<int:user_id>/deactivate")
@role_required(Role.ADMIN)
def deactivate(user_id: int):
    user = get_scoped_or_404(User, user_id)
    try:
        operations.deactivate_user(current_user, user)
    except DomainError as error:
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("%(name)s has been deactivated and logged out.", name=user.display_name), "success")
        _warn_of_open_work(user)
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/reactivate")
@role_required(Role.ADMIN)
def reactivate(user_id: int):
    user = get_scoped_or_404(User, user_id)
    operations.reactivate_user(current_user, user)
    db.session.commit()
    flash(_("%(name)s can log in again.", name=user.display_name), "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/password")
@role_required(Role.ADMIN)
def reset_password(user_id: int):
    user = get_scoped_or_404(User, user_id)
    reset_form = ResetPasswordForm()
    if reset_form.validate_on_submit():
        try:
            operations.reset_password(current_user, user, reset_form.password.data)
        except DomainError as error:
            attach_errors(reset_form, error)
        else:
            db.session.commit()
            flash(
                _("The password has been reset; the user must change it at next login."), "success"
            )
            return redirect(url_for("users.edit", user_id=user.id))
    return _user_page(user, _edit_form(user, formdata=None), reset_form), 422


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@role_required(Role.ADMIN)
def revoke_token(user_id: int, token_id: int):
    user = get_scoped_or_404(User, user_id)
    record = db.session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        abort(404)
    operations.revoke_api_token(current_user, record)
    db.session.commit()
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("users.edit", user_id=user.id))
