"""Bearer-token authentication for the API."""

import sqlalchemy as sa

from crm.auth.models import ApiToken, User
from crm.auth.passwords import token_digest
from crm.auth.sessions import SEEN_RESOLUTION
from crm.db import utcnow
from crm.extensions import db

TOKEN_PREFIX = "crm_"


def user_for_token(token: str) -> User | None:
    """The active user owning the live API token `token`, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if record is None or not record.user.active:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > SEEN_RESOLUTION:
        record.last_used_at = now
        # Authentication happens before the view: keep this bookkeeping out of its transaction.
        db.session.commit()
    return record.user


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if that is what was sent."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
