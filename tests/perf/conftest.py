"""One city at full scale per database, generated once for the whole bench and shared by every
perf module: 100 000 enterprises over the 14 counties, 1 000 000 demo visits of the last 18
months with the problems they raise (about 350 000, each with its demo history), the follow-ups
they set and the certification cases, shared by some 200 county officers (crm.demo.load_demo_staff).
Generation times are reported.

On PostgreSQL the data lives in a database of its own (crm_bench_<pid>, beside
CRM_TEST_DATABASE_URL's, dropped at the end), so the tests that start from an empty database (the
import bench) never see it or wipe it. When the run ends, BENCHMARKS.md is written from the figures
(tests/perf/report.py).
"""

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from crm import demo
from crm.auth import operations as auth_operations
from crm.auth.models import Role, User
from crm.certification.models import CertificationCase
from crm.db import refresh_statistics
from crm.enterprises import operations
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.problems.models import Problem, ProblemEvent
from crm.regions.models import Region, RegionLevel
from tests.conftest import PASSWORD, Database, UserInfo, code_for, make_app, migrate
from tests.perf import reference
from tests.perf.report import record, settle, start_run, write_benchmarks

# Smaller values (CRM_BENCH_ENTERPRISES, CRM_BENCH_VISITS) only to try the bench itself out.
ENTERPRISES = int(os.environ.get("CRM_BENCH_ENTERPRISES", "100000"))
FULL_SCALE_VISITS = 1_000_000
VISITS = int(os.environ.get("CRM_BENCH_VISITS", FULL_SCALE_VISITS))
# A name of this run's own: two runs on one server never drop each other's data.
BENCH_DATABASE = f"crm_bench_{os.getpid()}"


@dataclass
class FullScale:
    app: Flask
    backend: str
    url: str


def enterprise_entries(count: int, counties: list[str]) -> list[tuple[dict, dict]]:
    """`count` enterprises spread evenly over the counties, named with a number: every county
    the same size, and names that no drawing decides."""
    entries = []
    for number in range(count):
        county = counties[number % len(counties)]
        brand = demo.BRANDS[number % len(demo.BRANDS)]
        trade, industry = demo.TRADES[number // len(demo.BRANDS) % len(demo.TRADES)]
        values = {
            "name": f"洛阳{brand}{trade}{number:06d}科技有限公司",
            "credit_code": code_for(county, number),
            "county_code": county,
            "industry": industry,
        }
        entries.append((values, {}))
    return entries


def bench_database(test_url: str, statement: str) -> str:
    """Run CREATE or DROP DATABASE for the bench's database on the test server; its URL."""
    url = sa.make_url(test_url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"{statement} {BENCH_DATABASE}")
    engine.dispose()
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def generate(backend: str) -> None:
    counties = list(
        db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY))
    )
    started = time.perf_counter()
    operations.insert_enterprises(None, enterprise_entries(ENTERPRISES, counties))
    demo.load_demo_users()
    demo.load_demo_staff()
    db.session.commit()
    inserted = time.perf_counter()
    assert demo.load_demo_visits(VISITS) == VISITS
    cases = demo.load_demo_certification()
    db.session.commit()
    generated = time.perf_counter()
    # What autovacuum does within minutes of a bulk load; the pages are measured after it.
    refresh_statistics(db.engine)
    settle()
    refreshed = time.perf_counter()
    counts = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Problem, ProblemEvent, FollowUp, CertificationCase)
    }
    record(backend, f"{ENTERPRISES:,} enterprises: insert", f"{inserted - started:.1f} s")
    record(
        backend,
        f"{VISITS:,} demo visits with their problems, histories, follow-ups and certification "
        "cases: generate",
        f"{generated - inserted:.1f} s ({counts['Problem']} problems, "
        f"{counts['ProblemEvent']} problem events, {counts['FollowUp']} follow-ups, "
        f"{cases} certification cases)",
    )
    record(backend, "statistics after the load (VACUUM ANALYZE)", f"{refreshed - generated:.1f} s")


@pytest.fixture(scope="session")
def full_scale(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullScale]:
    folder: Path = tmp_path_factory.mktemp(f"full-scale-{database.backend}")
    if database.backend == "postgresql":
        url = bench_database(database.url, "CREATE DATABASE")
        migrate(url)
    else:
        url = database.url_for_test(folder)
    app = make_app(
        url,
        ATTACHMENT_FOLDER=str(folder / "attachments"),
        REPORT_FOLDER=str(folder / "reports"),
        IMPORT_FOLDER=str(folder / "imports"),
    )
    app.register_blueprint(reference.bp)
    with app.test_request_context():
        generate(database.backend)
    yield FullScale(app, database.backend, url)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if database.backend == "postgresql":
        bench_database(database.url, "DROP DATABASE IF EXISTS")


def pytest_sessionstart(session: pytest.Session) -> None:
    start_run()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_benchmarks(exitstatus)


def bench_user(app: Flask, username: str, role: str, region: str) -> UserInfo:
    """A user of the full-scale data (created on first use; the same one after)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = auth_operations.create_user(
                None,
                username=username,
                display_name=username,
                role=Role(role),
                region_code=region,
                password=PASSWORD,
                must_change_password=False,
            )
            db.session.commit()
        return UserInfo(user.id, user.username, role, region)
