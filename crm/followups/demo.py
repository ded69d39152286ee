"""Demo follow-up tasks: about one visit in five leaves a task for its lead officer. Tasks due
before today are mostly done (a few cancelled, some still open and overdue); the others are
open. The reminder bookkeeping is set as if the scheduler had run all along, so that the first
real run does not tell everyone about every old task at once."""

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crm.followups.models import FollowUpStatus, Priority

SHARE = 0.2
TITLES = (
    "送达高企认定申报指南",
    "核实研发费用归集材料",
    "对接银行科技贷款需求",
    "协调用地规划手续进度",
    "回访政策兑现落实情况",
    "收集知识产权证明材料",
    "约请专家上门技术诊断",
    "跟进人才引进补贴申请",
)
CLOSED_AT = time(8, tzinfo=UTC)  # 16:00 in Luoyang
REMINDED_AT = time(0, 30, tzinfo=UTC)  # the reminders' 08:30
OUTCOMES = ("已办结", "材料已收齐", "企业已提交申请", "已与相关部门对接", "")


def demo_followups(
    rng: random.Random, visits: list[tuple[dict[str, Any], int]], today: date
) -> list[dict[str, Any]]:
    """Task records for some of the visits, given as (visit record, visit id)."""
    tasks = []
    for record, visit_id in visits:
        if rng.random() >= SHARE:
            continue
        due = record["visit_date"] + timedelta(days=rng.choice((3, 7, 7, 14, 30)))
        created = record["created_at"]
        status, closed, outcome = FollowUpStatus.TODO, None, ""
        if due < today:
            # Few tasks stay open long: most of those more than a month late got done.
            fate = rng.random() * (1 if due >= today - timedelta(days=30) else 0.9)
            if fate < 0.85:
                status, outcome = FollowUpStatus.DONE, rng.choice(OUTCOMES)
            elif fate < 0.88:
                status = FollowUpStatus.CANCELLED
            if status is not FollowUpStatus.TODO:
                closed = datetime.combine(due - timedelta(days=rng.randrange(3)), CLOSED_AT)
                closed = max(closed, created)
        watched = datetime.combine(due, REMINDED_AT) if due <= today else None
        tasks.append(
            {
                "enterprise_id": record["enterprise_id"],
                "county_code": record["county_code"],
                "visit_id": visit_id,
                "problem_id": None,
                "title": record["next_step"][:100] or rng.choice(TITLES),
                "details": "",
                "assignee_id": record["lead_id"],
                "assigned_by_id": record["lead_id"],
                "due_on": due,
                "priority": rng.choice((Priority.NORMAL, Priority.NORMAL, Priority.HIGH)),
                "status": status,
                "repeat": None,
                "repeat_day": None,
                "previous_id": None,
                "outcome": outcome,
                "completed_at": closed,
                "cancel_reason": "企业已有安排" if status is FollowUpStatus.CANCELLED else "",
                "closed_by_id": record["lead_id"] if closed else None,
                "reminded_at": watched,
                "escalated_at": watched if due < today else None,
                "version": 1,
                "created_at": created,
                "updated_at": closed or created,
            }
        )
    return tasks
