"""The dashboard's snapshot reads, always in the viewer's scope: the problems as they stand now
by category and by status, and an officer's own figures. One aggregate statement each."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.extensions import db
from crm.followups.queries import open_tasks_of, task_groups
from crm.problems import deadlines
from crm.problems.models import Problem, ProblemCategory, ProblemStatus
from crm.problems.queries import problems_of
from crm.visits.models import Visit
from crm.visits.queries import took_part

E = TypeVar("E", bound=StrEnum)


def _problems_by(column: Any, kind: type[E], user: User) -> dict[E, int]:
    stmt = scoped(sa.select(column, sa.func.count()), user, joined=(Problem,)).group_by(column)
    counts = dict.fromkeys(kind, 0)
    for value, count in db.session.execute(stmt):
        counts[kind(value)] = count
    return counts


def problems_by_category(user: User) -> dict[ProblemCategory, int]:
    """The problems in the user's scope per category, whatever their status (one query)."""
    return _problems_by(Problem.category, ProblemCategory, user)


def problems_by_status(user: User) -> dict[ProblemStatus, int]:
    """The problems in the user's scope per status: the ledger's tabs without filters."""
    return _problems_by(Problem.status, ProblemStatus, user)


@dataclass(frozen=True)
class OfficerFigures:
    """An officer's home: visits this month, problems in hand, tasks by urgency."""

    visits: int
    problems_open: int
    problems_overdue: int
    tasks_overdue: int
    tasks_today: int
    tasks_this_week: int


def officer_figures(user: User, first: date, today: date) -> OfficerFigures:
    """The officer's own figures: visits led or accompanied from `first` to today, problems
    of 我的问题 (and the overdue ones among them), open tasks of 我的任务 by group."""
    visits = scoped(sa.select(sa.func.count(Visit.id)), user, joined=(Visit,)).where(
        took_part(user.id), Visit.visit_date.between(first, today)
    )
    mine = problems_of(user).order_by(None).subquery()
    problems = sa.select(
        sa.func.count(),
        sa.func.count().filter(mine.c.status.in_(deadlines.OPEN), mine.c.due_on < today),
    ).select_from(mine)
    tasks = open_tasks_of(user).order_by(None).subquery()
    groups = task_groups(tasks.c.due_on, today)
    task_counts = sa.select(
        *(sa.func.count().filter(groups[key]) for key in ("overdue", "today", "week"))
    ).select_from(tasks)
    problems_open, problems_overdue = db.session.execute(problems).one()
    return OfficerFigures(
        db.session.scalar(visits) or 0,
        problems_open,
        problems_overdue,
        *db.session.execute(task_counts).one(),
    )
