"""Readable names for the audit log. Each feature registers its actions, fields and values."""

from collections.abc import Callable
from typing import Any

ACTION_LABELS: dict[str, object] = {}
FIELD_LABELS: dict[str, object] = {}
ENTITY_LABELS: dict[str, object] = {}
VALUE_LABELS: dict[str, Callable[[Any], str]] = {}


def register_labels(
    actions: dict[str, object],
    fields: dict[str, object] | None = None,
    entities: dict[str, object] | None = None,
    values: dict[str, Callable[[Any], str]] | None = None,
) -> None:
    """Add a feature's action names, the names of its fields and tables, and value formatters."""
    ACTION_LABELS.update(actions)
    FIELD_LABELS.update(fields or {})
    ENTITY_LABELS.update(entities or {})
    VALUE_LABELS.update(values or {})


def action_label(action: str) -> str:
    """The action's name in the user's language, or its key when none is registered."""
    return str(ACTION_LABELS.get(action, action))


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def entity_label(table: str) -> str:
    return str(ENTITY_LABELS.get(table, table))


def value_label(field: str, value: Any) -> str:
    """A stored value as users know it (a role's name rather than its key)."""
    if value is None or value == "":
        return "—"
    formatter = VALUE_LABELS.get(field)
    try:
        return formatter(value) if formatter else str(value)
    except (KeyError, ValueError):
        return str(value)
