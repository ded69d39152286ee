"""Pages of the certification pipeline: the board of a programme's year (kanban and list, with
its funnel), a case with its history and moves, a new case, the eligibility checks on an
enterprise, and 潜在培育对象."""

from urllib.parse import parse_qsl

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from crm import MAX_RECORD_ID
from crm.auth.models import Role
from crm.auth.permissions import login_required, role_required
from crm.auth.scope import get_scoped_or_404
from crm.certification import operations
from crm.certification import timeline as _timeline  # noqa: F401  (registers the timeline source)
from crm.certification.eligibility import (
    HIGH_TECH_FIELDS,
    check_high_tech,
    check_tech_sme,
    impossible_figures,
)
from crm.certification.forms import CaseForm, HighTechForm, MoveForm, TechSmeForm, plain_figures
from crm.certification.models import CertificationCase, Programme, Stage
from crm.certification.queries import board, cases_of_year, funnel, prospects
from crm.certification.workflow import CASE_ROLES, FINAL, allowed_moves, stages_of
from crm.db import paginate
from crm.enterprises.models import Enterprise
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.queries import assignee_choices
from crm.forms import attach_errors
from crm.i18n import gettext as _
from crm.i18n import local_today

bp = Blueprint("certification", __name__, url_prefix="/certification")
PER_PAGE = 50
CHECKS = {
    Programme.HIGH_TECH: (HighTechForm, check_high_tech),
    Programme.TECH_SME: (TechSmeForm, check_tech_sme),
}


@bp.app_template_global()
def days_in_stage(case: CertificationCase) -> int:
    from crm.i18n import local_date

    return (local_today() - local_date(case.stage_since)).days


@bp.app_template_global()
def case_moves(case: CertificationCase) -> list[Stage]:
    return allowed_moves(current_user, case)


@bp.app_template_global()
def is_final(stage: Stage) -> bool:
    """A stage a case never leaves (a move to it asks first, and asks why or for the number)."""
    return stage in FINAL


def _programme() -> Programme:
    try:
        return Programme(request.args.get("programme") or Programme.HIGH_TECH)
    except ValueError:
        abort(404)


def _year() -> int:
    year = request.args.get("year", type=int) or local_today().year
    if not 2000 <= year <= local_today().year + 1:
        abort(404)
    return year


@bp.get("/")
@login_required
def index():
    """The board (each stage's longest waiting cases) or the list (every case, a page at a
    time, of one stage when asked)."""
    programme, year = _programme(), _year()
    as_list = request.args.get("view") == "list"
    stage = _stage(programme) if as_list else None
    page = (
        paginate(db.session, cases_of_year(current_user, programme, year, stage), per_page=PER_PAGE)
        if as_list
        else None
    )
    return render_template(
        "certification/board.html",
        programme=programme,
        year=year,
        stage=stage,
        stages=stages_of(programme),
        columns=None if as_list else board(current_user, programme, year),
        page=page,
        funnel=funnel(current_user, programme, year),
        as_list=as_list,
        years=range(local_today().year + 1, local_today().year - 4, -1),
    )


def _stage(programme: Programme) -> Stage | None:
    """The list's stage, when one of the programme's is asked for."""
    value = request.args.get("stage")
    return next((s for s in stages_of(programme) if s.value == value), None)


def _case_page(case: CertificationCase, form: MoveForm | None = None, status: int = 200):
    forms = {}
    for stage in allowed_moves(current_user, case):
        if form is not None and form.to.data == stage.value:
            forms[stage] = form
        else:
            forms[stage] = MoveForm(formdata=None, to=stage.value, version=case.version)
    # A refused move the case no longer offers (moved on by someone else): told above the rest.
    stranded = [form] if form is not None and form not in forms.values() else []
    page = render_template(
        "certification/show.html",
        case=case,
        forms=forms,
        stranded=stranded,
        figures=_kept_figures(case),
        recheck=_recheck_query(case),
    )
    return page, status


def _kept_figures(case: CertificationCase) -> list[tuple[str, str]]:
    """The figures the case was opened with, labelled as the eligibility check labels them, in
    its order; those left empty are left out."""
    check_form, _check = CHECKS[case.programme]
    kept = case.figures or {}
    rows = []
    for name, field in check_form(formdata=None)._fields.items():
        value = kept.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif name == "field":
            shown = str(HIGH_TECH_FIELDS.get(value, value))
        else:
            shown = str(value)
        rows.append((str(field.label.text), shown))
    return rows


def _recheck_query(case: CertificationCase) -> dict[str, str]:
    """The eligibility check's query that runs it again on the case's figures (a box unticked
    is a box left out, as a browser sends it)."""
    query = {"enterprise_id": str(case.enterprise_id), "programme": case.programme.value}
    if not case.figures:
        return query
    query["check"] = "1"
    for name, value in case.figures.items():
        if value is True:
            query[name] = "y"
        elif value is not None and value is not False:
            query[name] = str(value)
    return query


@bp.get("/<int:case_id>")
@login_required
def show(case_id: int):
    return _case_page(get_scoped_or_404(CertificationCase, case_id))


@bp.post("/<int:case_id>/stage")
@role_required(*CASE_ROLES)
def move(case_id: int):
    case = get_scoped_or_404(CertificationCase, case_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return _case_page(case, form, 422)
    values = {
        "on": form.on.data,
        "certificate_no": form.certificate_no.data,
        "note": form.note.data,
    }
    try:
        operations.move_case(current_user, case, form.to.data, form.version.data, values)
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        attach_errors(form, error)
        return _case_page(db.session.get(CertificationCase, case_id), form, error.status)
    db.session.commit()
    flash(_("%(name)s: %(stage)s.", name=case.enterprise.name, stage=case.stage.label), "success")
    if request.form.get("back") == "board":
        return redirect(url_for(".index", programme=case.programme.value, year=case.year))
    return redirect(url_for(".show", case_id=case.id))


def _enterprise() -> Enterprise:
    enterprise_id = request.values.get("enterprise_id", type=int)
    if enterprise_id is None or not 0 < enterprise_id <= MAX_RECORD_ID:
        abort(404)
    return get_scoped_or_404(Enterprise, enterprise_id)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*CASE_ROLES)
def create():
    enterprise = _enterprise()
    form = CaseForm()
    people = assignee_choices(current_user, enterprise.county_code)
    form.owner_id.choices = [
        SelectChoice("", _("Myself")),
        *(SelectChoice(str(u.id), f"{u.display_name}（{u.region.name}）") for u in people),
    ]
    if request.method == "GET":
        form.programme.data = request.args.get("programme", Programme.HIGH_TECH.value)
        form.year.data = local_today().year
        form.checked.data = request.args.get("checked", "")
    if form.validate_on_submit():
        programme = form.programme.data
        figures = _case_figures(Programme(programme), enterprise, form.checked.data)
        values = {
            "programme": programme,
            "year": form.year.data,
            "batch": form.batch.data,
            "owner_id": form.owner_id.data if current_user.role == Role.CHIEF else None,
            "notes": form.notes.data,
            "figures": plain_figures(figures),
        }
        try:
            case = operations.open_case(current_user, enterprise, values)
        except DomainError as error:
            db.session.rollback()
            if error.status == 403:
                raise
            attach_errors(form, error)
        else:
            db.session.commit()
            flash(_("The case has been opened."), "success")
            return redirect(url_for(".show", case_id=case.id))
    status = 422 if form.errors or form.form_errors else 200
    open_cases = [c for p in Programme if (c := operations.open_case_of(enterprise, p))]
    page = render_template(
        "certification/form.html", form=form, enterprise=enterprise, open_cases=open_cases
    )
    return page, status


def _case_figures(programme: Programme, enterprise: Enterprise, checked: str | None) -> dict:
    """The figures a new case keeps: those its eligibility check was run on, when it was (and
    they hold), else the enterprise's own as the check would start from them."""
    check_form, _check = CHECKS.get(programme, CHECKS[Programme.HIGH_TECH])
    checked = checked or ""  # none sent: a form posted without the page, say
    asked = MultiDict(parse_qsl(checked[:4000]))
    if checked and asked.get("programme", Programme.HIGH_TECH.value) == programme.value:
        form = check_form(formdata=asked)
        figures = form.figures()
        if "apply_on" in figures:
            figures["apply_on"] = figures["apply_on"] or local_today()  # as the check ran
        if form.validate() and not impossible_figures(figures):
            return figures
    form = check_form(formdata=None)
    form.prefill(enterprise)
    return form.figures()


@bp.get("/eligibility")
@login_required
def eligibility():
    enterprise = _enterprise()
    programme = _programme()
    form_class, check = CHECKS[programme]
    asked = "check" in request.args
    form = form_class(formdata=request.args if asked else None)
    if not asked:
        form.prefill(enterprise)
    figures = form.figures()
    if programme == Programme.HIGH_TECH:
        figures["apply_on"] = figures["apply_on"] or local_today()
    result = check(figures) if not asked or _possible(form, figures) else None
    return render_template(
        "certification/eligibility.html",
        enterprise=enterprise,
        programme=programme,
        form=form,
        result=result,
        open_case=operations.open_case_of(enterprise, programme),
    )


def _possible(form: HighTechForm | TechSmeForm, figures: dict) -> bool:
    """The form's figures are valid, each and together (each impossible one marked)."""
    valid = form.validate()
    for name, message in impossible_figures(figures).items():
        form[name].errors = [*form[name].errors, message]
        valid = False
    return valid


@bp.get("/prospects")
@login_required
def prospect_list():
    return render_template(
        "certification/prospects.html", prospects=prospects(current_user, local_today())
    )
