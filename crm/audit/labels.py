"""Readable names of audit actions and changed fields. Each feature registers its own."""

ACTION_LABELS: dict[str, object] = {}
FIELD_LABELS: dict[str, object] = {}
ENTITY_LABELS: dict[str, object] = {}


def register_labels(
    actions: dict[str, object],
    fields: dict[str, object] | None = None,
    entities: dict[str, object] | None = None,
) -> None:
    """Add a feature's action names, and the names of the fields and tables it changes."""
    ACTION_LABELS.update(actions)
    FIELD_LABELS.update(fields or {})
    ENTITY_LABELS.update(entities or {})


def action_label(action: str) -> str:
    """The action's name in the user's language, or its key when none is registered."""
    return str(ACTION_LABELS.get(action, action))


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def entity_label(table: str) -> str:
    return str(ENTITY_LABELS.get(table, table))
