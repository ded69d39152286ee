"""Who may open what: every URL rule has an explicit decision, checked for every role.

A new route fails `test_every_route_has_an_access_decision` until it is added to ROUTES with
the roles that may use it.
"""

import io
import json
import re
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.auth.models import ApiToken
from crm.auth.permissions import AUTHENTICATED, PUBLIC, access_of
from crm.enterprises import operations
from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, YIYANG, bureau_today, code_for

ROLES = ("admin", "chief", "officer", "viewer")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
ADMIN_CHIEF = frozenset({"admin", "chief"})
CHIEF = frozenset({"chief"})
EDITORS = frozenset({"admin", "chief", "officer"})
STEP_TAKERS = frozenset({"officer", "chief"})
REPORTERS = frozenset({"admin", "chief", "viewer"})

# endpoint → (method, URL, who may use it). {target} is an officer in scope; {token} is that
# officer's API token id; {own_token} is a token of the acting user; {enterprise} and {contact}
# an enterprise in scope and its contact; {upload} an import upload of the acting user.
# Routes that destroy what later routes use come last.
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
    "enterprises.index": ("GET", "/enterprises/", EVERYONE),
    "enterprises.search": ("GET", "/enterprises/search?q=qh", EVERYONE),
    "enterprises.townships": ("GET", "/enterprises/townships?county_code=410327", EVERYONE),
    "enterprises.create": ("GET", "/enterprises/new", EDITORS),
    "enterprises.show": ("GET", "/enterprises/{enterprise}", EVERYONE),
    "enterprises.edit": ("GET", "/enterprises/{enterprise}/edit", EDITORS),
    "enterprises.add_contact": ("POST", "/enterprises/{enterprise}/contacts", EDITORS),
    "enterprises.edit_contact": ("GET", "/enterprises/{enterprise}/contacts/{contact}", EDITORS),
    "imports.upload_page": ("GET", "/enterprises/import/", ADMIN_CHIEF),
    "imports.template": ("GET", "/enterprises/import/template.xlsx", ADMIN_CHIEF),
    "imports.upload": ("POST", "/enterprises/import/", ADMIN_CHIEF),
    "imports.preview": ("GET", "/enterprises/import/{upload}", ADMIN_CHIEF),
    "imports.report": ("GET", "/enterprises/import/{upload}/report.xlsx", ADMIN_CHIEF),
    "imports.progress": ("GET", "/enterprises/import/{upload}/progress", ADMIN_CHIEF),
    "imports.run": ("POST", "/enterprises/import/{upload}", ADMIN_CHIEF),
    "imports.result": ("GET", "/enterprises/import/{upload}/result", ADMIN_CHIEF),
    "policies.index": ("GET", "/policies/", EVERYONE),
    "policies.create": ("GET", "/policies/new", ADMIN),
    "policies.edit": ("GET", "/policies/1/edit", ADMIN),
    "enterprises_api.enterprises": ("GET", "/api/v1/enterprises?q=qh", EVERYONE),
    "enterprises_api.enterprise": ("GET", "/api/v1/enterprises/{enterprise}", EVERYONE),
    "enterprises_api.create_enterprise": ("POST", "/api/v1/enterprises", EDITORS),
    "enterprises_api.update_enterprise": ("PATCH", "/api/v1/enterprises/{enterprise}", EDITORS),
    "offline.service_worker": ("GET", "/sw.js", PUBLIC),
    "offline.manifest": ("GET", "/manifest.webmanifest", PUBLIC),
    "visits.index": ("GET", "/visits/", EVERYONE),
    "visits.mine": ("GET", "/visits/mine", EVERYONE),
    "visits.create": ("GET", "/visits/new", EDITORS),
    "visits.show": ("GET", "/visits/{visit}", EVERYONE),
    # Officers may change only visits they led (tests/test_visits.py); this one they did not.
    "visits.edit": ("GET", "/visits/{visit}/edit", ADMIN_CHIEF),
    "visits.attachment": ("GET", "/visits/{visit}/attachments/{attachment}", EVERYONE),
    "visits.thumbnail": ("GET", "/visits/{visit}/attachments/{attachment}/thumbnail", EVERYONE),
    "visits.enterprise_options": ("GET", "/visits/enterprises.json", EDITORS),
    "visits.sync_token": ("GET", "/visits/sync-token", EDITORS),
    "visits_api.visits": ("GET", "/api/v1/visits", EVERYONE),
    "visits_api.visit": ("GET", "/api/v1/visits/{visit}", EVERYONE),
    "visits_api.record_visit": ("POST", "/api/v1/visits", EDITORS),
    "problems.index": ("GET", "/problems/", EVERYONE),
    "problems.mine": ("GET", "/problems/mine", EVERYONE),
    "problems.create": ("GET", "/problems/new", EDITORS),
    "problems.show": ("GET", "/problems/{problem}", EVERYONE),
    # Officers may take the steps of problems assigned to them (tests/test_problems.py).
    "problems.take_step": ("POST", "/problems/{problem}/steps/assign", CHIEF),
    "problems.bulk_assign": ("POST", "/problems/bulk-assign", CHIEF),
    "problems_api.problems": ("GET", "/api/v1/problems", EVERYONE),
    "problems_api.problem": ("GET", "/api/v1/problems/{problem}", EVERYONE),
    "problems_api.transition": ("POST", "/api/v1/problems/{problem_api}/transition", CHIEF),
    "policies_api.policies": ("GET", "/api/v1/policies", EVERYONE),
    "followups.mine": ("GET", "/tasks/", EDITORS),
    "followups.board": ("GET", "/tasks/board", CHIEF),
    "followups.create": ("GET", "/tasks/new?enterprise_id={enterprise}", EDITORS),
    "followups.show": ("GET", "/tasks/{task}", EVERYONE),
    # The officer's own task: of the others only a chief over it may complete it.
    "followups.act": ("POST", "/tasks/{task}/complete", CHIEF),
    "followups_api.followups": ("GET", "/api/v1/followups", EVERYONE),
    "followups_api.followup": ("GET", "/api/v1/followups/{task}", EVERYONE),
    "followups_api.create_followup": ("POST", "/api/v1/followups", EDITORS),
    "followups_api.complete": ("POST", "/api/v1/followups/{task_api}/complete", CHIEF),
    "followups_api.cancel": ("POST", "/api/v1/followups/{task_cancel}/cancel", CHIEF),
    "followups_api.reassign": ("POST", "/api/v1/followups/{task_reassign}/reassign", CHIEF),
    "certification.index": ("GET", "/certification/", EVERYONE),
    "certification.show": ("GET", "/certification/{case}", EVERYONE),
    "certification.create": ("GET", "/certification/new?enterprise_id={enterprise}", STEP_TAKERS),
    "certification.eligibility": (
        "GET",
        "/certification/eligibility?enterprise_id={enterprise}",
        EVERYONE,
    ),
    "certification.prospect_list": ("GET", "/certification/prospects", EVERYONE),
    # The target officer's case: of the others only a chief over it may move it.
    "certification.move": ("POST", "/certification/{case}/stage", CHIEF),
    "certification_api.cases": ("GET", "/api/v1/certifications", EVERYONE),
    "certification_api.case": ("GET", "/api/v1/certifications/{case}", EVERYONE),
    "certification_api.open_case": ("POST", "/api/v1/certifications", STEP_TAKERS),
    "certification_api.move": ("POST", "/api/v1/certifications/{case_api}/stage", CHIEF),
    "certification_api.high_tech": ("POST", "/api/v1/eligibility/high-tech", EVERYONE),
    "certification_api.tech_sme": ("POST", "/api/v1/eligibility/tech-sme", EVERYONE),
    "reports.index": ("GET", "/reports/", REPORTERS),
    "reports.archive": ("GET", "/reports/archive", REPORTERS),
    "reports.download": ("GET", "/reports/{report}/download", REPORTERS),
    "reports.download_month": ("GET", "/reports/2026-10/all.zip", REPORTERS),
    "reports.generate": ("POST", "/reports/", REPORTERS),
    "reports_api.monthly": ("GET", "/api/v1/reports/monthly?month=2026-10", EVERYONE),
    "notifications.index": ("GET", "/notifications/", EVERYONE),
    "notifications.open_one": ("GET", "/notifications/{own_notification}", EVERYONE),
    "notifications.read": ("POST", "/notifications/read", EVERYONE),
    "followups_api.notification_list": ("GET", "/api/v1/notifications?unread=1", EVERYONE),
    "followups_api.notification_read": (
        "POST",
        "/api/v1/notifications/{own_notification}/read",
        EVERYONE,
    ),
    "enterprises.delete_contact": (
        "POST",
        "/enterprises/{enterprise}/contacts/{contact}/delete",
        EDITORS,
    ),
    "enterprises.delete": ("POST", "/enterprises/{enterprise}/delete", ADMIN_CHIEF),
    "visits.delete_attachment": (
        "POST",
        "/visits/{visit}/attachments/{attachment}/delete",
        ADMIN_CHIEF,
    ),
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", EVERYONE),
    "auth_api.me": ("GET", "/api/v1/me", EVERYONE),
    "regions_api.regions": ("GET", "/api/v1/regions", EVERYONE),
}


# Views open to more roles than the matrix sees served, because a predicate narrows them further.
DECLARED = {
    "visits.edit": EDITORS,
    "visits.delete_attachment": EDITORS,
    "problems.take_step": STEP_TAKERS,
    "problems_api.transition": STEP_TAKERS,
    "followups.act": EDITORS,
    "followups_api.complete": EDITORS,
    "followups_api.cancel": EDITORS,
    "certification.move": STEP_TAKERS,
    "certification_api.move": STEP_TAKERS,
}


def declared(allowed, endpoint=None):
    """The access a view should declare for an entry of ROUTES."""
    if endpoint in DECLARED:
        return DECLARED[endpoint]
    if allowed in (PUBLIC,):
        return PUBLIC
    return AUTHENTICATED if allowed == EVERYONE else allowed


def test_every_route_has_an_access_decision(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - ROUTES.keys() == set(), "new routes need an entry in ROUTES"
    assert ROUTES.keys() - endpoints == set(), "ROUTES lists routes that no longer exist"
    for endpoint, (_method, _url, allowed) in ROUTES.items():
        access = access_of(app.view_functions[endpoint])
        expected = declared(allowed, endpoint)
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


def _visit_with_photo(officer_id, enterprise_id):
    """A visit led by the officer, with one photo; (visit id, attachment id)."""
    from crm.auth.models import User
    from crm.visits import operations as visit_operations
    from crm.visits.attachments import Upload
    from tests.test_visits import jpeg, visit_values

    officer = db.session.get(User, officer_id)
    enterprise = db.session.get(Enterprise, enterprise_id)
    visit, _created = visit_operations.record_visit(
        officer, enterprise, visit_values(), [Upload("photos", "p.jpg", jpeg())]
    )
    db.session.commit()
    return visit.id, visit.attachments[0].id


def _problem(enterprise_id):
    from crm.problems import operations as problem_operations

    enterprise = db.session.get(Enterprise, enterprise_id)
    cleaned = {"category": "talent", "title": "缺少研发人才", "description": ""}
    problem = problem_operations.raise_problem(None, enterprise, cleaned, bureau_today())
    db.session.commit()
    return problem.id


def _task(officer_id, enterprise_id):
    from crm.auth.models import User
    from crm.followups import operations as followup_operations

    officer = db.session.get(User, officer_id)
    values = {"title": "回访材料", "due_on": bureau_today()}
    enterprise = db.session.get(Enterprise, enterprise_id)
    task = followup_operations.create_followup(officer, enterprise, values)
    db.session.commit()
    return task.id


def _cases(officer_id, enterprise_id):
    from crm.auth.models import User
    from crm.certification import operations as certification_operations

    officer = db.session.get(User, officer_id)
    enterprise = db.session.get(Enterprise, enterprise_id)
    ids = [
        certification_operations.open_case(officer, enterprise, {"programme": programme}).id
        for programme in ("high_tech", "tech_sme")
    ]
    db.session.commit()
    return ids


def _report():
    from crm.exports import operations as export_operations
    from crm.regions.models import Region

    county = db.session.get(Region, YIYANG)
    report = export_operations.request_reports(None, date(2026, 10, 1), county)[0]
    export_operations.generate(report)
    db.session.commit()
    return report.id


@pytest.fixture
def targets(app, create_user, create_token, create_enterprise):
    """An officer of 宜阳县 with an API token; an enterprise there with a contact; a visit with a
    photo; problems, tasks, certification cases and a monthly report of the county."""
    officer = create_user("officer", YIYANG)
    create_token(officer)
    enterprise = create_enterprise(name="启航测试有限公司")
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == officer.id))
        contact = operations.add_contact(
            None, db.session.get(Enterprise, enterprise.id), {"name": "王工"}
        )
        db.session.commit()
        contact_id = contact.id
        visit_id, attachment_id = _visit_with_photo(officer.id, enterprise.id)
        problems = [_problem(enterprise.id) for _ in range(3)]
        tasks = [_task(officer.id, enterprise.id) for _ in range(4)]
        cases = _cases(officer.id, create_enterprise(name="启航二号测试有限公司").id)
        report = _report()
    return {
        "report": report,
        "case": cases[0],
        "case_api": cases[1],
        "task": tasks[0],
        "task_api": tasks[1],
        "task_cancel": tasks[2],
        "task_reassign": tasks[3],
        "problem": problems[0],
        "problem_api": problems[1],
        "problem_bulk": problems[2],
        "visit": visit_id,
        "attachment": attachment_id,
        "target": officer.id,
        "token": token_id,
        "enterprise": enterprise.id,
        "contact": contact_id,
        "upload": "0" * 32,
    }


@pytest.mark.parametrize("endpoint", [e for e, (_m, _u, a) in ROUTES.items() if a != PUBLIC])
def test_anonymous_is_sent_to_login_or_gets_401(client, targets, endpoint):
    method, url, _allowed = ROUTES[endpoint]
    response = client.open(
        fill(url, {**targets, "own_token": 1, "own_notification": 1}), method=method
    )
    if url.startswith("/api/"):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# Permitted routes that end the session and so, rightly, lead to the login page.
LOGS_OUT = {"auth.logout", "auth.logout_everywhere"}


def _workbook():
    from tests.workbooks import good_row, write_workbook

    return write_workbook(Path(tempfile.mkdtemp()) / "one.xlsx", [good_row(2)]).read_bytes()


# What the permitted writes are sent, so that they succeed rather than fail validation.
REQUESTS = {
    "auth.language": {"data": {"locale": "en", "next": "/"}},
    "auth.create_token": {"data": {"name": "对接"}},
    "users.reset_password": {"data": {"password": "temp12345"}},
    "enterprises.add_contact": {"data": {"name": "李总"}},
    "imports.upload": {
        "data": lambda: {"file": (io.BytesIO(_workbook()), "one.xlsx")},
        "content_type": "multipart/form-data",
    },
    "imports.run": {"data": {"mode": "all"}},
    "enterprises_api.create_enterprise": {
        "json": {
            "name": "洛阳新建科技有限公司",
            "credit_code": code_for(YIYANG, 77),
            "county_code": YIYANG,
        }
    },
    "enterprises_api.update_enterprise": {"json": {"staff": 5}},
    "visits_api.record_visit": {"json": lambda ids: visit_json(ids["enterprise"])},
    "problems.take_step": {"data": {"version": "1", "unit": "市人社局"}},
    "problems.bulk_assign": {
        "data": lambda ids: {
            "problem_ids": [ids["problem_bulk"]],
            f"version_{ids['problem_bulk']}": "1",
            "unit": "市人社局",
        }
    },
    "problems_api.transition": {"json": {"to": "assigned", "version": 1, "unit": "市人社局"}},
    "followups.act": {"data": {"version": "1", "outcome": "已办"}},
    "reports.generate": {"data": {"month": "2026-10", "region": YIYANG}},
    "certification.move": {"data": {"to": "coaching", "version": "1"}},
    "certification_api.move": {"json": {"to": "preparing", "version": 1}},
    "certification_api.open_case": {
        "json": lambda ids: {"enterprise_id": ids["enterprise"], "programme": "tech_sme"}
    },
    "certification_api.high_tech": {"json": {"staff": 10, "tech_staff": 2}},
    "certification_api.tech_sme": {"json": {"staff": 10}},
    "followups_api.create_followup": {
        "json": lambda ids: {
            "enterprise_id": ids["enterprise"],
            "title": "送政策上门",
            "due_on": bureau_today().isoformat(),
        }
    },
    "followups_api.complete": {"json": {"version": 1}},
    "followups_api.cancel": {"json": {"version": 1, "reason": "企业已搬迁"}},
    "followups_api.reassign": {  # the same officer, a later day: a change to make
        "json": lambda ids: {
            "version": 1,
            "assignee_id": ids["target"],
            "due_on": date.fromordinal(bureau_today().toordinal() + 30).isoformat(),
        }
    },
}


def visit_json(enterprise_id):
    from tests.test_visits import api_visit

    return api_visit(enterprise_id)


def request_options(endpoint, ids):
    options = dict(REQUESTS.get(endpoint, {}))
    if callable(options.get("data")):
        data = options["data"]
        options["data"] = data(ids) if data.__code__.co_argcount else data()
    if callable(options.get("json")):
        options["json"] = options["json"](ids)
    return options


def upload_of(app, user_id):
    """An import upload (its saved preview) belonging to the given user."""
    folder = Path(app.config["IMPORT_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    state = {
        "owner_id": user_id,
        "filename": "one.xlsx",
        "status": "checked",
        "updated": time.time(),
        "rows": [[2, "new", "x", "y", ""]],
    }
    (folder / f"{token}.json").write_text(json.dumps(state))
    return token


def outcome(endpoint, response):
    """Refused (403), sent to log in, served (2xx/3xx), or the status it failed with."""
    status = response.status_code
    if status == 403:
        return "refused"
    sent_to_login = response.headers.get("Location", "").startswith("/login")
    if status == 401 or (sent_to_login and endpoint not in LOGS_OUT):
        return "login"
    return "served" if status < 400 else f"failed with {status}"


def own_notification_id(app, user):
    from crm.auth.models import User
    from crm.followups.models import NotificationKind
    from crm.followups.notifications import notify

    with app.app_context():
        notification = notify(db.session.get(User, user.id), NotificationKind.PROBLEM, "测试", "/")
        db.session.commit()
        return notification.id


def own_token_id(app, user):
    with app.app_context():
        return db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))


@pytest.fixture
def ask(app, client, login, create_token, targets):
    """ask(endpoint, role, region) → the answer to the route's request from a new user of that
    role and region (signed in, with an API token, an import upload and a notification)."""

    def send(endpoint, role, region):
        method, url, _allowed = ROUTES[endpoint]
        user = login(role, region)
        create_token(user)
        ids = {
            **targets,
            "own_token": own_token_id(app, user),
            "upload": upload_of(app, user.id),
            "own_notification": own_notification_id(app, user),
        }
        response = client.open(fill(url, ids), method=method, **request_options(endpoint, ids))
        client.post("/logout")
        return response

    return send


@pytest.mark.parametrize("region", [CITY, YIYANG])
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(ask, role, region):
    """Users of the whole city and of the targets' own county: what each role may use."""
    wrong = []
    for endpoint, (_method, _url, allowed) in ROUTES.items():
        response = ask(endpoint, role, region)
        expected = "served" if allowed == PUBLIC or role in allowed else "refused"
        if outcome(endpoint, response) != expected:
            wrong.append((endpoint, response.status_code))
    assert wrong == []


# The region dimension. Every record of the targets lies in 宜阳县; a user of another county must
# find none of them: a URL naming one answers 404 (or 403 where the role may not use the route
# at all), no page or API answer shows their contents, and no write changes them.
RECORDS = {"enterprise", "contact", "visit", "attachment", "problem", "problem_api", "task",
           "task_api", "task_cancel", "task_reassign", "case", "case_api", "report",
           "target", "token"}  # fmt: skip
# Words only the targets' records hold (names, titles, the visit's summary, the contact).
MARKERS = ("启航测试有限公司", "启航二号测试有限公司", "缺少研发人才", "回访材料", "王工",
           "了解研发投入和高企申报准备情况")  # fmt: skip
DOMAIN_TABLES = ("users", "api_tokens", "enterprises", "contacts", "visits", "visit_policies",
                 "visit_companions", "attachments", "problems", "problem_events", "followups",
                 "certification_cases", "certification_stage_events",
                 "monthly_reports")  # fmt: skip


def domain_rows(app, officer_id):
    """Every row of the tables that hold the bureau's records, in key order; of the users and
    tokens, the targets' officer and theirs (the matrix signs in new users all along)."""
    with app.app_context():
        tables = {t.name: t for t in db.metadata.sorted_tables}
        rows = {}
        for name in DOMAIN_TABLES:
            table = tables[name]
            stmt = sa.select(table).order_by(*table.primary_key.columns)
            if name in ("users", "api_tokens"):
                stmt = stmt.where(table.c["id" if name == "users" else "user_id"] == officer_id)
            rows[name] = db.session.execute(stmt).all()
        return rows


def text_of(response) -> str:
    """A response's text (JSON with its characters unescaped), with the text of every file
    inside a zip (workbooks, archives)."""
    if response.is_json:
        return json.dumps(response.get_json(silent=True), ensure_ascii=False)
    return "\n".join(_texts(response.get_data()))


def _texts(data: bytes):
    import zipfile

    if data[:4] != b"PK\x03\x04":
        yield data.decode("utf-8", "replace")
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            yield name
            yield from _texts(archive.read(name))


def permitted(endpoint, role):
    allowed = DECLARED.get(endpoint, ROUTES[endpoint][2])
    return allowed in (PUBLIC, AUTHENTICATED) or role in allowed


@pytest.mark.parametrize("role", ROLES)
def test_region_matrix_a_user_of_another_county_finds_nothing(app, ask, targets, role):
    before = domain_rows(app, targets["target"])
    shown, leaked = [], []
    for endpoint, (_method, url, allowed) in ROUTES.items():
        if allowed == PUBLIC:
            continue
        response = ask(endpoint, role, MENGJIN)
        names_a_record = bool(RECORDS & set(re.findall(r"{(\w+)}", url)))
        refusals = {404} if permitted(endpoint, role) else {403, 404}
        if names_a_record and response.status_code not in refusals:
            shown.append((endpoint, response.status_code))
        if found := [marker for marker in MARKERS if marker in text_of(response)]:
            leaked.append((endpoint, found))
    assert shown == []
    assert leaked == []
    assert domain_rows(app, targets["target"]) == before


def test_region_matrix_the_markers_are_seen_in_their_own_county(app, client, login, targets):
    """The other half of the matrix above: the same words are on the county's own pages, so
    their absence elsewhere means something."""
    login("chief", YIYANG)
    shown = ("enterprises.index", "enterprises.show", "visits.index", "visits.show",
             "problems.index", "problems.show", "followups.show", "certification.index",
             "visits_api.visits", "problems_api.problems", "followups_api.followups")  # fmt: skip
    for endpoint in shown:
        method, url, _allowed = ROUTES[endpoint]
        page = text_of(client.open(fill(url, targets), method=method))
        assert any(marker in page for marker in MARKERS), endpoint
