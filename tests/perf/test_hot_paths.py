"""The hot paths over a city at full scale (tests/perf/conftest.py), side by side with their floor.

For each path, on SQLite and on PostgreSQL: median and p95 of ROUNDS requests in process (the
Flask test client) and over HTTP (gunicorn on loopback, as a browser would ask), the SQL
statements one request runs, and the floor: those same statements, with the same parameters,
replayed on the database driver (no ORM, no template, no Flask) in a transaction ended as the
request's is (a write's committed, a read's rolled back), each replay taken in turn with a
request. The ratio in-process median / floor median shows what the application adds.

A path fails when it misses the target an earlier issue set for it, or when it takes more than
RATIO_TARGET times its floor.
"""

import copy
import http.cookiejar
import re
import secrets
import statistics
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm import demo
from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.i18n import local_today
from crm.problems import deadlines
from crm.problems.models import Problem
from crm.visits.models import Visit
from tests.conftest import CITY, UserInfo, log_in
from tests.perf.conftest import FULL_SCALE_VISITS, VISITS, FullScale, bench_user
from tests.perf.report import HotPath, percentile, record, record_hot_path
from tests.servers import Server, start_server, stop, wait_until_up, write_settings

WARM_UP = 5
ROUNDS = 60
RATIO_TARGET = 3.0
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class HotRequest:
    """One request of the day, who makes it, and the p95 target an earlier issue set for it."""

    name: str
    user: UserInfo
    url: str
    query: dict = field(default_factory=dict)
    form: Callable[[], dict] | None = None  # a POST's body, fresh for every request
    p95_target: float | None = None
    status: int = 200

    def target(self) -> str:
        ratio = f"≤ {RATIO_TARGET:.0f}× floor"
        return f"p95 < {self.p95_target:.0f} ms, {ratio}" if self.p95_target else ratio


# Choosing what to ask for: the busiest county, month, enterprise and officer of the data.


def busiest_county_month() -> tuple[str, date, date, int]:
    """The county and calendar month with the most visits: (county, first day, last day, n)."""
    per_day = db.session.execute(
        sa.select(Visit.county_code, Visit.visit_date, sa.func.count()).group_by(
            Visit.county_code, Visit.visit_date
        )
    )
    months: Counter[tuple[str, date]] = Counter()
    for county, day, visits in per_day:
        months[county, day.replace(day=1)] += visits
    (county, first), visits = months.most_common(1)[0]
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return county, first, last, visits


def busiest_overdue_county(today: date) -> str:
    overdue = sa.func.count().filter(deadlines.overdue(today))
    return db.session.scalar(
        sa.select(Problem.county_code)
        .where(Problem.status.in_(deadlines.OPEN))
        .group_by(Problem.county_code)
        .order_by(overdue.desc())
        .limit(1)
    )


def most_visited_enterprise() -> int:
    return db.session.scalar(
        sa.select(Visit.enterprise_id)
        .group_by(Visit.enterprise_id)
        .order_by(sa.func.count().desc())
        .limit(1)
    )


def busiest_assignee() -> User:
    """The demo officer with the most tasks (they sign in with the demo password)."""
    user_id = db.session.scalar(
        sa.select(FollowUp.assignee_id)
        .group_by(FollowUp.assignee_id)
        .order_by(sa.func.count().desc())
        .limit(1)
    )
    return db.session.get(User, user_id)


def visit_form(enterprise_id: int, day: date) -> Callable[[], dict]:
    def body() -> dict:
        return {
            "client_uuid": str(uuid.uuid4()),
            "enterprise_id": str(enterprise_id),
            "visit_date": day.isoformat(),
            "mode": "onsite",
            "people_met": "王总经理",
            "summary": "了解研发投入和高企申报准备情况，讲解研发费用加计扣除政策。",
            "policy_ids": ["1", "3"],
            "problems-0-category": "financing",
            "problems-0-title": "设备更新贷款贴息",
            "problems-0-description": "企业计划更新生产线，需要设备贷款贴息支持。",
            "next_step": "下周送申报指南",
        }

    return body


def hot_paths(app: Flask) -> list[HotRequest]:
    with app.app_context():
        county, first, last, visits = busiest_county_month()
        if VISITS == FULL_SCALE_VISITS:
            assert visits >= 200 * 25, "page 200 of the busiest county-month is not full"
        overdue_county = busiest_overdue_county(local_today())
        enterprise = db.session.get(Enterprise, most_visited_enterprise())
        assignee = busiest_assignee()
        record(
            backend_of(app),
            "what the hot paths ask for",
            f"visit list: {county} {first:%Y-%m} ({visits} visits); ledger: {overdue_county}; "
            f"enterprise page: {enterprise.name}; my tasks: {assignee.username}",
        )
        enterprise_id, enterprise_county = enterprise.id, enterprise.county_code
        yesterday = local_today() - timedelta(days=1)
        tasks_user = UserInfo(
            assignee.id,
            assignee.username,
            assignee.role.value,
            assignee.region_code,
            demo.DEMO_PASSWORD,
        )
    officer = bench_user(app, "bench_city_officer", "officer", CITY)
    county_chief = bench_user(app, f"bench_chief_{overdue_county}", "chief", overdue_county)
    city_chief = bench_user(app, "bench_city_chief", "chief", CITY)
    month = {"county": county, "start": first.isoformat(), "end": last.isoformat()}
    search = f"{demo.BRANDS[3]}{demo.TRADES[0][0]}"
    return [
        HotRequest("enterprise search (type-ahead)", officer, "/enterprises/search", {"q": search},
             p95_target=50),
        HotRequest("enterprise page", officer, f"/enterprises/{enterprise_id}"),
        HotRequest("visit list, county + month, page 1", officer, "/visits/", {**month, "page": 1},
             p95_target=60),
        HotRequest("visit list, county + month, page 200", officer, "/visits/",
                   {**month, "page": 200}, p95_target=60),
        HotRequest("problem ledger, overdue in my county", county_chief, "/problems/",
             {"overdue": "1"}, p95_target=60),
        HotRequest("my tasks", tasks_user, "/tasks/"),
        HotRequest("dashboard, city (figures cached)", city_chief, "/", p95_target=300),
        HotRequest(
            "record a visit (2 policies, 1 problem)",
            bench_user(app, f"bench_officer_{enterprise_county}", "officer", enterprise_county),
            "/visits/new",
            form=visit_form(enterprise_id, yesterday),
            status=201,
        ),
    ]  # fmt: skip


# Measuring: in process, its statements, their floor, over HTTP.


class Statements:
    """The statements (with their parameters) a block of code sends to the database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any, bool]] = []

    def __enter__(self) -> "Statements":
        sa.event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        # A copy: the caller may reuse the list it passed (insertmanyvalues batches do).
        self.seen.append((statement, copy.deepcopy(parameters), executemany))


def ask(client: FlaskClient, path: HotRequest, body: dict | None = None) -> Any:
    if path.form is None:
        return client.get(path.url, query_string=path.query)
    body = body or path.form()
    return client.post(path.url, data=body, headers={"Accept": "application/json"})


@dataclass
class Captured:
    """What one request sent to the database, and what a write created: the client_uuid of the
    visit and, per table, the ids of the rows it inserted, in order."""

    statements: list[tuple[str, Any, bool]]
    client_uuid: uuid.UUID | None = None
    created: dict[str, list[int]] = field(default_factory=dict)


def side_by_side(app: Flask, path: HotRequest) -> tuple[list[float], list[float], Captured]:
    """Milliseconds of ROUNDS requests in process, and of ROUNDS runs of one request's statements
    on the bare driver connection (the floor), taken in turns: a machine that slows down for a
    while (a shared host does) slows both alike, so their ratio holds. Also what that one request
    sent to the database."""
    client = app.test_client()
    log_in(client, path.user)
    for round_ in range(WARM_UP):
        began = time.perf_counter()
        response = ask(client, path)
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == path.status, (path.name, response.status_code)
        if round_ == 0 and path.url == "/":
            record(backend_of(app), "city dashboard: first view (computes the figures)",
                   f"{elapsed:.0f} ms")  # fmt: skip
    captured = capture(app, client, path)
    samples, floors = [], []
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            for round_ in range(WARM_UP + ROUNDS):
                replayed = replay(connection, captured)
                began = time.perf_counter()
                response = ask(client, path)
                elapsed = (time.perf_counter() - began) * 1000
                assert response.status_code == path.status, (path.name, response.status_code)
                if round_ >= WARM_UP:
                    samples.append(elapsed)
                    floors.append(replayed)
        finally:
            connection.rollback()
            connection.close()
    return samples, floors, captured


def capture(app: Flask, client: FlaskClient, path: HotRequest) -> Captured:
    """What one request sent to the database (and, a write, the rows it created)."""
    body = path.form() if path.form else None
    with app.app_context():
        before = top_ids() if body else {}
        with Statements(db.engine) as statements:
            assert ask(client, path, body).status_code == path.status
        captured = Captured(statements.seen)
        if body:
            captured.client_uuid = uuid.UUID(body["client_uuid"])
            captured.created = ids_since(before)
    return captured


def id_tables() -> list[sa.Table]:
    return [t for t in db.metadata.sorted_tables if "id" in t.c and t.c.id.type.python_type is int]


def top_ids() -> dict[str, int]:
    return {
        t.name: db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0)))
        for t in id_tables()
    }


def ids_since(tops: dict[str, int]) -> dict[str, list[int]]:
    db.session.remove()
    created = {}
    for table in id_tables():
        newer = sa.select(table.c.id).where(table.c.id > tops[table.name]).order_by(table.c.id)
        created[table.name] = list(db.session.scalars(newer))
    return created


def backend_of(app: Flask) -> str:
    return sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()


INSERT_INTO = re.compile(r'\s*INSERT INTO "?(\w+)"?', re.IGNORECASE)


class Replay:
    """The captured statements, run again on the driver.

    A write's rows get new ids there: each INSERT maps the ids the request's rows got (RETURNING
    id, or SQLite's lastrowid) to the replay's, and later parameters equal to one of those ids
    are given the new one. That is sound only if no parameter names another row by the same
    number: the rows a request reads before it writes (its user, enterprise, policies) are
    checked to share no id with the rows it created, and every created row must be met again by
    the replay. The visit gets a new client_uuid, so it does not meet the stored one's unique key.
    """

    def __init__(self, captured: Captured) -> None:
        self.captured = captured
        self.swap: dict[Any, Any] = {}
        self.queues = {table: list(ids) for table, ids in captured.created.items() if ids}
        if captured.client_uuid is not None:
            old, new = captured.client_uuid, uuid.uuid4()
            self.swap = {old: new, str(old): str(new), old.hex: new.hex}
        if self.queues:
            created = {i for ids in self.queues.values() for i in ids}
            read_first = set(integers(captured.statements[: first_insert(captured.statements)]))
            assert not created & read_first, (
                f"ids {sorted(created & read_first)} name both a created row and a row read "
                "before it: the replay could not tell them apart"
            )

    def value(self, value: Any) -> Any:
        if isinstance(value, str | int | uuid.UUID) and not isinstance(value, bool):
            return self.swap.get(value, value)
        return value

    def parameters(self, parameters: Any) -> Any:
        if isinstance(parameters, dict):
            return {key: self.value(value) for key, value in parameters.items()}
        if isinstance(parameters, list | tuple):
            return type(parameters)(
                self.parameters(p) if isinstance(p, dict | list | tuple) else self.value(p)
                for p in parameters
            )
        return parameters

    def run(self, cursor: Any) -> None:
        for statement, parameters, many in self.captured.statements:
            parameters = self.parameters(parameters) if self.swap or self.queues else parameters
            if many and not _one_row(parameters):
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
            rows = cursor.fetchall() if cursor.description is not None else []
            inserted = INSERT_INTO.match(statement)
            if inserted is None or not self.queues:
                continue
            if rows and cursor.description[0][0] == "id":
                ids = [row[0] for row in rows]
            elif not rows and cursor.rowcount == 1 and cursor.lastrowid:
                ids = [cursor.lastrowid]  # SQLite: one row, its id read from the cursor
            else:
                continue
            queue = self.queues.get(inserted.group(1), [])
            self.swap.update(zip(queue[: len(ids)], ids, strict=False))
            del queue[: len(ids)]
        unmet = {table: ids for table, ids in self.queues.items() if ids}
        assert not unmet, f"rows the request created that the replay did not: {unmet}"


def first_insert(statements: list[tuple[str, Any, bool]]) -> int:
    return next((n for n, (sql, _p, _m) in enumerate(statements) if INSERT_INTO.match(sql)), 0)


def integers(statements: list[tuple[str, Any, bool]]) -> Iterator[int]:
    def walk(value: Any) -> Iterator[int]:
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list | tuple):
            for item in value:
                yield from walk(item)
        elif isinstance(value, int) and not isinstance(value, bool):
            yield value

    for _sql, parameters, _many in statements:
        yield from walk(parameters)


def _one_row(parameters: Any) -> bool:
    """True for one row's parameters: SQLAlchemy marks each row of an insertmanyvalues batch it
    sends one by one (SQLite, with RETURNING) as part of an executemany, and executes it alone."""
    if isinstance(parameters, dict):
        return True
    return not parameters or not isinstance(parameters[0], dict | list | tuple)


def replay(connection: Any, captured: Captured) -> float:
    """Milliseconds to run the captured statements on the driver connection, in a transaction
    ended as the request's was: a write's committed (its rows stay, as the request's own do: a
    new visit beside the others), a read's rolled back."""
    replaying = Replay(captured)
    began = time.perf_counter()
    driver = connection.dbapi_connection
    if db.engine.dialect.name == "sqlite" and not driver.in_transaction:
        driver.execute("BEGIN")  # so that SAVEPOINT … RELEASE does not commit on its own
    cursor = connection.cursor()
    replaying.run(cursor)
    cursor.close()
    if captured.created:
        connection.commit()
    else:
        connection.rollback()
    return (time.perf_counter() - began) * 1000


class Browser:
    """Cookies and CSRF tokens, over urllib: a signed-in user of a gunicorn server."""

    def __init__(self, server: Server, user: UserInfo) -> None:
        self.base = server.url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects()
        )
        page = self.get("/login")
        answer = self.send(
            "/login",
            {"csrf_token": TOKEN.search(page).group(1), "username": user.username,
             "password": user.password},
        )  # fmt: skip
        assert answer == 302, f"{user.username} could not sign in over HTTP ({answer})"

    def get(self, url: str, query: dict | None = None) -> str:
        target = f"{self.base}{url}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        with self.opener.open(target, timeout=60) as answer:
            return answer.read().decode()

    def send(self, url: str, form: dict, headers: dict | None = None) -> int:
        body = urllib.parse.urlencode(form, doseq=True).encode()
        request = urllib.request.Request(f"{self.base}{url}", body, headers or {}, method="POST")
        try:
            with self.opener.open(request, timeout=60) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def over_http(server: Server, path: HotRequest) -> list[float]:
    browser = Browser(server, path.user)
    token = TOKEN.search(browser.get("/visits/new")).group(1) if path.form else ""
    samples = []
    for round_ in range(WARM_UP + ROUNDS):
        began = time.perf_counter()
        if path.form is None:
            browser.get(path.url, path.query)
        else:
            status = browser.send(
                path.url, {**path.form(), "csrf_token": token}, {"Accept": "application/json"}
            )
            assert status == path.status, (path.name, status)
        elapsed = (time.perf_counter() - began) * 1000
        if round_ >= WARM_UP:
            samples.append(elapsed)
    return samples


@pytest.fixture(scope="module")
def server(full_scale: FullScale, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn with production settings (CSRF on) over the full-scale data."""
    folder = tmp_path_factory.mktemp(f"server-{full_scale.backend}")
    settings = write_settings(
        folder / "production.py",
        {
            "SQLALCHEMY_DATABASE_URI": full_scale.url,
            "SECRET_KEY": secrets.token_hex(32),
            "ATTACHMENT_FOLDER": str(folder / "attachments"),
            "REPORT_FOLDER": str(folder / "reports"),
            "IMPORT_FOLDER": str(folder / "imports"),
        },
    )
    started = start_server(settings, folder / "server.log", workers=2, threads=4)
    try:
        wait_until_up(started)
        yield started
    finally:
        stop([started])


@pytest.fixture(scope="module")
def paths(full_scale: FullScale) -> dict[str, HotRequest]:
    chosen = {path.name: path for path in hot_paths(full_scale.app)}
    assert list(chosen) == NAMES
    return chosen


# The names of hot_paths(), in its order (parametrize needs them before the data exists).
NAMES = [
    "enterprise search (type-ahead)",
    "enterprise page",
    "visit list, county + month, page 1",
    "visit list, county + month, page 200",
    "problem ledger, overdue in my county",
    "my tasks",
    "dashboard, city (figures cached)",
    "record a visit (2 policies, 1 problem)",
]


REFERENCES = {
    "reference: a signed-in empty response": "/bench/empty",
    "reference: the layout around an empty page": "/bench/layout",
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_reference_page(full_scale: FullScale, name: str):
    """What any signed-in page costs before it reads anything of its own (tests/perf/
    reference.py), measured as the hot paths are and shown beside them, with no target."""
    officer = bench_user(full_scale.app, "bench_city_officer", "officer", CITY)
    path = HotRequest(name, officer, REFERENCES[name])
    samples, floors, captured = side_by_side(full_scale.app, path)
    result = HotPath(
        full_scale.backend,
        name,
        statistics.median(samples),
        percentile(samples, 0.95),
        None,
        None,
        len(captured.statements),
        statistics.median(floors),
        "— (none: a reference)",
    )
    record_hot_path(result)
    assert captured.statements, f"{name}: no statement (the session is checked on every page)"


@pytest.mark.parametrize("name", NAMES)
def test_hot_path(full_scale: FullScale, paths: dict[str, HotRequest], server: Server, name: str):
    path = paths[name]
    samples, floors, captured = side_by_side(full_scale.app, path)
    http = over_http(server, path)
    result = HotPath(
        full_scale.backend,
        name,
        statistics.median(samples),
        percentile(samples, 0.95),
        statistics.median(http),
        percentile(http, 0.95),
        len(captured.statements),
        statistics.median(floors),
        path.target(),
    )
    record_hot_path(result)
    if path.p95_target is not None:
        assert result.p95 < path.p95_target, f"{name}: p95 {result.p95:.1f} ms"
    assert result.ratio <= RATIO_TARGET, f"{name}: {result.ratio:.1f}× its floor"


CITY_WIDE = {
    "visit list": "/visits/",
    "problem ledger": "/problems/",
    "enterprise list": "/enterprises/",
}


@pytest.mark.parametrize("name", list(CITY_WIDE))
def test_city_wide_list(full_scale: FullScale, name: str):
    """A city chief's lists unfiltered, the whole city's rows behind each (a million visits,
    350 000 problems, 100 000 enterprises): page 1, its rows counted up to COUNT_LIMIT."""
    chief = bench_user(full_scale.app, "bench_city_chief", "chief", CITY)
    client = full_scale.app.test_client()
    log_in(client, chief)
    samples = []
    for round_ in range(WARM_UP + ROUNDS // 2):
        began = time.perf_counter()
        response = client.get(CITY_WIDE[name])
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200
        if round_ >= WARM_UP:
            samples.append(elapsed)
    median, p95 = statistics.median(samples), percentile(samples, 0.95)
    record(
        full_scale.backend,
        f"{name}, whole city, unfiltered, page 1: median / p95 (target p95 < 60 ms)",
        f"{median:.1f} / {p95:.1f} ms",
    )
    assert p95 < 60, f"{name}: p95 {p95:.1f} ms"
