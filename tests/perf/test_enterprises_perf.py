"""Full-scale enterprise figures: importing 100 000 rows, searching among 100 000 enterprises.

Run by `make bench` (not by `make test`), on SQLite and, when CRM_TEST_DATABASE_URL is set, on
PostgreSQL. Targets: the import under 60 s; the type-ahead's p95 under 50 ms.
"""

import statistics
import time
from pathlib import Path

import pytest

from crm.enterprises import imports, operations
from crm.extensions import db
from tests.conftest import log_in
from tests.perf.report import percentile, record
from tests.workbooks import good_row, write_workbook

ROWS = 100_000
COUNTIES = [
    ("老城区", "410302"),
    ("西工区", "410303"),
    ("涧西区", "410305"),
    ("偃师区", "410307"),
    ("孟津区", "410308"),
    ("洛龙区", "410311"),
    ("新安县", "410323"),
    ("宜阳县", "410327"),
    ("嵩县", "410325"),
    ("伊川县", "410329"),
]
SYLLABLES = (
    "启航必达古城海普华夏金鹰瑞泽恒力博远天鸿宏图鼎盛卓越汇川银河腾飞新峰凯瑞远航正大锦程嘉禾鸿运"
)
TRADES = (
    "新材料",
    "半导体",
    "智能装备",
    "生物医药",
    "软件",
    "电子",
    "精密机械",
    "光电",
    "环保",
    "轴承",
)


def varied_row(number: int) -> dict:
    county_name, county_code = COUNTIES[number % len(COUNTIES)]
    row = good_row(number, county_name, county_code)
    a, b = (
        SYLLABLES[number % 40 : number % 40 + 2],
        SYLLABLES[(number * 7) % 40 : (number * 7) % 40 + 2],
    )
    row["企业名称"] = f"洛阳{a}{b}{TRADES[number % len(TRADES)]}{number:06d}科技有限公司"
    return row


@pytest.fixture(scope="module")
def big_workbook(tmp_path_factory) -> Path:
    return write_workbook(
        tmp_path_factory.mktemp("bench") / "100k.xlsx", (varied_row(n) for n in range(2, ROWS + 2))
    )


def test_import_100k_rows_then_search(app, database, big_workbook, create_user):
    app.config["IMPORT_MAX_BYTES"] = 50 * 1024 * 1024
    with app.test_request_context():
        started = time.perf_counter()
        plan = imports.plan_import(big_workbook, big_workbook.name, None)
        planned = time.perf_counter()
        counts = operations.import_enterprises(None, plan, good_rows_only=False)
        db.session.commit()
        finished = time.perf_counter()
    assert counts["created"] == ROWS
    total = finished - started
    record(database.backend, "import 100 000 rows: check", f"{planned - started:.1f} s")
    record(database.backend, "import 100 000 rows: write", f"{finished - planned:.1f} s")
    record(database.backend, "import 100 000 rows: total (target < 60 s)", f"{total:.1f} s")

    queries = [
        "启航",
        "lyqh",
        "luoyang",
        "qihang",
        "智能装备",
        "9141032",
        "91410327MA0001",
        "hpdz",
        "新材料0123",
        "lyjy",
        "必达古城",
        "0999",
    ]
    client = app.test_client()
    results = {}
    for role, region in (("chief", "410300"), ("officer", "410327")):
        log_in(client, create_user(role, region))
        samples = []
        for _round in range(20):
            for query in queries:
                began = time.perf_counter()
                response = client.get("/enterprises/search", query_string={"q": f"{query}"})
                samples.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
        client.post("/logout")
        results[role] = (statistics.median(samples), percentile(samples, 0.95))
        label = "city-wide" if region == "410300" else "one county"
        record(
            database.backend,
            f"type-ahead among 100 000, {label}: median / p95 (target p95 < 50 ms)",
            f"{results[role][0]:.1f} / {results[role][1]:.1f} ms",
        )
    log_in(client, create_user("chief", "410300"))
    listed = []
    for query in ("启航", "lyqh", "有限公司", "9141"):
        began = time.perf_counter()
        assert client.get("/enterprises/", query_string={"q": query}).status_code == 200
        listed.append((time.perf_counter() - began) * 1000)
    # Reported, not yet held to a target: list pages get theirs with the scale issue.
    record(
        database.backend,
        "list page search among 100 000, city-wide: median / max",
        f"{statistics.median(listed):.0f} / {max(listed):.0f} ms",
    )
    assert total < 60
    assert all(p95 < 50 for _median, p95 in results.values())
