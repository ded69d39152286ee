"""Who may open what: every URL rule has an explicit decision, checked for every role.

A new route fails `test_every_route_has_an_access_decision` until it is added to ROUTES with
the roles that may use it.
"""

import pytest
import sqlalchemy as sa

from crm.auth.models import ApiToken
from crm.auth.permissions import AUTHENTICATED, PUBLIC, access_of
from crm.extensions import db

ROLES = ("admin", "chief", "officer", "viewer")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
ADMIN_CHIEF = frozenset({"admin", "chief"})

# endpoint → (method, URL, who may use it). {target} is an officer in scope; {token} is that
# officer's API token id; {own_token} is a token of the acting user.
ROUTES = {
    "static": ("GET", "/static/css/app.css", PUBLIC),
    "health.healthz": ("GET", "/healthz", PUBLIC),
    "auth.login": ("GET", "/login", PUBLIC),
    "auth.language": ("POST", "/language", PUBLIC),
    "dashboard.index": ("GET", "/", EVERYONE),
    "auth.account": ("GET", "/account", EVERYONE),
    "auth.change_password": ("GET", "/account/password", EVERYONE),
    "auth.create_token": ("POST", "/account/tokens", EVERYONE),
    "auth.revoke_token": ("POST", "/account/tokens/{own_token}/revoke", EVERYONE),
    "auth.logout_everywhere": ("POST", "/account/logout-everywhere", EVERYONE),
    "auth.logout": ("POST", "/logout", EVERYONE),
    "users.index": ("GET", "/admin/users/", ADMIN),
    "users.create": ("GET", "/admin/users/new", ADMIN),
    "users.edit": ("GET", "/admin/users/{target}", ADMIN),
    "users.deactivate": ("POST", "/admin/users/{target}/deactivate", ADMIN),
    "users.reactivate": ("POST", "/admin/users/{target}/reactivate", ADMIN),
    "users.reset_password": ("POST", "/admin/users/{target}/password", ADMIN),
    "users.revoke_token": ("POST", "/admin/users/{target}/tokens/{token}/revoke", ADMIN),
    "audit.index": ("GET", "/admin/audit/", ADMIN_CHIEF),
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", EVERYONE),
    "auth_api.me": ("GET", "/api/v1/me", EVERYONE),
    "regions_api.regions": ("GET", "/api/v1/regions", EVERYONE),
}


def declared(allowed):
    """The access a view should declare for an entry of ROUTES."""
    if allowed in (PUBLIC,):
        return PUBLIC
    return AUTHENTICATED if allowed == EVERYONE else allowed


def test_every_route_has_an_access_decision(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - ROUTES.keys() == set(), "new routes need an entry in ROUTES"
    assert ROUTES.keys() - endpoints == set(), "ROUTES lists routes that no longer exist"
    for endpoint, (_method, _url, allowed) in ROUTES.items():
        access = access_of(app.view_functions[endpoint])
        expected = declared(allowed)
        if isinstance(expected, frozenset):
            assert {role.value for role in access} == expected, endpoint
        else:
            assert access == expected, endpoint


def test_a_route_without_a_decision_is_refused(app, client, login):
    app.add_url_rule("/forgotten", view_func=lambda: "open")
    login("admin")
    assert client.get("/forgotten").status_code == 403


def fill(url, ids):
    return url.format(**ids)


@pytest.fixture
def targets(app, create_user, create_token):
    """An officer with an API token, as the object of the admin routes."""
    officer = create_user("officer")
    create_token(officer)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == officer.id))
    return {"target": officer.id, "token": token_id}


@pytest.mark.parametrize("endpoint", [e for e, (_m, _u, a) in ROUTES.items() if a != PUBLIC])
def test_anonymous_is_sent_to_login_or_gets_401(client, targets, endpoint):
    method, url, _allowed = ROUTES[endpoint]
    response = client.open(fill(url, {**targets, "own_token": 1}), method=method)
    if url.startswith("/api/"):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# Permitted routes that end the session and so, rightly, lead to the login page.
LOGS_OUT = {"auth.logout", "auth.logout_everywhere"}


# What the permitted POST routes are sent, so that they succeed rather than fail validation.
FORMS = {
    "auth.language": {"locale": "en", "next": "/"},
    "auth.create_token": {"name": "对接"},
    "users.reset_password": {"password": "temp12345"},
}


def outcome(endpoint, response):
    """Refused (403), sent to log in, served (2xx/3xx), or the status it failed with."""
    status = response.status_code
    if status == 403:
        return "refused"
    sent_to_login = response.headers.get("Location", "").startswith("/login")
    if status == 401 or (sent_to_login and endpoint not in LOGS_OUT):
        return "login"
    return "served" if status < 400 else f"failed with {status}"


def own_token_id(app, user):
    with app.app_context():
        return db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, login, create_token, targets, role):
    wrong = []
    for endpoint, (method, url, allowed) in ROUTES.items():
        user = login(role)
        create_token(user)
        ids = {**targets, "own_token": own_token_id(app, user)}
        response = client.open(fill(url, ids), method=method, data=FORMS.get(endpoint))
        expected = "served" if allowed == PUBLIC or role in allowed else "refused"
        if outcome(endpoint, response) != expected:
            wrong.append((endpoint, response.status_code))
        client.post("/logout")
    assert wrong == []
