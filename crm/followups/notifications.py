"""Telling people things: in-app notifications (the bell in the top bar), mailed on when SMTP is
configured. Operations and scheduled jobs write them; nothing here commits."""

from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import Notification, NotificationKind

TEXT_MAX = 500


def link_to(endpoint: str, **values: Any) -> str:
    """The path of a page, for a notification's link: inside a request as url_for builds it,
    in the scheduler's process from the URL map alone."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("").build(endpoint, values)


def notify(
    user: User | None, kind: NotificationKind, message: Any, link: str = "", key: str | None = None
) -> Notification | None:
    """Tell `user` something, in the user's language (`message` is a lazy_gettext string with
    its values). With `key` (the event it reports, e.g. "followup:12:due_soon"), a user is told
    once: a second call with the same key adds nothing and returns None."""
    if user is None or not user.active:
        return None
    if key is not None:
        told = sa.select(Notification.id).where(Notification.user_id == user.id)
        if db.session.scalar(told.where(Notification.key == key)) is not None:
            return None
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = str(message)[:TEXT_MAX]
    notification = Notification(user_id=user.id, kind=kind, text=text, link=link, key=key)
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:  # told meanwhile by a concurrent transaction
        return None
    return notification


def notifications_of(user: User, unread_only: bool = False) -> sa.Select:
    """The user's notifications, newest first."""
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


@cache
def _unread() -> sa.Select:
    """The bell's count, built once (every page asks for it): the user is a parameter."""
    return sa.select(sa.func.count()).where(
        Notification.user_id == sa.bindparam("user_id"), Notification.read_at.is_(None)
    )


def unread_count(user: User) -> int:
    return db.session.scalar(_unread(), {"user_id": user.id}) or 0


def mark_read(user: User, ids: Any = None) -> int:
    """Mark the user's notifications `ids` read (all unread ones when None); how many changed."""
    stmt = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount
