"""The monthly workbook of a county (or of the city): 汇总 and four detail sheets.

The detail sheets stream: rows come from the database in batches and xlsxwriter writes each
row to disk as it goes (`constant_memory`), so memory does not grow with the month's size.
Text is always written as text, never as a formula (a title starting with "=" stays a title).
"""

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import xlsxwriter
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import aliased

from crm.auth.models import User
from crm.certification.models import CertificationCase, Stage, StageEvent
from crm.enterprises.models import Enterprise
from crm.exports import metrics
from crm.exports.metrics import Period
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.i18n import local_date
from crm.policies.models import Policy
from crm.problems.models import Problem, ProblemEvent, ProblemStatus
from crm.problems.workflow import Step
from crm.regions.models import Region
from crm.visits.models import Visit, VisitPolicy

BATCH = 2000
SHEET_KEYS = ("visits", "problems", "followups", "certification")  # row counts
FINAL_STAGES = (Stage.CERTIFIED, Stage.REGISTERED, Stage.REJECTED, Stage.WITHDRAWN)


EXCEL_EPOCH = date(1899, 12, 30)


def excel_day(day: date) -> int:
    """A date as Excel's day number (shown as a date by the column's format)."""
    return (day - EXCEL_EPOCH).days


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str = "text"  # text, date, number, percent


class Formats:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.note = workbook.add_format({"font_color": "#555555"})
        self.header = workbook.add_format(
            {
                "bold": True,
                "bg_color": "#DDE7F3",
                "border": 1,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.number = workbook.add_format({"num_format": "#,##0"})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.none = workbook.add_format({"align": "right"})
        self.total_none = workbook.add_format({"bold": True, "top": 1, "align": "right"})
        self.total_text = workbook.add_format({"bold": True, "top": 1})
        self.total_number = workbook.add_format({"bold": True, "top": 1, "num_format": "#,##0"})
        self.total_percent = workbook.add_format({"bold": True, "top": 1, "num_format": "0.0%"})


class Sheet:
    """A worksheet written row by row: title lines, a header, then the rows."""

    def __init__(
        self, workbook: xlsxwriter.Workbook, formats: Formats, name: str, columns: list[Column]
    ) -> None:
        self.sheet = workbook.add_worksheet(name)
        self.formats = formats
        self.columns = columns
        self.row = 0
        self.last_data_row: int | None = None  # the rows the filter sorts: not a 合计 row
        self._writer_cache: dict[bool, list] = {}
        self.sheet.set_landscape()
        self.sheet.set_paper(9)  # A4
        self.sheet.fit_to_pages(1, 0)  # as wide as one page, as long as it takes
        for position, column in enumerate(columns):
            self.sheet.set_column(position, position, column.width)

    def titles(self, title: str, note: str) -> None:
        self.sheet.write_string(0, 0, title, self.formats.title)
        self.sheet.write_string(1, 0, note, self.formats.note)
        self.row = 3

    def header(self) -> None:
        for position, column in enumerate(self.columns):
            self.sheet.write_string(self.row, position, column.header, self.formats.header)
        self.sheet.set_row(self.row, 30)
        self.header_row = self.row
        self.row += 1

    def write(self, values: Sequence[Any], total: bool = False) -> None:
        row = self.row
        for position, (write, value) in enumerate(zip(self._writers(total), values, strict=True)):
            if value is None and self.columns[position].kind == "percent":
                # Nothing to divide: "—", as the dashboard shows it (a blank reads as missing).
                style = self.formats.total_none if total else self.formats.none
                self.sheet.write_string(row, position, "—", style)
            elif value is None or value == "":
                if total:
                    self.sheet.write_blank(row, position, None, self.formats.total_text)
            else:
                write(row, position, value)
        if not total:
            self.last_data_row = row
        self.row += 1

    def _writers(self, total: bool) -> list[Callable[[int, int, Any], Any]]:
        """One writer per column (made once: the detail sheets call them for every cell)."""
        if total in self._writer_cache:
            return self._writer_cache[total]
        sheet, formats = self.sheet, self.formats
        writers = []
        for column in self.columns:
            if column.kind == "date":
                style = formats.date
                writers.append(lambda r, c, v, s=style: sheet.write_number(r, c, excel_day(v), s))
            elif column.kind in ("percent", "number"):
                if column.kind == "percent":
                    style = formats.total_percent if total else formats.percent
                else:
                    style = formats.total_number if total else formats.number
                writers.append(lambda r, c, v, s=style: sheet.write_number(r, c, float(v), s))
            else:
                style = formats.total_text if total else None
                writers.append(lambda r, c, v, s=style: sheet.write_string(r, c, str(v), s))
        self._writer_cache[total] = writers
        return writers

    def finish(self) -> int:
        """Freeze the header and filter on it (down to the last data row: sorting a column leaves
        合计 at the foot); the number of rows written below the header."""
        rows = self.row - self.header_row - 1
        self.sheet.freeze_panes(self.header_row + 1, 0)
        self.sheet.repeat_rows(self.header_row)
        last = self.header_row if self.last_data_row is None else self.last_data_row
        self.sheet.autofilter(self.header_row, 0, last, len(self.columns) - 1)
        return rows


class Context:
    """What every sheet needs: the region, the month, names of regions and people."""

    def __init__(self, region: Region, period: Period, generated_at: datetime) -> None:
        self.region = region
        self.period = period
        self.generated_at = generated_at
        self.region_names = dict(db.session.execute(sa.select(Region.code, Region.name)).all())
        self._labels: dict[enum.Enum, str] = {}

    def label(self, member: enum.Enum) -> str:
        """An enum's label, translated once per workbook (not once per cell)."""
        if member not in self._labels:
            self._labels[member] = str(member.label)  # type: ignore[attr-defined]
        return self._labels[member]

    def title(self) -> str:
        return (
            f"{self.period.first.year}年{self.period.first.month}月 万人助万企 走访服务月报"
            f" — {self.region.name}"
        )

    def note(self) -> str:
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        generated = self.generated_at.astimezone(zone)
        return f"生成时间：{generated:%Y-%m-%d %H:%M}　数据截至：{self.period.as_of:%Y-%m-%d}"

    def in_region(self, column: Any) -> sa.ColumnElement[bool]:
        return metrics.region_condition(column, self.region)


def write_workbook(
    path: Path,
    region: Region,
    period: Period,
    generated_at: datetime,
    progress: Callable[[int], None] = lambda percent: None,
    scratch: str | None = None,
) -> dict[str, int]:
    """Write the region's workbook for the month to `path`; the rows of each sheet.
    xlsxwriter keeps its row files in `scratch` (default: the system's temporary folder)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        context = Context(region, period, generated_at)
        workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "tmpdir": scratch,
            },
        )
        formats = Formats(workbook)
        counts = {"summary": _summary(workbook, formats, context)}
        steps = len(DETAIL_SHEETS) + 1
        for done, (key, spec) in enumerate(zip(SHEET_KEYS, DETAIL_SHEETS, strict=True), start=1):
            counts[key] = _detail(workbook, formats, context, spec)
            progress(done * 100 // steps)
        workbook.close()
        progress(100)
    return counts


# -- 汇总 --------------------------------------------------------------------------------------


def _summary(workbook: xlsxwriter.Workbook, formats: Formats, context: Context) -> int:
    entries = list(metrics.METRICS.values())
    columns = [Column("县区", 12)] + [
        Column(str(entry.label), 9 if entry.group else 11, "percent" if entry.is_rate else "number")
        for entry in entries
    ]
    sheet = Sheet(workbook, formats, "汇总", columns)
    sheet.titles(context.title(), context.note())
    # Two header rows: a group's name above its figures. (Row by row, as constant memory asks:
    # the upper row is complete before the lower one begins.)
    top = sheet.row
    groups: dict[str, list[int]] = {}
    for position, entry in enumerate(entries, start=1):
        if entry.group:
            groups.setdefault(str(entry.group), []).append(position)
        else:
            sheet.sheet.write_blank(top, position, None, formats.header)
    sheet.sheet.write_blank(top, 0, None, formats.header)
    for group, positions in groups.items():
        if len(positions) > 1:
            sheet.sheet.merge_range(top, positions[0], top, positions[-1], group, formats.header)
        else:
            sheet.sheet.write_string(top, positions[0], group, formats.header)
    for position, column in enumerate(columns):
        sheet.sheet.write_string(top + 1, position, column.header, formats.header)
    sheet.sheet.set_row(top, 24)
    sheet.sheet.set_row(top + 1, 30)
    sheet.header_row = top + 1
    sheet.row = top + 2
    for county, figures in metrics.by_county(context.region, context.period).items():
        sheet.write([context.region_names[county], *(figures[e.key] for e in entries)])
    total = metrics.summary(context.region, context.period)
    sheet.write(["合计", *(total[e.key] for e in entries)], total=True)
    rows = sheet.finish()
    return rows - 1  # the counties; 合计 is not one


# -- detail sheets ---------------------------------------------------------------------------


RowMaker = Callable[[sa.Row], Sequence[Any]]


@dataclass(frozen=True)
class DetailSheet:
    name: str
    columns: list[Column]
    query: Callable[[Context], tuple[sa.Select, RowMaker]]


def _detail(
    workbook: xlsxwriter.Workbook,
    formats: Formats,
    context: Context,
    spec: DetailSheet,
) -> int:
    sheet = Sheet(workbook, formats, spec.name, spec.columns)
    sheet.titles(context.title(), context.note())
    sheet.header()
    stmt, row = spec.query(context)
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for record in result:
        sheet.write(row(record))
    return sheet.finish()


VISIT_COLUMNS = [
    Column("走访日期", 11, "date"),
    Column("企业名称", 30),
    Column("统一社会信用代码", 21),
    Column("县区", 10),
    Column("乡镇/街道", 12),
    Column("走访方式", 10),
    Column("带队干部", 10),
    Column("见面人员", 16),
    Column("宣讲政策", 36),
    Column("问题数", 8, "number"),
    Column("走访摘要", 50),
    Column("下一步", 30),
]


def _visit_query(context: Context) -> tuple[sa.Select, RowMaker]:
    """The visits dated in the month."""
    period = context.period
    policies = (
        sa.select(sa.func.aggregate_strings(Policy.name, "、"))
        .select_from(VisitPolicy)
        .join(Policy, Policy.id == VisitPolicy.policy_id)
        .where(VisitPolicy.visit_id == Visit.id)
        .scalar_subquery()
    )
    problems = sa.select(sa.func.count()).where(Problem.visit_id == Visit.id).scalar_subquery()
    stmt = (
        sa.select(
            Visit.visit_date,
            Enterprise.name,
            Enterprise.credit_code,
            Visit.county_code,
            Enterprise.township_code,
            Visit.mode,
            User.display_name,
            Visit.people_met,
            policies,
            problems,
            Visit.summary,
            Visit.next_step,
        )
        .join(Enterprise, Enterprise.id == Visit.enterprise_id)
        .join(User, User.id == Visit.lead_id)
        .where(
            Visit.visit_date.between(period.first, period.as_of),
            context.in_region(Visit.county_code),
        )
        .order_by(Visit.visit_date, Visit.id)
    )
    names, label = context.region_names, context.label

    def row(record: sa.Row) -> tuple:
        day, name, code, county, township, mode, lead, met, explained, raised, *text = record
        township_name = names.get(township, "") if township else ""
        return (
            day,
            name,
            code,
            names.get(county, ""),
            township_name,
            label(mode),
            lead,
            met,
            explained or "",
            raised,
            *text,
        )

    return stmt, row


PROBLEM_COLUMNS = [
    Column("提出日期", 11, "date"),
    Column("企业名称", 30),
    Column("县区", 10),
    Column("问题类别", 10),
    Column("问题标题", 30),
    Column("问题描述", 40),
    Column("重大问题", 8),
    Column("状态", 12),
    Column("承办人/单位", 14),
    Column("办结期限", 11, "date"),
    Column("逾期", 6),
    Column("办结日期", 11, "date"),
    Column("办理结果", 36),
    Column("回访满意度", 10),
    Column("回访意见", 24),
    Column("销号日期", 11, "date"),
    Column("重办次数", 8, "number"),
]


def _moment(value: datetime | str) -> datetime:
    """A stored moment read through an aggregate (SQLite gives back its text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _moment(datetime.fromisoformat(value))


def _problem_query(context: Context) -> tuple[sa.Select, RowMaker]:
    """The ledger at the end of the month: problems open then, and those closed in the month,
    each as it stood then: its status from its history, and what came after (a resolution, a
    call-back, a reopening) left out. Who handles it and by when are today's."""
    period = context.period
    assignee = aliased(User)
    end = period.end_moment()
    status_then = metrics.as_it_stood(
        ProblemEvent, ProblemEvent.problem_id == Problem.id, end, "status", Problem.status
    )
    # Counted among the problem's own steps (its few rows by ix_problem_events_problem_id),
    # not by the step: a condition on the step leads SQLite to the (step, at) index, through
    # every reopening in the city for each problem.
    reopened_then = (
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((ProblemEvent.step == Step.REOPEN, 1))), 0))
        .where(ProblemEvent.problem_id == Problem.id, ProblemEvent.at < end)
        .scalar_subquery()
    )
    # When it was last resolved by then: a reopening since has cleared resolved_on.
    resolved_then = (
        sa.select(sa.func.max(sa.case((ProblemEvent.step == Step.RESOLVE, ProblemEvent.at))))
        .where(ProblemEvent.problem_id == Problem.id, ProblemEvent.at < end)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            Problem.raised_on,
            Enterprise.name,
            Problem.county_code,
            Problem.category,
            Problem.title,
            Problem.description,
            Problem.major,
            sa.func.coalesce(status_then, Problem.status),
            assignee.display_name,
            Problem.unit,
            Problem.due_on,
            Problem.resolved_on,
            resolved_then,
            Problem.resolution,
            Problem.satisfaction,
            Problem.callback_comment,
            Problem.closed_on,
            Problem.reopen_count,
            reopened_then,
            sa.case((metrics.overdue_at_end(period), True), else_=False),
        )
        .join(Enterprise, Enterprise.id == Problem.enterprise_id)
        .outerjoin(assignee, assignee.id == Problem.assignee_id)
        .where(
            Problem.raised_on <= period.as_of,
            sa.or_(Problem.closed_on.is_(None), Problem.closed_on >= period.first),
            context.in_region(Problem.county_code),
        )
        .order_by(Problem.raised_on, Problem.id)
    )
    names, label = context.region_names, context.label

    def row(record: sa.Row) -> tuple:
        (
            raised,
            name,
            county,
            category,
            title,
            description,
            major,
            status,
            person,
            unit,
            due,
            resolved,
            resolved_at,
            resolution,
            satisfaction,
            comment,
            closed,
            reopened_now,
            reopened,
            overdue,
        ) = record
        if resolved is not None and resolved > period.as_of:
            resolved, resolution = None, ""
        if resolved is None and resolved_at and ProblemStatus(status) in metrics.RESOLVED:
            resolved = local_date(_moment(resolved_at))
        # A call-back after the month: closed since, or found wanting since (a reopening).
        if (closed is not None and closed > period.as_of) or reopened_now > reopened:
            closed, satisfaction, comment = None, None, ""
        return (
            raised,
            name,
            names.get(county, ""),
            label(category),
            title,
            description,
            "是" if major else "",
            label(ProblemStatus(status)),
            person or unit,
            due,
            "是" if overdue else "",
            resolved,
            resolution,
            label(satisfaction) if satisfaction else "",
            comment,
            closed,
            reopened,
        )

    return stmt, row


FOLLOWUP_COLUMNS = [
    Column("任务", 30),
    Column("企业名称", 30),
    Column("县区", 10),
    Column("负责人", 10),
    Column("布置人", 10),
    Column("截止日期", 11, "date"),
    Column("优先级", 8),
    Column("状态", 8),
    Column("完成日期", 11, "date"),
    Column("按期完成", 8),
    Column("完成情况", 36),
]


def _followup_query(context: Context) -> tuple[sa.Select, RowMaker]:
    """The tasks due in the month (but those cancelled by its end), as they stood at its end."""
    period = context.period
    assignee, assigner = aliased(User), aliased(User)
    stmt = (
        sa.select(
            FollowUp.title,
            Enterprise.name,
            FollowUp.county_code,
            assignee.display_name,
            assigner.display_name,
            FollowUp.due_on,
            FollowUp.priority,
            FollowUp.status,
            FollowUp.completed_at,
            sa.case((metrics.done_on_time(), True), else_=False),
            FollowUp.outcome,
        )
        .join(Enterprise, Enterprise.id == FollowUp.enterprise_id)
        .join(assignee, assignee.id == FollowUp.assignee_id)
        .outerjoin(assigner, assigner.id == FollowUp.assigned_by_id)
        .where(
            metrics.counted_task(period),  # as 汇总 counts them
            context.in_region(FollowUp.county_code),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    names, label = context.region_names, context.label

    def row(record: sa.Row) -> tuple:
        title, name, county, person, by, due, priority, status, completed_at, timely, outcome = (
            record
        )
        completed = local_date(completed_at) if completed_at else None
        if completed is not None and completed > period.as_of:  # still to do at the month's end
            status, completed, outcome = FollowUpStatus.TODO, None, ""
        on_time = ("是" if timely else "否") if status == FollowUpStatus.DONE else ""
        return (
            title,
            name,
            names.get(county, ""),
            person,
            by or "",
            due,
            label(priority),
            label(status),
            completed,
            on_time,
            outcome,
        )

    return stmt, row


CASE_COLUMNS = [
    Column("企业名称", 30),
    Column("县区", 10),
    Column("项目", 14),
    Column("年度", 8),
    Column("批次", 14),
    Column("阶段", 10),
    Column("负责人", 10),
    Column("申报日期", 11, "date"),
    Column("结果日期", 11, "date"),
    Column("证书/入库编号", 20),
    Column("有效期至", 11, "date"),
]


def _case_query(context: Context) -> tuple[sa.Select, RowMaker]:
    """The cases of the month's year, and any case from earlier still under way, each at the
    stage it stood at the end of the month (from its moves), without what came after."""
    period = context.period
    owner = aliased(User)
    stage_then = metrics.as_it_stood(
        StageEvent,
        StageEvent.case_id == CertificationCase.id,
        period.end_moment(),
        "stage",
        CertificationCase.stage,
    ).label("stage_then")  # ordered by its name, not worked out again
    stmt = (
        sa.select(
            Enterprise.name,
            CertificationCase.county_code,
            CertificationCase.programme,
            CertificationCase.year,
            CertificationCase.batch,
            stage_then,
            owner.display_name,
            CertificationCase.submitted_on,
            CertificationCase.result_on,
            CertificationCase.certificate_no,
            CertificationCase.valid_until,
        )
        .join(Enterprise, Enterprise.id == CertificationCase.enterprise_id)
        .outerjoin(owner, owner.id == CertificationCase.owner_id)
        .where(
            CertificationCase.created_at < period.end_moment(),
            sa.or_(
                CertificationCase.year == period.first.year,
                stage_then.not_in(FINAL_STAGES),
            ),
            context.in_region(CertificationCase.county_code),
        )
        .order_by(CertificationCase.programme, stage_then, CertificationCase.id)
    )
    names, label = context.region_names, context.label

    def row(record: sa.Row) -> tuple:
        name, county, programme, year, batch, stage, person, submitted, result, *number = record
        if submitted is not None and submitted > period.as_of:
            submitted = None
        if result is not None and result > period.as_of:
            result, number = None, [None, None]
        return (
            name,
            names.get(county, ""),
            label(programme),
            str(year),
            batch,
            label(Stage(stage)),
            person or "",
            submitted,
            result,
            *number,
        )

    return stmt, row


DETAIL_SHEETS = (
    DetailSheet("走访明细", VISIT_COLUMNS, _visit_query),
    DetailSheet("问题台账", PROBLEM_COLUMNS, _problem_query),
    DetailSheet("跟进任务", FOLLOWUP_COLUMNS, _followup_query),
    DetailSheet("高企培育", CASE_COLUMNS, _case_query),
)
