"""Importing enterprises from Excel: preview every row's fate, then all or only the good rows."""

import io
import os
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter

from crm.audit.models import AuditLog
from crm.enterprises import imports
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from tests.conftest import MENGJIN, YIYANG, code_for
from tests.forms import forms_of
from tests.workbooks import HEADERS, good_row, run_import, upload_workbook, write_workbook

ROOT = Path(__file__).resolve().parent.parent


def wrong_check(code):
    """The code with a check character that does not match."""
    return code[:17] + ("1" if code[17] != "1" else "2")


# (sheet row, what is wrong, the reason the preview must give)
BAD_ROWS = {
    17: ({"统一社会信用代码": wrong_check(code_for(YIYANG, 17))}, "统一社会信用代码校验位错误。"),
    250: ({"统一社会信用代码": "91410327MA0000I25X"}, "不含 I、O、S、V、Z"),
    4000: ({"所属县区": "洛阳县"}, "所属县区：不是本市的县区。"),
    7777: ({"科技人员数": 900}, "科技人员数不能多于职工人数。"),
    9999: ({"职工人数": "一百"}, "职工人数：无法识别“一百”。"),
}
EXISTING = (1200, 5300, 8800)  # rows carrying the credit codes of enterprises already registered


def count(app, model=Enterprise):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(model.id)))


@pytest.fixture
def big_file(tmp_path, create_enterprise):
    """10 000 rows: 5 bad ones and 3 that repeat codes already in the registry."""
    for number in EXISTING:
        create_enterprise(
            name=f"已登记企业{number}", credit_code=code_for(YIYANG, number + 1000000)
        )
    rows = []
    for sheet_row in range(2, 10_002):
        row = good_row(sheet_row)
        if sheet_row in BAD_ROWS:
            row.update(BAD_ROWS[sheet_row][0])
        if sheet_row in EXISTING:
            row["统一社会信用代码"] = code_for(YIYANG, sheet_row + 1000000)
        rows.append(row)
    return write_workbook(tmp_path / "企业名单.xlsx", rows)


def table_rows(html, fate):
    table = re.search(rf'<table[^>]*data-fate="{fate}".*?<tbody>(.*?)</tbody>', html, re.S)
    if table is None:
        return []
    return re.findall(
        r"<tr><td[^>]*>第 (\d+) 行</td><td>[^<]*</td><td[^>]*>[^<]*</td><td>([^<]*)</td></tr>",
        table[1],
    )


def test_preview_then_all_or_nothing_then_good_rows_only(app, client, login, big_file):
    login("chief")
    page, token = upload_workbook(client, big_file)
    preview = page.text
    errors = dict((int(row), reason) for row, reason in table_rows(preview, "error"))
    assert set(errors) == set(BAD_ROWS)
    for row, (_change, reason) in BAD_ROWS.items():
        assert reason in errors[row], (row, errors[row])
    updates = table_rows(preview, "update")
    assert [int(row) for row, _reason in updates] == list(EXISTING)
    renaming = "已登记为“已登记企业{}”：将改用表中名称，并用表中已填写的内容更新。"
    assert all(reason == renaming.format(row) for row, reason in updates)
    assert re.search(r'data-fate="new">9992<', preview)
    assert count(app) == 3  # nothing saved by the preview

    refused = run_import(client, token, "all")
    assert "有 5 行存在问题，未导入任何数据。" in refused.text
    assert count(app) == 3


def test_good_rows_only_imports_the_rest(app, client, login, big_file):
    login("chief")
    _page, token = upload_workbook(client, big_file)
    result = run_import(client, token, "good_rows")
    assert re.search(r'id="created">9992<', result.text)
    assert re.search(r'id="updated">3<', result.text)
    assert re.search(r'id="skipped">5<', result.text)
    assert count(app) == 3 + 9992
    assert count(app, Contact) == 9992 + 3  # the updated three gain the row's contact too
    with app.app_context():
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "enterprise.import")
        ).one()
        assert entry.changes["enterprises_added"] == [None, 9992]
        assert entry.changes["import_file"] == [None, "企业名单.xlsx"]
        updated = db.session.scalars(
            sa.select(Enterprise).where(Enterprise.credit_code == code_for(YIYANG, 1200 + 1000000))
        ).one()
        assert updated.name == "导入测试001200科技有限公司" and updated.staff == 50
        sample = db.session.scalars(
            sa.select(Enterprise).where(Enterprise.credit_code == code_for(YIYANG, 2))
        ).one()
        assert sample.name_initials == "drcs000002kjyxgs" and sample.industry == "C39"


def small_file(tmp_path, rows, name="small.xlsx", headers=None):
    return write_workbook(tmp_path / name, rows, headers)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _text_file(d / "fake.xlsx"), "该文件不是 Excel 工作簿"),
        (lambda d: _zip_without_workbook(d / "other.xlsx"), "该文件不是 Excel 工作簿"),
        (
            lambda d: small_file(d, [good_row(2)], headers=["名称", "代码"]),
            "第一行（有标题时为标题下一行）须为模板表头，缺少：企业名称、统一社会信用代码、所属县区。",
        ),
        (lambda d: _empty_workbook(d / "empty.xlsx"), "工作簿是空的。"),
        (lambda d: _formulas_never_calculated(d / "generated.xlsx"), "请用 Excel 或 WPS 打开"),
    ],
)
def test_unusable_files_get_a_clear_message_and_change_nothing(
    app, client, login, tmp_path, make, message
):
    login("chief")
    response, _token = upload_workbook(client, make(tmp_path))
    assert response.status_code == 422
    assert message in response.text
    assert count(app) == 0
    assert list(Path(app.config["IMPORT_FOLDER"]).glob("*.xlsx")) == []


def _text_file(path):
    path.write_text("企业名称,统一社会信用代码\n")
    return path


def _zip_without_workbook(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return path


def _empty_workbook(path):
    workbook = openpyxl.Workbook()
    workbook.save(path)
    return path


def _formulas_never_calculated(path):
    """A workbook a program wrote with formulas: openpyxl saves no results with them."""
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append([{**good_row(2), "职工人数": "=40+10"}.get(h) for h in HEADERS])
    workbook.save(path)
    return path


def test_formulas_a_spreadsheet_calculated_are_read_as_their_results(app, tmp_path):
    path = tmp_path / "saved.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    sheet.write_row(1, 0, [good_row(2).get(h, "") for h in HEADERS])
    sheet.write_formula(1, HEADERS.index("职工人数"), "=40+10", None, 50)
    sheet.write_formula(1, HEADERS.index("所属乡镇"), '=""', None, "")  # a result that is empty
    workbook.close()
    with app.test_request_context():
        (row,) = imports.plan_import(path, "saved.xlsx", None).rows
    assert row.reasons == [] and row.fate == imports.Fate.NEW and row.values["staff"] == 50


def test_a_title_above_the_headers_and_a_county_merged_down_its_rows_are_read_as_meant(
    app, tmp_path
):
    """As bureaus keep their lists: a title merged across the top, a blank row, the headers,
    and 所属县区 merged down each county's group of rows."""
    path = tmp_path / "bureau.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet()
    sheet.merge_range(0, 0, 0, len(HEADERS) - 1, "2026年宜阳县重点企业名单", None)
    sheet.write_row(2, 0, HEADERS)
    county = HEADERS.index("所属县区")
    rows = [good_row(n) for n in range(2, 6)] + [good_row(6, "孟津区", MENGJIN)]
    for offset, row in enumerate(rows):
        sheet.write_row(3 + offset, 0, [row.get(h, "") for h in HEADERS])
    sheet.merge_range(3, county, 6, county, "宜阳县", None)
    sheet.write_blank(8, 0, None)  # a blank row after the data, inside no range
    workbook.close()
    with app.test_request_context():
        plan = imports.plan_import(path, "bureau.xlsx", None)
    assert [(row.number, row.reasons) for row in plan.rows] == [(n, []) for n in range(4, 9)]
    assert [row.values["county_code"] for row in plan.rows] == [YIYANG] * 4 + [MENGJIN]


def test_a_header_merged_across_two_columns_is_read_from_its_first(app, tmp_path):
    path = tmp_path / "wide.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet()
    headers = ["企业名称", "", *HEADERS[1:]]  # the name takes two columns, A and B
    sheet.write_row(0, 0, headers)
    sheet.merge_range(0, 0, 0, 1, "企业名称", None)
    row = good_row(2)
    sheet.write_row(1, 0, [row["企业名称"], "", *(row.get(h, "") for h in HEADERS[1:])])
    workbook.close()
    with app.test_request_context():
        (planned,) = imports.plan_import(path, "wide.xlsx", None).rows
    assert planned.reasons == [] and planned.name == row["企业名称"]


def test_only_the_imported_sheets_formulas_are_judged(app, tmp_path):
    """Uncalculated formulas on another sheet (a lookup table) leave the enterprises be."""
    path = tmp_path / "two-sheets.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append([good_row(2).get(h) for h in HEADERS])
    workbook.create_sheet("参考").append(["=1+1"])
    workbook.save(path)
    with app.test_request_context():
        (row,) = imports.plan_import(path, "two-sheets.xlsx", None).rows
    assert row.reasons == []


def test_oversized_file_is_refused(app, client, login, tmp_path):
    app.config["IMPORT_MAX_BYTES"] = 4096
    login("chief")
    path = small_file(tmp_path, [good_row(n) for n in range(2, 400)])
    response, _token = upload_workbook(client, path)
    assert response.status_code == 422
    assert "文件超过 4 KB。" in response.text
    assert count(app) == 0


def test_too_many_rows_and_zip_bombs_are_refused(app, client, login, tmp_path, monkeypatch):
    login("chief")
    path = small_file(tmp_path, [good_row(n) for n in range(2, 14)])
    monkeypatch.setattr(imports, "MAX_ROWS", 10)
    assert "超过 10 行" in upload_workbook(client, path)[0].text
    monkeypatch.setattr(imports, "MAX_ROWS", 200_000)
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 1000)
    assert "解压后体积异常" in upload_workbook(client, path)[0].text
    assert count(app) == 0


def test_rows_may_name_townships_and_industries_in_words(app, client, login, tmp_path):
    login("chief")
    row = {**good_row(2), "所属乡镇": "兴宜街道", "行业门类": "计算机、通信和其他电子设备制造业"}
    _page, token = upload_workbook(client, small_file(tmp_path, [row]))
    run_import(client, token, "all")
    with app.app_context():
        stored = db.session.scalars(sa.select(Enterprise)).one()
        assert (stored.township_code, stored.industry) == ("410327001", "C39")


def test_in_file_duplicates_and_names_already_present_are_caught(
    app, client, login, tmp_path, create_enterprise
):
    create_enterprise(name="导入测试000003科技有限公司", credit_code=code_for(YIYANG, 999))
    login("chief")
    rows = [good_row(2), {**good_row(3)}, {**good_row(4), "统一社会信用代码": code_for(YIYANG, 2)}]
    _page, token = upload_workbook(client, small_file(tmp_path, rows))
    preview = client.get(f"/enterprises/import/{token}").text
    assert table_rows(preview, "duplicate")[0][0] == "3"
    assert "已有同名企业" in table_rows(preview, "duplicate")[0][1]
    assert table_rows(preview, "error") == [("4", "与第 2 行的统一社会信用代码重复。")]


def test_county_users_may_only_import_their_county(app, client, login, tmp_path):
    login("chief", YIYANG)
    rows = [good_row(2), good_row(3, "孟津区", MENGJIN)]
    _page, token = upload_workbook(client, small_file(tmp_path, rows))
    preview = client.get(f"/enterprises/import/{token}").text
    assert table_rows(preview, "error") == [("3", "所属县区：只能选择您所辖的县区。")]


def test_an_upload_belongs_to_its_uploader(app, client, login, tmp_path, create_user):
    from tests.conftest import log_in

    login("chief")
    _page, token = upload_workbook(client, small_file(tmp_path, [good_row(2)]))
    other = app.test_client()
    log_in(other, create_user("chief"))
    for url in (f"/enterprises/import/{token}", f"/enterprises/import/{token}/report.xlsx"):
        assert other.get(url).status_code == 404
    assert other.post(f"/enterprises/import/{token}", data={"mode": "all"}).status_code == 404
    assert other.get("/enterprises/import/..%2F..%2Fsecret").status_code == 404


def test_report_lists_every_row_with_its_fate(app, client, login, tmp_path):
    login("chief")
    rows = [good_row(2), {**good_row(3), "所属县区": "不存在县"}]
    _page, token = upload_workbook(client, small_file(tmp_path, rows))
    report = client.get(f"/enterprises/import/{token}/report.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(report.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("行号", "处理结果", "企业名称", "统一社会信用代码", "说明")
    assert values[1][:2] == (2, "新增") and values[2][:2] == (3, "错误")


def test_template_has_the_headers(client, login):
    login("admin")
    template = client.get("/enterprises/import/template.xlsx")
    assert template.headers["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(template.data)).worksheets[0]
    assert [cell.value for cell in next(sheet.iter_rows(max_row=1))] == HEADERS


def test_the_templates_example_row_imports_as_it_stands(app, client, login, tmp_path):
    """The example of every column (填写说明's last column), copied as a row, is a good row."""
    login("admin")
    template = client.get("/enterprises/import/template.xlsx")
    notes = openpyxl.load_workbook(io.BytesIO(template.data))["填写说明"]
    examples = {row[0]: row[3] for row in notes.iter_rows(min_row=2, values_only=True)}
    row = {header: examples[header] for header in HEADERS}
    with app.test_request_context():
        plan = imports.plan_import(small_file(tmp_path, [row]), "example.xlsx", None)
    (planned,) = plan.rows
    assert (planned.fate, planned.reasons) == (imports.Fate.NEW, [])


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        (
            {"上年营业收入(万元)": "12,345.5", "职工人数": "1,200"},
            {"revenue": 12345.5, "staff": 1200},
        ),
        (
            {"上年营业收入(万元)": "１２，３４５．５", "职工人数": "１２０"},
            {"revenue": 12345.5, "staff": 120},
        ),
        ({"成立日期": "２０１８－０５－２０"}, {"founded_on": date(2018, 5, 20)}),
        ({"成立日期": "2018-05-20 00:00:00"}, {"founded_on": date(2018, 5, 20)}),
        ({"行业门类": "ｃ３９"}, {"industry": "C39"}),
    ],
)
def test_cells_typed_on_a_chinese_keyboard_are_read_as_meant(app, tmp_path, typed, read):
    with app.test_request_context():
        plan = imports.plan_import(small_file(tmp_path, [{**good_row(2), **typed}]), "t.xlsx", None)
    (planned,) = plan.rows
    assert (planned.fate, planned.reasons) == (imports.Fate.NEW, [])
    assert {field: planned.values[field] for field in read} == read


@pytest.mark.parametrize("typed", ["3560,5", "1,2,3", "12,34", "1,0"])
def test_a_comma_that_groups_no_thousands_is_refused_not_dropped(app, tmp_path, typed):
    """3560,5 (a decimal comma) read as 35605 would be a figure ten times too large."""
    row = {**good_row(2), "上年营业收入(万元)": typed}
    with app.test_request_context():
        plan = imports.plan_import(small_file(tmp_path, [row]), "t.xlsx", None)
    (planned,) = plan.rows
    assert planned.fate == imports.Fate.ERROR
    assert planned.reason.startswith(f"上年营业收入(万元)：无法识别“{typed}”")


def test_the_templates_text_columns_keep_digits_as_typed(client, login):
    """A credit code of digits only, typed into the template, stays text (not 9.14E+17)."""
    login("admin")
    template = client.get("/enterprises/import/template.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(template.data)).worksheets[0]
    by_column = {
        column: dimension.number_format
        for dimension in sheet.column_dimensions.values()  # adjacent alike columns are one
        for column in range(dimension.min, dimension.max + 1)
    }
    formats = {header: by_column[position] for position, header in enumerate(HEADERS, start=1)}
    assert formats["统一社会信用代码"] == formats["联系电话"] == "@"
    assert formats["职工人数"] == formats["成立日期"] == "General"


def test_a_bad_row_tells_every_fault_at_once_and_shows_its_name_and_code(app, tmp_path):
    """An unreadable cell does not hide the row's other faults, nor which enterprise it is."""
    row = good_row(2, county_name="洛宁镇")
    row.update({"成立日期": "去年", "统一社会信用代码": "12345"})
    with app.test_request_context():
        plan = imports.plan_import(small_file(tmp_path, [row]), "bad.xlsx", None)
    (planned,) = plan.rows
    assert planned.fate == imports.Fate.ERROR
    assert (planned.name, planned.code) == ("导入测试000002科技有限公司", "12345")
    assert planned.reason.startswith("成立日期：无法识别“去年”；")
    assert "统一社会信用代码" in planned.reason and "所属县区" in planned.reason
    assert "。；" not in planned.reason and planned.reason.endswith("。")
    assert planned.reason.count("所属县区") == 1  # the county told once, in its own words


def test_a_file_past_the_request_cap_is_refused_beside_the_file_field(app, client, login):
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, IMPORT_MAX_BYTES=32 * 1024)
    login("admin")

    def data():
        return {"file": (io.BytesIO(b"x" * 100 * 1024), "名单.xlsx")}

    page = client.post("/enterprises/import/", data=data(), content_type="multipart/form-data")
    assert page.status_code == 413
    fields = {f.name: f for form in forms_of(page.text) for f in form.fields.values()}
    assert fields["file"].invalid and "文件超过 32 KB" in page.text  # on the upload page
    client.post("/logout")
    login("officer")  # who may not import: the plain refusal
    page = client.post("/enterprises/import/", data=data(), content_type="multipart/form-data")
    assert page.status_code in (403, 413) and "file" not in {
        f.name for form in forms_of(page.text) for f in form.fields.values()
    }


def test_officers_and_viewers_cannot_import(client, login):
    login("officer")
    assert client.get("/enterprises/import/").status_code == 403


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=["crm", "import-enterprises", *map(str, args)])


def test_cli_reports_rows_and_imports_all_or_nothing(app, tmp_path):
    rows = [good_row(n) for n in range(2, 20)]
    rows[15]["统一社会信用代码"] = wrong_check(code_for(YIYANG, 17))  # sheet row 17
    path = small_file(tmp_path, rows)
    dry = run_cli(app, path, "--dry-run")
    assert "第17行：统一社会信用代码校验位错误。" in dry.output
    assert dry.exit_code == 0 and count(app) == 0
    refused = run_cli(app, path)
    assert refused.exit_code == 1 and "未导入任何数据" in refused.output and count(app) == 0
    done = run_cli(app, path, "--good-rows-only")
    assert done.exit_code == 0 and "新增 17" in done.output and count(app) == 17


def test_cli_refuses_a_file_that_is_not_a_workbook(app, tmp_path):
    path = tmp_path / "names.xlsx"
    path.write_text("not a workbook")
    result = run_cli(app, path)
    assert result.exit_code == 1 and "不是 Excel 工作簿" in result.output


KILL_AFTER_WRITING = """
import os, signal, sys
from pathlib import Path
from tests.conftest import make_app
from crm.enterprises import imports, operations
from crm.extensions import db

app = make_app(sys.argv[1])
with app.app_context():
    plan = imports.plan_import(Path(sys.argv[2]), "big.xlsx", None)
    bulk_insert = operations.bulk_insert
    def insert_then_die(*args, **kwargs):
        written = bulk_insert(*args, **kwargs)
        assert written, "the enterprises were written"
        os.kill(os.getpid(), signal.SIGKILL)  # written, not committed
    operations.bulk_insert = insert_then_die
    operations.import_enterprises(None, plan, good_rows_only=True)
    db.session.commit()
"""


def test_nothing_is_half_imported_when_the_process_dies(app, tmp_path):
    path = small_file(tmp_path, [good_row(n) for n in range(2, 700)])
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        db.engine.dispose()
    script = tmp_path / "die.py"
    script.write_text(KILL_AFTER_WRITING)
    process = subprocess.run(
        [sys.executable, str(script), url, str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == -9, process.stderr.decode()[-2000:]
    assert count(app) == 0


def test_an_interrupted_import_says_so(app, client, login):
    """The process died while importing: the status stopped moving; nothing was committed."""
    import json
    import time

    from crm.enterprises import uploads

    user = login("chief")
    with app.test_request_context():
        folder = uploads.folder()
    token = "a" * 32
    stalled = {
        "owner_id": user.id,
        "filename": "big.xlsx",
        "status": "importing",
        "updated": time.time() - uploads.STALLED_SECONDS - 1,
        "progress": 3000,
    }
    (folder / f"{token}.json").write_text(json.dumps(stalled))
    page = client.get(f"/enterprises/import/{token}/result")
    assert "导入中断，未导入此文件的任何数据" in page.text


def test_an_update_row_brings_its_contact(app, client, login, tmp_path, create_enterprise):
    """A registered enterprise's row: a new contact is added (not made primary over the one
    there), a known contact's phone is brought up to date."""
    known = create_enterprise(credit_code=code_for(YIYANG, 2))
    unknown = create_enterprise(credit_code=code_for(YIYANG, 3))
    with app.app_context():
        db.session.add(Contact(enterprise_id=known.id, name="王经理", phone="13900000000"))
        db.session.add(Contact(enterprise_id=unknown.id, name="赵会计", primary=True))
        db.session.commit()
    login("chief")
    rows = [
        {**good_row(2), "企业名称": known.name},
        {**good_row(3), "企业名称": unknown.name, "联系人": "钱主任"},
    ]
    _page, token = upload_workbook(client, small_file(tmp_path, rows))
    run_import(client, token, "all")
    with app.app_context():
        contacts = {
            (c.enterprise_id, c.name): (c.phone, c.primary)
            for c in db.session.scalars(sa.select(Contact))
        }
    assert contacts == {
        (known.id, "王经理"): ("13800000000", False),
        (unknown.id, "赵会计"): ("", True),
        (unknown.id, "钱主任"): ("13800000000", False),
    }


def test_a_rename_by_import_is_said_and_a_clash_of_names_refused(
    app, client, login, tmp_path, create_enterprise
):
    """A row that renames a registered enterprise says so; one that would give it another
    enterprise's name is refused as a duplicate; 全部导入 asks first when rows update."""
    renamed = create_enterprise(name="旧名称科技有限公司", credit_code=code_for(YIYANG, 2))
    create_enterprise(name="导入测试000004科技有限公司", credit_code=code_for(YIYANG, 9))
    create_enterprise(name="撞名前科技有限公司", credit_code=code_for(YIYANG, 4))
    login("chief")
    rows = [good_row(2), {**good_row(3), "企业名称": renamed.name}, good_row(4)]
    rows[1]["统一社会信用代码"] = code_for(YIYANG, 5)  # a new enterprise beside them
    page, _token = upload_workbook(client, small_file(tmp_path, rows))
    assert table_rows(page.text, "update") == [
        ("2", "已登记为“旧名称科技有限公司”：将改用表中名称，并用表中已填写的内容更新。")
    ]
    duplicates = dict(table_rows(page.text, "duplicate"))
    assert "已有同名企业" in duplicates["3"] and "已有同名企业" in duplicates["4"]
    all_rows = next(f for f in re.findall(r"<form [^>]*>", page.text) if "data-busy" in f)
    assert 'data-confirm="确定导入全部行吗？将用表中已填写的内容更新 1 家已登记企业。"' in all_rows


def test_an_empty_county_and_a_missing_file_are_told_plainly(app, client, login, tmp_path):
    row = {**good_row(2), "所属县区": None}
    with app.test_request_context():
        plan = imports.plan_import(small_file(tmp_path, [row]), "t.xlsx", None)
    (planned,) = plan.rows
    assert planned.reason == "请填写所属县区。"
    login("chief")
    nothing = client.post("/enterprises/import/", data={}, content_type="multipart/form-data")
    assert nothing.status_code in (200, 422) and "请选择要导入的 Excel 文件。" in nothing.text
