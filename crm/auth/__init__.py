"""Users, roles, region scope, login sessions, API tokens and permissions."""

from typing import Any

from flask import Flask, Response, flash, g, redirect, request, url_for

from crm.api import is_api_request
from crm.extensions import login_manager
from crm.i18n import gettext as _


def load_token_user(req: Any) -> Any:
    """Flask-Login's request loader: the API accepts `Authorization: Bearer <token>`."""
    from crm.auth.tokens import bearer_token, user_for_token

    if not is_api_request():
        return None
    token = bearer_token(req.headers.get("Authorization"))
    user = user_for_token(token) if token else None
    if user is not None:
        g.token_auth = True
    return user


def unauthorized() -> Any:
    """Not logged in: 401 JSON for the API, the login page (with the reason) for browsers."""
    from crm.errors import json_error

    if is_api_request():
        response = json_error(401, _("Log in or send a valid API token."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if g.get("session_end_reason") == "expired":
        flash(_("Your session has timed out. Please log in again."), "warning")
    elif g.get("session_end_reason") == "ended":
        flash(_("You have been logged out. Please log in again."), "warning")
    else:
        flash(_("Please log in first."), "info")
    next_page = request.full_path.rstrip("?") if request.method == "GET" else None
    target = url_for("auth.login", next=next_page)
    if request.headers.get("HX-Request"):
        # htmx would swap a redirect into the page; have it navigate instead.
        return Response(status=401, headers={"HX-Redirect": target})
    return redirect(target)


def init_app(app: Flask) -> None:
    from crm.audit.labels import action_label, entity_label, field_label, value_label
    from crm.auth import permissions
    from crm.auth.sessions import load_session_user

    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    login_manager.request_loader(load_token_user)
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(permissions.guard_request)
    app.jinja_env.globals.update(
        can_manage_users=permissions.can_manage_users,
        can_view_audit=permissions.can_view_audit,
        can_manage_policies=permissions.can_manage_policies,
        can_create_enterprise=permissions.can_create_enterprise,
        can_edit_enterprise=permissions.can_edit_enterprise,
        can_delete_enterprise=permissions.can_delete_enterprise,
        can_import_enterprises=permissions.can_import_enterprises,
        can_record_visit=permissions.can_record_visit,
        can_edit_visit=permissions.can_edit_visit,
        action_label=action_label,
        field_label=field_label,
        entity_label=entity_label,
        value_label=value_label,
    )
