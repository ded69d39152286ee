"""The reports page on a tablet: a chief generates last month's workbook for a county, watches
its progress, and downloads it."""

from datetime import timedelta

import openpyxl
import pytest

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT
from tests.browser.test_shell import NO_HORIZONTAL_SCROLL, WRAPPED_LABELS, log_in
from tests.conftest import bureau_today

pytestmark = pytest.mark.browser


def test_generate_and_download_a_workbook(open_page, tmp_path):
    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    tab = chief.page
    tab.click("nav >> text=月报")
    tab.wait_for_url("**/reports/")
    last_month = (bureau_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert tab.input_value("#month") == last_month
    tab.select_option("#region", label="宜阳县")
    tab.click("button:has-text('生成')")
    tab.wait_for_url("**/reports/")
    # The archive polls until the workbook is written, then offers it.
    link = tab.locator("#report-archive tr", has_text="宜阳县").locator("a", has_text="下载")
    link.first.wait_for(timeout=30_000)
    chief.screenshot("reports-1080x810")
    with tab.expect_download() as download_info:
        link.first.click()
    download = download_info.value
    assert download.suggested_filename.endswith("宜阳县.xlsx")
    saved = tmp_path / "report.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book["汇总"]["A1"].value.endswith("— 宜阳县")
    assert book.sheetnames == ["汇总", "走访明细", "问题台账", "跟进任务", "高企培育"]
    tab.set_viewport_size(TABLET_PORTRAIT)
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    assert tab.evaluate(WRAPPED_LABELS) == []
    chief.screenshot("reports-810x1080")
    assert chief.errors == []
