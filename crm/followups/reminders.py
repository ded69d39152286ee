"""The sweeps the scheduler runs: reminders before a task is due, escalation when it is overdue,
and the 13710 watch over assigned problems. Each sweep reads the rows as they are now and tells
each person about each event once (the notification's key), so running one twice adds nothing.
Nothing here commits: the scheduler commits a sweep together with its run's record."""

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Notification, NotificationKind
from crm.followups.notifications import link_to, notify
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_date
from crm.problems import deadlines
from crm.problems.models import Problem


def _link(task: FollowUp) -> str:
    return link_to("followups.show", followup_id=task.id)


def _in_reach(user: User | None, county_code: str) -> User | None:
    """The user, when they may open a problem (or another's task) of that county: someone moved
    to another region since (or whose enterprise moved) is told nothing of it, its title and
    enterprise included, with a link they could not follow."""
    return user if user is not None and user.active and in_scope(user, county_code) else None


class CountyChiefs:
    """The active chiefs who answer for a county's work when those who hold it cannot open it
    (they moved, or its enterprise did): the county's own, or failing those the city's. Read
    once per sweep, and only when someone is out of reach."""

    def __init__(self) -> None:
        self._chiefs: list[User] | None = None
        self._by_county: dict[str, list[User]] = {}

    def of(self, county_code: str) -> list[User]:
        if county_code not in self._by_county:
            if self._chiefs is None:
                self._chiefs = list(
                    db.session.scalars(
                        sa.select(User)
                        .where(User.role == Role.CHIEF, User.active.is_(True))
                        .order_by(User.id)
                    )
                )
            reaching = [c for c in self._chiefs if in_scope(c, county_code)]
            own = [c for c in reaching if c.region_code == county_code]
            self._by_county[county_code] = own or reaching
        return self._by_county[county_code]


def _task_holders(task: FollowUp, chiefs: CountyChiefs) -> list[User]:
    """Who hears about a task: its assignee while they may open it, else whoever assigned it,
    if they may, else the chiefs of its county: a task is never left with no one to remind."""
    held = _in_reach(task.assignee, task.county_code) or _in_reach(
        task.assigned_by, task.county_code
    )
    return [held] if held is not None else chiefs.of(task.county_code)


def due_reminders(now: datetime) -> int:
    """Tell each officer about their tasks due within FOLLOWUP_REMIND_DAYS (today included),
    once per task and due date."""
    today = local_date(now)
    until = today + timedelta(days=current_app.config["FOLLOWUP_REMIND_DAYS"])
    tasks = db.session.scalars(
        sa.select(FollowUp).where(
            FollowUp.status == FollowUpStatus.TODO,
            FollowUp.due_on.between(today, until),
            FollowUp.reminded_at.is_(None),
        )
    ).all()
    chiefs = CountyChiefs()
    for task in tasks:
        about = {"title": task.title, "enterprise": task.enterprise.name}
        if task.due_on == today:
            message = _l("Task due today: %(title)s (%(enterprise)s)", **about)
        else:
            date = task.due_on.isoformat()
            message = _l("Task due on %(date)s: %(title)s (%(enterprise)s)", date=date, **about)
        for holder in _task_holders(task, chiefs):
            notify(
                holder,
                NotificationKind.DUE_SOON,
                message,
                _link(task),
                key=f"followup:{task.id}:due_soon:{task.due_on}",
            )
    _stamp(tasks, reminded_at=now)
    return len(tasks)


def overdue_escalation(now: datetime) -> int:
    """Tasks past their due date: the officer is told, and so is whoever assigned the task
    (the chief), once per task and due date."""
    today = local_date(now)
    tasks = db.session.scalars(
        sa.select(FollowUp).where(
            FollowUp.status == FollowUpStatus.TODO,
            FollowUp.due_on < today,
            FollowUp.escalated_at.is_(None),
        )
    ).all()
    chiefs = CountyChiefs()
    for task in tasks:
        late = (today - task.due_on).days
        holders = _task_holders(task, chiefs)
        for holder in holders:
            notify(
                holder,
                NotificationKind.OVERDUE,
                _l(
                    "Task %(n)d days overdue: %(title)s (%(enterprise)s)",
                    n=late,
                    title=task.title,
                    enterprise=task.enterprise.name,
                ),
                _link(task),
                key=f"followup:{task.id}:overdue:{task.due_on}",
            )
        chief = _in_reach(task.assigned_by, task.county_code)
        if chief is not None and chief not in holders:
            notify(
                chief,
                NotificationKind.ESCALATED,
                _l(
                    "%(who)s's task is %(n)d days overdue: %(title)s (%(enterprise)s)",
                    who=task.assignee.display_name,
                    n=late,
                    title=task.title,
                    enterprise=task.enterprise.name,
                ),
                _link(task),
                key=f"followup:{task.id}:escalated:{task.due_on}",
            )
    _stamp(tasks, escalated_at=now)
    return len(tasks)


def _stamp(tasks: list[FollowUp], **values: datetime) -> None:
    """Reminder bookkeeping in one UPDATE that leaves the version alone: an officer completing
    the task at that moment must not be told someone else changed it."""
    if tasks:
        ids = [task.id for task in tasks]
        db.session.execute(sa.update(FollowUp).where(FollowUp.id.in_(ids)).values(**values))


def problem_deadlines(now: datetime) -> int:
    """The 13710 watch over assigned problems: the assignee is told when a problem was not
    accepted within PROBLEM_ACK_DAYS, when no progress was reported within PROBLEM_PROGRESS_DAYS,
    and when it is overdue; PROBLEM_ESCALATE_DAYS after the overdue notice the chief who
    assigned it is told too (at once for a problem handed to a unit outside the bureau)."""
    today = local_date(now)
    problems = db.session.scalars(
        sa.select(Problem)
        .where(Problem.status.in_(deadlines.OPEN), Problem.assigned_at.is_not(None))
        .where(
            sa.or_(
                Problem.acknowledged_at.is_(None),
                Problem.first_progress_at.is_(None),
                Problem.due_on < today,
            )
        )
        .order_by(Problem.id)
    ).all()
    told, chiefs = 0, CountyChiefs()
    for problem in problems:
        told += _watch(problem, now, chiefs)
    return told


def _watch(problem: Problem, now: datetime, county_chiefs: CountyChiefs) -> int:
    today = local_date(now)
    link = link_to("problems.show", problem_id=problem.id)
    since = problem.assigned_at.isoformat() if problem.assigned_at else ""
    assignee = _in_reach(problem.assignee, problem.county_code)
    chief = _in_reach(problem.assigned_by, problem.county_code)

    def chiefs() -> list[User]:
        """The chief who assigned it while they may open it, else the county's chiefs."""
        return [chief] if chief is not None else county_chiefs.of(problem.county_code)

    told = 0
    if assignee is not None and deadlines.acknowledgement_late(problem, today):
        told += _tell(
            assignee,
            NotificationKind.PROBLEM,
            _l(
                "Not accepted within %(n)d day: %(title)s",
                n=current_app.config["PROBLEM_ACK_DAYS"],
                title=problem.title,
            ),
            link,
            f"problem:{problem.id}:ack_late:{since}",
        )
    if assignee is not None and deadlines.progress_late(problem, today):
        told += _tell(
            assignee,
            NotificationKind.PROBLEM,
            _l(
                "No progress reported within %(n)d days: %(title)s",
                n=current_app.config["PROBLEM_PROGRESS_DAYS"],
                title=problem.title,
            ),
            link,
            f"problem:{problem.id}:progress_late:{since}",
        )
    if deadlines.is_overdue(problem, today):
        late = (today - problem.due_on).days
        key = f"problem:{problem.id}:overdue:{problem.due_on}"
        for handler in [assignee] if assignee is not None else chiefs():
            told += _tell(
                handler,
                NotificationKind.OVERDUE,
                _l("Problem %(n)d days overdue: %(title)s", n=late, title=problem.title),
                link,
                key,
            )
        days = current_app.config["PROBLEM_ESCALATE_DAYS"]
        if assignee is not None and _told_by(assignee.id, key, today - timedelta(days=days)):
            for answering in chiefs():
                told += _tell(
                    answering,
                    NotificationKind.ESCALATED,
                    _l(
                        "%(who)s's problem is %(n)d days overdue: %(title)s",
                        who=assignee.display_name,
                        n=late,
                        title=problem.title,
                    ),
                    link,
                    f"problem:{problem.id}:escalated:{problem.due_on}",
                )
    return told


def _tell(user: User | None, kind: NotificationKind, message: Any, link: str, key: str) -> int:
    return 1 if notify(user, kind, message, link, key=key) is not None else 0


def _told_by(user_id: int, key: str, day: date) -> bool:
    """Whether the user was told about `key` on `day` or before (in the bureau's calendar)."""
    told_at = db.session.scalar(
        sa.select(Notification.created_at).where(
            Notification.user_id == user_id, Notification.key == key
        )
    )
    return told_at is not None and local_date(told_at) <= day
