"""Full-scale monthly workbook: the city's workbook for last month among 1 000 000 visits.

Run by `make bench` (not by `make test`), on SQLite and, when CRM_TEST_DATABASE_URL is set, on
PostgreSQL, over the bench's full-scale data (tests/perf/conftest.py: 100 000 enterprises,
1 000 000 demo visits with their problems, histories and follow-up tasks).

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
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.i18n import local_today
from crm.visits.models import Visit
from tests.perf.conftest import FullScale
from tests.perf.report import HotPath, record, record_hot_path

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
TIME_RATIO = 1.5
PEAK_MB = 200


@pytest.fixture(scope="module")
def full_scale_app(full_scale: FullScale) -> Flask:
    return full_scale.app


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


def test_monthly_workbook_against_bare_xlsxwriter(full_scale_app, database, tmp_path):
    with full_scale_app.test_request_context():
        month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        visits = db.session.scalar(
            sa.select(sa.func.count()).where(
                Visit.visit_date >= month, Visit.visit_date < local_today().replace(day=1)
            )
        )
    url = full_scale_app.config["SQLALCHEMY_DATABASE_URI"]
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
    ours = [s * 1000 for s, _m, _r in figures["ours"]]
    record_hot_path(
        HotPath(
            backend,
            f"monthly workbook, city ({rows} rows; {ROUNDS} runs, p95 = slowest)",
            statistics.median(ours),
            max(ours),
            None,
            None,
            None,
            seconds["bare"] * 1000,
            f"≤ {TIME_RATIO}× floor, < {PEAK_MB} MB",
        )
    )
    assert ratio <= TIME_RATIO
    assert peaks["ours"] < PEAK_MB
