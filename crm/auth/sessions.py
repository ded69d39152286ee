"""Browser login sessions, tracked server-side.

The signed cookie holds a random session id; the database holds its digest with the user's
session version at login. A session ends on logout, after the idle or absolute limit, and when
the user's session version moves on — so a copied cookie is useless after any of them.
"""

import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload

from crm.auth.models import User, UserSession
from crm.auth.passwords import token_digest
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import LOCALE_KEY

SESSION_KEY = "crm_sid"
# last_seen_at is written at most this often, not on every request.
SEEN_RESOLUTION = timedelta(minutes=1)


def _clear_session() -> None:
    """Forget the login, but not the language chosen on this browser."""
    locale = session.get(LOCALE_KEY)
    session.clear()
    if locale:
        session[LOCALE_KEY] = locale


def start_session(user: User) -> UserSession:
    """Log `user` in on this browser with a fresh session record."""
    token = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id,
        token_hash=token_digest(token),
        version=user.session_version,
        ip=request.remote_addr,
        user_agent=request.user_agent.string[:255],
    )
    db.session.add(record)
    _clear_session()
    session[SESSION_KEY] = token
    login_user(user)
    return record


def current_record() -> UserSession | None:
    """This browser's session record, if the cookie names one."""
    token = session.get(SESSION_KEY)
    if not token:
        return None
    return db.session.scalar(_record_of_token(), {"digest": token_digest(token)})


@cache
def _record_of_token() -> sa.Select:
    """The session record with its user, by token digest: built once, as every request asks."""
    return (
        sa.select(UserSession)
        .where(UserSession.token_hash == sa.bindparam("digest"))
        .options(joinedload(UserSession.user))
    )


def end_session() -> None:
    """Log this browser out and end its session record."""
    record = current_record()
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
    logout_user()
    _clear_session()


def _expiry_reason(record: UserSession, user: User) -> str | None:
    now = utcnow()
    config = current_app.config
    if record.ended_at is not None or record.version != user.session_version:
        return "ended"
    if not user.active:
        return "ended"
    if now - record.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        return "expired"
    if now - record.last_seen_at > config["SESSION_IDLE_TIMEOUT"]:
        return "expired"
    return None


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that are still open, most recently used first."""
    candidates = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    return [record for record in candidates if _expiry_reason(record, user) is None]


def prune_sessions(now: datetime) -> int:
    """Forget the sessions last used more than SESSION_RECORDS_KEPT ago (30 days): long over,
    as none outlives its idle and absolute limits. Every login adds one; a year of daily logins
    by a province's officers would leave millions for the account page to read through."""
    cutoff = now - current_app.config["SESSION_RECORDS_KEPT"]
    stale = sa.delete(UserSession).where(UserSession.last_seen_at < cutoff)
    return db.session.execute(stale).rowcount


def is_this_browser(record: UserSession) -> bool:
    token = session.get(SESSION_KEY)
    return bool(token) and record.token_hash == token_digest(token)


DEVICES = (
    ("iPad", "iPad"),
    ("iPhone", "iPhone"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
)
BROWSERS = (
    ("MicroMessenger", "微信"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)


def device_name(user_agent: str) -> str:
    """A short name for a browser, e.g. "iPad · Safari", from its User-Agent header."""
    device = next((name for mark, name in DEVICES if mark in user_agent), "")
    browser = next((name for mark, name in BROWSERS if mark in user_agent), "")
    return " · ".join(part for part in (device, browser) if part) or "—"


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a live session, or None (and the reason in g)."""
    record = current_record()
    if record is None or str(record.user_id) != user_id:
        return None
    user = record.user
    reason = _expiry_reason(record, user)
    now = utcnow()
    if reason is not None:
        if record.ended_at is None:
            record.ended_at = now
        g.session_end_reason = reason
        _clear_session()
    elif now - record.last_seen_at > SEEN_RESOLUTION:
        record.last_seen_at = now
    else:
        return user
    # Loaded before the view runs: commit this bookkeeping on its own, apart from the view's work.
    db.session.commit()
    return user if reason is None else None
