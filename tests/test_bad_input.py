"""Bad input everywhere: every field of every form, of every list filter and of every API write
is sent each family of bad values (over-long text, control characters, SQL and HTML/JS, wrong
types, impossible dates, negative and huge numbers, unknown, empty and duplicated choices).

For every attempt: no server error, and no HTML or script sent in comes back unescaped. A
refusal says what is wrong and changes nothing; what is accepted is stored as it was sent. The
forms are read from the rendered pages, so a field added to a form is attacked without a change
here; a write route neither attacked nor listed as taking no input fails
`test_every_write_route_is_attacked`.

(Uploads that lie about their type, oversized bodies, zip bombs and formulas in workbooks have
their own tests beside their features: tests/test_visits.py, tests/test_app.py,
tests/test_api.py, tests/test_import.py and tests/test_reports.py.)"""

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape

from crm.auth.models import User
from crm.extensions import db
from crm.text import collapse, is_clean
from tests.conftest import CITY, PASSWORD, YIYANG, bureau_today, code_for
from tests.forms import Field, forms_of
from tests.test_access import _cases, _problem, _task, fill, targets  # noqa: F401 (a fixture)

# The families of bad values, by the kind of field they are sent to.
TEXT = {
    "over-long": "长" * 5000,
    "NUL": "甲\x00乙",
    "escape sequence": "甲\x1b[2J乙",
    "SQL": "x'); DROP TABLE enterprises; --",
    "HTML": '<script>alert("坏")</script>',
    "attribute": '"><img src=x onerror=alert(1)>',
    "spaces only": "   ",
    "emoji": "企业😀",
}
NUMBER = {
    "negative": "-1",
    "huge": "1e308",
    "overflow": "99999999999999999999",
    "word": "十",
    "SQL": "1 OR 1=1",
}
DATE = {
    "30 February": "2026-02-30",
    "month 13": "2026-13-01",
    "year 0": "0000-01-01",
    "five-digit year": "99999-01-01",
    "word": "昨天",
}
MONTH = {"month 13": "2026-13", "year 0": "0000-00", "a day": "2026-02-30", "word": "上月"}
CHOICE = {
    "unknown": "不存在的选项",
    "overflow": "99999999999999999999",
    "negative": "-1",
    "HTML": TEXT["HTML"],
}
HIDDEN = {
    **CHOICE,
    "NUL": TEXT["NUL"],
    "over-long": TEXT["over-long"],
    "another site": "//evil.example/",
    "a URL": "https://evil.example/",
}
# Multiple choices take lists; {first} is an option the page offers.
MULTI = {
    "duplicated": ["{first}", "{first}"],
    "unknown": ["99999999999999999999"],
    "word": ["甲"],
    "empty": [],
}
FAMILIES = {
    "text": TEXT,
    "textarea": TEXT,
    "password": TEXT,
    "tel": TEXT,
    "email": TEXT,
    "search": TEXT,
    "number": NUMBER,
    "date": DATE,
    "month": MONTH,
    "select": CHOICE,
    "radio": CHOICE,
    "hidden": HIDDEN,
    "checkbox": MULTI,
    "select-multiple": MULTI,
}
# What must never come back as sent: markup that a browser would run.
DANGEROUS = ("<script>alert", "<img src=x")
# Payloads that a text field may store: they must then read back exactly as sent.
STORABLE = ("over-long", "SQL", "HTML", "attribute", "emoji")
ERROR_MARKS = ("is-invalid", "alert-danger", "alert-warning", "invalid-feedback")


@dataclass
class Attack:
    """A form to attack: who opens which page, the form on it (by the endpoint it posts to),
    and what is sent besides the page's own values so that the untouched form is accepted.

    `fresh(ids)` gives, for attempts that change their record, the ids of a new one (a new
    problem, task or case), so that each attempt starts from the same state."""

    role: str
    region: str
    page: str
    endpoint: str
    base: Any = None  # dict, or callable(number, ids) → dict
    fresh: Any = None  # callable(ids) → ids to fill the page's URL with
    action: str | None = None  # when several forms post to the endpoint: the action's end
    audited: bool = False  # a refusal itself is written to the audit log (failed logins)
    quiet: bool = False  # what it does not know it ignores, without a word (the language switch)
    ignored: frozenset = frozenset()  # fields the route reads elsewhere or does not change


def _enterprise_values(number, _ids):
    return {
        "name": f"坏输入测试{number}号科技有限公司",
        "credit_code": code_for(YIYANG, 500 + number),
        "county_code": YIYANG,
    }


def _user_values(number, _ids):
    return {
        "username": f"badinput{number}",
        "display_name": "测试人员",
        "role": "officer",
        "region_code": YIYANG,
        "password": "Temp-12345678",
    }


def _visit_values(_number, ids):
    return {
        "client_uuid": str(uuid.uuid4()),
        "enterprise_id": str(ids["enterprise"]),
        "summary": "了解研发投入情况。",
        "visit_date": bureau_today().isoformat(),
        "policy_ids": ["1"],
    }


def _new_problem(ids):
    return {**ids, "problem": _problem(ids["enterprise"])}


def _new_task(ids):
    return {**ids, "task": _task(ids["target"], ids["enterprise"])}


def _new_case(ids):
    return {**ids, "case": _cases(ids["target"], ids["fresh_enterprise"]())[0]}


def _bulk_values(_number, ids):
    problem = ids["problem"]
    return {"problem_ids": [str(problem)], f"version_{problem}": "1", "unit": "市人社局"}


ATTACKS = {
    "login": Attack(
        "anonymous", CITY, "/login", "auth.login", {"username": "officer1"}, audited=True
    ),
    # An unknown language or a page elsewhere is ignored; the redirect stays on this site.
    "language": Attack("chief", YIYANG, "/account", "auth.language", action="language", quiet=True),
    "change password": Attack(
        "chief",
        YIYANG,
        "/account/password",
        "auth.change_password",
        {
            "current_password": PASSWORD,
            "new_password": "Another-pass-2026",
            "confirm_password": "Another-pass-2026",
        },
    ),
    "new token": Attack("chief", YIYANG, "/account", "auth.create_token", {"name": "对接系统"}),
    "new user": Attack("admin", CITY, "/admin/users/new", "users.create", _user_values),
    "edit user": Attack("admin", CITY, "/admin/users/{target}", "users.edit"),
    "reset password": Attack(
        "admin", CITY, "/admin/users/{target}", "users.reset_password", {"password": "Temp-1234567"}
    ),
    "new enterprise": Attack(
        "chief", YIYANG, "/enterprises/new", "enterprises.create", _enterprise_values
    ),
    "edit enterprise": Attack(
        "chief", YIYANG, "/enterprises/{enterprise}/edit", "enterprises.edit"
    ),
    "new contact": Attack(
        "chief", YIYANG, "/enterprises/{enterprise}", "enterprises.add_contact", {"name": "李总"}
    ),
    "edit contact": Attack(
        "chief", YIYANG, "/enterprises/{enterprise}/contacts/{contact}", "enterprises.edit_contact"
    ),
    "new policy": Attack(
        "admin", CITY, "/policies/new", "policies.create", lambda n, _i: {"name": f"测试政策{n}"}
    ),
    "edit policy": Attack("admin", CITY, "/policies/1/edit", "policies.edit"),
    "new visit": Attack(
        "chief", YIYANG, "/visits/new?enterprise_id={enterprise}", "visits.create", _visit_values
    ),
    # A visit keeps its number and its enterprise when edited.
    "edit visit": Attack(
        "chief",
        YIYANG,
        "/visits/{visit}/edit",
        "visits.edit",
        {"policy_ids": ["1"]},
        ignored=frozenset({"client_uuid", "enterprise_id"}),
    ),
    "new problem": Attack(
        "chief",
        YIYANG,
        "/problems/new?enterprise_id={enterprise}",
        "problems.create",
        {"category": "talent", "title": "缺少研发人才"},
    ),
    "assign a problem": Attack(
        "chief",
        YIYANG,
        "/problems/{problem}",
        "problems.take_step",
        {"unit": "市人社局"},
        fresh=_new_problem,
    ),
    "assign problems together": Attack(
        "chief", YIYANG, "/problems/", "problems.bulk_assign", _bulk_values, fresh=_new_problem
    ),
    "new task": Attack(
        "chief",
        YIYANG,
        "/tasks/new?enterprise_id={enterprise}",
        "followups.create",
        lambda _n, ids: {"title": "送政策上门", "due_on": bureau_today().isoformat()},
    ),
    "complete a task": Attack(
        "chief",
        YIYANG,
        "/tasks/{task}",
        "followups.act",
        {"outcome": "已办"},
        _new_task,
        "complete",
    ),
    "reassign a task": Attack(
        "chief",
        YIYANG,
        "/tasks/{task}",
        "followups.act",
        lambda _n, ids: {"assignee_id": str(ids["target"])},
        _new_task,
        "reassign",
    ),
    "cancel a task": Attack(
        "chief",
        YIYANG,
        "/tasks/{task}",
        "followups.act",
        {"reason": "企业已搬迁"},
        _new_task,
        "cancel",
    ),
    "open a case": Attack(
        "chief",
        YIYANG,
        "/certification/new?enterprise_id={enterprise}",
        "certification.create",
        fresh=lambda ids: {**ids, "enterprise": ids["fresh_enterprise"]()},
    ),
    "move a case": Attack(
        "chief", YIYANG, "/certification/{case}", "certification.move", fresh=_new_case
    ),
    "monthly report": Attack("chief", YIYANG, "/reports/", "reports.generate"),
}

# Write routes that take no input to attack: a button, with the record in the URL (the access
# matrix in tests/test_access.py sends each of them), or a file (tests/test_import.py).
NO_INPUT = {
    "auth.logout": "a button",
    "auth.logout_everywhere": "a button",
    "auth.revoke_token": "a button",
    "users.deactivate": "a button",
    "users.reactivate": "a button",
    "users.revoke_token": "a button",
    "enterprises.delete": "a button",
    "enterprises.delete_contact": "a button",
    "visits.delete_attachment": "a button",
    "notifications.read": "a button",
    "followups_api.notification_read": "a button",
    "imports.upload": "a workbook: tests/test_import.py and tests/test_enterprise_edge_cases.py",
    "imports.run": "the choice of rows of a checked upload: tests/test_import.py",
}

# Tables whose rows change without any write of the bureau's (signing in, using a token, jobs).
UNTRACKED = {"user_sessions", "job_runs", "api_tokens", "users"}
# Fields whose value is split into several (tags at commas): read back part by part.
SPLIT = {"tags"}
CONTROLS = ("\x00", "\x1b")


def table_rows(app, audited: bool = False) -> dict[str, list]:
    """Every row of every table but those in UNTRACKED (and the audit log when refusals are
    audited); of the users, everything but when they last signed in."""
    with app.app_context():
        rows = {}
        for table in db.metadata.sorted_tables:
            if table.name in UNTRACKED or (audited and table.name == "audit_logs"):
                continue
            stmt = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = db.session.execute(stmt).all()
        users = db.metadata.tables["users"]
        columns = [c for c in users.columns if "login" not in c.name and "seen" not in c.name]
        rows["users"] = db.session.execute(sa.select(*columns).order_by(users.c.id)).all()
        return rows


def payloads(item: Field):
    """(family name, value) of the bad values for a field of this kind."""
    if item.kind == "checkbox" and len(item.options) == 1:
        family = {"unknown": CHOICE["unknown"], "HTML": CHOICE["HTML"]}  # a yes/no box
    else:
        family = FAMILIES.get(item.kind, {})
    for name, value in family.items():
        if isinstance(value, list):
            first = next((o for o in item.options if o), "1")
            value = [v.format(first=first) for v in value]
        yield name, value


def unescaped(text: str) -> list[str]:
    return [mark for mark in DANGEROUS if mark in text]


@pytest.fixture
def ids(app, targets, create_enterprise):  # noqa: F811 (the fixture imported above)
    counter = iter(range(1, 1000))
    return {
        **targets,
        "fresh_enterprise": lambda: create_enterprise(name=f"坏输入新企业{next(counter)}号").id,
    }


def find_form(app, page: str, attack: Attack, url: str):
    """The form on the page that posts to the attack's endpoint, and the URL it posts to."""
    adapter = app.url_map.bind("localhost")
    for form in forms_of(page):
        action = urlsplit(form.action or url).path
        if form.method != "post":
            continue
        endpoint, _args = adapter.match(action, method="POST")
        if endpoint == attack.endpoint and action.endswith(attack.action or ""):
            return form, form.action or url
    raise AssertionError(f"no form posting to {attack.endpoint} on {url}")


def attacked_fields(form) -> list[Field]:
    """The form's fields, but one policy note for all (they are alike)."""
    return [
        item
        for item in form.fields.values()
        if item.kind not in ("file", "submit", "button")
        and not (re.fullmatch(r"policy_note_\d+", item.name) and item.name != "policy_note_1")
    ]


class FormAttack:
    """One attack's attempts against its form, each judged on its own."""

    def __init__(self, app, client, attack: Attack, ids: dict):
        self.app, self.client, self.attack, self.ids = app, client, attack, ids
        self.number = 0
        self.current = self.record_ids()
        self.url = fill(attack.page, self.current)
        page = client.get(self.url)
        assert page.status_code == 200, self.url
        self.form, _action = find_form(app, page.text, attack, self.url)
        self.multipart = any(f.kind == "file" for f in self.form.fields.values())
        self.before = table_rows(app, attack.audited)

    def record_ids(self) -> dict:
        if self.attack.fresh is None:
            return self.ids
        with self.app.app_context():
            return self.attack.fresh(self.ids)

    def attempt(self, item: Field, family: str, value) -> list[str]:
        self.number += 1
        if self.attack.fresh is not None:
            self.current = self.record_ids()
            self.url = fill(self.attack.page, self.current)
            self.before = table_rows(self.app, self.attack.audited)
        page = self.client.get(self.url).text
        form, action = find_form(self.app, page, self.attack, self.url)
        base = self.attack.base
        base = base(self.number, self.current) if callable(base) else dict(base or {})
        data = {k: v for k, v in form.values().items() if not k.startswith("version_")}
        data |= base
        name = item.name.replace("__index__", "0")
        if re.fullmatch(r"version_\d+", name):  # the version of the problem sent in the base
            name = next(k for k in base if k.startswith("version_"))
        data[name] = value
        self.held = form.fields.get(item.name, item)
        options = {"content_type": "multipart/form-data"} if self.multipart else {}
        response = self.client.post(action, data=data, **options)
        return self.judge(item, family, value, response)

    def judge(self, item: Field, family: str, value, response) -> list[str]:
        status = response.status_code
        if status >= 500:
            return [f"answered {status}"]
        wrong = []
        if found := unescaped(response.get_data(as_text=True)):
            wrong.append(f"{found} shown unescaped")
        location = response.headers.get("Location", "")
        if urlsplit(location).netloc not in ("", "localhost"):
            wrong.append(f"sent away to {location}")
        target = self.client.get(location) if 300 <= status < 400 and location else None
        if target is not None:
            if target.status_code >= 500:
                wrong.append(f"the page it leads to answered {target.status_code}")
            if found := unescaped(target.get_data(as_text=True)):
                wrong.append(f"{found} shown unescaped on the page it leads to")
        after = table_rows(self.app, self.attack.audited)
        changed = {name: rows for name, rows in after.items() if rows != self.before[name]}
        self.before = after
        if changed:
            return wrong + self.kept_as_sent(item, family, value, changed, location)
        if status in (400, 404, 409, 413, 422, 429) or self.attack.quiet:
            return wrong
        page = (target if target is not None else response).get_data(as_text=True)
        if not any(mark in page for mark in ERROR_MARKS) and not self.unchanged_by(item, value):
            wrong.append(f"refused ({status}) without saying why")
        return wrong

    def unchanged_by(self, item: Field, value) -> bool:
        """A value that may leave the record as it was, without an error: a blank where the
        field may be blank, what the field already holds, or a field the route ignores."""
        if item.name in self.attack.ignored or value in ("   ", []):
            return True
        held = self.held
        if held.kind == "checkbox" and len(held.options) == 1:  # a yes/no box: any value is yes
            return bool(held.filled) == bool(value)
        values = set(value if isinstance(value, list) else [value])
        return values <= set(held.filled if isinstance(value, list) else held.filled[:1])

    def kept_as_sent(self, item: Field, family: str, value, changed, location: str) -> list[str]:
        """Accepted: no control character may have been stored, and text reads back as sent
        (on the page the form leads to, the form itself, or the record's edit page)."""
        stored = repr(changed)
        if any(repr(c)[1:-1] in stored for c in CONTROLS):
            return [f"a control character stored in {sorted(changed)}"]
        if item.kind not in ("text", "textarea") or family not in STORABLE or item.name in SPLIT:
            return []
        shown = str(escape(value))
        for url in (location, self.url, location.rstrip("/") + "/edit"):
            if url and shown in self.client.get(url).get_data(as_text=True):
                return []
        return ["accepted but not read back as sent"]


@pytest.mark.parametrize("name", ATTACKS)
def test_every_form_field_refuses_or_keeps_bad_input(app, client, create_user, ids, name):
    attack = ATTACKS[name]
    if attack.role != "anonymous":
        user = create_user(attack.role, attack.region)
        client.post("/login", data={"username": user.username, "password": user.password})
    attempts = FormAttack(app, client, attack, ids)
    wrong, tried = [], 0
    for item in attacked_fields(attempts.form):
        for family, value in payloads(item):
            tried += 1
            wrong += [
                f"{item.name} · {family}: {problem}"
                for problem in attempts.attempt(item, family, value)
            ]
    assert tried >= 4
    assert not wrong, "\n".join(wrong)


# The API: every write operation of /api/v1/openapi.json, each property of its body sent the
# bad values of its documented type, and a value of another type. The bodies are those the
# access matrix sends (tests/test_access.py), on a new record where the write moves one on.
API_FRESH = {
    "/api/v1/problems/{problem_id}/transition": ("problem_api", _new_problem, "problem"),
    "/api/v1/followups/{followup_id}/complete": ("task_api", _new_task, "task"),
    "/api/v1/followups/{followup_id}/cancel": ("task_cancel", _new_task, "task"),
    "/api/v1/followups/{followup_id}/reassign": ("task_reassign", _new_task, "task"),
    "/api/v1/certifications/{case_id}/stage": ("case_api", _new_case, "case"),
}
# Properties an operation ignores unless another one asks for them: the assign step sent here
# takes no resolution.
API_IGNORED = {("/api/v1/problems/{problem_id}/transition", "resolution")}
API_PATH_IDS = {"enterprise_id": "enterprise", "notification_id": "own_notification"}
JSON_TEXT = {name: TEXT[name] for name in ("over-long", "NUL", "escape sequence", "SQL", "HTML")}
JSON_VALUES = {
    "string": {**JSON_TEXT, "a number": 12, "a list": ["甲"], "null": None},
    "date": {**DATE, "a number": 20260101, "null": None},
    "integer": {
        "negative": -1,
        "overflow": 10**20,
        "a fraction": 1.5,
        "text": "十",
        "a yes": True,
        "null": None,
    },
    "number": {"negative": -1, "huge": 1e308, "overflow": 10**400, "text": "十", "null": None},
    "boolean": {"text": "是", "a number": 2, "null": None},
    "array": {"not a list": "甲", "nulls": [None], "duplicated": ["{first}", "{first}"]},
    "object": {"text": "甲", "a list": []},
}


def schema_of(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def json_kind(spec: dict, schema: dict) -> str:
    schema = schema_of(spec, schema)
    kinds = schema.get("type", "object")
    kind = next((k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"), "")
    return "date" if schema.get("format") == "date" else kind


def api_writes(spec: dict):
    """(path, method, body schema) of every write of the API."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "patch", "put"):
                content = operation.get("requestBody", {}).get("content", {})
                body = content.get("application/json", {}).get("schema")
                yield path, method, schema_of(spec, body) if body else None


def api_endpoint(app, path: str, method: str) -> str:
    concrete = re.sub(r"{\w+}", "1", path)
    return app.url_map.bind("localhost").match(concrete, method=method.upper())[0]


def test_every_api_write_refuses_or_keeps_bad_input(app, client, create_user, create_token, ids):
    from tests.test_access import request_options

    token = {"Authorization": f"Bearer {create_token(create_user('chief', YIYANG))}"}
    spec = client.get("/api/v1/openapi.json", headers=token).json
    wrong, tried = [], Counter()
    documented = {api_endpoint(app, path, method) for path, method, _body in api_writes(spec)}
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert routes == documented, "every write of the API is in its OpenAPI document"
    for path, method, body in api_writes(spec):
        endpoint = api_endpoint(app, path, method)
        if body is None:
            assert endpoint in NO_INPUT, f"{method} {path} takes no body: list it in NO_INPUT"
            continue
        for prop, schema in body.get("properties", {}).items():
            kind = json_kind(spec, schema)
            for family, value in JSON_VALUES.get(kind, {}).items():
                record_ids = ids
                if path in API_FRESH:
                    key, fresh, made = API_FRESH[path]
                    with app.app_context():
                        record_ids = {**ids, key: fresh(ids)[made]}
                sent = request_options(endpoint, record_ids).get("json", {})
                first = next(iter(sent.get(prop) or []), 1) if kind == "array" else None
                if isinstance(value, list):
                    value = [first if v == "{first}" else v for v in value]
                url = path
                for name, key in re.findall(r"({(\w+)})", path):
                    url = url.replace(
                        name, str(record_ids[API_PATH_IDS.get(key) or API_FRESH[path][0]])
                    )
                before = table_rows(app)
                response = client.open(
                    url, method=method.upper(), json={**sent, prop: value}, headers=token
                )
                tried[endpoint] += 1
                problems = judge_api(response, prop, value, table_rows(app), before)
                if (path, prop) in API_IGNORED:
                    problems = [p for p in problems if not p.startswith("stored as")]
                wrong += [f"{method} {path} · {prop} · {family}: {p}" for p in problems]
    assert len(tried) >= 12 and sum(tried.values()) >= 300, tried
    assert not wrong, "\n".join(wrong)


def judge_api(response, prop: str, value, after: dict, before: dict) -> list[str]:
    status = response.status_code
    if status >= 500:
        return [f"answered {status}"]
    if not response.is_json:
        return [f"answered {status} in {response.content_type}"]
    text = json.dumps(response.json, ensure_ascii=False)
    changed = {name: rows for name, rows in after.items() if rows != before[name]}
    if status < 300:
        if any(repr(c)[1:-1] in repr(changed) for c in CONTROLS):
            return [f"a control character stored in {sorted(changed)}"]
        echoed = response.json.get(prop, value) if isinstance(value, str) else value
        if echoed != value and value.strip() and value in TEXT.values():
            return [f"stored as {echoed!r:.40}"]
        return []
    if changed:
        return [f"refused ({status}) but changed {sorted(changed)}"]
    fields = (response.json.get("error") or {}).get("fields") or {}
    if status == 422 and prop not in fields and not fields:
        return [f"refused without naming a field: {text[:120]}"]
    if status not in (400, 404, 409, 422):
        return [f"answered {status}"]
    return []


# The filters of the lists, and their paging: each field of each GET form, and page and
# per_page, sent the bad values of its kind.
LISTS = {
    "/enterprises/": "chief",
    "/visits/": "chief",
    "/visits/mine": "officer",
    "/problems/": "chief",
    "/problems/mine": "officer",
    "/tasks/board": "chief",
    "/certification/": "chief",
    "/certification/prospects": "chief",
    "/reports/archive": "chief",
    "/admin/audit/": "admin",
    "/admin/users/": "admin",
    "/policies/": "officer",
    "/notifications/": "officer",
    "/api/v1/enterprises": "chief",
    "/api/v1/visits": "chief",
    "/api/v1/problems": "chief",
    "/api/v1/followups": "chief",
    "/api/v1/certifications": "chief",
}
PAGING = (Field("page", "number"), Field("per_page", "number"))


def list_fields(client, url: str) -> list[Field]:
    """The fields of the page's GET forms (for the API, of its documented query)."""
    if url.startswith("/api/"):
        spec = client.get("/api/v1/openapi.json").json
        parameters = spec["paths"][url]["get"].get("parameters", [])
        return [
            Field(p["name"], json_kind(spec, p.get("schema", {})).replace("integer", "number"))
            for p in parameters
            if p["in"] == "query"
        ]
    page = client.get(url)
    assert page.status_code == 200, url
    return [
        item
        for form in forms_of(page.text)
        if form.method == "get"
        for item in form.fields.values()
    ]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_filter_survives_bad_input(client, login, create_token, ids, url):
    user = login(LISTS[url], CITY if LISTS[url] == "admin" else YIYANG)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(user)}"
    wrong, tried = [], 0
    fields = [*list_fields(client, url), *PAGING]
    for item in fields:
        kind = "text" if item.kind in ("string", "hidden", "boolean") else item.kind
        for family, value in payloads(Field(item.name, kind, item.options)):
            response = client.get(url, query_string={item.name: value})
            tried += 1
            # A filter naming no board (the certification board's programme and year) is a 404.
            if response.status_code not in (200, 400, 404, 422):
                wrong.append(f"{item.name} · {family}: answered {response.status_code}")
            elif found := unescaped(response.get_data(as_text=True)):
                wrong.append(f"{item.name} · {family}: {found} shown unescaped")
    assert tried >= len(PAGING) * len(NUMBER)
    assert not wrong, "\n".join(wrong)


def test_every_write_route_is_attacked(app):
    """A new write route fails here until it has an attack (or, taking no input, a reason)."""
    writes = {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    attacked = {attack.endpoint for attack in ATTACKS.values()}
    api = {endpoint for endpoint, rule in writes.items() if rule.startswith("/api/")}
    assert writes.keys() - attacked - NO_INPUT.keys() - api == set()
    assert attacked & NO_INPUT.keys() == set()


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("市人社局", True),
        ("技术👩‍💻团队", True),  # a joiner inside an emoji is no control
        ("市\u202e局社人", False),
        ("\u2066市人社局\u2069", True),  # an isolate, pasted along: ordering only
        ("市\u202d局社人", False),
        ("市人社局\u0007", False),
    ],
)
def test_bidirectional_overrides_are_not_ordinary_text(text, clean):
    """An override makes a unit or name shown differ from the one stored."""
    assert is_clean(text) is clean


def test_a_unit_named_with_an_override_is_refused(app, client, login, create_enterprise):
    login("chief", YIYANG)
    visit = {
        "client_uuid": "9a1c0b7e-3f2d-4c5e-8a6b-7c8d9e0f1a2b",
        "enterprise_id": create_enterprise(county_code=YIYANG).id,
        "visit_date": bureau_today().isoformat(),
        "mode": "onsite",
        "summary": "了解情况",
        "problems": [{"category": "talent", "title": "缺少人才"}],
    }
    problem_id = client.post("/api/v1/visits", json=visit).json["problems"][0]["id"]
    body = {"to": "assigned", "version": 1, "unit": "市\u202e局社人"}
    answer = client.post(f"/api/v1/problems/{problem_id}/transition", json=body)
    assert answer.status_code == 422 and list(answer.json["error"]["fields"]) == ["unit"]
    officer = client.get("/api/v1/me").json["id"]  # a chief may take a problem in hand
    body = {"to": "assigned", "version": 1, "assignee_id": officer, "unit_contact": "王科长"}
    answer = client.post(f"/api/v1/problems/{problem_id}/transition", json=body)
    assert answer.status_code == 422 and list(answer.json["error"]["fields"]) == ["unit_contact"]


def test_invisible_characters_neither_fill_a_field_nor_tell_two_names_apart(
    app, client, login, create_enterprise
):
    """A zero-width space (pasted from a chat) is dropped: a name with one is the name without
    it, for search and for the same-name check, and a summary of nothing but one is empty."""
    login("chief", YIYANG)
    body = {
        "name": "测试\u200b企业有限公司",
        "credit_code": code_for(YIYANG, 990),
        "county_code": YIYANG,
    }
    created = client.post("/api/v1/enterprises", json=body)
    assert created.status_code == 201 and created.json["name"] == "测试企业有限公司"
    found = client.get("/api/v1/enterprises", query_string={"q": "测试企业"}).json["items"]
    assert [item["id"] for item in found] == [created.json["id"]]
    visit = {
        "client_uuid": "5b7c1d2e-3f40-4a5b-9c6d-7e8f9a0b1c2d",
        "enterprise_id": created.json["id"],
        "visit_date": bureau_today().isoformat(),
        "mode": "onsite",
        "summary": "\u200b\ufeff",
    }
    empty = client.post("/api/v1/visits", json=visit)
    assert empty.status_code == 422 and list(empty.json["error"]["fields"]) == ["summary"]
    assert collapse("\u2060王\u200b经理\ufeff") == "王经理"
    assert collapse("技术👩\u200d💻团队") == "技术👩\u200d💻团队"  # the joiner shapes the emoji


def test_a_phone_typed_in_full_width_is_read_as_its_digits(app, client, login, create_user):
    from crm.enterprises.rules import clean_contact

    with app.test_request_context():
        assert clean_contact({"name": "王经理", "phone": "１３８００００００００"})["phone"] == (
            "13800000000"
        )
        assert clean_contact({"name": "王经理", "phone": "（０３７９）６５１２３４５６"})[
            "phone"
        ] == ("(0379)65123456")
    login("admin")
    edit = {
        "display_name": "赵伟",
        "role": "officer",
        "region_code": YIYANG,
        "unit": "",
        "email": "",
    }
    officer = create_user("officer", YIYANG)
    saved = client.post(
        f"/admin/users/{officer.id}", data={**edit, "phone": "１３９１２３４５６７８"}
    )
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(User, officer.id).phone == "13912345678"
