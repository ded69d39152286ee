"""Deadlines after the campaign's "13710" habit, in the bureau's calendar (Asia/Shanghai).

Overdue means: not yet resolved (assigned or in progress) and the due date has passed. On the due
date itself a problem is not overdue.
"""

from datetime import date, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from crm.i18n import local_date
from crm.problems.models import Problem, ProblemStatus

OPEN = (ProblemStatus.ASSIGNED, ProblemStatus.IN_PROGRESS)


class Timed(Protocol):
    """What the deadline checks read of a problem: a Problem, or a row of the ledger's list."""

    @property
    def status(self) -> ProblemStatus: ...
    @property
    def due_on(self) -> date | None: ...
    @property
    def assigned_at(self) -> datetime | None: ...
    @property
    def first_progress_at(self) -> datetime | None: ...


def default_due(major: bool, assigned_on: date) -> date:
    """The due date an assignment gets when the chief gives none."""
    key = "PROBLEM_MAJOR_DUE_DAYS" if major else "PROBLEM_DUE_DAYS"
    return assigned_on + timedelta(days=current_app.config[key])


def is_overdue(problem: Timed, today: date) -> bool:
    return problem.status in OPEN and problem.due_on is not None and problem.due_on < today


def overdue(today: date) -> sa.ColumnElement[bool]:
    """The same rule as a SQL condition, for the ledger's filter and counts."""
    return sa.and_(Problem.status.in_(OPEN), Problem.due_on < today)


def days_left(problem: Timed, today: date) -> int | None:
    """Days until the due date (negative: days overdue); None when no deadline runs."""
    if problem.status not in OPEN or problem.due_on is None:
        return None
    return (problem.due_on - today).days


def acknowledgement_late(problem: Timed, today: date) -> bool:
    """Assigned, not yet accepted, and the day allowed for it has passed."""
    if problem.status != ProblemStatus.ASSIGNED or problem.assigned_at is None:
        return False
    allowed = timedelta(days=current_app.config["PROBLEM_ACK_DAYS"])
    return local_date(problem.assigned_at) + allowed < today


def progress_late(problem: Timed, today: date) -> bool:
    """In progress without a progress note, and the days allowed for the first have passed."""
    if problem.status not in OPEN or problem.assigned_at is None or problem.first_progress_at:
        return False
    allowed = timedelta(days=current_app.config["PROBLEM_PROGRESS_DAYS"])
    return local_date(problem.assigned_at) + allowed < today
