"""Full-scale monthly workbook: the city's workbook for last month among 1 000 000 visits.

Run by `make bench` (not by `make test`), on SQLite and, when CRM_TEST_DATABASE_URL is set, on
PostgreSQL, over the ledger bench's data (100 000 enterprises, 1 000 000 demo visits with their
problems, histories and follow-up tasks).

The product's generation and a bare xlsxwriter loop writing the same rows (tests/perf/
export_process.py) each run in a process of their own, ROUNDS times, alternately, so that each
one's peak memory (the process's high-water resident set, VmHWM) is its own. Targets: the generation
within 1.5 times the bare loop's time, and under 200 MB at its peak.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.i18n import local_today
from crm.visits.models import Visit
from tests.conftest import Database, make_app
from tests.perf.report import percentile, record
from tests.perf.test_problems_perf import generate

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
TIME_RATIO = 1.5
PEAK_MB = 200


@pytest.fixture(scope="module")
def million(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("reports")
    app = make_app(database.url_for_test(folder), REPORT_FOLDER=str(folder / "reports"))
    with app.test_request_context():
        generate(database.backend)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    database.empty()


def run(mode: str, url: str, month: str, out: Path) -> tuple[float, float, int]:
    """(seconds, peak MB, rows) of one generation in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.perf.export_process", mode, url, month, str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _errors = process.communicate()
    assert process.returncode == 0, output
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["peak_mb"], result["rows"]


def test_monthly_workbook_against_bare_xlsxwriter(million, database, tmp_path):
    with million.test_request_context():
        month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        visits = db.session.scalar(
            sa.select(sa.func.count()).where(
                Visit.visit_date >= month, Visit.visit_date < local_today().replace(day=1)
            )
        )
    url = million.config["SQLALCHEMY_DATABASE_URI"]
    figures: dict[str, list[tuple[float, float, int]]] = {"bare": [], "ours": []}
    for round_ in range(ROUNDS):
        for mode in ("bare", "ours"):
            figures[mode].append(
                run(mode, url, f"{month:%Y-%m}", tmp_path / f"{mode}{round_}.xlsx")
            )
    seconds = {mode: statistics.median(s for s, _m, _r in runs) for mode, runs in figures.items()}
    peaks = {mode: max(m for _s, m, _r in runs) for mode, runs in figures.items()}
    rows = figures["ours"][0][2]
    ratio = seconds["ours"] / seconds["bare"]
    backend = database.backend
    record(
        backend, f"city workbook for {month:%Y-%m}", f"{visits} visits in the month, {rows} rows"
    )
    record(
        backend,
        "city workbook: generation / bare xlsxwriter, median time (target ≤ 1.5×)",
        f"{seconds['ours']:.1f} s / {seconds['bare']:.1f} s = {ratio:.2f}×",
    )
    record(
        backend,
        "city workbook: peak memory, generation / bare (target < 200 MB)",
        f"{peaks['ours']:.0f} MB / {peaks['bare']:.0f} MB",
    )
    assert ratio <= TIME_RATIO
    assert peaks["ours"] < PEAK_MB


def test_city_dashboard(million, database):
    """The city chief's home page: the first view computes the figures (18 months, every
    county); the views after it, within the cache interval, show them. Target: p95 under
    300 ms for those."""
    from tests.conftest import CITY, log_in
    from tests.perf.test_problems_perf import county_chief

    with million.app_context():
        chief = county_chief(CITY)  # a chief whose region is the whole city
    client = million.test_client()
    log_in(client, chief)
    began = time.perf_counter()
    assert client.get("/").status_code == 200
    first = (time.perf_counter() - began) * 1000
    samples = []
    for _round in range(40):
        began = time.perf_counter()
        assert client.get("/").status_code == 200
        samples.append((time.perf_counter() - began) * 1000)
    p95 = percentile(samples, 0.95)
    record(database.backend, "city dashboard: first view (computes the figures)", f"{first:.0f} ms")
    record(
        database.backend,
        "city dashboard: later views, median / p95 (target p95 < 300 ms)",
        f"{statistics.median(samples):.1f} / {p95:.1f} ms",
    )
    assert p95 < 300
