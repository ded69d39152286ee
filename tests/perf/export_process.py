"""One monthly workbook generation in its own process, so that its peak memory is its own.

    python -m tests.perf.export_process ours|bare DATABASE_URL YYYY-MM OUT.xlsx

`ours` is the product's generation (crm.exports). `bare` writes the same rows with a plain
xlsxwriter loop: the same statements, each row handed to `write_row` as the driver returns it,
no formats, no labels, no titles. Prints the seconds taken, the rows written and the process's
peak resident memory (VmHWM: this program's own, not the parent's it was forked from), as JSON.
"""

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter

from crm.exports import metrics, operations, workbook
from crm.extensions import db
from crm.regions.models import Region
from tests.conftest import make_app


def ours(region: Region, month, out: Path) -> dict:
    report = operations.request_reports(None, month, region, including_counties=False)[0]
    began = time.perf_counter()
    operations.generate(report)
    seconds = time.perf_counter() - began
    operations.file_of(report).replace(out)
    db.session.rollback()
    return {"seconds": seconds, "rows": sum(report.row_counts.values())}


def bare(region: Region, month, out: Path) -> dict:
    began = time.perf_counter()
    period = metrics.Period.of(month, datetime.now(UTC).date())
    context = workbook.Context(region, period, datetime.now(UTC))
    book = xlsxwriter.Workbook(
        str(out),
        {"constant_memory": True, "default_date_format": "yyyy-mm-dd", "remove_timezone": True},
    )
    summary = book.add_worksheet("汇总")
    rows = 0
    figures = [*metrics.by_county(region, period).values(), metrics.summary(region, period)]
    for number, values in enumerate(figures):
        summary.write_row(number, 0, [float(v) if v is not None else None for v in values.values()])
        rows += 1
    connection = db.session.connection()
    for spec in workbook.DETAIL_SHEETS:
        sheet = book.add_worksheet(spec.name)
        stmt, _row = spec.query(context)
        result = connection.execute(stmt.execution_options(yield_per=workbook.BATCH))
        for number, record in enumerate(result):
            sheet.write_row(number, 0, record)
            rows += 1
    book.close()
    return {"seconds": time.perf_counter() - began, "rows": rows}


def main() -> None:
    mode, url, month_text, out = sys.argv[1:5]
    app = make_app(url, REPORT_FOLDER=str(Path(out).parent))
    with app.test_request_context():
        city = db.session.scalar(sa.select(Region).where(Region.parent_code.is_(None)))
        month = metrics.parse_month(month_text)
        result = (ours if mode == "ours" else bare)(city, month, Path(out))
    print(json.dumps({**result, "peak_mb": peak_mb()}))


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main()
