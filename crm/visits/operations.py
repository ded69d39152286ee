"""Every write to visits, their policies, companions and attachments. Nothing here commits.

A visit is stored once per `client_uuid`: a retried or concurrent submission of the same visit
gets the stored one back, with its policies and problems written once.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.audit.labels import register_labels
from crm.audit.operations import Changes, apply_changes, plain_value, record_audit
from crm.auth.models import User
from crm.auth.scope import scoped
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, FieldErrors
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.followups.operations import create_followup
from crm.followups.rules import can_assign_followups
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.problems.operations import follow_visit_date, new_problem, record_raised
from crm.text import collapse
from crm.visits import attachments
from crm.visits.attachments import Upload
from crm.visits.models import Attachment, Visit, VisitMode, VisitPolicy
from crm.visits.rules import clean_visit, parse_client_uuid

register_labels(
    {
        "visit.create": _l("Recorded a visit"),
        "visit.update": _l("Changed a visit"),
        "attachment.create": _l("Attached a file"),
        "attachment.delete": _l("Removed an attachment"),
    },
    {
        "visit_date": _l("Visit date"),
        "mode": _l("Visit mode"),
        "people_met": _l("People met"),
        "summary": _l("Visit summary"),
        "next_step": _l("Next step"),
        "location": _l("Place of the visit"),
        "latitude": _l("Latitude"),
        "longitude": _l("Longitude"),
        "followup_title": _l("Follow-up"),
        "followup_due_on": _l("Follow-up due"),
        "policies": _l("Policies explained"),
        "companions": _l("Companions"),
        "filename": _l("File"),
    },
    {"visits": _l("Visit"), "attachments": _l("Attachment")},
    {"mode": lambda value: VisitMode(value).label},
)

SCALARS = (
    "visit_date",
    "mode",
    "people_met",
    "summary",
    "next_step",
    "location",
    "latitude",
    "longitude",
    "followup_title",
    "followup_due_on",
)


def visit_by_uuid(client_uuid: uuid.UUID) -> Visit | None:
    return db.session.scalars(sa.select(Visit).where(Visit.client_uuid == client_uuid)).first()


def _stored_already(
    actor: User, visit: Visit, enterprise: Enterprise | None, values: dict[str, Any]
) -> Visit:
    """The visit a repeated submission refers to: the sender may see it, and it is the same
    visit (same enterprise, day, summary and problems), not another that carries a used number
    (a draft sent from a second tab, then changed and sent from the first: the page gives it a
    number of its own, and neither text is lost)."""
    visible = db.session.scalars(scoped(sa.select(Visit.id).where(Visit.id == visit.id), actor))
    same = enterprise is not None and enterprise.id == visit.enterprise_id
    same = same and values.get("visit_date") == visit.visit_date and _same_text(visit, values)
    if visible.first() is None or not same:
        message = _("This visit number belongs to another visit; reload the form.")
        raise Conflict(message, {"client_uuid": [message]})
    return visit


def _same_text(visit: Visit, values: dict[str, Any]) -> bool:
    """The submission says what the stored visit says: its summary and its problems' titles."""
    summary = str(values.get("summary") or "").strip()  # as clean_visit stores it
    titles = [collapse((entry or {}).get("title")) for entry in values.get("problems") or []]
    return summary == visit.summary and [t for t in titles if t] == [
        problem.title for problem in visit.problems
    ]


def check_uploads(uploads: Sequence[Upload]) -> list[tuple[str, attachments.CheckedFile]]:
    """Each upload checked by content and size; one ValidationFailed naming every bad one."""
    errors = FieldErrors()
    checked = []
    for upload in uploads:
        try:
            checked.append((upload.field, attachments.check_upload(upload)))
        except ValueError as error:
            errors.add(upload.field, str(error))
    errors.raise_any()
    return checked


def record_visit(
    actor: User,
    enterprise: Enterprise | None,
    values: dict[str, Any],
    uploads: Sequence[Upload] = (),
) -> tuple[Visit, bool]:
    """Store a visit with its policies, problems and files; (visit, False) when it was stored
    before. `enterprise` is None when the one asked for does not exist (a field error)."""
    client_uuid = parse_client_uuid(values.get("client_uuid"))
    if existing := visit_by_uuid(client_uuid):
        return _stored_already(actor, existing, enterprise, values), False
    cleaned = clean_visit(
        actor,
        values,
        county_code=enterprise.county_code if enterprise else None,
        enterprise_missing=enterprise is None,
    )
    files = check_uploads(uploads)
    if enterprise is None:  # clean_visit has refused the visit already; this is for the types
        raise AssertionError("a visit without an enterprise passed its rules")
    visit = Visit(
        client_uuid=client_uuid,
        enterprise=enterprise,
        county_code=enterprise.county_code,
        lead_id=actor.id,
        created_by_id=actor.id,
        companions=cleaned["companions"],
        policies=[VisitPolicy(policy=p, note=note) for p, note in cleaned["policies"]],
        **{field: cleaned[field] for field in SCALARS},
    )
    problems = [
        new_problem(actor, enterprise, entry, visit.visit_date, visit=visit)
        for entry in cleaned["problems"]
    ]
    try:
        with db.session.begin_nested():
            db.session.add(visit)  # with its policies and its problems
            db.session.flush()
    except IntegrityError:
        # The same visit arrived at the same moment by another request, which stored it first.
        if existing := visit_by_uuid(client_uuid):
            return _stored_already(actor, existing, enterprise, values), False
        raise
    for problem in problems:
        record_raised(actor, problem)
    _create_followup(actor, visit)
    _attach(actor, visit, files)
    _mark_visited(enterprise, visit)
    record_audit("visit.create", visit, actor=actor, changes=_created(visit))
    return visit, True


def _created(visit: Visit) -> Changes:
    changes: Changes = {
        field: [None, value]
        for field in SCALARS
        if (value := plain_value(getattr(visit, field))) not in (None, "")
    }
    changes["policies"] = [None, [link.policy.name for link in visit.policies]]
    if visit.companions:
        changes["companions"] = [None, [user.display_name for user in visit.companions]]
    return changes


def _mark_visited(enterprise: Enterprise, visit: Visit) -> None:
    if enterprise.last_visited_on is None or enterprise.last_visited_on < visit.visit_date:
        enterprise.last_visited_on = visit.visit_date


def _attach(
    actor: User, visit: Visit, files: list[tuple[str, attachments.CheckedFile]]
) -> list[Attachment]:
    added = []
    for _field, checked in files:
        stored_name, has_thumbnail = attachments.store(checked, local_today())
        attachment = Attachment(
            kind=checked.kind,
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(checked.data),
            sha256=checked.sha256,
            stored_name=stored_name,
            has_thumbnail=has_thumbnail,
            created_by_id=actor.id,
        )
        visit.attachments.append(attachment)
        added.append(attachment)
    if added:
        db.session.flush()
        for attachment in added:
            record_audit(
                "attachment.create",
                attachment,
                actor=actor,
                region_code=visit.county_code,
                changes={"filename": [None, attachment.filename]},
            )
    return added


def update_visit(
    actor: User,
    visit: Visit,
    values: dict[str, Any],
    uploads: Sequence[Upload] = (),
    seen: str | None = None,
) -> Changes:
    """Change a visit's fields, policies and companions and add files; returns what changed.
    `seen`, the visit's updated_at as the editing page had it: a visit saved since (by someone
    else, or by this same page whose answer was lost on the way) is not changed again, and its
    files are not attached twice."""
    if seen is not None and seen != visit.updated_at.isoformat():
        message = _(
            "This visit has been saved since you opened it (perhaps by your own save, whose "
            "answer did not arrive). Open it to see it as it is now."
        )
        raise Conflict(message, {"_form": [message]})
    if followup_of(visit) is not None:
        # The task the follow-up became is changed on the task itself: the visit keeps the
        # follow-up as it was asked for, whatever the form sent.
        values = {
            **values,
            "followup_title": visit.followup_title,
            "followup_due_on": visit.followup_due_on,
        }
    cleaned = clean_visit(actor, values, visit)
    files = check_uploads(uploads)
    changes = apply_changes(visit, {field: cleaned[field] for field in SCALARS})
    changes.update(_replace_policies(visit, cleaned["policies"]))
    before = [user.display_name for user in visit.companions]
    if {u.id for u in visit.companions} != {u.id for u in cleaned["companions"]}:
        visit.companions = cleaned["companions"]
        changes["companions"] = [before, [user.display_name for user in visit.companions]]
    if "followup_title" in changes:
        _create_followup(actor, visit)
    _attach(actor, visit, files)
    if "visit_date" in changes:
        follow_visit_date(actor, visit.id, visit.visit_date)
        _recount_last_visit(visit.enterprise)
    if changes or files:
        visit.updated_at = utcnow()  # files alone are a change too: the next `seen` differs
    if changes:
        record_audit("visit.update", visit, actor=actor, changes=changes)
    return changes


def followup_of(visit: Visit) -> FollowUp | None:
    """The task the visit's follow-up became, if it has one."""
    return db.session.scalars(sa.select(FollowUp).where(FollowUp.visit_id == visit.id)).first()


def _create_followup(actor: User, visit: Visit) -> None:
    """The follow-up the form asked for becomes the lead officer's task (once per visit: later
    changes to it are made on the task itself)."""
    if not visit.followup_title or followup_of(visit) is not None:
        return
    lead = visit.lead_id if can_assign_followups(actor) else None  # a chief's edit: the lead's
    values = {"title": visit.followup_title, "due_on": visit.followup_due_on, "assignee_id": lead}
    create_followup(actor, visit.enterprise, values, visit_id=visit.id)


def _replace_policies(visit: Visit, chosen: list[tuple[Any, str]]) -> Changes:
    def described(links: list[tuple[Any, str]]) -> list[str]:
        return [f"{policy.name}：{note}" if note else policy.name for policy, note in links]

    before = [(link.policy, link.note) for link in visit.policies]
    if [(p.id, n) for p, n in before] == [(p.id, n) for p, n in chosen]:
        return {}
    current = {link.policy_id: link for link in visit.policies}
    wanted = {policy.id for policy, _note in chosen}
    for policy_id, link in current.items():
        if policy_id not in wanted:
            visit.policies.remove(link)
    for policy, note in chosen:
        if link := current.get(policy.id):
            link.note = note
        else:
            visit.policies.append(VisitPolicy(policy=policy, note=note))
    return {"policies": [described(before), described(chosen)]}


def _recount_last_visit(enterprise: Enterprise) -> None:
    db.session.flush()
    enterprise.last_visited_on = db.session.scalar(
        sa.select(sa.func.max(Visit.visit_date)).where(Visit.enterprise_id == enterprise.id)
    )


def remove_attachment(actor: User, attachment: Attachment) -> str:
    """Delete an attachment's record; returns its stored name, for the caller to delete the file
    once the change is committed (a rolled-back delete must still find its file)."""
    visit = attachment.visit
    record_audit(
        "attachment.delete",
        attachment,
        actor=actor,
        region_code=visit.county_code,
        changes={"filename": [attachment.filename, None]},
    )
    visit.attachments.remove(attachment)
    db.session.flush()
    return attachment.stored_name
