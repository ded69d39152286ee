"""Writing audit entries. Every operation that changes data calls `record_audit`."""

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from crm.audit.models import AuditLog
from crm.extensions import db

Changes = dict[str, list[Any]]
# Where the acting user is, for work done outside a request (a background import).
_origin: ContextVar[str | None] = ContextVar("audit_origin", default=None)


@contextmanager
def acting_from(ip: str | None) -> Iterator[None]:
    """Record `ip` as the address of audit entries written outside a request."""
    token = _origin.set(ip)
    try:
        yield
    finally:
        _origin.reset(token)


def plain_value(value: Any) -> Any:
    """A JSON-friendly form of a column value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def apply_changes(obj: object, values: dict[str, Any]) -> Changes:
    """Set attributes on `obj` and return {field: [before, after]} for those that changed."""
    changes: Changes = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [plain_value(old), plain_value(new)]
            setattr(obj, field, new)
    return changes


def _acting_user(actor: Any) -> Any:
    if actor is not None:
        return actor
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def record_audit(
    action: str,
    entity: Any = None,
    *,
    changes: Changes | None = None,
    region_code: str | None = None,
    actor: Any = None,
) -> AuditLog:
    """Add an audit entry for `action` on `entity` by the acting user (or `actor`)."""
    actor = _acting_user(actor)
    if entity is not None and entity.id is None:
        db.session.flush()
    if entity is not None and region_code is None:
        scope_column = getattr(entity, "__scope_column__", None)
        region_code = getattr(entity, scope_column) if scope_column else None
    entry = AuditLog(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.display_name if actor is not None else "",
        action=action,
        entity_type=entity.__tablename__ if entity is not None else "",
        entity_id=str(entity.id) if entity is not None else None,
        region_code=region_code,
        changes=changes or None,
        ip=request.remote_addr if has_request_context() else _origin.get(),
    )
    db.session.add(entry)
    return entry
