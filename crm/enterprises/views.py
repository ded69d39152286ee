"""Enterprise pages: the list, the type-ahead, the enterprise page, its form and its contacts."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from crm.auth.permissions import (
    DELETERS,
    EDITORS,
    can_delete_enterprise,
    login_required,
    role_required,
)
from crm.auth.scope import get_scoped_or_404, scoped
from crm.db import paginate
from crm.enterprises import credit_code, industries, operations
from crm.enterprises.forms import (
    ContactForm,
    EnterpriseForm,
    county_choices,
    keep_township_of_county,
    liaison_choices,
    township_choices,
)
from crm.enterprises.models import Contact, Enterprise
from crm.enterprises.queries import (
    TYPEAHEAD_MIN_LENGTH,
    EnterpriseFilterForm,
    editable_or_403,
    filtered_enterprises,
    typeahead,
)
from crm.enterprises.search import normalize_query
from crm.enterprises.timeline import timeline
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import attach_errors, check_anyway
from crm.i18n import gettext as _
from crm.regions.queries import region_name

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")
PER_PAGE = 25
bp.add_app_template_global(industries.label, "industry_label")


@bp.app_template_global()
def registering_area(code: str) -> str | None:
    """Where the credit code says the enterprise registered: a region's name, or its code."""
    area = credit_code.registering_area(code)
    return region_name(area) if area else None


@bp.app_template_global()
def tel_number(phone: str) -> str:
    """A phone number as a tel: link wants it."""
    return "".join(character for character in phone if character.isdigit() or character == "+")


def _filter_form() -> EnterpriseFilterForm:
    form = EnterpriseFilterForm(formdata=request.args)
    everything = SelectChoice("", _("All"))
    form.county.choices = [everything, *county_choices(current_user)]
    form.township.choices = [everything, *township_choices(form.county.data)[1:]]
    keep_township_of_county(form)
    form.liaison.choices = [everything, *liaison_choices(current_user)[1:]]
    return form


@bp.get("/")
@login_required
def index():
    form = _filter_form()
    if form.validate():
        stmt = filtered_enterprises(form, current_user)
    else:
        stmt = scoped(sa.select(Enterprise)).where(sa.false())
    page = paginate(db.session, stmt, per_page=PER_PAGE)
    return render_template("enterprises/index.html", form=form, page=page)


# Where a type-ahead's match leads (?pick=): the enterprise's page, or a form opened for it.
PICKED = {"page": "enterprises.show", "problem": "problems.create"}


@bp.get("/search")
@login_required
def search():
    """The type-ahead's answer: a short list of links, as the user types."""
    query = request.args.get("q", "")
    return render_template(
        "enterprises/_typeahead.html",
        enterprises=typeahead(query, current_user),
        query=query,
        too_short=0 < len(normalize_query(query)) < TYPEAHEAD_MIN_LENGTH,
        endpoint=PICKED.get(request.args.get("pick", ""), PICKED["page"]),
    )


@bp.get("/townships")
@login_required
def townships():
    """The township options of a county, for a form's second select (a filter's first option
    is 全部: ?all=1)."""
    county = request.args.get("county_code") or request.args.get("county", "")
    choices = township_choices(county)
    if request.args.get("all"):
        choices = [SelectChoice("", _("All")), *choices[1:]]
    return render_template("enterprises/_options.html", choices=choices)


def _save(form: EnterpriseForm, enterprise: Enterprise | None):
    """Create or update from the form; a response on success, None to show the form again."""
    confirmed = form.credit_code_confirmed.data
    county = enterprise.county_code if enterprise is not None else None
    try:
        if enterprise is None:
            enterprise = operations.create_enterprise(
                current_user, form.values(), confirmed=confirmed
            )
        else:
            seen = form.seen.data or None
            operations.update_enterprise(
                current_user, enterprise, form.values(), confirmed=confirmed, seen=seen
            )
    except DomainError as error:
        attach_errors(form, error)
        if enterprise is not None:  # a second save, after checking, is what the user decided
            form.seen.data = operations.edited_state(enterprise)
        return None
    db.session.commit()
    flash(_("%(name)s has been saved.", name=enterprise.name), "success")
    if county is not None and county != enterprise.county_code:
        _warn_of_work_out_of_reach(enterprise)
    return redirect(url_for("enterprises.show", enterprise_id=enterprise.id))


def _warn_of_work_out_of_reach(enterprise: Enterprise) -> None:
    problems, tasks = operations.work_out_of_reach(enterprise)
    if problems or tasks:
        message = _(
            "%(name)s now belongs to %(county)s: %(problems)d of its problems in hand and "
            "%(tasks)d of its open tasks are held by officers who cannot see it there. Assign "
            "them again.",
            name=enterprise.name,
            county=enterprise.county.name,
            problems=problems,
            tasks=tasks,
        )
        flash(message, "warning")


@bp.route("/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def create():
    form = EnterpriseForm()
    form.setup(current_user, request.form.get("county_code"))
    if not form.validate_on_submit():
        confirmed = form.credit_code_confirmed.data
        check_anyway(
            form,
            lambda: operations.create_enterprise(current_user, form.values(), confirmed=confirmed),
        )
    elif done := _save(form, None):
        return done
    return render_template("enterprises/form.html", form=form, enterprise=None)


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit(enterprise_id: int):
    enterprise = editable_or_403(enterprise_id)
    form = EnterpriseForm(obj=enterprise)
    form.setup(current_user, request.form.get("county_code") or enterprise.county_code)
    if request.method == "GET":
        form.seen.data = operations.edited_state(enterprise)
        form.tags.data = "、".join(enterprise.tags)
        form.liaison_id.data = str(enterprise.liaison_id or "")
    if not form.validate_on_submit():
        confirmed = form.credit_code_confirmed.data
        check_anyway(
            form,
            lambda: operations.update_enterprise(
                current_user, enterprise, form.values(), confirmed=confirmed
            ),
        )
    elif done := _save(form, enterprise):
        return done
    return render_template("enterprises/form.html", form=form, enterprise=enterprise)


@bp.get("/<int:enterprise_id>")
@login_required
def show(enterprise_id: int):
    enterprise = get_scoped_or_404(Enterprise, enterprise_id)
    return _page(enterprise, ContactForm(formdata=None))


def _page(enterprise: Enterprise, contact_form: ContactForm, status: int = 200):
    events = timeline(enterprise, current_user)
    page = render_template(
        "enterprises/show.html", enterprise=enterprise, events=events, contact_form=contact_form
    )
    return page, status


@bp.post("/<int:enterprise_id>/delete")
@role_required(*DELETERS)
def delete(enterprise_id: int):
    enterprise = get_scoped_or_404(Enterprise, enterprise_id)
    if not can_delete_enterprise(current_user, enterprise):
        abort(403)
    try:
        operations.delete_enterprise(current_user, enterprise)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("enterprises.show", enterprise_id=enterprise_id))
    db.session.commit()
    flash(_("%(name)s has been deleted.", name=enterprise.name), "success")
    return redirect(url_for("enterprises.index"))


def _contacts_answer(enterprise: Enterprise, form: ContactForm, status: int = 200):
    """htmx swaps in the contacts card; a plain form post gets the whole page."""
    if request.headers.get("HX-Request"):
        return render_template(
            "enterprises/_contacts.html", enterprise=enterprise, contact_form=form
        ), status
    if status == 200:
        return redirect(url_for("enterprises.show", enterprise_id=enterprise.id))
    return _page(enterprise, form, status)


def _contact_values(form: ContactForm) -> dict[str, object]:
    return {name: form[name].data for name in ("name", "title", "phone", "primary")}


@bp.post("/<int:enterprise_id>/contacts")
@role_required(*EDITORS)
def add_contact(enterprise_id: int):
    enterprise = editable_or_403(enterprise_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            operations.add_contact(current_user, enterprise, _contact_values(form))
        except DomainError as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            return _contacts_answer(enterprise, ContactForm(formdata=None))
    return _contacts_answer(enterprise, form, 422)


def _contact(enterprise: Enterprise, contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.enterprise_id != enterprise.id:
        abort(404)
    return contact


@bp.route("/<int:enterprise_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_contact(enterprise_id: int, contact_id: int):
    enterprise = editable_or_403(enterprise_id)
    contact = _contact(enterprise, contact_id)
    # Its fields named apart from the page's new-contact form, which stands beside it: their ids
    # (and the labels that point at them) would otherwise be the same.
    form = ContactForm(obj=contact, prefix=f"contact-{contact.id}")
    if form.validate_on_submit():
        try:
            operations.update_contact(current_user, contact, _contact_values(form))
        except DomainError as error:
            attach_errors(form, error)
        else:
            db.session.commit()
            return _contacts_answer(enterprise, ContactForm(formdata=None))
    status = 422 if form.errors else 200
    if not request.headers.get("HX-Request"):
        page = render_template(
            "enterprises/contact_edit.html", enterprise=enterprise, contact=contact, form=form
        )
        return page, status
    # In place of the contact's row; refused, it goes back there (the form's own target is the
    # whole card, which a success replaces).
    answer = render_template(
        "enterprises/_contact_edit.html", enterprise=enterprise, contact=contact, form=form
    )
    retarget = {"HX-Retarget": f"#contact-{contact.id}", "HX-Reswap": "innerHTML"}
    return answer, status, retarget if form.errors else {}


@bp.post("/<int:enterprise_id>/contacts/<int:contact_id>/delete")
@role_required(*EDITORS)
def delete_contact(enterprise_id: int, contact_id: int):
    enterprise = editable_or_403(enterprise_id)
    operations.remove_contact(current_user, _contact(enterprise, contact_id))
    db.session.commit()
    return _contacts_answer(enterprise, ContactForm(formdata=None))
