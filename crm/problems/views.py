"""The problem ledger's pages: 问题台账 with its tabs and 批量交办, 我的问题, a problem's page with
its history and the steps the viewer may take, and a problem recorded without a visit."""

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from crm import MAX_RECORD_ID
from crm.auth.models import Role, User
from crm.auth.permissions import VISITORS, login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.auth.views import back_to
from crm.db import paginate
from crm.enterprises.forms import county_choices
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import attach_errors, record_ids
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.problems import deadlines, operations
from crm.problems import timeline as _timeline  # noqa: F401  (registers the timeline source)
from crm.problems.forms import BulkAssignForm, ProblemForm, StepForm
from crm.problems.models import Problem, ProblemStatus, Satisfaction
from crm.problems.queries import (
    LedgerFilterForm,
    LedgerRow,
    StatusCounts,
    ledger,
    ledger_rows,
    problems_of,
    status_counts,
)
from crm.problems.workflow import TRANSITIONS, Step, allowed_steps
from crm.visits.queries import enterprise_for_visit

bp = Blueprint("problems", __name__, url_prefix="/problems")
PER_PAGE = 25
STEP_ROLES = (Role.OFFICER, Role.CHIEF)


@bp.app_template_global()
def step_label(step: str) -> str:
    return Step(step).label


@bp.app_template_global()
def satisfaction_label(value: str) -> str:
    return Satisfaction(value).label


@bp.app_template_global()
def deadline_days(problem: deadlines.Timed) -> int | None:
    """Days left until the problem's due date (negative: overdue), in the bureau's calendar."""
    return deadlines.days_left(problem, local_today())


@bp.app_template_global()
def late_steps(problem: deadlines.Timed) -> list[str]:
    """What the 13710 habit expected by now and did not get (not accepted, no progress)."""
    today = local_today()
    late = []
    if deadlines.acknowledgement_late(problem, today):
        late.append(_("Not accepted within %(n)d day", n=current_app.config["PROBLEM_ACK_DAYS"]))
    if deadlines.progress_late(problem, today):
        days = current_app.config["PROBLEM_PROGRESS_DAYS"]
        late.append(_("No progress within %(n)d days", n=days))
    return late


def _filter_form() -> LedgerFilterForm:
    form = LedgerFilterForm(formdata=request.args)
    form.county.choices = [SelectChoice("", _("All")), *county_choices(current_user)]
    return form


def _assignment_forms(form: LedgerFilterForm, bulk: BulkAssignForm | None = None) -> BulkAssignForm:
    """批量交办's form (`bulk`, as sent, when it is shown again with its errors); with it, the
    assignee filter's choices. Both offer those who may take the problems shown: a county's
    people and the city's, never another county's (a city user's: the whole city's some 200
    until a county is chosen). The filter keeps an assignee chosen before the county, who may
    be of another."""
    own = None if current_user.region.is_root else current_user.region_code
    counties = {choice.value for choice in form.county.choices[1:]}
    chosen = form.county.data if form.county.data in counties else None
    bulk = bulk or BulkAssignForm(formdata=None)
    bulk.setup(own or chosen)
    people = bulk.assignee_id.choices[1:]
    if own is None and chosen and form.assignee.data not in {"", *(c.value for c in people)}:
        everyone = BulkAssignForm(formdata=None)
        everyone.setup(None)
        people = everyone.assignee_id.choices[1:]
    form.assignee.choices = [SelectChoice("", _("All")), *people, *_holder_gone(form, people)]
    return bulk


def _holder_gone(form: LedgerFilterForm, people: list[SelectChoice]) -> list[SelectChoice]:
    """The assignee asked for, when no longer among those who may take problems (deactivated,
    given another role) but within the user's scope: their problems can still be listed, to be
    handed to someone else (the user page links here)."""
    wanted = form.assignee.data
    if not wanted or not wanted.isdigit() or int(wanted) > MAX_RECORD_ID:
        return []
    if wanted in {str(c.value) for c in people}:
        return []
    holder = db.session.scalars(
        scoped(sa.select(User).where(User.id == int(wanted)), current_user)
    ).first()
    if holder is None:
        return []
    return [
        SelectChoice(holder.id, _("%(name)s (no longer takes problems)", name=holder.display_name))
    ]


@bp.get("/")
@login_required
def index():
    return _ledger_page()


def _ledger_page(bulk: BulkAssignForm | None = None, ticked: frozenset[int] = frozenset()) -> str:
    """The ledger as its query string filters it; with a refused 批量交办, the form as it was
    sent, its errors beside its fields and the problems it named still ticked."""
    form = _filter_form()
    bulk = _assignment_forms(form, bulk)
    today = local_today()
    if form.validate():
        stmt, counts = ledger(form, current_user, today), status_counts(form, current_user, today)
    else:
        stmt, counts = scoped(sa.select(Problem)).where(sa.false()), StatusCounts({}, 0)
    page = paginate(db.session, stmt, per_page=PER_PAGE, rows=ledger_rows)
    g.here = url_for("problems.index", **request.args)  # for a refused 批量交办's page too
    return render_template(
        "problems/index.html",
        form=form,
        page=page,
        counts=counts,
        bulk=bulk,
        tickable=_tickable(page.items),
        ticked=ticked,
        statuses=list(ProblemStatus),
    )


def _tickable(rows: list[LedgerRow]) -> set[int]:
    """The rows a chief may tick for 批量交办 (those still open); with none on the page, the
    page shows neither the ticks nor the form (a tab of closed problems, say)."""
    if current_user.role != Role.CHIEF:
        return set()
    sources = TRANSITIONS[Step.ASSIGN].sources
    return {row.id for row in rows if row.status in sources}


@bp.post("/bulk-assign")
@role_required(Role.CHIEF)
def bulk_assign():
    """批量交办, posted to the ledger's own query string: refused, the same ledger page comes
    back (422) with what was chosen and ticked, and the reason beside the field."""
    ids = record_ids(request.form, "problem_ids")
    problems = [(get_scoped_or_404(Problem, i), request.form.get(f"version_{i}")) for i in ids]
    form = BulkAssignForm()
    form.setup(None)
    status = 422
    if form.validate_on_submit():
        try:
            operations.assign_problems(current_user, problems, form.values())
        except DomainError as error:
            db.session.rollback()
            attach_errors(form, error)
            status = error.status
        else:
            db.session.commit()
            flash(_("%(n)d problems have been assigned.", n=len(problems)), "success")
            return redirect(back_to(url_for("problems.index")))
    return _ledger_page(form, frozenset(ids)), status


@bp.get("/mine")
@login_required
def mine():
    page = paginate(db.session, problems_of(current_user), per_page=PER_PAGE, rows=ledger_rows)
    return render_template("problems/mine.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*VISITORS)
def create():
    form = ProblemForm()
    if request.method == "GET":
        form.raised_on.data = local_today()
        form.enterprise_id.data = request.args.get("enterprise_id", "")
    enterprise = enterprise_for_visit(form.enterprise_id.data, current_user)
    if form.validate_on_submit():
        values = {
            name: form[name].data
            for name in ("category", "title", "description", "raised_on", "major")
        }
        try:
            if enterprise is None:
                message = _("Choose the enterprise from the list.")
                raise DomainError(message, {"enterprise_id": [message]})
            problem = operations.record_problem(current_user, enterprise, values)
        except DomainError as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            flash(_("The problem has been put on the ledger."), "success")
            return redirect(url_for("problems.show", problem_id=problem.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("problems/form.html", form=form, chosen=enterprise), status


def _page(problem: Problem, forms: dict[Step, StepForm] | None = None, status: int = 200):
    # The call-back is one act: the enterprise's answer closes the problem or reopens it, so
    # one card asks for it (the close step's, which take_step turns into a reopen when the
    # answer is 不满意), not two cards whose titles the answer could contradict.
    steps = [step for step in allowed_steps(current_user, problem) if step != Step.REOPEN]
    forms = forms or {}
    for step in steps:
        if step not in forms:
            forms[step] = StepForm(formdata=None, version=problem.version)
        forms[step].setup(problem.county_code)
    g.here = url_for("problems.show", problem_id=problem.id)  # for a refused step's page too
    stranded = [form for step, form in forms.items() if step not in steps]
    page = render_template(
        "problems/show.html", problem=problem, steps=steps, forms=forms, stranded=stranded
    )
    return page, status


@bp.get("/<int:problem_id>")
@login_required
def show(problem_id: int):
    return _page(get_scoped_or_404(Problem, problem_id))


@bp.post("/<int:problem_id>/steps/<step>")
@role_required(*STEP_ROLES)
def take_step(problem_id: int, step: str):
    problem = get_scoped_or_404(Problem, problem_id)
    try:
        chosen = Step(step)
    except ValueError:
        abort(404)
    form = StepForm()
    form.setup(problem.county_code)
    card = Step.CLOSE if chosen == Step.REOPEN else chosen  # the call-back's one card
    if form.validate_on_submit():
        try:
            event = operations.take_step(
                current_user, problem, chosen, form.version.data, form.values()
            )
        except DomainError as error:
            db.session.rollback()
            if error.status == 403:
                raise
            attach_errors(form, error)
            current = db.session.get(Problem, problem_id)
            if "version" in error.fields:  # the change is told now: a second send is informed
                form.version.data = current.version
            return _page(current, {card: form}, error.status)
        taken = Step(event.step)  # a call-back closes or reopens, as the answer says
        db.session.commit()
        flash(_("Saved: %(step)s.", step=taken.label), "success")
        return redirect(url_for("problems.show", problem_id=problem.id))
    return _page(problem, {card: form}, 422)
