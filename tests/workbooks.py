"""Workbooks in the import template's layout, for the import tests and the benchmark."""

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from crm.enterprises.imports import COLUMNS
from tests.conftest import YIYANG, code_for

HEADERS = [column.header for column in COLUMNS]


def write_workbook(
    path: Path, rows: Iterable[dict[str, Any]], headers: list[str] | None = None
) -> Path:
    """Rows keyed by header; the headers of the template unless others are given."""
    headers = headers or HEADERS
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet("企业")
    sheet.write_row(0, 0, headers)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, [row.get(header, "") for header in headers])
    workbook.close()
    return path


def good_row(number: int, county_name: str = "宜阳县", county_code: str = YIYANG) -> dict[str, Any]:
    return {
        "企业名称": f"导入测试{number:06d}科技有限公司",
        "统一社会信用代码": code_for(county_code, number),
        "所属县区": county_name,
        "行业门类": "C39",
        "成立日期": date(2015, 3, 1),
        "职工人数": 50,
        "科技人员数": 10,
        "上年营业收入(万元)": 1200.5,
        "联系人": "王经理",
        "联系电话": "13800000000",
    }


def wait_for_work(client, token: str, seconds: float = 120) -> None:
    """Poll the progress endpoint, as the page does, until the background work is done."""
    import time

    deadline = time.monotonic() + seconds
    while "HX-Redirect" not in client.get(f"/enterprises/import/{token}/progress").headers:
        assert time.monotonic() < deadline, "the background work did not finish"
        time.sleep(0.05)


def upload_workbook(client, path: Path, name: str | None = None):
    """Upload a file; once checked, the response of its page (preview or refusal)."""
    import io

    data = {"file": (io.BytesIO(path.read_bytes()), name or path.name)}
    response = client.post("/enterprises/import/", data=data, content_type="multipart/form-data")
    if response.status_code != 302:
        return response, None
    token = response.headers["Location"].rsplit("/", 1)[1]
    wait_for_work(client, token)
    return client.get(f"/enterprises/import/{token}"), token


def run_import(client, token: str, mode: str = "all"):
    """Import a checked upload as the user chose; the result page once it is done."""
    client.post(f"/enterprises/import/{token}", data={"mode": mode})
    wait_for_work(client, token)
    return client.get(f"/enterprises/import/{token}/result")
