"""A working day on the CRM, compressed: officers search, open enterprises, list visits, check
their tasks and record visits with a policy and a problem; chiefs watch the dashboard and the
problem ledger and assign new problems. Run by tests/test_load.py (locust, headless).

Every answer other than the expected one counts as a failure, and so does a page that sends
its user to the sign-in page (a lost session). A step on a problem that another chief has just
moved answers 409 with the form again: that is the app doing its job under concurrency, and is
counted as such (name "problem step (already moved)"), not as an error.

Locust's own figures start again once every user has signed in (a sign-in is costly by design,
and a morning's sign-ins are spread out); the tally of the whole run, sign-ins included, is
written to CRM_LOAD_TALLY when locust quits.
"""

import itertools
import json
import os
import random
import re
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

# tests/test_load.py creates the users load-officer-1…, load-chief-1…, all with this password:
# one sign-in per person, as on a morning in the bureau.
PASSWORD = os.environ["CRM_LOAD_PASSWORD"]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ENTERPRISE_LINK = re.compile(r'href="/enterprises/(\d+)"')
PROBLEM_LINK = re.compile(r'href="/problems/(\d+)"')
ASSIGN_VERSION = re.compile(r'id="assign-version"[^>]*value="(\d+)"')
SEARCH_TERMS = ("科技", "洛阳", "宜阳", "智能", "ly", "kj", "新材料", "电子")
YIYANG = "410327"
# Seconds a person spends on a page before the next click: reading, typing, talking.
# CRM_LOAD_WAIT="0.2-1" turns the same people into a stress test of the server's ceiling.
WAIT = tuple(float(s) for s in os.environ.get("CRM_LOAD_WAIT", "1-4").split("-"))


def today() -> date:
    """The bureau's date (the machine may be on UTC, a day behind after 16:00)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


TALLY: dict = {"requests": 0, "failures": [], "errors": [], "answered": {}, "signed in": 0}


@events.request.add_listener
def count(name: str, exception: Exception | None, response: object = None, **_details) -> None:
    TALLY["requests"] += 1
    signing_in = name in ("login page", "log in")
    if exception is None and not signing_in and "/login" in getattr(response, "url", ""):
        exception = RuntimeError("sent to the sign-in page: the session was lost")
    if exception is not None:
        TALLY["failures"].append(f"{name}: {exception}")
    else:
        TALLY["answered"][name] = TALLY["answered"].get(name, 0) + 1


@events.user_error.add_listener
def count_error(user_instance: HttpUser, exception: Exception, **_details) -> None:
    TALLY["errors"].append(f"{type(user_instance).__name__}: {exception!r}")


@events.quitting.add_listener
def write_tally(**_details) -> None:
    if path := os.environ.get("CRM_LOAD_TALLY"):
        Path(path).write_text(json.dumps(TALLY, ensure_ascii=False, indent=1))


def token_of(html: str) -> str:
    match = TOKEN.search(html)
    if match is None:
        raise ValueError("no CSRF token on the page")
    return match.group(1)


class Staff(HttpUser):
    abstract = True
    wait_time = between(*WAIT)
    role = ""
    numbers: itertools.count

    def on_start(self) -> None:
        username = f"load-{self.role}-{next(self.numbers)}"
        page = self.client.get("/login", name="login page")
        answer = self.client.post(
            "/login",
            data={
                "csrf_token": token_of(page.text),
                "username": username,
                "password": PASSWORD,
            },
            allow_redirects=False,
            name="log in",
        )
        if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
            raise RuntimeError(f"{username}: log in answered {answer.status_code}")
        TALLY["signed in"] += 1
        runner = self.environment.runner
        if runner is not None and TALLY["signed in"] == runner.target_user_count:
            runner.stats.reset_all()  # everyone is in: the working day's figures start now

    def last_month_in_yiyang(self) -> dict:
        last = today().replace(day=1) - timedelta(days=1)
        return {"county": YIYANG, "start": last.replace(day=1).isoformat(), "end": last.isoformat()}


class Officer(Staff):
    weight = 4
    role = "officer"
    numbers = itertools.count(1)

    @task(4)
    def search_and_open(self) -> None:
        found = self.client.get(
            "/enterprises/search", params={"q": random.choice(SEARCH_TERMS)}, name="search"
        )
        ids = ENTERPRISE_LINK.findall(found.text)
        if ids:
            self.client.get(f"/enterprises/{random.choice(ids)}", name="enterprise page")

    @task(2)
    def visit_list(self) -> None:
        self.client.get("/visits/", params=self.last_month_in_yiyang(), name="visit list")

    @task(2)
    def my_tasks(self) -> None:
        self.client.get("/tasks/", name="my tasks")

    @task(1)
    def record_visit(self) -> None:
        found = self.client.get("/enterprises/search", params={"q": "科技"}, name="search")
        ids = ENTERPRISE_LINK.findall(found.text)
        if not ids:
            return
        enterprise = random.choice(ids)
        form = self.client.get(
            "/visits/new", params={"enterprise_id": enterprise}, name="visit form"
        )
        with self.client.post(
            "/visits/new",
            data={
                "csrf_token": token_of(form.text),
                "client_uuid": str(uuid.uuid4()),
                "enterprise_id": enterprise,
                "visit_date": today().isoformat(),
                "mode": "onsite",
                "people_met": "企业负责人",
                "summary": "走访了解研发投入和高企申报准备情况，讲解研发费用加计扣除政策。",
                "policy_ids": "1",
                "problems-0-category": "financing",
                "problems-0-title": "设备更新贷款贴息",
                "problems-0-description": "企业计划更新生产线，需要设备贷款贴息支持。",
                "next_step": "下周送申报指南",
            },
            headers={"Accept": "application/json"},
            name="record a visit",
            catch_response=True,
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"{answer.status_code}: {answer.text[:300]}")


class Chief(Staff):
    weight = 1
    role = "chief"
    numbers = itertools.count(1)

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/", name="dashboard")

    @task(3)
    def overdue_ledger(self) -> None:
        self.client.get("/problems/", params={"overdue": "1", "county": YIYANG}, name="ledger")

    @task(2)
    def assign_a_new_problem(self) -> None:
        ledger = self.client.get(
            "/problems/", params={"status": "new", "county": YIYANG}, name="ledger"
        )
        ids = PROBLEM_LINK.findall(ledger.text)
        if not ids:
            return
        problem = random.choice(ids)
        page = self.client.get(f"/problems/{problem}", name="problem page")
        version = ASSIGN_VERSION.search(page.text)
        if version is None:  # assigned meanwhile by another chief
            return
        with self.client.post(
            f"/problems/{problem}/steps/assign",
            data={
                "csrf_token": token_of(page.text),
                "version": version.group(1),
                "unit": "宜阳县工业和信息化局",
                "unit_contact": "李科长 0379-68851234",
                "due_date": (today() + timedelta(days=7)).isoformat(),
                "note": "请一周内对接企业",
            },
            allow_redirects=False,
            name="problem step",
            catch_response=True,
        ) as answer:
            if answer.status_code == 409:
                answer.request_meta["name"] = "problem step (already moved)"
                answer.success()
            elif answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
                answer.failure(f"{answer.status_code}: {answer.text[:300]}")
