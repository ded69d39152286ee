"""Every write to enterprises and their contacts. Nothing here commits.

The field rules live in crm.enterprises.rules; everything here checks values through them.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from crm.audit.labels import register_labels
from crm.audit.operations import Changes, apply_changes, plain_value, record_audit
from crm.auth.models import User
from crm.auth.scope import in_scope
from crm.db import bulk_insert, utcnow
from crm.enterprises import industries
from crm.enterprises.imports import Fate, ImportPlan, RowResult
from crm.enterprises.models import COUNTY_COPIES, Contact, Enterprise, Scale, SpecializedLevel
from crm.enterprises.rules import EDITABLE, FLAGS, TEXTS, clean_contact, clean_values
from crm.enterprises.search import search_fields
from crm.errors import Conflict, ValidationFailed
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.regions.queries import region_name

register_labels(
    {
        "enterprise.create": _l("Registered enterprise"),
        "enterprise.update": _l("Changed enterprise"),
        "enterprise.delete": _l("Deleted enterprise"),
        "enterprise.credit_code_confirmed": _l("Confirmed a credit code against the licence"),
        "enterprise.import": _l("Imported enterprises"),
    },
    {
        "name": _l("Name (of a record)"),
        "credit_code": _l("Unified social credit code"),
        "county_code": _l("County/district"),
        "township_code": _l("Township/street"),
        "address": _l("Address"),
        "legal_representative": _l("Legal representative"),
        "founded_on": _l("Founded on"),
        "industry": _l("Industry"),
        "scale": _l("Scale"),
        "above_scale": _l("Above designated size"),
        "staff": _l("Staff"),
        "tech_staff": _l("Technical staff"),
        "revenue": _l("Revenue last year (10k yuan)"),
        "rnd_expense": _l("R&D expense (10k yuan)"),
        "high_tech_revenue": _l("High-tech product revenue (10k yuan)"),
        "ip_class1": _l("Class I IP"),
        "ip_class2": _l("Class II IP"),
        "high_tech": _l("High-tech enterprise"),
        "high_tech_certificate": _l("Certificate no."),
        "high_tech_valid_until": _l("Valid until"),
        "tech_sme": _l("Tech-based SME"),
        "tech_sme_number": _l("Registration no."),
        "tech_sme_year": _l("Registration year"),
        "specialized": _l("Specialised SME"),
        "liaison_id": _l("Liaison officer"),
        "tags": _l("Tags"),
        # An import's entry: its file and what became of its rows (and as entries written
        # before 2026-11-25 name them: file, created, updated, skipped).
        **dict.fromkeys(("import_file", "file"), _l("File")),
        **dict.fromkeys(("enterprises_added", "created"), _l("Enterprises added")),
        **dict.fromkeys(("enterprises_updated", "updated"), _l("Enterprises updated")),
        **dict.fromkeys(("rows_skipped", "skipped"), _l("Rows skipped")),
    },
    {"enterprises": _l("Enterprise")},
    {
        "county_code": region_name,
        "township_code": region_name,
        "industry": industries.label,
        "scale": lambda value: Scale(value).label,
        "specialized": lambda value: SpecializedLevel(value).label,
    },
)
register_labels(
    {
        "contact.create": _l("Added contact"),
        "contact.update": _l("Changed contact"),
        "contact.delete": _l("Removed contact"),
    },
    {
        "name": _l("Name"),
        "title": _l("Title"),
        "phone": _l("Phone"),
        "primary": _l("Primary contact"),
    },
    {"contacts": _l("Contact")},
)


def code_holder(code: str, exclude_id: int | None = None) -> Enterprise | None:
    """The live enterprise registered under `code`, if any."""
    stmt = sa.select(Enterprise).where(
        Enterprise.credit_code == code, Enterprise.deleted_at.is_(None)
    )
    if exclude_id is not None:
        stmt = stmt.where(Enterprise.id != exclude_id)
    return db.session.scalars(stmt).first()


def _check_name_free(actor: User | None, name: str, exclude_id: int | None = None) -> None:
    """One live enterprise per name, as the Excel import holds it: a second registration of the
    same enterprise under a mistyped code is caught here. The other one is named by its code
    when the actor may see it."""
    stmt = sa.select(Enterprise).where(Enterprise.name == name, Enterprise.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Enterprise.id != exclude_id)
    holder = db.session.scalars(stmt).first()
    if holder is None:
        return
    other = (
        holder.credit_code
        if actor is None or in_scope(actor, holder.county_code)
        else _("registered by another county or district")
    )
    message = _("An enterprise of this name exists already (%(other)s).", other=other)
    raise ValidationFailed(message, {"name": [message]})


def _code_taken(actor: User | None, holder: Enterprise) -> Conflict:
    if actor is None or in_scope(actor, holder.county_code):
        message = _("This credit code is already registered: %(name)s.", name=holder.name)
    else:
        message = _("This credit code is already registered by another county or district.")
    return Conflict(message, {"credit_code": [message]})


def _flush_unique(actor: User | None, enterprise: Enterprise) -> None:
    """Flush; a concurrent registration of the same code becomes a Conflict, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        holder = code_holder(enterprise.credit_code, enterprise.id)
        if holder is None:
            raise
        raise _code_taken(actor, holder) from error


def _record_confirmation(actor: User | None, enterprise: Enterprise) -> None:
    if enterprise.credit_code_unverified:
        record_audit(
            "enterprise.credit_code_confirmed",
            enterprise,
            actor=actor,
            changes={"credit_code": [None, enterprise.credit_code]},
        )


def create_enterprise(
    actor: User | None, values: dict[str, Any], *, confirmed: bool = False
) -> Enterprise:
    """Register an enterprise; `confirmed` accepts a code whose check character fails."""
    cleaned = clean_values(actor, values, confirmed=confirmed)
    if holder := code_holder(cleaned["credit_code"]):
        raise _code_taken(actor, holder)
    _check_name_free(actor, cleaned["name"])
    enterprise = Enterprise(
        **cleaned,
        **search_fields(cleaned["name"], cleaned["county_code"]),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(enterprise)
    _flush_unique(actor, enterprise)
    changes: Changes = {
        field: [None, record]
        for field in EDITABLE
        if (record := plain_value(getattr(enterprise, field))) not in (None, "", [], False)
    }
    record_audit("enterprise.create", enterprise, actor=actor, changes=changes)
    _record_confirmation(actor, enterprise)
    return enterprise


def edited_state(enterprise: Enterprise) -> str:
    """A digest of the fields an editor changes: what the editing page had, to tell on saving
    whether someone saved the enterprise meanwhile. Not its updated_at, which a visit moves on
    too (the date of the last visit is the enterprise's)."""
    state = json.dumps([plain_value(getattr(enterprise, field)) for field in EDITABLE])
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def update_enterprise(
    actor: User | None,
    enterprise: Enterprise,
    values: dict[str, Any],
    *,
    confirmed: bool = False,
    seen: str | None = None,
) -> Changes:
    """Change an enterprise's fields; returns what changed. `seen`, edited_state as the editing
    page had it: an enterprise someone saved meanwhile is not overwritten unasked."""
    if seen is not None and seen != edited_state(enterprise):
        message = _(
            "This enterprise was saved after you opened it (by someone else, or by you on another "
            "page). What you entered is still below: check the enterprise's page (in another "
            "tab) first; saving again replaces what was saved."
        )
        raise Conflict(message, {"_form": [message]})
    cleaned = clean_values(actor, values, enterprise, confirmed=confirmed)
    code_changed = "credit_code" in cleaned and cleaned["credit_code"] != enterprise.credit_code
    if code_changed and (holder := code_holder(cleaned["credit_code"], enterprise.id)):
        raise _code_taken(actor, holder)
    if cleaned.get("name", enterprise.name) != enterprise.name:
        _check_name_free(actor, cleaned["name"], enterprise.id)
    if not code_changed:
        cleaned.pop("credit_code_unverified", None)
    changes = _apply(actor, enterprise, cleaned)
    if changes and code_changed:
        _flush_unique(actor, enterprise)
        _record_confirmation(actor, enterprise)
    return changes


def _apply(actor: User | None, enterprise: Enterprise, cleaned: dict[str, Any]) -> Changes:
    """Set checked values, keep the search fields in step, audit what changed."""
    changes = apply_changes(enterprise, cleaned)
    if changes.keys() & {"name", "county_code"}:
        derived = search_fields(enterprise.name, enterprise.county_code)
        for field, value in derived.items():
            setattr(enterprise, field, value)
    if "county_code" in changes:
        for model in COUNTY_COPIES:
            db.session.execute(
                sa.update(model)
                .where(model.enterprise_id == enterprise.id)
                .values(county_code=enterprise.county_code)
                .execution_options(synchronize_session="fetch")
            )
    if changes:
        record_audit("enterprise.update", enterprise, actor=actor, changes=changes)
    return changes


def work_out_of_reach(enterprise: Enterprise) -> tuple[int, int]:
    """How many of the enterprise's problems in hand, and of its open tasks, are held by an
    officer who cannot see its county (after it moved to another): they no longer see them, and
    they are to be assigned again."""
    from crm.followups.models import FollowUp, FollowUpStatus
    from crm.problems.deadlines import OPEN
    from crm.problems.models import Problem

    problems = db.session.scalars(
        sa.select(Problem).where(Problem.enterprise_id == enterprise.id, Problem.status.in_(OPEN))
    )
    tasks = db.session.scalars(
        sa.select(FollowUp).where(
            FollowUp.enterprise_id == enterprise.id, FollowUp.status == FollowUpStatus.TODO
        )
    )
    county = enterprise.county_code
    return (
        sum(1 for p in problems if p.assignee and not in_scope(p.assignee, county)),
        sum(1 for t in tasks if t.assignee and not in_scope(t.assignee, county)),
    )


def delete_enterprise(actor: User, enterprise: Enterprise) -> None:
    """Soft-delete: the enterprise disappears from lists and search; its history stays. Its
    open tasks are cancelled and its open certification cases withdrawn; a problem still
    being handled would be lost from sight, so while one is, the deletion is refused."""
    # Problems, tasks and cases build on enterprises: imported here, not at the top.
    from crm.certification.operations import withdraw_cases_of
    from crm.followups.operations import cancel_tasks_of
    from crm.problems.queries import unfinished_problems_of

    if unfinished := unfinished_problems_of(enterprise):
        message = _(
            "%(name)s still has %(n)d problem(s) not closed. Close them, or mark them cannot be "
            "solved, before deleting it.",
            name=enterprise.name,
            n=unfinished,
        )
        raise Conflict(message, {"_form": [message]})
    enterprise.deleted_at = utcnow()
    record_audit("enterprise.delete", enterprise, actor=actor)
    reason = _("The enterprise was deleted.")
    cancel_tasks_of(actor, enterprise, reason)
    withdraw_cases_of(actor, enterprise, reason)


def _make_only_primary(enterprise: Enterprise, contact: Contact) -> None:
    for other in enterprise.contacts:
        if other is not contact:
            other.primary = False


def add_contact(actor: User | None, enterprise: Enterprise, values: dict[str, Any]) -> Contact:
    """Add a contact person; the first one, or one marked primary, becomes the primary contact."""
    cleaned = clean_contact(values)
    contact = Contact(**cleaned)
    enterprise.contacts.append(contact)
    if contact.primary or len(enterprise.contacts) == 1:
        contact.primary = True
        _make_only_primary(enterprise, contact)
    db.session.flush()
    changes = {field: [None, value] for field, value in cleaned.items() if value}
    record_audit(
        "contact.create", contact, actor=actor, changes=changes, region_code=enterprise.county_code
    )
    return contact


def update_contact(actor: User | None, contact: Contact, values: dict[str, Any]) -> None:
    cleaned = clean_contact(values)
    if changes := apply_changes(contact, cleaned):
        if contact.primary:
            _make_only_primary(contact.enterprise, contact)
        record_audit(
            "contact.update",
            contact,
            actor=actor,
            changes=changes,
            region_code=contact.enterprise.county_code,
        )


def remove_contact(actor: User, contact: Contact) -> None:
    enterprise = contact.enterprise
    record_audit(
        "contact.delete",
        contact,
        actor=actor,
        changes={"name": [contact.name, None]},
        region_code=enterprise.county_code,
    )
    enterprise.contacts.remove(contact)
    if contact.primary and enterprise.contacts:
        enterprise.contacts[0].primary = True


def _new_record(actor: User | None, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    record = {field: values.get(field) for field in EDITABLE}
    for flag in FLAGS:
        record[flag] = bool(record[flag])
    for text in TEXTS:
        record[text] = record[text] or ""
    record["tags"] = record["tags"] or []
    record.update(search_fields(record["name"], record["county_code"]))
    record["credit_code_unverified"] = False
    record.update(created_by_id=actor.id if actor else None, created_at=now, updated_at=now)
    return record


def insert_enterprises(
    actor: User | None, entries: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Bulk-register checked enterprises with an optional primary contact each (import, demo)."""
    now = utcnow()
    records = [_new_record(actor, values, now) for values, _contact in entries]
    ids = bulk_insert(db.session, Enterprise, records, key="credit_code")
    contacts = [
        {
            "name": contact["name"],
            "title": contact.get("title", ""),
            "phone": contact.get("phone", ""),
            "primary": True,
            "enterprise_id": ids[values["credit_code"]],
            "created_at": now,
            "updated_at": now,
        }
        for values, contact in entries
        if contact
    ]
    bulk_insert(db.session, Contact, contacts)


def _update_existing(actor: User | None, rows: list[RowResult]) -> None:
    """Only the cells the file fills in change an existing enterprise (a 0 is filled in)."""
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        ids = [row.existing_id for row in batch]
        found = sa.select(Enterprise).where(Enterprise.id.in_(ids))
        stored = {
            e.id: e for e in db.session.scalars(found.options(selectinload(Enterprise.contacts)))
        }
        for row in batch:
            enterprise = stored[row.existing_id]
            filled = {k: v for k, v in row.values.items() if v is not None and v != ""}
            # The plan checked these values; checking them again against the stored enterprise
            # applies what depends on it (a township of another county, a confirmed code).
            cleaned = clean_values(actor, filled, enterprise, confirmed=True, confirmable=False)
            cleaned.pop("credit_code_unverified", None)
            _apply(actor, enterprise, cleaned)
            if row.contact:
                _import_contact(actor, enterprise, row.contact)


def _import_contact(actor: User | None, enterprise: Enterprise, contact: dict[str, Any]) -> None:
    """An update row's contact: a new phone for the contact of that name, or a new contact
    (the primary one only when the enterprise had none)."""
    same = next((c for c in enterprise.contacts if c.name == contact["name"]), None)
    if same is None:
        add_contact(actor, enterprise, {**contact, "primary": not enterprise.contacts})
    elif contact.get("phone") and contact["phone"] != same.phone:
        kept = {"name": same.name, "title": same.title, "primary": same.primary}
        update_contact(actor, same, {**kept, "phone": contact["phone"]})


def import_enterprises(
    actor: User | None, plan: ImportPlan, *, good_rows_only: bool
) -> dict[str, int]:
    """Write an import plan: all rows or none, or only the good rows when the user chose so."""
    if plan.problems and not good_rows_only:
        raise ValidationFailed(
            _("%(n)d rows have problems, so nothing was imported.", n=plan.problems)
        )
    new, updates = plan.rows_of(Fate.NEW), plan.rows_of(Fate.UPDATE)
    insert_enterprises(actor, [(row.values, row.contact) for row in new])
    _update_existing(actor, updates)
    counts = {"created": len(new), "updated": len(updates), "skipped": plan.problems}
    changes = {
        "import_file": [None, plan.filename],
        "enterprises_added": [None, len(new)],
        "enterprises_updated": [None, len(updates)],
        "rows_skipped": [None, plan.problems],
    }
    region = actor.region_code if actor is not None else None  # county chiefs see their own
    record_audit("enterprise.import", actor=actor, changes=changes, region_code=region)
    return counts
