"""Pages of follow-up tasks and notifications: 我的任务 (one tap to complete), a chief's board
with reassignment, a task's page, a new task from an enterprise, visit or problem, and the
notifications behind the bell in the top bar."""

import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from crm import MAX_RECORD_ID
from crm.auth.models import Role
from crm.auth.permissions import login_required, role_required
from crm.auth.scope import get_scoped_or_404
from crm.auth.views import back_to
from crm.db import paginate
from crm.enterprises.models import Enterprise
from crm.errors import DomainError
from crm.extensions import db
from crm.followups import notifications, operations, rules
from crm.followups import timeline as _timeline  # noqa: F401  (registers the timeline source)
from crm.followups.forms import (
    CancelForm,
    CompleteForm,
    FollowUpForm,
    ReassignForm,
    people_choices,
)
from crm.followups.models import FollowUp, Notification
from crm.followups.queries import (
    assignable,
    assignee_choices,
    board_rows,
    board_tasks,
    my_tasks,
    recently_done_of,
)
from crm.forms import attach_errors, record_ids
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.problems.models import Problem
from crm.visits.models import Visit

bp = Blueprint("followups", __name__, url_prefix="/tasks")
notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 30


@bp.app_template_global()
def unread_notifications() -> int:
    """The number on the bell in the top bar."""
    if not current_user or not current_user.is_authenticated:
        return 0
    return notifications.unread_count(current_user)


bp.add_app_template_global(rules.can_complete_followup, "can_complete_followup")
bp.add_app_template_global(rules.can_cancel_followup, "can_cancel_followup")
bp.add_app_template_global(rules.can_reassign_followup, "can_reassign_followup")
bp.add_app_template_global(rules.can_create_followup, "can_create_followup")


def _record_id(name: str) -> int | None:
    """A record id from the query or form; None when absent or not a possible id."""
    value = request.values.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_RECORD_ID else None


@bp.get("/")
@role_required(Role.OFFICER, Role.CHIEF, Role.ADMIN)
def mine():
    today = local_today()
    return render_template(
        "followups/mine.html",
        groups=my_tasks(current_user, today, expanded=request.args.get("all")),
        done=recently_done_of(current_user),
        today=today,
    )


@bp.get("/board")
@role_required(Role.CHIEF)
def board():
    today = local_today()
    assignee_id = _record_id("assignee")
    rows = board_rows(current_user, today)
    if assignee_id is not None and assignee_id not in {row.assignee.id for row in rows}:
        assignee_id = None
    tasks = board_tasks(current_user, today, assignee_id)
    reassign, choices, candidates = {}, {}, assignable()
    for task in tasks:
        if task.county_code not in choices:
            people = assignee_choices(current_user, task.county_code, candidates)
            choices[task.county_code] = people_choices(people, blank="—")
        form = ReassignForm(formdata=None, version=task.version)
        form.assignee_id.choices = choices[task.county_code]
        reassign[task.id] = form
    # How many tasks the list stands for: the chosen officer's open ones, or the section's overdue.
    listed = sum(
        row.open if assignee_id else row.overdue
        for row in rows
        if assignee_id is None or row.assignee.id == assignee_id
    )
    return render_template(
        "followups/board.html",
        rows=rows,
        tasks=tasks,
        listed=listed,
        chosen=assignee_id,
        reassign=reassign,
        today=today,
    )


def _source() -> tuple[Enterprise, dict]:
    """The enterprise a new task is on, and the visit or problem it comes from (in scope); a
    deleted enterprise's visits and problems are history, with no new task."""
    if visit_id := _record_id("visit_id"):
        visit = get_scoped_or_404(Visit, visit_id)
        return _not_deleted(visit.enterprise), {"visit_id": visit.id}
    if problem_id := _record_id("problem_id"):
        problem = get_scoped_or_404(Problem, problem_id)
        return _not_deleted(problem.enterprise), {"problem_id": problem.id}
    enterprise_id = _record_id("enterprise_id")
    if enterprise_id is None:
        abort(404)
    return get_scoped_or_404(Enterprise, enterprise_id), {}


def _not_deleted(enterprise: Enterprise) -> Enterprise:
    if enterprise.deleted_at is not None:
        abort(404)
    return enterprise


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.OFFICER, Role.CHIEF, Role.ADMIN)
def create():
    enterprise, links = _source()
    form = FollowUpForm()
    assignable = rules.can_assign_followups(current_user)
    if assignable:
        people = assignee_choices(current_user, enterprise.county_code)
        form.assignee_id.choices = people_choices(people, blank=_("Myself"))
    if form.validate_on_submit() and (stored := _store_task(form, enterprise, links, assignable)):
        return stored
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "followups/form.html",
        form=form,
        enterprise=enterprise,
        links=links,
        assignable=assignable,
        today=local_today(),
    ), status


def _store_task(form: FollowUpForm, enterprise: Enterprise, links: dict, assignable: bool):
    """The new task stored (or found, when this form was sent before) and its page to go to;
    None when it is refused, with the reasons on the form."""
    values = form.values()
    if not assignable:
        values["assignee_id"] = None
    try:
        task, created = operations.create_followup_once(current_user, enterprise, values, **links)
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        attach_errors(form, error)
        if "client_uuid" in error.fields:  # a hidden input, made with the page: a new one
            form.client_uuid.errors = []
            form.client_uuid.data = str(uuid.uuid4())
            form.form_errors.append(
                _("The form's task number could not be used; it has a new one now: save again.")
            )
        return None
    db.session.commit()
    if created:
        flash(_("The task has been created: %(title)s.", title=task.title), "success")
    else:
        flash(_("This task was created already: %(title)s.", title=task.title), "info")
    return redirect(url_for("followups.show", followup_id=task.id))


def _task_page(
    task: FollowUp, forms: dict | None = None, status: int = 200, stranded: list | None = None
):
    forms = forms or {}
    forms.setdefault("complete", CompleteForm(formdata=None, version=task.version))
    forms.setdefault("cancel", CancelForm(formdata=None, version=task.version))
    if "reassign" not in forms:
        forms["reassign"] = ReassignForm(formdata=None, version=task.version)
    forms["reassign"].assignee_id.choices = people_choices(
        assignee_choices(current_user, task.county_code), blank="—"
    )
    history = []
    if task.previous_id:
        history = [db.session.get(FollowUp, task.previous_id)]
    g.here = url_for("followups.show", followup_id=task.id)  # for a refused action's page too
    page = render_template(
        "followups/show.html", task=task, forms=forms, history=history, stranded=stranded or []
    )
    return page, status


@bp.get("/<int:followup_id>")
@login_required
def show(followup_id: int):
    return _task_page(get_scoped_or_404(FollowUp, followup_id))


ACTIONS = {
    "complete": (CompleteForm, operations.complete_followup),
    "cancel": (CancelForm, operations.cancel_followup),
    "reassign": (ReassignForm, operations.reassign_followup),
}


@bp.post("/<int:followup_id>/<action>")
@role_required(Role.OFFICER, Role.CHIEF, Role.ADMIN)
def act(followup_id: int, action: str):
    task = get_scoped_or_404(FollowUp, followup_id)
    if action not in ACTIONS:
        abort(404)
    form_class, operation = ACTIONS[action]
    form = form_class()
    if action == "reassign":
        form.assignee_id.choices = people_choices(
            assignee_choices(current_user, task.county_code), blank="—"
        )
    if form.validate_on_submit():
        values = {name: form[name].data for name in form.data if name not in ("csrf_token",)}
        try:
            following = operation(current_user, task, form.version.data, values)
        except DomainError as error:
            db.session.rollback()
            if error.status == 403:
                raise
            # From a list too (我的任务, the board): the task's own page, with what was typed and
            # the reason beside it, not a message on the list and the typing lost.
            attach_errors(form, error)
            fresh = db.session.get(FollowUp, followup_id)
            # Done, cancelled or handed on meanwhile: no form to show it in; told above them.
            stranded = [] if STILL_POSSIBLE[action](current_user, fresh) else [form]
            return _task_page(fresh, {action: form}, error.status, stranded)
        db.session.commit()
        flash(_MESSAGES[action](task, following), "success")
        return redirect(back_to(url_for("followups.show", followup_id=task.id)))
    return _task_page(task, {action: form}, 422)


STILL_POSSIBLE = {
    "complete": rules.can_complete_followup,
    "cancel": rules.can_cancel_followup,
    "reassign": rules.can_reassign_followup,
}

_MESSAGES = {
    "complete": lambda task, following: (
        _(
            "Done: %(title)s. The next one is due %(date)s.",
            title=task.title,
            date=following.due_on.isoformat(),
        )
        if following
        else _("Done: %(title)s.", title=task.title)
    ),
    "cancel": lambda task, _following: _("Cancelled: %(title)s.", title=task.title),
    "reassign": lambda task, _following: _(
        "%(title)s is now with %(name)s.", title=task.title, name=task.assignee.display_name
    ),
}


@notifications_bp.get("/")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    stmt = notifications.notifications_of(current_user, unread_only)
    page = paginate(db.session, stmt, per_page=PER_PAGE)
    return render_template("followups/notifications.html", page=page, unread_only=unread_only)


@notifications_bp.get("/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Follow a notification's link, marking it read."""
    notification = db.session.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.user_id == current_user.id
        )
    )
    if notification is None:
        abort(404)
    notifications.mark_read(current_user, [notification.id])
    db.session.commit()
    return redirect(notification.link or url_for("notifications.index"))


@notifications_bp.post("/read")
@login_required
def read():
    ids = record_ids(request.form, "ids")
    count = notifications.mark_read(current_user, ids or None)
    db.session.commit()
    flash(_("%(n)d notifications marked as read.", n=count), "success")
    return redirect(back_to(url_for("notifications.index")))
