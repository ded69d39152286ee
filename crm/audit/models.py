from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import utcnow
from crm.extensions import db


class AuditLog(db.Model):
    __tablename__ = "audit_logs"
    # Entries about records of a county are visible to that county's chiefs and admins only.
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    # Kept as written, so the entry still reads right after the user is renamed.
    actor_name: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(32), default="")
    entity_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    region_code: Mapped[str | None] = mapped_column(sa.String(12), index=True, default=None)
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    ip: Mapped[str | None] = mapped_column(sa.String(45), default=None)

    __table_args__ = (sa.Index("ix_audit_logs_entity", "entity_type", "entity_id"),)
