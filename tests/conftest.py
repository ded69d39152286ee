"""Fixtures: a migrated database per backend, a fresh app per test, factories for users.

Every test that uses `app` runs on SQLite and, when CRM_TEST_DATABASE_URL is set, on that
database too. The schema comes from the migrations (run once per backend and session); SQLite
tests each get a copy of the migrated file, PostgreSQL tests share one database emptied after
each test (the reference tables stay).
"""

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from crm import create_app
from crm.config import TestingConfig
from crm.extensions import db

REFERENCE_TABLES = {"regions", "alembic_version"}
PASSWORD = "secret123"
CITY = "410300"
YIYANG = "410327"
MENGJIN = "410308"


def bureau_today() -> date:
    """Today in the bureau's timezone, the day the product works in (the machine's own date
    is a day behind from 16:00 UTC)."""
    return datetime.now(ZoneInfo(TestingConfig.BABEL_DEFAULT_TIMEZONE)).date()


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("CRM_TEST_DATABASE_URL") else ["sqlite"]


def make_app(database_url: str, **settings: Any) -> Flask:
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    return create_app({**config, "SQLALCHEMY_DATABASE_URI": database_url, **settings})


def migrate(database_url: str) -> None:
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def reset_postgresql_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@dataclass
class Database:
    backend: str
    url: str
    template: Path | None = None

    def url_for_test(self, tmp_path: Path) -> str:
        if self.template is None:
            return self.url
        copy = tmp_path / "crm.sqlite3"
        shutil.copyfile(self.template, copy)
        return f"sqlite:///{copy}"

    def empty(self) -> None:
        """Back to the freshly migrated state (PostgreSQL is shared between tests)."""
        from crm.policies.reference import seed_policies

        if self.template is not None:
            return
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        engine = sa.create_engine(self.url)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            seed_policies(connection)  # reference data that tests may change
        engine.dispose()


@pytest.fixture(scope="session", params=backends())
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Database:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
        url = f"sqlite:///{template}"
        migrate(url)
        return Database("sqlite", url, template)
    url = worker_database(os.environ["CRM_TEST_DATABASE_URL"])
    reset_postgresql_schema(url)
    migrate(url)
    return Database("postgresql", url)


def worker_database(url: str) -> str:
    """Under pytest-xdist, each worker's own database beside the given one (test_gw0, …),
    created when missing: workers never truncate each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    given = sa.make_url(url)
    own = given.set(database=f"{given.database}_{worker}")
    engine = sa.create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        database.url_for_test(tmp_path),
        IMPORT_FOLDER=str(tmp_path / "imports"),
        ATTACHMENT_FOLDER=str(tmp_path / "attachments"),
        REPORT_FOLDER=str(tmp_path / "reports"),
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    database.empty()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class UserInfo:
    id: int
    username: str
    role: str
    region_code: str
    password: str = PASSWORD


@pytest.fixture
def create_user(app: Flask):
    """Factory: create_user(role="officer", region=CITY, **fields) → UserInfo."""
    from crm.auth import operations
    from crm.auth.models import Role

    counter = iter(range(1, 10_000))

    def create(role: str = "officer", region: str = CITY, **fields: Any) -> UserInfo:
        number = next(counter)
        values = {
            "username": f"{role}{number}",
            "display_name": f"{role} {number}",
            "password": PASSWORD,
            "must_change_password": False,
            **fields,
        }
        with app.app_context():
            user = operations.create_user(None, role=Role(role), region_code=region, **values)
            db.session.commit()
            return UserInfo(user.id, user.username, role, region, values["password"])

    return create


def posted_at_once(app: Flask, url: str, body: dict, token: str, times: int = 4) -> list[int]:
    """The statuses (sorted) of `times` POSTs of one JSON body with a Bearer token, each from a
    client and thread of its own, let go at the same moment."""
    start = threading.Barrier(times)
    statuses: list[int] = []

    def post() -> None:
        client = app.test_client()
        start.wait()
        answer = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=post) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def log_in(client: FlaskClient, user: UserInfo) -> None:
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert response.status_code == 302, response.text


@pytest.fixture
def login(client: FlaskClient, create_user):
    """login(role="officer", region=CITY, **fields) → the UserInfo now logged in on `client`."""

    def do_login(role: str = "officer", region: str = CITY, **fields: Any) -> UserInfo:
        user = create_user(role, region, **fields)
        log_in(client, user)
        return user

    return do_login


@pytest.fixture
def create_token(app: Flask):
    """create_token(user) → a new API token for that user."""
    from crm.auth import operations
    from crm.auth.models import User

    def create(user: UserInfo) -> str:
        with app.app_context():
            owner = db.session.get(User, user.id)
            _record, token = operations.issue_api_token(None, owner, "tests")
            db.session.commit()
            return token

    return create


def queries_for(app: Flask, client: FlaskClient, path: str) -> int:
    """How many SQL statements one GET of `path` runs (it must answer 200)."""
    statements = []

    def count(*_args: Any) -> None:
        statements.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def code_for(county: str, number: int) -> str:
    """A valid credit code registered in `county`, distinct for each number."""
    from crm.enterprises.credit_code import check_character

    first17 = f"91{county}MA{number:07d}"
    return first17 + check_character(first17)


def _qihang_code() -> str:
    from crm.enterprises.credit_code import check_character

    return "91410327MA9F4K2X3" + check_character("91410327MA9F4K2X3")


QIHANG = {"name": "洛阳启航必达科技有限公司", "credit_code": _qihang_code(), "county_code": YIYANG}


@dataclass
class EnterpriseInfo:
    id: int
    name: str
    credit_code: str
    county_code: str


@pytest.fixture
def create_enterprise(app: Flask):
    """Factory: create_enterprise(name=..., county_code=YIYANG, **fields) → EnterpriseInfo."""
    from crm.enterprises import operations

    counter = iter(range(1, 1_000_000))

    def create(**fields: Any) -> EnterpriseInfo:
        number = next(counter)
        county = fields.pop("county_code", YIYANG)
        values = {
            "name": f"测试企业{number}有限公司",
            "county_code": county,
            "credit_code": code_for(county, number),
            **fields,
        }
        with app.app_context():
            enterprise = operations.create_enterprise(None, values)
            db.session.commit()
            return EnterpriseInfo(
                enterprise.id, enterprise.name, enterprise.credit_code, enterprise.county_code
            )

    return create


@pytest.fixture
def redis_url():
    """The Redis that app servers share for login throttling and the cache (CI sets
    CRM_TEST_REDIS_URL)."""
    import redis

    url = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        # Each pytest-xdist worker counts its logins in a database of its own (15, 14, …).
        given = sa.make_url(url)
        number = int(given.database or 0) - int(worker.removeprefix("gw"))
        url = given.set(database=str(number)).render_as_string(hide_password=False)
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {url}")
        pytest.skip(f"Redis is not reachable at {url}")
    return url
