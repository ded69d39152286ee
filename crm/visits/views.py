"""Visit pages: the tablet form (which also answers the offline sync), lists, the visit page,
editing, attachments, and the compact enterprise list the form uses without network."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from wtforms import SelectChoice

from crm.api import wants_json
from crm.auth.permissions import VISITORS, can_edit_visit, login_required, role_required
from crm.auth.scope import get_scoped_or_404, scoped
from crm.db import paginate
from crm.enterprises.forms import county_choices, keep_township_of_county, township_choices
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import typeahead
from crm.errors import Conflict, DomainError, json_error
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.policies.models import PolicyCategory
from crm.regions.tree import codes_above
from crm.visits import attachments, operations
from crm.visits import timeline as _timeline  # noqa: F401  (registers the timeline source)
from crm.visits.forms import (
    FILE_TYPES,
    ProblemEntryForm,
    VisitForm,
    active_policies,
    companion_choices,
    uploads_of,
)
from crm.visits.models import Attachment, AttachmentKind, Visit
from crm.visits.queries import (
    VisitFilterForm,
    enterprise_for_visit,
    enterprise_option,
    filtered_visits,
    list_rows,
    offline_enterprises,
    visits_of,
)
from crm.visits.rules import COORDINATES, companion_regions

bp = Blueprint("visits", __name__, url_prefix="/visits")
PER_PAGE = 25


def allow_visit_uploads() -> None:
    """A visit may carry several photos and files: a larger request than elsewhere. (Runs
    before the request guard, whose CSRF check is the first to read the body.)"""
    if request.blueprint == bp.name:
        request.max_content_length = current_app.config["VISIT_MAX_CONTENT_LENGTH"]


def _filter_form() -> VisitFilterForm:
    form = VisitFilterForm(formdata=request.args)
    everything = SelectChoice("", _("All"))
    form.county.choices = [everything, *county_choices(current_user)]
    form.township.choices = [everything, *township_choices(form.county.data)[1:]]
    keep_township_of_county(form)
    form.officer.choices = [everything, *_officer_choices(form)]
    form.policy.choices = [everything, *(SelectChoice(p.id, p.name) for p in active_policies())]
    return form


def _officer_choices(form: VisitFilterForm) -> list[SelectChoice]:
    """The people a visit list can be narrowed to: those who go on visits with the user (for a
    city user, the city's some 200), and once a county is chosen, as its townships are, only
    those who visit there: the county's people and those above it. The officer chosen is always
    among them (chosen before the county, they may be of another)."""
    everyone = companion_regions(current_user)
    county = form.county.data
    if not county or county not in {choice.value for choice in form.county.choices}:
        return companion_choices(regions=everyone, grouped=True)
    people = companion_choices(regions=codes_above(county), grouped=True)
    chosen = form.officer.data
    if chosen and chosen not in {str(choice.value) for choice in people}:
        return companion_choices(regions=everyone, grouped=True)
    return people


@bp.get("/")
@login_required
def index():
    form = _filter_form()
    stmt = filtered_visits(form, current_user) if form.validate() else None
    if stmt is None:
        stmt = scoped(sa.select(Visit)).where(sa.false())
    page = paginate(db.session, stmt, per_page=PER_PAGE, rows=list_rows)
    return render_template("visits/index.html", form=form, page=page)


@bp.get("/mine")
@login_required
def mine():
    page = paginate(db.session, visits_of(current_user), per_page=PER_PAGE, rows=list_rows)
    return render_template("visits/mine.html", page=page)


def input_errors(form: VisitForm) -> dict[str, list[str]]:
    """Errors keyed by the input names of the page, for the script that sent the form."""
    fields: dict[str, list[str]] = {}
    for field in form:
        entries = [entry.form for entry in field] if field.type == "FieldList" else []
        for sub in [field, *(f for entry in entries for f in entry)]:
            if messages := [str(m) for m in sub.errors or [] if isinstance(m, str)]:
                fields[sub.name] = messages
    for policy_id, messages in form.note_errors.items():
        fields[f"policy_note_{policy_id}"] = messages
    if form.form_errors:
        fields["_form"] = [str(message) for message in form.form_errors]
    return fields


def attach_visit_errors(form: VisitForm, error: DomainError) -> None:
    """An operation's errors beside the fields they name ("problems.0.title" → that row,
    "policy_notes.7" → policy 7's note, a coordinate → the location)."""
    for name, messages in error.fields.items():
        if name in COORDINATES:  # hidden inputs, filled by the location button
            name = "location"
            messages = [m for m in messages if m not in (form.location.errors or [])]
        row, _dot, sub = name.removeprefix("problems.").partition(".")
        policy_id = name.removeprefix("policy_notes.")
        if name.startswith("problems.") and row.isdigit() and int(row) < len(form.problems):
            target = form.problems[int(row)][sub]
        elif name.startswith("policy_notes.") and policy_id.isdigit():
            form.note_errors.setdefault(int(policy_id), []).extend(messages)
            continue
        elif name in form and name != "csrf_token":
            target = form[name]
        else:
            form.form_errors.append(messages[0])
            continue
        target.errors = [*(target.errors or []), *messages]


def _form_page(form: VisitForm, visit: Visit | None, chosen: Enterprise | None, status: int):
    form.offer_companions(visit.companions if visit is not None else ())
    policies = active_policies()
    if visit is not None:
        shown = {p.id for p in policies}
        policies += [link.policy for link in visit.policies if link.policy_id not in shown]
    groups = {
        category: [p for p in policies if p.category == category] for category in PolicyCategory
    }
    if request.method == "POST":
        notes = {p.id: request.form.get(f"policy_note_{p.id}", "") for p in policies}
    else:
        notes = {link.policy_id: link.note for link in visit.policies} if visit else {}
    page = render_template(
        "visits/form.html",
        form=form,
        visit=visit,
        chosen=chosen,
        policy_groups=[(category, group) for category, group in groups.items() if group],
        policy_notes=notes,
        followup_task=operations.followup_of(visit) if visit is not None else None,
        note_errors=form.note_errors,
        problem_categories=[(c.value, c.label) for c in ProblemEntryForm.category_choices()],
        today=local_today().isoformat(),
        file_types=FILE_TYPES,
        max_mb=current_app.config["ATTACHMENT_MAX_BYTES"] // (1024 * 1024),
        max_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
    )
    return page, status


def _invalid_answer(form: VisitForm, status: int, visit: Visit | None, chosen: Enterprise | None):
    if wants_json():
        fields = input_errors(form)
        message = next(iter(fields.values()), [_("Some fields are not valid.")])[0]
        return json_error(status, message, fields)
    return _form_page(form, visit, chosen, status)


@dataclass(frozen=True)
class Saved:
    """What the answer to a saved visit says, read before the commit (which expires the visit
    and its enterprise: reading them after would load them again)."""

    visit_id: int
    client_uuid: str
    enterprise_name: str
    created: bool

    @classmethod
    def of(cls, visit: Visit, created: bool) -> "Saved":
        return cls(visit.id, str(visit.client_uuid), visit.enterprise.name, created)


def _saved_answer(saved: Saved):
    url = url_for("visits.show", visit_id=saved.visit_id)
    if wants_json():
        body = {"id": saved.visit_id, "client_uuid": saved.client_uuid, "url": url}
        return jsonify(body), 201 if saved.created else 200
    if saved.created:
        flash(_("The visit to %(name)s has been saved.", name=saved.enterprise_name), "success")
    else:
        flash(_("This visit had already been saved; nothing was stored twice."), "info")
    return redirect(url)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*VISITORS)
def create():
    form = VisitForm()
    form.setup(current_user)
    chosen = _chosen_enterprise(form)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return _invalid_answer(form, status, None, chosen)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    try:
        with attachments.removed_on_failure():
            visit, created = operations.record_visit(
                current_user, chosen, form.values(request), uploads_of(form, limit)
            )
            saved = Saved.of(visit, created)
            db.session.commit()
    except DomainError as error:
        attach_visit_errors(form, error)
        status = 409 if isinstance(error, Conflict) else error.status
        return _invalid_answer(form, status, None, chosen)
    return _saved_answer(saved)


def _chosen_enterprise(form: VisitForm) -> Enterprise | None:
    """The enterprise in the form, or the one the page was opened for (?enterprise_id=)."""
    wanted = form.enterprise_id.data or request.args.get("enterprise_id")
    if not wanted:
        return None
    enterprise = enterprise_for_visit(wanted, current_user)
    if enterprise is not None:
        form.enterprise_id.data = str(enterprise.id)
    return enterprise


@bp.get("/<int:visit_id>")
@login_required
def show(visit_id: int):
    visit = get_scoped_or_404(Visit, visit_id)
    return render_template("visits/show.html", visit=visit)


def _edit_form(visit: Visit) -> VisitForm:
    form = VisitForm(obj=visit)
    form.setup(visit.lead)
    if request.method == "GET":
        form.seen.data = visit.updated_at.isoformat()
        form.companion_ids.data = [user.id for user in visit.companions]
        form.policy_ids.data = [link.policy_id for link in visit.policies]
    return form


@bp.route("/<int:visit_id>/edit", methods=["GET", "POST"])
@role_required(*VISITORS)
def edit(visit_id: int):
    visit = get_scoped_or_404(Visit, visit_id)
    if not can_edit_visit(current_user, visit):
        abort(403)
    form = _edit_form(visit)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return _invalid_answer(form, status, visit, visit.enterprise)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    try:
        with attachments.removed_on_failure():
            operations.update_visit(
                current_user,
                visit,
                form.values(request),
                uploads_of(form, limit),
                seen=form.seen.data or None,
            )
            db.session.commit()
    except DomainError as error:
        attach_visit_errors(form, error)
        status = 409 if isinstance(error, Conflict) else error.status
        return _invalid_answer(form, status, visit, visit.enterprise)
    flash(_("The visit has been saved."), "success")
    url = url_for("visits.show", visit_id=visit.id)
    # The page's script sends the changes itself (a refusal then keeps the files chosen).
    return jsonify({"id": visit.id, "url": url}) if wants_json() else redirect(url)


def _attachment(visit_id: int, attachment_id: int) -> Attachment:
    visit = get_scoped_or_404(Visit, visit_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.visit_id != visit.id:
        abort(404)
    return attachment


def _send(attachment: Attachment, thumbnail: bool):
    path = attachments.path_of(attachment.stored_name, thumbnail)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype="image/jpeg" if thumbnail else attachment.content_type,
        as_attachment=attachment.kind != AttachmentKind.PHOTO,
        download_name=attachment.filename,
    )


@bp.get("/<int:visit_id>/attachments/<int:attachment_id>")
@login_required
def attachment(visit_id: int, attachment_id: int):
    return _send(_attachment(visit_id, attachment_id), thumbnail=False)


@bp.get("/<int:visit_id>/attachments/<int:attachment_id>/thumbnail")
@login_required
def thumbnail(visit_id: int, attachment_id: int):
    found = _attachment(visit_id, attachment_id)
    return _send(found, thumbnail=found.has_thumbnail)


@bp.post("/<int:visit_id>/attachments/<int:attachment_id>/delete")
@role_required(*VISITORS)
def delete_attachment(visit_id: int, attachment_id: int):
    found = _attachment(visit_id, attachment_id)
    if not can_edit_visit(current_user, found.visit):
        abort(403)
    stored_name = operations.remove_attachment(current_user, found)
    db.session.commit()
    attachments.remove_files([stored_name])
    flash(_("%(name)s has been removed.", name=found.filename), "success")
    return redirect(url_for("visits.edit", visit_id=visit_id))


@bp.get("/enterprises.json")
@role_required(*VISITORS)
def enterprise_options():
    """With q: the type-ahead's matches. Without: the compact list kept for offline use."""
    query = request.args.get("q", "")
    if query:
        items = [enterprise_option(e) for e in typeahead(query, current_user)]
    else:
        items = offline_enterprises(current_user)
    return jsonify(items=items)


@bp.get("/sync-token")
@role_required(*VISITORS)
def sync_token():
    """A fresh form token and who is logged in, asked for before sending queued visits."""
    return jsonify(csrf_token=generate_csrf(), user_id=current_user.id)
