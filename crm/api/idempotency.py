"""The Idempotency-Key header: a client's number for a new record, sent again with a retry, so
that the record is stored once. It becomes the record's client_uuid."""

import uuid

from flask import request
from flask_login import current_user

from crm.errors import invalid
from crm.i18n import gettext as _

# Keys that are not UUIDs are turned into one per user, so two users' keys never meet.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1d55-5a57-4a53-9d7e-3c0b8e2f9a41")


def take_idempotency_key(values: dict) -> None:
    """Take the Idempotency-Key header, when sent, as the new record's client_uuid."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return
    try:
        derived = uuid.UUID(key)
    except ValueError:
        derived = uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{current_user.id}:{key[:200]}")
    if values.get("client_uuid") not in (None, derived):
        raise invalid("client_uuid", _("client_uuid and the Idempotency-Key header differ."))
    values["client_uuid"] = derived
