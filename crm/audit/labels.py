"""Readable names for the audit log. Each feature registers its actions, and the names of its
tables' fields and values: per table, as one name means different things in different tables (a
contact's title is a 职务, a problem's is the problem itself)."""

from collections.abc import Callable
from typing import Any

from crm.i18n import gettext as _

ACTION_LABELS: dict[str, object] = {}
ENTITY_LABELS: dict[str, object] = {}
FIELD_LABELS: dict[str, dict[str, object]] = {}  # per table
VALUE_LABELS: dict[str, dict[str, Callable[[Any], str]]] = {}  # per table
# Every feature's names together: for an entry about no record (a failed login), and for a
# field its table did not name.
ANY_TABLE = ""


def register_labels(
    actions: dict[str, object],
    fields: dict[str, object] | None = None,
    entities: dict[str, object] | None = None,
    values: dict[str, Callable[[Any], str]] | None = None,
) -> None:
    """Add a feature's action names, its tables' names, and the names of the fields of those
    tables (`entities`) and their value formatters."""
    ACTION_LABELS.update(actions)
    ENTITY_LABELS.update(entities or {})
    for table in (*(entities or {}), ANY_TABLE):
        FIELD_LABELS.setdefault(table, {}).update(fields or {})
        VALUE_LABELS.setdefault(table, {}).update(values or {})


def action_label(action: str) -> str:
    """The action's name in the user's language, or its key when none is registered."""
    return str(ACTION_LABELS.get(action, action))


def entity_label(table: str) -> str:
    return str(ENTITY_LABELS.get(table, table))


def field_label(table: str, field: str) -> str:
    return str(_of(FIELD_LABELS, table, field) or field)


def value_label(table: str, field: str, value: Any) -> str:
    """A stored value as users know it (a role's name rather than its key, 是 rather than True)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):  # 是/否, unless the table words its own (已启用/已停用)
        own = VALUE_LABELS.get(table, {}).get(field)
        return own(value) if own else _("Yes") if value else _("No")
    formatter = _of(VALUE_LABELS, table, field)
    try:
        return formatter(value) if formatter else str(value)
    except (KeyError, ValueError):
        return str(value)


def _of(labels: dict[str, dict], table: str, field: str) -> Any:
    """The table's own name for the field, or else any feature's."""
    return labels.get(table, {}).get(field) or labels.get(ANY_TABLE, {}).get(field)
