"""Monthly figures, workbooks, the archive and the API, checked against a data set whose figures
are written out by hand below.

The month is October 2026. Two counties have data (宜阳县 and 孟津区); the records sit on both
sides of the month's edges, in every problem state, with call-backs and task completions near
midnight in the bureau's calendar (Asia/Shanghai, 8 hours ahead of the UTC the database keeps).
"""

import csv
import os
import shutil
import subprocess
import time
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.certification.models import CertificationCase, Programme, Stage, StageEvent
from crm.enterprises.models import Enterprise
from crm.exports import metrics, operations
from crm.exports.models import MonthlyReport, ReportStatus
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.policies.models import Policy
from crm.problems.models import Problem, ProblemCategory, ProblemEvent, ProblemStatus
from crm.problems.workflow import Step
from crm.regions.models import Region
from crm.visits.models import Visit, VisitMode, VisitPolicy
from tests.conftest import CITY, MENGJIN, YIYANG, log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = date(2026, 10, 1)

KEYS = [
    "visited_enterprises",
    "visits",
    "policy_explanations",
    "new_problems",
    "resolved_in_month",
    "problems_total",
    "resolved_total",
    "resolution_rate",
    "satisfaction_rate",
    "overdue_open",
    "followups_due",
    "followups_done_on_time",
    "followups_overdue",
    "high_tech_prospects",
    "high_tech_submitted",
    "high_tech_certified_in_month",
    "tech_sme_registered_in_month",
]

# The figures of October 2026, worked out by hand from the records made below.
YIYANG_OCTOBER = dict(
    zip(
        KEYS,
        [2, 3, 3, 5, 2, 9, 3, Decimal("0.3333"), Decimal("0.6667"), 4, 4, 1, 3, 1, 2, 1, 1],
        strict=True,
    )
)
MENGJIN_OCTOBER = dict(
    zip(
        KEYS,
        [2, 3, 4, 2, 1, 4, 1, Decimal("0.25"), Decimal("1"), 2, 1, 1, 0, 1, 0, 0, 0],
        strict=True,
    )
)
CITY_OCTOBER = dict(
    zip(
        KEYS,
        [4, 6, 7, 7, 3, 13, 4, Decimal("0.3077"), Decimal("0.75"), 6, 5, 2, 3, 2, 2, 1, 1],
        strict=True,
    )
)
EMPTY_COUNTY = {key: (None if key.endswith("_rate") else 0) for key in KEYS}
# Rows of the city's detail sheets (the counties' add up to these).
# (跟进任务 lists the tasks 汇总 counts: due in the month, not cancelled.)
CITY_ROWS = {"summary": 14, "visits": 6, "problems": 12, "followups": 5, "certification": 7}
YIYANG_ROWS = {"summary": 1, "visits": 3, "problems": 8, "followups": 4, "certification": 5}


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in the bureau's calendar, as the aware time the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def october(app, create_user, create_enterprise):
    """The hand-built data set; returns the users who look at it."""
    officer = create_user("officer", YIYANG)
    e1, e2, e3 = (create_enterprise(county_code=YIYANG) for _ in range(3))
    f1, f2 = (create_enterprise(county_code=MENGJIN) for _ in range(2))
    with app.app_context():
        policies = list(db.session.scalars(sa.select(Policy.id).order_by(Policy.id).limit(3)))

        def visit(enterprise, day: date, policy_count: int) -> Visit:
            record = Visit(
                client_uuid=uuid.uuid4(),
                enterprise_id=enterprise.id,
                county_code=enterprise.county_code,
                visit_date=day,
                mode=VisitMode.ONSITE,
                lead_id=officer.id,
                summary="了解企业研发投入情况",
            )
            db.session.add(record)
            db.session.flush()
            for policy_id in policies[:policy_count]:
                db.session.add(VisitPolicy(visit_id=record.id, policy_id=policy_id))
            return record

        # 宜阳: E1 twice and E2 once in October (3 policies); E3 just outside, on both sides.
        visit(e1, date(2026, 10, 1), 2)
        visit(e1, date(2026, 10, 31), 1)
        visit(e2, date(2026, 10, 15), 0)
        visit(e3, date(2026, 9, 30), 1)
        visit(e3, date(2026, 11, 1), 1)
        # 孟津: F1 once, F2 twice (4 policies).
        visit(f1, date(2026, 10, 10), 3)
        visit(f2, date(2026, 10, 20), 1)
        visit(f2, date(2026, 10, 21), 0)

        def problem(enterprise, raised: date, status: ProblemStatus, **fields) -> Problem:
            record = Problem(
                enterprise_id=enterprise.id,
                county_code=enterprise.county_code,
                category=ProblemCategory.FINANCING,
                title=f"融资需求 {raised}",
                raised_on=raised,
                status=status,
                **fields,
            )
            db.session.add(record)
            db.session.flush()
            return record

        def callback(record: Problem, step: Step, at: datetime) -> None:
            to = ProblemStatus.CLOSED if step == Step.CLOSE else ProblemStatus.IN_PROGRESS
            db.session.add(
                ProblemEvent(
                    problem_id=record.id,
                    step=step,
                    from_status=ProblemStatus.RESOLVED,
                    to_status=to,
                    at=at,
                )
            )

        closed, resolved = ProblemStatus.CLOSED, ProblemStatus.RESOLVED
        in_progress, assigned = ProblemStatus.IN_PROGRESS, ProblemStatus.ASSIGNED
        # 宜阳's ledger.
        p1 = problem(
            e1,
            date(2026, 9, 5),
            closed,
            due_on=date(2026, 9, 12),
            resolved_on=date(2026, 9, 20),
            closed_on=date(2026, 9, 25),
        )
        callback(p1, Step.CLOSE, local(2026, 9, 25))
        problem(
            e1,
            date(2026, 10, 2),
            resolved,
            due_on=date(2026, 10, 9),
            resolved_on=date(2026, 10, 20),
        )
        problem(e2, date(2026, 10, 3), in_progress, due_on=date(2026, 10, 10))  # overdue
        # Due on the last day and not resolved by its end: overdue once October is over.
        problem(e2, date(2026, 10, 5), assigned, due_on=date(2026, 10, 31))
        p5 = problem(  # resolved only in November: unresolved and overdue at the end of October
            e3,
            date(2026, 9, 28),
            closed,
            due_on=date(2026, 10, 5),
            resolved_on=date(2026, 11, 3),
            closed_on=date(2026, 11, 5),
        )
        callback(p5, Step.CLOSE, local(2026, 11, 5))
        problem(e3, date(2026, 11, 2), ProblemStatus.NEW)  # after the month
        problem(e3, date(2026, 10, 25), ProblemStatus.NEW)
        problem(e1, date(2026, 8, 1), ProblemStatus.UNRESOLVABLE, due_on=date(2026, 8, 10))
        p9 = problem(  # reopened: the enterprise was not satisfied
            e2, date(2026, 9, 10), in_progress, due_on=date(2026, 9, 30), reopen_count=1
        )
        callback(p9, Step.REOPEN, local(2026, 9, 29))
        p10 = problem(
            e1,
            date(2026, 10, 30),
            closed,
            resolved_on=date(2026, 10, 31),
            closed_on=date(2026, 10, 31),
        )
        callback(p10, Step.CLOSE, local(2026, 10, 31, 23, 30))  # 15:30 UTC: still October
        # 孟津's ledger.
        q1 = problem(
            f1,
            date(2026, 10, 12),
            closed,
            due_on=date(2026, 10, 19),
            resolved_on=date(2026, 10, 14),
            closed_on=date(2026, 10, 16),
        )
        callback(q1, Step.CLOSE, local(2026, 10, 16))
        problem(f1, date(2026, 10, 1), assigned, due_on=date(2026, 10, 8))  # overdue
        problem(f2, date(2026, 9, 30), ProblemStatus.NEW)
        q4 = problem(f2, date(2026, 9, 1), in_progress, due_on=date(2026, 9, 5), reopen_count=1)
        callback(q4, Step.REOPEN, local(2026, 11, 1, 0, 30))  # 16:30 UTC on 31 October: November

        def task(enterprise, due: date, status: FollowUpStatus, completed=None) -> None:
            db.session.add(
                FollowUp(
                    enterprise_id=enterprise.id,
                    county_code=enterprise.county_code,
                    title=f"回访 {due}",
                    assignee_id=officer.id,
                    due_on=due,
                    status=status,
                    completed_at=completed,
                )
            )

        done, todo = FollowUpStatus.DONE, FollowUpStatus.TODO
        # Done at 07:00 on the 6th in Shanghai, still the 5th in UTC: late.
        task(e1, date(2026, 10, 5), done, local(2026, 10, 6, 7, 0))
        task(e1, date(2026, 10, 20), done, local(2026, 10, 19))  # on time
        task(e2, date(2026, 10, 25), todo)  # overdue
        task(e2, date(2026, 10, 31), todo)  # due on the last day, not done: overdue
        task(e3, date(2026, 10, 10), FollowUpStatus.CANCELLED)
        task(e3, date(2026, 11, 3), todo)
        task(f1, date(2026, 10, 15), done, local(2026, 10, 15, 8, 0))  # 00:00 UTC: on time

        def case(enterprise, programme: Programme, stage: Stage, created: datetime, **fields):
            db.session.add(
                CertificationCase(
                    enterprise_id=enterprise.id,
                    county_code=enterprise.county_code,
                    programme=programme,
                    year=fields.pop("year", 2026),
                    stage=stage,
                    created_at=created,
                    **fields,
                )
            )

        high_tech, tech_sme = Programme.HIGH_TECH, Programme.TECH_SME
        case(e1, high_tech, Stage.COACHING, local(2026, 9, 1))
        case(e2, high_tech, Stage.PROSPECT, local(2026, 11, 2))  # opened after the month
        case(e3, high_tech, Stage.SUBMITTED, local(2026, 3, 1), submitted_on=date(2026, 6, 10))
        case(
            e2,
            high_tech,
            Stage.CERTIFIED,
            local(2026, 3, 1),
            submitted_on=date(2026, 5, 20),
            result_on=date(2026, 10, 28),
        )
        case(
            e3,
            high_tech,
            Stage.CERTIFIED,
            local(2025, 3, 1),
            year=2025,
            submitted_on=date(2025, 6, 1),
            result_on=date(2025, 11, 20),
        )
        case(e1, tech_sme, Stage.REGISTERED, local(2026, 3, 1), result_on=date(2026, 10, 8))
        case(e2, tech_sme, Stage.REGISTERED, local(2026, 3, 1), result_on=date(2026, 9, 8))
        case(f1, high_tech, Stage.PREPARING, local(2026, 10, 1))
        case(f2, high_tech, Stage.SUBMITTED, local(2026, 10, 5), submitted_on=date(2026, 11, 2))
        db.session.commit()
    return {
        "officer": officer,
        "city_chief": create_user("chief", CITY),
        "yiyang_viewer": create_user("viewer", YIYANG),
    }


def period() -> metrics.Period:
    return metrics.Period.of(OCTOBER, date(2026, 11, 23))


def test_metric_keys_follow_the_design():
    assert list(metrics.METRICS) == KEYS
    for key in KEYS:
        assert metrics.definition(key), key


def test_hand_counted_figures(app, october):
    with app.test_request_context():
        city = db.session.get(Region, CITY)
        assert metrics.summary(city, period()) == CITY_OCTOBER
        counties = metrics.by_county(city, period())
        assert len(counties) == 14
        assert counties[YIYANG] == YIYANG_OCTOBER
        assert counties[MENGJIN] == MENGJIN_OCTOBER
        assert all(counties[c] == EMPTY_COUNTY for c in counties if c not in (YIYANG, MENGJIN))
        yiyang = db.session.get(Region, YIYANG)
        assert metrics.summary(yiyang, period()) == YIYANG_OCTOBER
        assert metrics.by_county(yiyang, period()) == {YIYANG: YIYANG_OCTOBER}


def test_what_is_due_on_the_last_day_is_late_only_once_that_day_is_over(app, october):
    """On 31 October itself the task and the problem due that day are not yet overdue; when
    October's figures go out on 1 November they are (November does not count them)."""
    with app.test_request_context():
        yiyang = db.session.get(Region, YIYANG)
        on_the_day = metrics.summary(yiyang, metrics.Period.of(OCTOBER, date(2026, 10, 31)))
        after = metrics.summary(yiyang, metrics.Period.of(OCTOBER, date(2026, 11, 1)))
    assert (after["followups_overdue"], after["overdue_open"]) == (3, 4)
    assert (on_the_day["followups_overdue"], on_the_day["overdue_open"]) == (2, 3)


def test_many_months_at_once_agree_with_each_month(app, october):
    with app.test_request_context():
        city = db.session.get(Region, CITY)
        today = date(2026, 11, 23)
        months = metrics.months_back(metrics.Period.of(today, today), 3, today)
        trend = metrics.trend(city, months)
        assert list(trend) == ["2026-09", "2026-10", "2026-11"]
        assert trend["2026-10"] == CITY_OCTOBER
        for month in months:
            assert trend[month.key] == metrics.summary(city, month)
        # November is under way: counted to today.
        assert months[-1].as_of == today
        assert trend["2026-11"]["visits"] == 1


def _json_figures(figures: dict) -> dict:
    return {
        key: (float(value) if isinstance(value, Decimal) else value)
        for key, value in figures.items()
    }


def test_api_gives_the_same_figures(app, client, october, create_token):
    chief = october["city_chief"]
    headers = {"Authorization": f"Bearer {create_token(chief)}"}
    answer = client.get("/api/v1/reports/monthly?month=2026-10", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json
    assert body["region"] == CITY and body["month"] == "2026-10"
    assert body["data_as_of"] == "2026-10-31"
    assert body["figures"] == _json_figures(CITY_OCTOBER)
    counties = {c["region"]: c["figures"] for c in body["counties"]}
    assert counties[YIYANG] == _json_figures(YIYANG_OCTOBER)
    assert counties[MENGJIN] == _json_figures(MENGJIN_OCTOBER)
    one = client.get(f"/api/v1/reports/monthly?month=2026-10&region={YIYANG}", headers=headers)
    assert one.json["figures"] == _json_figures(YIYANG_OCTOBER)


def test_api_keeps_to_the_callers_region(app, client, october, create_token):
    viewer = october["yiyang_viewer"]
    headers = {"Authorization": f"Bearer {create_token(viewer)}"}
    own = client.get("/api/v1/reports/monthly?month=2026-10", headers=headers)
    assert own.status_code == 200
    assert own.json["region"] == YIYANG
    assert own.json["figures"] == _json_figures(YIYANG_OCTOBER)
    assert [c["region"] for c in own.json["counties"]] == [YIYANG]
    for region in (CITY, MENGJIN):
        url = f"/api/v1/reports/monthly?month=2026-10&region={region}"
        assert client.get(url, headers=headers).status_code == 404


@pytest.mark.parametrize("month", ["2026-13", "October", "", "2999-01", "1999-12"])
def test_api_refuses_a_bad_month(app, client, october, create_token, month):
    headers = {"Authorization": f"Bearer {create_token(october['city_chief'])}"}
    answer = client.get(f"/api/v1/reports/monthly?month={month}", headers=headers)
    assert answer.status_code == 422
    assert "month" in answer.json["error"]["fields"]


# -- the workbook ----------------------------------------------------------------------------


def _generate(
    app, region_code: str, including_counties: bool = True, month: date = OCTOBER
) -> list[MonthlyReport]:
    with app.test_request_context():
        region = db.session.get(Region, region_code)
        reports = operations.request_reports(
            None, month, region, including_counties=including_counties
        )
        for report in reports:
            operations.generate(report)
        db.session.commit()
        return [(r.id, operations.file_of(r), dict(r.row_counts)) for r in reports]


def _summary_rows(sheet) -> dict[str, list]:
    rows = {}
    for row in sheet.iter_rows(min_row=6, values_only=True):
        if row[0]:
            rows[row[0]] = list(row[1:])
    return rows


def _cells(figures: dict) -> list:
    """A row of 汇总 as the workbook holds it: a rate with nothing to divide reads "—"."""
    return [
        ("—" if value is None else float(value)) if key.endswith("_rate") else value
        for key, value in figures.items()
    ]


def test_workbook_holds_the_hand_counted_figures(app, october):
    reports = _generate(app, CITY)
    assert len(reports) == 15  # the city's and each county's
    _id, city_file, counts = reports[0]
    assert counts == CITY_ROWS
    book = openpyxl.load_workbook(city_file)
    assert book.sheetnames == ["汇总", "走访明细", "问题台账", "跟进任务", "高企培育"]
    summary = book["汇总"]
    assert summary["A1"].value == "2026年10月 万人助万企 走访服务月报 — 洛阳市"
    assert "数据截至：2026-10-31" in summary["A2"].value
    groups = [cell.value for cell in summary[4]]
    headers = [cell.value for cell in summary[5]]
    assert headers == [
        "县区",
        "走访企业数",
        "走访次数",
        "政策宣讲次数",
        "新增问题数",
        "本月办结数",
        "累计问题数",
        "累计办结数",
        "办结率",
        "满意率",
        "逾期未办结数",
        "到期",
        "按期完成",
        "逾期",
        "储备",
        "已申报",
        "新认定",
        "新入库",
    ]
    assert groups[11] == "跟进任务" and groups[14] == "高企" and groups[17] == "科小"
    assert summary.freeze_panes == "A6"
    rows = _summary_rows(summary)
    assert rows["宜阳县"] == _cells(YIYANG_OCTOBER)
    assert rows["孟津区"] == _cells(MENGJIN_OCTOBER)
    assert rows["合计"] == _cells(CITY_OCTOBER)
    assert rows["老城区"] == _cells(EMPTY_COUNTY)  # 办结率 and 满意率 read "—", not blank
    assert summary.cell(row=summary.max_row, column=9).number_format == "0.0%"
    assert isinstance(rows["合计"][7], float)  # rates are numbers, not text
    assert list(rows)[-1] == "合计" and len(rows) == 15
    # The filter covers the counties, not 合计: sorting leaves the total at the foot.
    assert summary.auto_filter.ref == f"A5:R{summary.max_row - 1}"


def test_workbook_detail_sheets(app, october):
    _id, city_file, _counts = _generate(app, CITY)[0]
    book = openpyxl.load_workbook(city_file)
    visits = book["走访明细"]
    assert [c.value for c in visits[4]][:3] == ["走访日期", "企业名称", "统一社会信用代码"]
    assert visits.freeze_panes == "A5"
    assert visits.auto_filter.ref == "A4:L10"
    first = [c.value for c in visits[5]]
    assert first[0] == datetime(2026, 10, 1)  # a real date
    assert visits.cell(row=5, column=1).number_format == "yyyy-mm-dd"
    ledger = book["问题台账"]
    raised = [row[0] for row in ledger.iter_rows(min_row=5, values_only=True)]
    assert len(raised) == CITY_ROWS["problems"]
    assert datetime(2026, 9, 5) not in raised  # closed in September: off the October ledger
    overdue = [row[10] for row in ledger.iter_rows(min_row=5, values_only=True)]
    assert overdue.count("是") == CITY_OCTOBER["overdue_open"]
    tasks = book["跟进任务"]
    on_time = [row[9] for row in tasks.iter_rows(min_row=5, values_only=True)]
    assert on_time.count("是") == CITY_OCTOBER["followups_done_on_time"]


def test_a_past_months_detail_sheets_show_it_as_it_stood(app, october, create_enterprise):
    """October's workbook, made in November: a problem resolved and closed in November is
    still 已交办 there, with no resolution or call-back yet; a case certified in November is
    still 已申报, with no certificate; a task done in November is still to do."""
    enterprise = create_enterprise(county_code=YIYANG, name="洛阳历史状态科技有限公司")

    def problem_of(title: str, **fields) -> Problem:
        return Problem(
            enterprise_id=enterprise.id,
            county_code=YIYANG,
            category=ProblemCategory.TALENT,
            title=title,
            **fields,
        )

    with app.app_context():
        problem = problem_of(
            "十一月才办结的问题",
            raised_on=date(2026, 10, 3),
            status=ProblemStatus.CLOSED,
            due_on=date(2026, 10, 20),
            resolved_on=date(2026, 11, 3),
            resolution="已引进工程师",
            satisfaction="satisfied",
            callback_comment="满意",
            closed_on=date(2026, 11, 5),
        )
        db.session.add(problem)
        db.session.flush()
        history = [
            (Step.RAISE, None, ProblemStatus.NEW, local(2026, 10, 3)),
            (Step.ASSIGN, ProblemStatus.NEW, ProblemStatus.ASSIGNED, local(2026, 10, 4)),
            (Step.RESOLVE, ProblemStatus.ASSIGNED, ProblemStatus.RESOLVED, local(2026, 11, 3)),
            (Step.CLOSE, ProblemStatus.RESOLVED, ProblemStatus.CLOSED, local(2026, 11, 5)),
        ]
        # Raised on 30 October but entered on 2 November, closed on the 15th.
        late = problem_of(
            "十一月才登记的问题",
            raised_on=date(2026, 10, 30),
            status=ProblemStatus.CLOSED,
            resolved_on=date(2026, 11, 10),
            closed_on=date(2026, 11, 15),
        )
        # Resolved on 20 October; the enterprise was not satisfied on 5 November.
        reopened = problem_of(
            "十一月回访不满意的问题",
            raised_on=date(2026, 10, 1),
            status=ProblemStatus.IN_PROGRESS,
            resolution="已对接银行",
            satisfaction="dissatisfied",
            callback_comment="贷款仍未到位",
            reopen_count=1,
        )
        db.session.add_all([late, reopened])
        db.session.flush()
        new, resolved, closed = ProblemStatus.NEW, ProblemStatus.RESOLVED, ProblemStatus.CLOSED
        in_progress = ProblemStatus.IN_PROGRESS
        history += [
            (Step.RAISE, None, new, local(2026, 11, 2), late),
            (Step.RESOLVE, new, resolved, local(2026, 11, 10), late),
            (Step.CLOSE, resolved, closed, local(2026, 11, 15), late),
            (Step.RAISE, None, new, local(2026, 10, 1), reopened),
            (Step.RESOLVE, new, resolved, local(2026, 10, 20), reopened),
            (Step.REOPEN, resolved, in_progress, local(2026, 11, 5),
             reopened),
        ]  # fmt: skip
        for step, before, after, at, *record in history:
            db.session.add(
                ProblemEvent(
                    problem_id=(record or [problem])[0].id,
                    step=step,
                    from_status=before,
                    to_status=after,
                    at=at,
                )
            )
        case = CertificationCase(
            enterprise_id=enterprise.id,
            county_code=YIYANG,
            programme=Programme.HIGH_TECH,
            year=2026,
            stage=Stage.CERTIFIED,
            created_at=local(2026, 3, 1),
            submitted_on=date(2026, 6, 1),
            result_on=date(2026, 11, 15),
            certificate_no="GR202641000999",
            valid_until=date(2029, 11, 14),
        )
        db.session.add(case)
        db.session.flush()
        db.session.add_all(
            [
                StageEvent(case_id=case.id, from_stage=Stage.PREPARING, to_stage=Stage.SUBMITTED,
                           at=local(2026, 6, 1)),
                StageEvent(case_id=case.id, from_stage=Stage.SUBMITTED, to_stage=Stage.CERTIFIED,
                           at=local(2026, 11, 15)),
            ]
        )  # fmt: skip
        db.session.add(
            FollowUp(
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                title="十一月才完成的任务",
                assignee_id=october["officer"].id,
                due_on=date(2026, 10, 20),
                status=FollowUpStatus.DONE,
                completed_at=local(2026, 11, 2),
                outcome="材料已收齐",
            )
        )
        db.session.commit()
    _id, city_file, _counts = _generate(app, CITY)[0]
    book = openpyxl.load_workbook(city_file, read_only=True)

    def row_of(sheet: str, text: str) -> tuple:
        rows = book[sheet].iter_rows(min_row=5, values_only=True)
        return next(row for row in rows if text in row)

    ledger = row_of("问题台账", "十一月才办结的问题")
    assert ledger[7] == "已交办" and ledger[10] == "是"  # overdue at the end of October
    assert ledger[11:16] == (None, None, None, None, None)
    late = row_of("问题台账", "十一月才登记的问题")
    assert late[7] == "待交办" and late[11:16] == (None, None, None, None, None)
    reopened = row_of("问题台账", "十一月回访不满意的问题")
    assert reopened[7] == "已办结（待回访）" and reopened[11] == datetime(2026, 10, 20)
    assert reopened[12] == "已对接银行"  # as resolved in October
    assert reopened[13:15] == (None, None) and reopened[16] == 0  # no call-back yet
    case_row = row_of("高企培育", "洛阳历史状态科技有限公司")
    assert case_row[5] == "已申报" and case_row[8:11] == (None, None, None)
    task = row_of("跟进任务", "十一月才完成的任务")
    assert task[7] == "待办" and task[8:] == (None, None, None), task


def test_workbook_headers_say_what_the_pages_say(app, october):
    """A column the pages also show is headed in the pages' words (a task's 布置人 and
    截止日期, a problem's 提出日期 and 办结期限), so a figure is looked up by one name."""
    from flask_babel import force_locale

    from crm.i18n import gettext

    _id, city_file, _counts = _generate(app, CITY)[0]
    book = openpyxl.load_workbook(city_file, read_only=True)
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        task_terms = [gettext(m) for m in ("Task", "Priority", "Assigned by", "Due on")]
        problem_terms = [gettext(m) for m in ("Raised on", "Assigned to", "Due date")]
    tasks = [cell.value for cell in next(book["跟进任务"].iter_rows(min_row=4, max_row=4))]
    problems = [cell.value for cell in next(book["问题台账"].iter_rows(min_row=4, max_row=4))]
    assert set(task_terms) <= set(tasks), (task_terms, tasks)
    assert set(problem_terms) <= set(problems), (problem_terms, problems)


def test_county_workbook_holds_its_county_only(app, october):
    (_id, path, counts), *_ = _generate(app, YIYANG)
    assert counts == YIYANG_ROWS
    book = openpyxl.load_workbook(path)
    assert book["汇总"]["A1"].value.endswith("— 宜阳县")
    rows = _summary_rows(book["汇总"])
    assert rows == {"宜阳县": _cells(YIYANG_OCTOBER), "合计": _cells(YIYANG_OCTOBER)}
    counties = {row[3] for row in book["走访明细"].iter_rows(min_row=5, values_only=True)}
    assert counties == {"宜阳县"}


def test_text_is_never_a_formula(app, october, create_enterprise):
    evil = create_enterprise(name='=HYPERLINK("http://x")有限公司', county_code=YIYANG)
    with app.app_context():
        db.session.add(
            Visit(
                client_uuid=uuid.uuid4(),
                enterprise_id=evil.id,
                county_code=YIYANG,
                visit_date=date(2026, 10, 9),
                mode=VisitMode.PHONE,
                lead_id=october["officer"].id,
                summary="+1+1",
            )
        )
        db.session.commit()
    (_id, path, _counts), *_ = _generate(app, YIYANG)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in sheet
    book = openpyxl.load_workbook(path)
    names = [row[1] for row in book["走访明细"].iter_rows(min_row=5, values_only=True)]
    assert evil.name in names


def _libreoffice() -> str | None:
    found = shutil.which("libreoffice") or shutil.which("soffice")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("LibreOffice is missing; .ci/run installs libreoffice-calc-nogui")
    return found


def test_workbook_opens_in_libreoffice(app, october, tmp_path):
    office = _libreoffice()
    if office is None:
        pytest.skip("LibreOffice is not installed here")
    _id, city_file, _counts = _generate(app, CITY)[0]
    source = tmp_path / "city.xlsx"
    shutil.copyfile(city_file, source)
    profile = tmp_path / "profile"
    done = subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    with (tmp_path / "city-汇总.csv").open(encoding="utf-8") as stream:
        rows = {row[0]: row[1:] for row in csv.reader(stream) if row}
    assert rows["合计"][:7] == [str(CITY_OCTOBER[key]) for key in KEYS[:7]]
    assert (tmp_path / "city-高企培育.csv").exists()


# -- the archive and the pages ---------------------------------------------------------------


def test_regenerating_keeps_the_earlier_version(app, october):
    first = _generate(app, YIYANG, including_counties=False)
    second = _generate(app, YIYANG, including_counties=False)
    assert first[0][1] != second[0][1]
    assert first[0][1].exists() and second[0][1].exists()
    with app.app_context():
        versions = db.session.scalars(
            sa.select(MonthlyReport.version).where(MonthlyReport.region_code == YIYANG)
        ).all()
        assert sorted(versions) == [1, 2]
        report = db.session.get(MonthlyReport, second[0][0])
        assert len(report.sha256) == 64 and report.size == second[0][1].stat().st_size


def _wait_until_done(app, client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            reports = db.session.scalars(sa.select(MonthlyReport)).all()
            waiting = [report for report in reports if report.in_progress]
        page = client.get("/reports/archive")
        assert page.status_code == 200
        if not waiting:
            assert "hx-trigger" not in page.text  # the page stops polling
            return
        assert 'hx-trigger="every 2s"' in page.text
        time.sleep(0.2)
    pytest.fail("the workbooks were not generated in time")


def test_reports_page_generates_in_the_background_and_downloads(app, client, october):
    log_in(client, october["city_chief"])
    page = client.get("/reports/")
    assert page.status_code == 200
    answer = client.post("/reports/", data={"month": "2026-10", "region": YIYANG})
    assert answer.status_code == 303
    _wait_until_done(app, client)
    with app.app_context():
        report = db.session.scalars(sa.select(MonthlyReport)).one()
        assert report.status == ReportStatus.DONE and report.generated_by_id is not None
        assert report.row_counts == YIYANG_ROWS
    download = client.get(f"/reports/{report.id}/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(download.data))
    assert _summary_rows(book["汇总"])["宜阳县"] == _cells(YIYANG_OCTOBER)


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "月份格式应为 YYYY-MM"),
        ("2999-01", "该月份尚未开始。"),
        ("1999-12", "只能选择 2000 年及以后的月份。"),
        ("", "请选择月份。"),
    ],
)
def test_reports_page_refuses_a_bad_month(app, client, october, month, message):
    log_in(client, october["city_chief"])
    answer = client.post("/reports/", data={"month": month, "region": YIYANG})
    assert answer.status_code == 422
    assert 'class="invalid-feedback' in answer.text and message in answer.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 0


def test_generating_is_logged_in_the_audit_log_s_words(app, client, october):
    _generate(app, YIYANG, including_counties=False)  # as the page asks, without its thread
    log_in(client, october["city_chief"])
    log = client.get("/admin/audit/").text
    assert "生成月报" in log and "月份" in log and "工作簿数" in log
    assert "generate_report" not in log.split("<tbody")[1]  # the rows: only the filter's value
    assert '<option value="generate_report">生成月报</option>' in log


def test_county_viewer_downloads_only_their_county(app, client, october):
    reports = _generate(app, CITY)
    ids = {}
    with app.app_context():
        for report_id, _path, _counts in reports:
            ids[db.session.get(MonthlyReport, report_id).region_code] = report_id
    log_in(client, october["yiyang_viewer"])
    assert client.get(f"/reports/{ids[YIYANG]}/download").status_code == 200
    assert client.get(f"/reports/{ids[CITY]}/download").status_code == 404
    assert client.get(f"/reports/{ids[MENGJIN]}/download").status_code == 404
    page = client.get("/reports/")
    assert "孟津区" not in page.text.split('id="report-archive"')[1]
    bundle = client.get("/reports/2026-10/all.zip")
    assert bundle.status_code == 200
    with zipfile.ZipFile(BytesIO(bundle.data)) as archive:
        assert [name.rsplit(" ", 1)[-1] for name in archive.namelist()] == ["宜阳县.xlsx"]
    # A county viewer may not ask for the city's workbooks either.
    answer = client.post("/reports/", data={"month": "2026-10", "region": CITY})
    assert answer.status_code == 422


def test_city_zip_holds_every_workbook(app, client, october):
    _generate(app, CITY)
    log_in(client, october["city_chief"])
    bundle = client.get("/reports/2026-10/all.zip")
    with zipfile.ZipFile(BytesIO(bundle.data)) as archive:
        assert len(archive.namelist()) == 15
    assert client.get("/reports/2026-09/all.zip").status_code == 404


def test_a_months_zip_holds_that_months_newest_workbooks_only(app, client, october):
    """Other months' workbooks, and earlier versions, stay out of a month's zip, whatever
    version numbers the months' workbooks have reached."""
    _generate(app, CITY)
    _generate(app, CITY, month=date(2026, 9, 1))
    _generate(app, MENGJIN, month=date(2026, 9, 1))  # 孟津区's September: 第2版
    log_in(client, october["city_chief"])
    for month, prefix in (("2026-10", "2026年10月"), ("2026-09", "2026年09月")):
        with zipfile.ZipFile(BytesIO(client.get(f"/reports/{month}/all.zip").data)) as archive:
            names = archive.namelist()
        assert len(names) == 15 and all(name.startswith(prefix) for name in names), names
    assert any(name.endswith("孟津区（第2版）.xlsx") for name in names)
    assert not any(name.endswith("孟津区.xlsx") for name in names)


def test_officers_have_no_reports_page(app, client, october):
    log_in(client, october["officer"])
    assert client.get("/reports/").status_code == 403


def test_export_command(app, october, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["crm", "export", "--month", "2026-10", "--region", YIYANG, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    files = list(tmp_path.glob("*.xlsx"))
    assert len(files) == 1 and "宜阳县" in files[0].name
    rows = _summary_rows(openpyxl.load_workbook(files[0])["汇总"])
    assert rows["宜阳县"] == _cells(YIYANG_OCTOBER)
    refused = runner.invoke(args=["crm", "export", "--month", "2026/10", "--out", str(tmp_path)])
    assert refused.exit_code != 0 and "YYYY-MM" in refused.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 1
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    nowhere = runner.invoke(
        args=["crm", "export", "--month", "2026-10", "--out", str(blocked / "sub")]
    )
    assert nowhere.exit_code == 1 and "Traceback" not in nowhere.output
    assert f"无法写入 {blocked / 'sub'}：" in nowhere.output
    with app.app_context():  # no new version archived that could not be copied out
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 1


def test_the_scheduler_makes_last_months_workbooks_once(app, october):
    from crm import scheduler

    job = scheduler.JOBS_BY_NAME["monthly_report"]
    first_of_november = datetime(2026, 11, 1, 2, 0, 5, tzinfo=SHANGHAI)
    with app.app_context():
        assert scheduler.run_job(job, now=first_of_november) == "done"
        assert scheduler.run_job(job, now=first_of_november + timedelta(hours=3)) == "already done"
        reports = db.session.scalars(sa.select(MonthlyReport)).all()
        assert len(reports) == 15
        assert {r.month for r in reports} == {OCTOBER}
        assert all(r.status == ReportStatus.DONE and r.generated_by_id is None for r in reports)
        city = next(r for r in reports if r.region_code == CITY)
        assert Path(operations.file_of(city)).exists()


# -- the dashboard tells the same truth ------------------------------------------------------


def _shown(value) -> str:
    from crm.dashboard.overview import shown

    return shown(value)


def test_dashboard_shows_the_hand_counted_figures(app, client, october):
    from crm.dashboard.overview import COUNTY_KEYS, KPI_KEYS
    from tests.test_dashboard import cards, chart_data, county_rows

    log_in(client, october["city_chief"])
    page = client.get("/?month=2026-10")
    assert page.status_code == 200
    shown = cards(page.text)
    assert {key: value for key, (value, _url) in shown.items()} == {
        key: _shown(CITY_OCTOBER[key]) for key in KPI_KEYS
    }
    rows = county_rows(page.text)
    for code, expected in (
        (YIYANG, YIYANG_OCTOBER),
        (MENGJIN, MENGJIN_OCTOBER),
        ("", CITY_OCTOBER),
    ):
        assert [value for value, _url in rows[code]] == [_shown(expected[k]) for k in COUNTY_KEYS]
    charts = chart_data(page.text)
    october_point = charts["months"].index("2026-10")
    assert charts["visits"]["items"][october_point]["value"] == CITY_OCTOBER["visits"]
    # A county viewer's dashboard holds the county's figures.
    client.post("/logout")
    log_in(client, october["yiyang_viewer"])
    county = cards(client.get("/?month=2026-10").text)
    assert {key: value for key, (value, _url) in county.items()} == {
        key: _shown(YIYANG_OCTOBER[key]) for key in KPI_KEYS
    }


def test_dashboard_figures_are_computed_once_per_interval(app, client, october, create_enterprise):
    log_in(client, october["city_chief"])
    first = client.get("/?month=2026-10").text
    assert 'id="computed-at"' in first
    enterprise = create_enterprise(county_code=YIYANG)
    with app.app_context():
        db.session.add(
            Visit(
                client_uuid=uuid.uuid4(),
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                visit_date=date(2026, 10, 9),
                mode=VisitMode.PHONE,
                lead_id=october["officer"].id,
                summary="电话回访",
            )
        )
        db.session.commit()
    from tests.test_dashboard import cards

    assert cards(client.get("/?month=2026-10").text)["visits"][0] == "6"  # computed before
    # The API and the workbook read the data as it is now.
    with app.test_request_context():
        city = db.session.get(Region, CITY)
        assert metrics.summary(city, period())["visits"] == 7
    with app.app_context():
        from crm.extensions import cache

        cache.clear()  # what the interval's end does
    assert cards(client.get("/?month=2026-10").text)["visits"][0] == "7"


def test_dashboard_month_falls_back_to_the_month_under_way(app, client, october):
    from crm.i18n import local_today

    log_in(client, october["city_chief"])
    with app.app_context():
        current = f"{local_today():%Y-%m}"
    october_page = client.get("/?month=2026-10").text
    assert 'name="month" value="2026-10"' in october_page
    # A month gone by: the charts of today's problems and funnel say that they are today's.
    assert 'id="charts-now"' in october_page and "不是 2026-10 当时的情况" in october_page
    for month in ("2999-01", "nonsense", ""):
        page = client.get(f"/?month={month}")
        assert page.status_code == 200
        assert f'name="month" value="{current}"' in page.text


# -- generation that overlaps, fails or is cut off --------------------------------------------


def _waiting(app, region_code: str, **fields) -> int:
    with app.test_request_context():
        region = db.session.get(Region, region_code)
        report = operations.request_reports(None, OCTOBER, region, including_counties=False)[0]
        for name, value in fields.items():
            setattr(report, name, value)
        db.session.commit()
        return report.id


def _count_reports(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReport))


def test_a_month_being_generated_is_not_asked_for_twice(app, client, october):
    _waiting(app, YIYANG)
    log_in(client, october["city_chief"])
    answer = client.post("/reports/", data={"month": "2026-10", "region": YIYANG})
    assert answer.status_code == 422
    assert "正在生成" in answer.text
    assert _count_reports(app) == 1
    assert "排队中" in client.get("/reports/archive").text  # waiting its turn, not 待发送
    # The city's request includes 宜阳县's workbook: refused as well.
    assert client.post("/reports/", data={"month": "2026-10", "region": CITY}).status_code == 422
    assert _count_reports(app) == 1


def test_a_generation_cut_off_is_shown_failed_and_may_be_asked_for_again(app, client, october):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    _waiting(app, YIYANG, status=ReportStatus.RUNNING, generated_at=long_ago)
    log_in(client, october["city_chief"])
    archive = client.get("/reports/archive").text
    assert "hx-trigger" not in archive  # nothing to wait for
    assert "失败" in archive
    assert client.post("/reports/", data={"month": "2026-10", "region": YIYANG}).status_code == 303
    _wait_until_done(app, client)
    with app.app_context():
        versions = db.session.execute(
            sa.select(MonthlyReport.version, MonthlyReport.status).order_by(MonthlyReport.version)
        ).all()
    assert versions == [(1, ReportStatus.RUNNING), (2, ReportStatus.DONE)]


def test_one_failed_workbook_does_not_stop_the_others(app, october, monkeypatch):
    from crm.exports import jobs

    ids = [_waiting(app, YIYANG), _waiting(app, MENGJIN)]
    real = operations.generate

    def fail_for_yiyang(report, progress=lambda p: None):
        if report.region_code == YIYANG:
            raise OSError("disk full")
        real(report, progress)

    monkeypatch.setattr(operations, "generate", fail_for_yiyang)
    with app.app_context():
        assert jobs.write_requested(ids) == 1
        first, second = (db.session.get(MonthlyReport, i) for i in ids)
        assert first.status == ReportStatus.FAILED and "disk" not in first.error
        assert second.status == ReportStatus.DONE
    assert [p.name for p in Path(app.config["REPORT_FOLDER"]).iterdir()] == [second.stored_name]


def test_the_scheduler_catching_up_makes_the_month_it_owes(app, october):
    from crm import scheduler

    # Down over the 1st of November; back at 01:00 on the 1st of December, before that day's
    # run is due: November's run (for October) is owed, and 宜阳县's workbook was written
    # before the cut.
    _waiting(app, YIYANG)
    with app.test_request_context():
        report = db.session.scalars(sa.select(MonthlyReport)).one()
        report.origin = operations.ReportOrigin.SCHEDULER
        operations.generate(report)
        db.session.commit()
    back = datetime(2026, 12, 1, 1, 0, tzinfo=SHANGHAI)
    with app.app_context():
        assert scheduler.catch_up(back)["monthly_report"] == "done"
        reports = db.session.scalars(sa.select(MonthlyReport)).all()
    assert {r.month for r in reports} == {OCTOBER}
    assert len(reports) == 15  # 宜阳县's was not written again
    assert sorted(r.version for r in reports if r.region_code == YIYANG) == [1]


def test_a_case_in_reserve_at_a_months_end_counts_for_it_after_it_moves_on(
    app, create_user, create_enterprise
):
    """高企 储备 of September, once the case was submitted in October: still 1, as the
    September 高企培育 sheet shows it at 储备 (not the stage it has now)."""
    import time_machine

    from crm.certification import operations as cases

    enterprise = create_enterprise(county_code=YIYANG)
    chief = create_user("chief", YIYANG)
    with app.test_request_context():
        actor = db.session.get(User, chief.id)
        with time_machine.travel(local(2026, 9, 10), tick=False):
            case = cases.open_case(
                actor, db.session.get(Enterprise, enterprise.id), {"programme": "high_tech"}
            )
            db.session.commit()
        for day, stage in ((3, "coaching"), (4, "preparing"), (6, "submitted")):
            with time_machine.travel(local(2026, 10, day), tick=False):
                cases.move_case(actor, case, stage, case.version, {"on": date(2026, 10, day)})
                db.session.commit()
        yiyang, today = db.session.get(Region, YIYANG), date(2026, 11, 23)
        september = metrics.summary(yiyang, metrics.Period.of(date(2026, 9, 1), today))
        october = metrics.summary(yiyang, metrics.Period.of(OCTOBER, today))
    assert september["high_tech_prospects"] == 1
    assert (october["high_tech_prospects"], october["high_tech_submitted"]) == (0, 1)


def test_a_task_cancelled_after_its_month_still_counts_for_it(app, october):
    """Due on 10 October and cancelled on 5 November (its enterprise deleted, say): October's
    figures, once sent, stay as they were: the task was due, and late."""
    with app.test_request_context():
        task = db.session.scalars(
            sa.select(FollowUp).where(FollowUp.status == FollowUpStatus.CANCELLED)
        ).one()
        yiyang = db.session.get(Region, YIYANG)
        task.completed_at = local(2026, 10, 9)  # cancelled before it was due: not counted
        db.session.commit()
        assert metrics.summary(yiyang, period()) == YIYANG_OCTOBER
        task.completed_at = local(2026, 11, 5)
        db.session.commit()
        figures = metrics.summary(yiyang, period())
    assert figures["followups_due"] == YIYANG_OCTOBER["followups_due"] + 1
    assert figures["followups_overdue"] == YIYANG_OCTOBER["followups_overdue"] + 1
    assert figures["followups_done_on_time"] == YIYANG_OCTOBER["followups_done_on_time"]
