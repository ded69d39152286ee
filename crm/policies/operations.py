"""Writes to the policy catalogue. Nothing here commits."""

from typing import Any

import sqlalchemy as sa

from crm.audit.labels import register_labels
from crm.audit.operations import apply_changes, plain_value, record_audit
from crm.auth.models import User
from crm.errors import ValidationFailed, invalid
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.policies.models import Policy, PolicyCategory
from crm.text import collapse, is_clean

LIMITS = {"name": 100, "summary": 200, "issuer": 200, "reference": 200}

register_labels(
    {"policy.create": _l("Added policy"), "policy.update": _l("Changed policy")},
    {
        "name": _l("Policy name"),
        "category": _l("Category"),
        "summary": _l("Summary"),
        "issuer": _l("Issued by"),
        "reference": _l("Document"),
        "active": _l("In use (offered on visits)"),
    },
    {"policies": _l("Policy")},
    {"category": lambda value: PolicyCategory(value).label},
)


def _clean(values: dict[str, Any], current: Policy | None) -> dict[str, Any]:
    cleaned = {field: collapse(values.get(field)) for field in LIMITS}
    fields: dict[str, list[str]] = {}
    for field, limit in LIMITS.items():
        if len(cleaned[field]) > limit:
            fields[field] = [_("At most %(n)d characters.", n=limit)]
        elif not is_clean(cleaned[field]):
            fields[field] = [_("Contains characters that cannot be stored.")]
    if not cleaned["name"]:
        fields["name"] = [_("Enter the policy's name.")]
    try:
        cleaned["category"] = PolicyCategory(values.get("category"))
    except ValueError:
        fields["category"] = [_("Not a valid choice.")]
    cleaned["active"] = bool(values.get("active", True))
    if fields:
        raise ValidationFailed(next(iter(fields.values()))[0], fields)
    taken = sa.select(Policy.id).where(Policy.name == cleaned["name"])
    if current is not None:
        taken = taken.where(Policy.id != current.id)
    if db.session.scalar(taken):
        raise invalid("name", _("A policy of this name is already in the catalogue."))
    return cleaned


def create_policy(actor: User, values: dict[str, Any]) -> Policy:
    cleaned = _clean(values, None)
    position = (db.session.scalar(sa.select(sa.func.max(Policy.position))) or 0) + 1
    policy = Policy(**cleaned, position=position)
    db.session.add(policy)
    db.session.flush()
    changes = {field: [None, plain_value(value)] for field, value in cleaned.items() if value}
    record_audit("policy.create", policy, actor=actor, changes=changes)
    return policy


def update_policy(actor: User, policy: Policy, values: dict[str, Any]) -> None:
    if changes := apply_changes(policy, _clean(values, policy)):
        record_audit("policy.update", policy, actor=actor, changes=changes)
