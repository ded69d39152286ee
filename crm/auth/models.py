import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.strategy_options import _AbstractLoad

from crm.db import TimestampMixin, enum_type, utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.regions.models import Region


class Role(enum.StrEnum):
    ADMIN = "admin"
    CHIEF = "chief"
    OFFICER = "officer"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.CHIEF: _l("Section chief"),
    Role.OFFICER: _l("Field officer"),
    Role.VIEWER: _l("Viewer"),
}


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    # The region column that crm.auth.scope filters on.
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(32), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    # Where notifications are e-mailed too, when the bureau's SMTP server is configured.
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    unit: Mapped[str] = mapped_column(sa.String(64), default="")
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Raised to end all the user's sessions at once: logout everywhere, new password, deactivation.
    session_version: Mapped[int] = mapped_column(default=1)
    locale: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    region: Mapped[Region] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


def names_only(load: _AbstractLoad) -> _AbstractLoad:
    """A loader option for the colleagues a list only names (a task's assignee, a visit's
    officers): their display name, not the rest of their row nor their region's, which
    User.region otherwise joins to every one."""
    return load.load_only(User.display_name).lazyload(User.region)


class UserSession(db.Model):
    """One browser login; ended by logout, idle or absolute timeout, or a new session version."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(sa.String(45), default=None)
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A Bearer token for the API; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
