"""Importing a workbook on a tablet: upload, watch the check, read the preview, import."""

import pytest

from tests.browser.conftest import TABLET_PORTRAIT
from tests.browser.test_shell import log_in
from tests.conftest import code_for
from tests.workbooks import good_row, write_workbook

pytestmark = pytest.mark.browser


def test_upload_preview_and_import_the_good_rows(open_page, tmp_path):
    rows = [good_row(900_000 + n) for n in range(2, 40)]
    rows[5]["统一社会信用代码"] = code_for("410327", 1)[:17] + "Z"  # malformed: row 7
    path = write_workbook(tmp_path / "走访企业名单.xlsx", rows)
    page = open_page(TABLET_PORTRAIT)
    log_in(page, "chief")
    tab = page.open("/enterprises/import/")
    tab.set_input_files("#file", str(path))
    tab.get_by_role("button", name="检查文件").tap()
    tab.get_by_text("导入预览：走访企业名单.xlsx").wait_for()  # after the progress page
    assert "第 7 行" in tab.locator('table[data-fate="error"]').inner_text()
    page.screenshot("import-preview-810x1080")
    assert tab.get_by_role("button", name="全部导入").is_disabled()  # one row has a problem
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.get_by_role("button", name="只导入无误的行").tap()
    tab.get_by_text("导入完成。").wait_for()
    assert tab.locator("#created").inner_text() == "37"
    assert tab.locator("#skipped").inner_text() == "1"
    page.screenshot("import-result-810x1080")
    assert page.errors == []
