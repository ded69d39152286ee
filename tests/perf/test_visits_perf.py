"""Full-scale visit figures: generating 1 000 000 demo visits, then the visit list over them.

Run by `make bench` (not by `make test`), on SQLite and, when CRM_TEST_DATABASE_URL is set, on
PostgreSQL. 100 000 enterprises are inserted directly over the 14 counties, then
crm.demo.load_demo_visits adds the visits (its time is reported).

A city-wide officer then opens /visits/ filtered to one county and one calendar month, on page
1 and on page 200 (25 a page: rows 4 976–5 000). A million visits over 14 counties and 18
months are about 4 000 per county and month on average, but the demo visits grow towards the
recent months, so the busiest county-month, which the test picks, holds over 5 000 and page 200
is a full page; the test checks that it does. Target: p95 under 60 ms on both pages, the
page's count query included.
"""

import statistics
import time
from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient

from crm import demo
from crm.db import refresh_statistics
from crm.enterprises import operations
from crm.extensions import db
from crm.regions.models import Region, RegionLevel
from crm.visits.models import Visit
from tests.conftest import CITY, code_for, log_in
from tests.perf.report import percentile, record, settle

ENTERPRISES = 100_000
VISITS = 1_000_000
PER_PAGE = 25
DEEP_PAGE = 200
WARM_UP = 5
ROUNDS = 100


def enterprise_entries(count: int, counties: list[str]) -> list[tuple[dict, dict]]:
    """`count` enterprises spread evenly over the counties (the demo's own generator runs out of
    distinct names long before 100 000, so the names here carry a number)."""
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


def generate(backend: str) -> None:
    counties = list(
        db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY))
    )
    started = time.perf_counter()
    operations.insert_enterprises(None, enterprise_entries(ENTERPRISES, counties))
    demo.load_demo_users()
    db.session.commit()
    inserted = time.perf_counter()
    assert demo.load_demo_visits(VISITS) == VISITS
    db.session.commit()
    generated = time.perf_counter() - inserted
    # What autovacuum does within minutes of a bulk load; the pages are measured after it.
    refreshed = time.perf_counter()
    refresh_statistics(db.engine)
    settle()
    record(
        backend,
        "statistics after the load (VACUUM ANALYZE)",
        f"{time.perf_counter() - refreshed:.1f} s",
    )
    record(backend, "100 000 enterprises for the visits: insert", f"{inserted - started:.1f} s")
    # Reported here; the scale issue sets the generation target and makes it hold.
    record(backend, "1 000 000 demo visits: generate", f"{generated:.1f} s")


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


def timed_pages(client: FlaskClient, query: dict, page: int) -> list[float]:
    """Milliseconds for ROUNDS requests of one list page, after WARM_UP untimed ones."""
    samples = []
    for round_ in range(WARM_UP + ROUNDS):
        began = time.perf_counter()
        response = client.get("/visits/", query_string={**query, "page": page})
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200
        if round_ >= WARM_UP:
            samples.append(elapsed)
    return samples


def test_visit_list_among_a_million_visits(app, database, create_user):
    with app.test_request_context():
        generate(database.backend)
        county, first, last, visits = busiest_county_month()
    assert visits >= DEEP_PAGE * PER_PAGE, "page 200 of the busiest county-month is not full"
    record(
        database.backend,
        "busiest county-month for the visit list",
        f"{county} {first:%Y-%m}: {visits} visits",
    )
    client = app.test_client()
    log_in(client, create_user("officer", CITY))
    query = {"county": county, "start": first.isoformat(), "end": last.isoformat()}
    results = {}
    for page in (1, DEEP_PAGE):
        samples = timed_pages(client, query, page)
        results[page] = (statistics.median(samples), percentile(samples, 0.95))
        record(
            database.backend,
            f"visit list among 1 000 000, county + month, page {page}: median / p95 "
            "(target p95 < 60 ms)",
            f"{results[page][0]:.1f} / {results[page][1]:.1f} ms",
        )
    assert all(p95 < 60 for _median, p95 in results.values())
