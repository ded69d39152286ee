"""Who may do what: access decorators for views, named predicates, and the request guard.

Every view states its access with exactly one decorator: `public`, `login_required` or
`role_required(...)`. The guard refuses any endpoint that states nothing, so a new route is
closed until someone decides who may use it.
"""

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from crm.api import is_api_request
from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.db import utcnow
from crm.errors import Forbidden
from crm.extensions import csrf, login_manager
from crm.i18n import gettext as _

PUBLIC = "public"
AUTHENTICATED = "authenticated"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Pages a user who must change the password may still open.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "auth.language"})


def _mark(view: Callable[..., Any], access: str | frozenset[Role]) -> Callable[..., Any]:
    """Record the access on a wrapper (a bound method, like the OpenAPI view, takes no attributes).

    `guard_request` enforces it before anything else of the request runs.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    wrapped.access = access  # type: ignore[attr-defined]
    return wrapped


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Open to anyone, logged in or not."""
    return _mark(view, PUBLIC)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Open to every logged-in user (session or API token)."""
    return _mark(view, AUTHENTICATED)


def role_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Open to logged-in users holding one of `roles`; others get 403."""
    return lambda view: _mark(view, frozenset(roles))


def access_of(view: Callable[..., Any] | None) -> str | frozenset[Role] | None:
    """The access a view declared, or None when it declared nothing."""
    return getattr(view, "access", None)


# Named predicates, used alike by views, the API and templates.


def can_manage_users(user: User) -> bool:
    return user.role == Role.ADMIN


def can_view_audit(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.CHIEF)


def can_manage_policies(user: User) -> bool:
    return user.role == Role.ADMIN


# Who may change enterprises, delete them, import them (also used with role_required).
EDITORS = frozenset({Role.ADMIN, Role.CHIEF, Role.OFFICER})
DELETERS = frozenset({Role.ADMIN, Role.CHIEF})
IMPORTERS = frozenset({Role.ADMIN, Role.CHIEF})


def can_create_enterprise(user: User) -> bool:
    return user.role in EDITORS


def can_edit_enterprise(user: User, enterprise: Any) -> bool:
    """Officers, chiefs and admins, for enterprises of their region (viewers only read)."""
    return user.role in EDITORS and in_scope(user, enterprise.county_code)


def can_delete_enterprise(user: User, enterprise: Any) -> bool:
    return user.role in DELETERS and in_scope(user, enterprise.county_code)


def can_import_enterprises(user: User) -> bool:
    return user.role in IMPORTERS


# Who records visits (viewers read them).
VISITORS = EDITORS


def can_record_visit(user: User) -> bool:
    return user.role in VISITORS


def can_edit_visit(user: User, visit: Any) -> bool:
    """Chiefs and admins always, in their region; the lead officer for VISIT_EDIT_DAYS."""
    if user.role in (Role.ADMIN, Role.CHIEF):
        return in_scope(user, visit.county_code)
    window = timedelta(days=current_app.config["VISIT_EDIT_DAYS"])
    return (
        user.role == Role.OFFICER
        and visit.lead_id == user.id
        and utcnow() <= visit.created_at + window
    )


def _needs_csrf_check() -> bool:
    """Browser writes need the token; Bearer-token API calls cannot be forged by a page."""
    return (
        current_app.config["WTF_CSRF_ENABLED"]
        and request.method not in SAFE_METHODS
        and not g.get("token_auth")
    )


def guard_request() -> Any:
    """Before every request: declared access, login, forced password change, CSRF."""
    if request.endpoint is None:
        return None  # routing failed: the 404/405 handler answers
    access = access_of(current_app.view_functions.get(request.endpoint))
    if access is None:
        current_app.logger.error("endpoint %s declares no access; refused", request.endpoint)
        abort(403)
    if access != PUBLIC:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            if is_api_request():
                raise Forbidden(_("Change your password before using the system."))
            return redirect(url_for("auth.change_password"))
        if isinstance(access, frozenset) and current_user.role not in access:
            abort(403)
    if _needs_csrf_check():
        csrf.protect()
    return None
