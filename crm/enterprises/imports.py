"""Importing enterprises from Excel: read the workbook, decide each row's fate, report.

Reading (openpyxl, read-only) and planning change nothing; `apply_plan` in operations writes the
chosen rows in the caller's single transaction. The same plan serves the web preview, the result
page, the downloadable report and `flask --app crm crm import-enterprises`.
"""

import enum
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
import sqlalchemy as sa
import xlsxwriter
from flask import current_app
from openpyxl.utils.cell import range_boundaries

from crm.auth.models import User
from crm.auth.scope import in_scope
from crm.enterprises import industries
from crm.enterprises.models import Enterprise
from crm.enterprises.rules import clean_contact, clean_values
from crm.errors import DomainError, ValidationFailed
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.regions.models import RegionLevel
from crm.regions.tree import regions
from crm.text import collapse

MAX_ROWS = 200_000
# A real workbook of 200 000 rows unpacks to well under this; more is a zip bomb.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


class ImportRefused(DomainError):
    """The file as a whole cannot be imported; nothing was changed."""

    status = 422


class Fate(enum.StrEnum):
    NEW = "new"
    UPDATE = "update"
    DUPLICATE = "duplicate"
    ERROR = "error"

    @property
    def label(self) -> str:
        return str(FATE_LABELS[self])


FATE_LABELS = {
    Fate.NEW: _l("New"),
    Fate.UPDATE: _l("Update existing"),
    Fate.DUPLICATE: _l("Duplicate"),
    Fate.ERROR: _l("Error"),
}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return collapse(str(value)) if value is not None else ""  # 0 is a figure, not nothing


def _typed(value: Any) -> str:
    """A cell's text as typed on a Chinese keyboard read as plain: full-width digits, commas
    and dashes (１２，３４５．５, ２０１８－０５－２０) become their ASCII forms."""
    return unicodedata.normalize("NFKC", _text(value))


# A comma only between groups of three digits (12,345.5): 3560,5 is no number, not 35605.
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _number(value: Any) -> Decimal | None:
    """A finite number from a cell; InvalidOperation or ValueError for anything else."""
    text = _typed(value)
    if "," in text:
        if not THOUSANDS.fullmatch(text):
            raise ValueError(text)
        text = text.replace(",", "")
    if not text:
        return None
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(text)
    return number


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is not None and number != number.to_integral_value():
        raise ValueError(number)
    return int(number) if number is not None else None


def _money(value: Any) -> Decimal | None:
    return _number(value)


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _typed(value)
    if text.endswith(" 00:00:00"):  # a date cell saved as text with its midnight
        text = text.removesuffix(" 00:00:00")
    text = text.replace("/", "-").replace(".", "-")
    for suffix in ("年", "月"):
        text = text.replace(suffix, "-")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.strip("-日").split("-")))


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    parse: Callable[[Any], Any]
    required: bool = False
    example: Any = ""


COLUMNS = (
    Column("企业名称", "name", _text, True, "洛阳启航必达科技有限公司"),
    Column("统一社会信用代码", "credit_code", _text, True, "91410327MA9F4K2X3J"),
    Column("所属县区", "county", _text, True, "宜阳县"),
    Column("所属乡镇", "township", _text, example="兴宜街道"),
    Column("行业门类", "industry", _typed, example="C39"),
    Column("地址", "address", _text, example="宜阳县产业集聚区"),
    Column("法定代表人", "legal_representative", _text, example="张三"),
    Column("成立日期", "founded_on", _date, example=date(2018, 5, 20)),
    Column("职工人数", "staff", _integer, example=120),
    Column("科技人员数", "tech_staff", _integer, example=25),
    Column("上年营业收入(万元)", "revenue", _money, example=3560.5),
    Column("研发费用(万元)", "rnd_expense", _money, example=210),
    Column("高新技术产品收入(万元)", "high_tech_revenue", _money, example=2400),
    Column("Ⅰ类知识产权数", "ip_class1", _integer, example=2),
    Column("Ⅱ类知识产权数", "ip_class2", _integer, example=8),
    Column("联系人", "contact_name", _text, example="李四"),
    Column("联系电话", "contact_phone", _text, example="13800000000"),
)
REQUIRED_HEADERS = tuple(column.header for column in COLUMNS if column.required)


def _header_key(text: Any) -> str:
    """Headers as people type them: full-width brackets, stray spaces."""
    return "".join(unicodedata.normalize("NFKC", _text(text)).split())


HEADER_KEYS = frozenset(_header_key(column.header) for column in COLUMNS)


@dataclass
class RowResult:
    number: int  # the row's number in the sheet, as Excel shows it
    fate: Fate
    reasons: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)
    existing_id: int | None = None

    @property
    def reason(self) -> str:
        """The reasons as one sentence: "成立日期：…；职工人数：…。"."""
        return (
            "；".join(reason.rstrip("。") for reason in self.reasons) + "。" if self.reasons else ""
        )

    @property
    def name(self) -> str:
        return self.values.get("name") or ""

    @property
    def code(self) -> str:
        return self.values.get("credit_code") or ""


@dataclass
class ImportPlan:
    filename: str
    rows: list[RowResult] = field(default_factory=list)

    def count(self, fate: Fate) -> int:
        return sum(1 for row in self.rows if row.fate is fate)

    @property
    def counts(self) -> dict[str, int]:
        return {fate.value: self.count(fate) for fate in Fate}

    @property
    def problems(self) -> int:
        return self.count(Fate.ERROR) + self.count(Fate.DUPLICATE)

    def rows_of(self, *fates: Fate) -> list[RowResult]:
        return [row for row in self.rows if row.fate in fates]


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{max(1, limit // 1024)} KB"


def check_file(path: Path) -> None:
    """Refuse files that are too large, not xlsx at all, or unpack to far more than they hold."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if not path.is_file():
        raise ImportRefused(_("The uploaded file is no longer here; upload it again."))
    if path.stat().st_size > limit:
        raise ImportRefused(_("The file is larger than %(size)s.", size=_size(limit)))
    if not zipfile.is_zipfile(path):
        raise ImportRefused(_("This is not an Excel workbook (.xlsx), whatever its name says."))
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        unpacked = sum(member.file_size for member in archive.infolist())
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise ImportRefused(_("This is not an Excel workbook (.xlsx), whatever its name says."))
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportRefused(_("The workbook unpacks to an implausible size; it was not read."))


# In a sheet's XML a cell's formula <f> comes before its saved result <v> (ECMA-376 CT_Cell).
FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
FORMULA_RESULT = re.compile(rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*<(?:\w+:)?v>[^<]")
CHUNK = 1 << 20


def _rows(path: Path) -> Iterator[tuple[int, tuple[Any, ...], tuple[Any, ...]]]:
    """The first sheet's rows: their number, their cells as written, and their cells with each
    merged range's value in all of its cells (a county merged down a group of rows is that
    county on each of them)."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused(_("The workbook could not be read: it may be damaged.")) from error
    try:
        sheet = workbook.worksheets[0]
        # What a read-only sheet does not read is taken from its XML.
        with zipfile.ZipFile(path) as archive, archive.open(sheet._worksheet_path) as source:
            merged, uncalculated = _scan_sheet(source)
        if uncalculated:
            raise ImportRefused(
                _(
                    "The workbook's formulas have no results saved with them (it was written by "
                    "a program, not saved by a spreadsheet), so their cells would be read as "
                    "empty. Open it in Excel or WPS, save it, and upload it again."
                )
            )
        yield from _filled(enumerate(sheet.iter_rows(values_only=True), start=1), merged)
    finally:
        workbook.close()


# <mergeCell ref="C2:C5"/>, listed after the sheet's data.
MERGED = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"')


def _scan_sheet(source: BinaryIO) -> tuple[dict[int, list[tuple[int, int, int]]], bool]:
    """One pass over the sheet's XML: its merged ranges by their first row (first column, last
    column, last row; columns counted from 0), and whether it holds formulas of which not one
    has a result saved. A program that writes formulas leaves their <v/> empty, and openpyxl
    reads such cells as empty; one result shows a spreadsheet calculated them (any other empty
    one is empty text)."""
    refs: set[tuple[bytes, bytes]] = set()
    formulas = calculated = False
    tail = b""
    while chunk := source.read(CHUNK):
        text = tail + chunk
        refs.update(MERGED.findall(text))
        if not calculated:
            calculated = FORMULA_RESULT.search(text) is not None
            formulas = formulas or FORMULA.search(text) is not None
        tail = text[-256:]
    by_row: dict[int, list[tuple[int, int, int]]] = {}
    for first, last in refs:
        min_col, min_row, max_col, max_row = range_boundaries(f"{first.decode()}:{last.decode()}")
        by_row.setdefault(min_row, []).append((min_col - 1, max_col - 1, max_row))
    return by_row, formulas and not calculated


def _filled(
    rows: Iterator[tuple[int, tuple[Any, ...]]], merged: dict[int, list[tuple[int, int, int]]]
) -> Iterator[tuple[int, tuple[Any, ...], tuple[Any, ...]]]:
    open_ranges: list[tuple[int, int, int, Any]] = []  # first and last column, last row, value
    for number, cells in rows:
        for first, last, last_row in merged.get(number, ()):
            value = cells[first] if first < len(cells) else None
            open_ranges.append((first, last, last_row, value))
        open_ranges = [r for r in open_ranges if r[2] >= number]
        if not open_ranges:
            yield number, cells, cells
            continue
        filled = list(cells)
        for first, last, _last_row, value in open_ranges:
            filled.extend([None] * (last + 1 - len(filled)))
            filled[first : last + 1] = [value] * (last + 1 - first)
        yield number, cells, tuple(filled)


# Rows a sheet may carry above its headers: a title (one cell, merged across), a note, a gap.
TITLE_ROWS = 3


def _is_title(number: int, written: tuple[Any, ...]) -> bool:
    """A row above the headers: near the top, one or two cells, none of them a header."""
    given = [_header_key(cell) for cell in written if _text(cell) != ""]
    return number <= TITLE_ROWS and len(given) <= 2 and not set(given) & HEADER_KEYS


def _header_positions(header: tuple[Any, ...]) -> dict[str, int]:
    by_header = {_header_key(text): position for position, text in enumerate(header)}
    missing = [h for h in REQUIRED_HEADERS if _header_key(h) not in by_header]
    if missing:
        raise ImportRefused(
            _(
                "The first row (below the title, if the sheet has one) must hold the "
                "template's headers; missing: %(names)s.",
                names="、".join(missing),
            )
        )
    return {
        column.field: by_header[_header_key(column.header)]
        for column in COLUMNS
        if _header_key(column.header) in by_header
    }


class Planner:
    """Decides the fate of each row against the database and the rows before it."""

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        # Every live code and name, whatever its county: a code or name may only be taken once.
        # What a row's reason tells of one outside the actor's scope is that it exists, no more.
        columns = (Enterprise.credit_code, Enterprise.id, Enterprise.county_code, Enterprise.name)
        live = db.session.execute(
            sa.select(*columns, Enterprise.credit_code_unverified).where(
                Enterprise.deleted_at.is_(None)
            )
        ).all()
        self.codes = {code: (ident, county) for code, ident, county, _name, _flag in live}
        self.names = {name: (code, county) for code, _ident, county, name, _flag in live}
        self.stored_names = {code: name for code, _ident, _county, name, _flag in live}
        # Codes already confirmed against a licence: updating such an enterprise needs no new
        # confirmation (the import has no box to tick).
        self.confirmed = {code for code, _ident, _county, _name, flag in live if flag}
        self.counties: dict[str, str] = {}
        self.townships: dict[tuple[str, str], str] = {}
        for region in regions().values():
            if region.level == RegionLevel.COUNTY:
                self.counties[region.name] = self.counties[region.code] = region.code
            elif region.level == RegionLevel.TOWNSHIP:
                self.townships[(region.parent_code, region.name)] = region.code
                self.townships[(region.parent_code, region.code)] = region.code
        self.seen_codes: dict[str, int] = {}
        self.seen_names: dict[str, int] = {}

    def _regions(self, raw: dict[str, Any], row: RowResult) -> None:
        county_text = raw.pop("county", "")
        county = self.counties.get(county_text)
        township_text = raw.pop("township", "")
        row.values["county_code"] = county
        if not county_text:
            row.reasons.append(_row_reason("county", _("Enter the county or district.")))
        elif county is None:
            row.reasons.append(_row_reason("county", _("Not a county or district of this city.")))
        elif township_text:
            township = self.townships.get((county, township_text))
            if township is None:
                row.reasons.append(_row_reason("township", _("Not a township of that county.")))
            row.values["township_code"] = township

    def _industry(self, raw: dict[str, Any], row: RowResult) -> None:
        text = raw.pop("industry", "")
        if text:
            row.values["industry"] = industries.from_text(text)
            if row.values["industry"] is None:
                message = _("Not a section or division of GB/T 4754-2017.")
                row.reasons.append(_row_reason("industry", message))

    def _clean(self, row: RowResult) -> None:
        confirmed = row.values.get("credit_code") in self.confirmed
        try:
            cleaned = clean_values(self.actor, row.values, confirmed=confirmed, confirmable=False)
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                if name == "county_code" and row.values.get("county_code") is None:
                    continue  # told already, in the county's own words (_regions)
                row.reasons.extend(_row_reason(name, message) for message in messages)
        else:
            if not row.reasons:
                row.values = cleaned

    def _fate(self, row: RowResult) -> Fate:
        code, name = row.code, row.name
        if code in self.seen_codes:
            row.reasons.append(_("Same credit code as row %(n)d.", n=self.seen_codes[code]))
            return Fate.ERROR
        self.seen_codes[code] = row.number
        if code in self.codes:
            return self._update_fate(row)
        earlier = self.seen_names.setdefault(name, row.number)
        if name in self.names or earlier != row.number:
            row.reasons.append(
                _(
                    "An enterprise of this name exists already (%(other)s).",
                    other=self._holder(name, earlier),
                )
            )
            return Fate.DUPLICATE
        return Fate.NEW

    def _update_fate(self, row: RowResult) -> Fate:
        """A row of a registered enterprise: an update, said plainly when it renames it; an
        error when the enterprise is another county's or the new name another enterprise's."""
        row.existing_id, county = self.codes[row.code]
        if self.actor is not None and not in_scope(self.actor, county):
            row.reasons.append(_("The credit code is registered by another county or district."))
            return Fate.ERROR
        stored = self.stored_names[row.code]
        if row.name == stored:
            row.reasons.append(_("Already registered; the filled-in cells will update it."))
            return Fate.UPDATE
        earlier = self.seen_names.setdefault(row.name, row.number)
        if row.name in self.names or earlier != row.number:
            other = self._holder(row.name, earlier)
            row.reasons.append(
                _("An enterprise of this name exists already (%(other)s).", other=other)
            )
            return Fate.DUPLICATE
        row.reasons.append(
            _(
                "Registered as “%(old)s”: it is renamed, and the filled-in cells update it.",
                old=stored,
            )
        )
        return Fate.UPDATE

    def _holder(self, name: str, earlier: int) -> str:
        """Which enterprise has the name already, as far as the actor may know."""
        if name not in self.names:
            return _("row %(n)d", n=earlier)
        code, county = self.names[name]
        if self.actor is None or in_scope(self.actor, county):
            return code
        return _("registered by another county or district")

    def _contact(self, raw: dict[str, Any], row: RowResult) -> None:
        contact = {"name": raw.pop("contact_name", ""), "phone": raw.pop("contact_phone", "")}
        if not any(contact.values()):
            return
        try:
            row.contact = clean_contact({**contact, "primary": True})
        except ValidationFailed as error:
            fields = {"name": "contact_name", "phone": "contact_phone"}
            for name, messages in error.fields.items():
                row.reasons.extend(_row_reason(fields.get(name, name), m) for m in messages)

    def plan_row(self, number: int, raw: dict[str, Any], unread: list[str]) -> RowResult:
        """The row's fate; every fault of it told at once, the cells that could not be read
        (`unread`) among them, and its name and code shown whatever is wrong."""
        row = RowResult(number, Fate.ERROR, list(unread))
        self._contact(raw, row)
        self._regions(raw, row)
        self._industry(raw, row)
        row.values.update(raw)
        self._clean(row)
        if not row.reasons:
            row.fate = self._fate(row)
        return row


COLUMN_TITLES = {
    **{column.field: column.header for column in COLUMNS},
    "county_code": "所属县区",
    "township_code": "所属乡镇",
}


def _row_reason(field: str, message: str) -> str:
    """ "统一社会信用代码：…", unless the message names its column already."""
    title = COLUMN_TITLES.get(field, field)
    return message if title in message else f"{title}：{message}"


def _parse_cells(cells: tuple[Any, ...], positions: dict[str, int]) -> tuple[dict, list[str]]:
    raw: dict[str, Any] = {}
    reasons: list[str] = []
    for column in COLUMNS:
        position = positions.get(column.field)
        value = cells[position] if position is not None and position < len(cells) else None
        try:
            raw[column.field] = column.parse(value)
        except (ValueError, InvalidOperation, TypeError):
            message = _("Cannot read “%(value)s”.", value=_text(value)[:30])
            reasons.append(_row_reason(column.field, message))
    return raw, reasons


PROGRESS_EVERY = 1000


def plan_import(
    path: Path,
    filename: str,
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Read the workbook and decide every row's fate; changes nothing. `progress` hears the
    number of rows read, every thousand rows."""
    check_file(path)
    plan = ImportPlan(filename)
    positions = None
    above: tuple[Any, ...] = ()  # the first row given, when all there is looks like a title
    planner = Planner(actor)
    for number, written, cells in _rows(path):
        if positions is None:
            if not _is_title(number, written):
                positions = _header_positions(written)  # a header merged across: its first cell
            elif not above and any(_text(cell) != "" for cell in written):
                above = cells
            continue
        if all(_text(cell) == "" for cell in written):  # a blank row, merged ranges or not
            continue
        if len(plan.rows) >= MAX_ROWS:
            raise ImportRefused(_("More than %(n)d rows; split the file.", n=MAX_ROWS))
        row = planner.plan_row(number, *_parse_cells(cells, positions))
        plan.rows.append(row)
        if progress is not None and len(plan.rows) % PROGRESS_EVERY == 0:
            progress(len(plan.rows))
    if positions is None and above:
        _header_positions(above)  # raises, naming the headers missing
    if positions is None:
        raise ImportRefused(_("The workbook is empty."))
    return plan


def too_large() -> str:
    return _(
        "The file is larger than %(size)s.", size=_size(current_app.config["IMPORT_MAX_BYTES"])
    )


def save_upload(stream: BinaryIO, folder: Path, token: str) -> Path:
    """Store an uploaded file outside the web root, refusing it once it passes the size limit."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{token}.xlsx"
    written = 0
    with open(path, "wb") as target:
        while chunk := stream.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                target.close()
                path.unlink()
                raise ImportRefused(too_large())
            target.write(chunk)
    return path


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMN_NOTES = {
    "credit_code": "18 位，与营业执照一致",
    "county": "县区名称，如 宜阳县；或其区划代码 410327",
    "township": "乡镇（街道）名称或 9 位代码，须属于所填县区",
    "industry": "门类字母（C）、门类+大类（C39）、大类代码或名称",
    "founded_on": "日期，如 2018-05-20",
    "revenue": "数字，单位万元",
    "rnd_expense": "数字，单位万元",
    "high_tech_revenue": "数字，单位万元",
}


def template_workbook() -> BytesIO:
    """The import template: the headers on the first sheet, instructions and codes on the next."""
    buffer = BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = workbook.add_format({"bold": True, "bg_color": "#DDE7F3", "border": 1})
    required = workbook.add_format({"bold": True, "bg_color": "#F8D7DA", "border": 1})
    # Text columns formatted as text: a credit code or phone number of digits only stays as
    # typed, not rounded into a number by the spreadsheet.
    typed_as_text = workbook.add_format({"num_format": "@"})
    sheet = workbook.add_worksheet("企业")
    for position, column in enumerate(COLUMNS):
        sheet.write(0, position, column.header, required if column.required else header)
        text = typed_as_text if column.parse in (_text, _typed) else None
        sheet.set_column(position, position, max(12, len(column.header) * 2.2), text)
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet("填写说明")
    notes.write_row(0, 0, ["列名", "是否必填", "说明", "示例"], header)
    for row, column in enumerate(COLUMNS, start=1):
        example = column.example.isoformat() if isinstance(column.example, date) else column.example
        notes.write_row(
            row,
            0,
            [
                column.header,
                "必填" if column.required else "",
                COLUMN_NOTES.get(column.field, ""),
                example,
            ],
        )
    notes.set_column(0, 0, 24)
    notes.set_column(2, 2, 48)
    notes.set_column(3, 3, 28)
    start = len(COLUMNS) + 3
    notes.write_row(start, 0, ["行业门类", "名称"], header)
    for row, (code, name) in enumerate(industries.SECTIONS.items(), start=start + 1):
        notes.write_row(row, 0, [code, name])
    workbook.close()
    buffer.seek(0)
    return buffer


def report_workbook(rows: list[list[Any]]) -> BytesIO:
    """Every row of an upload with its fate and reason: 行号, 处理结果, 企业名称, 代码, 说明."""
    buffer = BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    header = workbook.add_format({"bold": True, "bg_color": "#DDE7F3", "border": 1})
    sheet = workbook.add_worksheet("检查结果")
    sheet.write_row(0, 0, ["行号", "处理结果", "企业名称", "统一社会信用代码", "说明"], header)
    for index, (number, fate, name, code, reason) in enumerate(rows, start=1):
        sheet.write_number(index, 0, number)
        sheet.write_string(index, 1, Fate(fate).label)
        sheet.write_string(index, 2, name)
        sheet.write_string(index, 3, code)
        sheet.write_string(index, 4, reason)
    sheet.set_column(0, 1, 10)
    sheet.set_column(2, 2, 36)
    sheet.set_column(3, 3, 22)
    sheet.set_column(4, 4, 60)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), 4)
    workbook.close()
    buffer.seek(0)
    return buffer
