"""Reads of follow-ups, always in scope: 我的任务 in its groups, a chief's board, the API list."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from crm.auth.models import User, names_only
from crm.auth.scope import codes_within, in_scope, scoped
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Priority
from crm.followups.rules import ASSIGNEE_ROLES
from crm.i18n import lazy_gettext as _l

# Higher priority first within the same due date.
PRIORITY_ORDER = sa.case(
    {Priority.HIGH.value: 0, Priority.NORMAL.value: 1, Priority.LOW.value: 2},
    value=FollowUp.priority,
    else_=1,
)
TASK_ORDER = (FollowUp.due_on, PRIORITY_ORDER, FollowUp.id)
BOARD_LIMIT = 50  # the board's tasks, the most overdue first; the counts above give them all


def with_task_details(stmt: sa.Select) -> sa.Select:
    """What a task in a list shows, joined to the tasks themselves: the enterprise's name (of its
    45 columns), the assignee and who assigned it."""
    return stmt.options(
        joinedload(FollowUp.enterprise, innerjoin=True).load_only(Enterprise.name),
        names_only(joinedload(FollowUp.assignee, innerjoin=True)),
        names_only(joinedload(FollowUp.assigned_by)),
    )


# What a card of 我的任务 reads of its task (crm.followups.rules' checks included).
CARD_COLUMNS = (
    FollowUp.id,
    FollowUp.title,
    FollowUp.enterprise_id,
    FollowUp.county_code,
    FollowUp.assignee_id,
    FollowUp.assigned_by_id,
    FollowUp.due_on,
    FollowUp.priority,
    FollowUp.status,
    FollowUp.repeat,
    FollowUp.version,
    FollowUp.completed_at,
    FollowUp.outcome,
)


@cache
def _card_columns() -> tuple[type[User], tuple]:
    """Who assigned a task (an alias of users) and a card's columns, built once."""
    assigner = aliased(User)
    names = (
        Enterprise.name.label("enterprise_name"),
        assigner.display_name.label("assigned_by_name"),
    )
    return assigner, (*CARD_COLUMNS, *names)


def task_cards(stmt: sa.Select) -> sa.Select:
    """`stmt`, the user's own tasks, reading plain rows of what their cards show, with the
    enterprise's name and the name of whoever assigned them (enterprise_name, assigned_by_name):
    我的任务 shows up to a hundred, and reads no task as an object."""
    assigner, columns = _card_columns()
    return (
        stmt.with_only_columns(*columns)
        .join(Enterprise, Enterprise.id == FollowUp.enterprise_id)
        .outerjoin(assigner, assigner.id == FollowUp.assigned_by_id)
    )


def week_end(today: date) -> date:
    """The last day (Sunday) of today's week."""
    return today + timedelta(days=6 - today.weekday())


# 我的任务 shows the most urgent tasks of each group and how many the group holds: an officer
# who has let hundreds pile up still gets the page at once, and works from the top. A page of
# every other list holds 25 rows; so does a group here (a tablet scrolls through four of them).
SECTION_LIMIT = 25


@dataclass
class TaskSection:
    key: str
    label: object
    tasks: list[sa.Row]
    count: int

    @property
    def hidden(self) -> int:
        return self.count - len(self.tasks)


@dataclass
class TaskGroups:
    """我的任务: 逾期 / 今天 / 本周 / 以后, each its first SECTION_LIMIT tasks and its count."""

    overdue: list[sa.Row] = field(default_factory=list)
    today: list[sa.Row] = field(default_factory=list)
    this_week: list[sa.Row] = field(default_factory=list)
    later: list[sa.Row] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def sections(self) -> list[TaskSection]:
        return [
            TaskSection(key, label, tasks, self.counts.get(key, len(tasks)))
            for key, label, tasks in (
                ("overdue", _l("Overdue"), self.overdue),
                ("today", _l("Today"), self.today),
                ("week", _l("This week"), self.this_week),
                ("later", _l("Later"), self.later),
            )
        ]

    @property
    def total(self) -> int:
        return sum(section.count for section in self.sections())


def open_tasks_of(user: User) -> sa.Select:
    within, scope = _scope_of(user)
    return _open_tasks(within).params(user_id=user.id, **scope)


def task_groups(due: sa.ColumnElement, today: date) -> dict[str, sa.ColumnElement[bool]]:
    """The groups of 我的任务 as conditions on a due date: overdue, today, this week, later."""
    return _groups(due, today, week_end(today))


def _groups(due: sa.ColumnElement, today: object, end: object) -> dict[str, sa.ColumnElement[bool]]:
    return {
        "overdue": due < today,
        "today": due == today,
        "week": sa.and_(due > today, due <= end),
        "later": due > end,
    }


# 我的任务's statements are built once, with the user, the day and the limit as parameters: the
# page asks up to six, and building a statement and looking it up among the compiled ones took
# a millisecond each, three times what the database took to answer it.


def _scope_of(user: User) -> tuple[bool, dict[str, list[str]]]:
    """Whether the user's tasks are to be kept within a region (not for the city's), and the
    :counties parameter that does it: a task of a county the user no longer covers (they moved,
    or its enterprise did) is not theirs to see."""
    if user.region.is_root:
        return False, {}
    return True, {"counties": sorted(codes_within(user.region_code))}


def _tasks_of_user(status: FollowUpStatus, within: bool) -> sa.Select:
    """The tasks of the user :user_id in `status` (in the :counties, when `within`)."""
    stmt = sa.select(FollowUp).where(
        FollowUp.assignee_id == sa.bindparam("user_id"), FollowUp.status == status
    )
    if within:
        stmt = stmt.where(FollowUp.county_code.in_(sa.bindparam("counties", expanding=True)))
    return stmt


@cache
def _open_tasks(within: bool) -> sa.Select:
    """The open tasks of the user :user_id, the most urgent first."""
    return _tasks_of_user(FollowUpStatus.TODO, within).order_by(*TASK_ORDER)


@dataclass(frozen=True)
class _MyTaskStatements:
    counted: sa.Select  # the groups' counts
    first: dict[str, sa.Select]  # each group's first :limit cards
    every: dict[str, sa.Select]  # each group's cards, all of them


@cache
def _my_task_statements(within: bool) -> _MyTaskStatements:
    today = sa.bindparam("today", type_=sa.Date())
    bounds = _groups(FollowUp.due_on, today, sa.bindparam("week_end", type_=sa.Date()))
    tasks = _open_tasks(within)
    every = {key: task_cards(tasks.where(bound)) for key, bound in bounds.items()}
    return _MyTaskStatements(
        counted=tasks.with_only_columns(
            *(sa.func.count().filter(bound) for bound in bounds.values())
        ).order_by(None),
        first={
            key: stmt.limit(sa.bindparam("limit", type_=sa.Integer()))
            for key, stmt in every.items()
        },
        every=every,
    )


def my_tasks(
    user: User, today: date, limit: int = SECTION_LIMIT, expanded: str | None = None
) -> TaskGroups:
    """The user's open tasks by group: the counts in one statement, then each non-empty group's
    first `limit` tasks in due order (all of the `expanded` group's)."""
    within, scope = _scope_of(user)
    statements = _my_task_statements(within)
    given = {
        "user_id": user.id,
        "today": today,
        "week_end": week_end(today),
        "limit": limit,
        **scope,
    }
    counted = db.session.execute(statements.counted, given).one()
    groups = TaskGroups(counts=dict(zip(statements.every, counted, strict=True)))
    lists = {"overdue": groups.overdue, "today": groups.today, "week": groups.this_week,
             "later": groups.later}  # fmt: skip
    for key, count in groups.counts.items():
        if count:
            stmt = statements.every[key] if key == expanded else statements.first[key]
            lists[key].extend(db.session.execute(stmt, given))
    return groups


@cache
def _recently_done(within: bool) -> sa.Select:
    """The last :limit tasks the user :user_id has done, newest first."""
    return (
        _tasks_of_user(FollowUpStatus.DONE, within)
        .order_by(FollowUp.completed_at.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )


def recently_done(user: User, limit: int = 10) -> sa.Select:
    """The user's last tasks done, newest first (read off ix_followups_assignee_status_completed,
    not sorted: an officer's done tasks only grow)."""
    within, scope = _scope_of(user)
    return _recently_done(within).params(user_id=user.id, limit=limit, **scope)


@cache
def _recently_done_cards(within: bool) -> sa.Select:
    return task_cards(_recently_done(within))


def recently_done_of(user: User, limit: int = 10) -> list[sa.Row]:
    within, scope = _scope_of(user)
    given = {"user_id": user.id, "limit": limit, **scope}
    return list(db.session.execute(_recently_done_cards(within), given))


@dataclass
class BoardRow:
    assignee: User
    open: int
    overdue: int
    due_this_week: int
    done_recently: int


def board_rows(user: User, today: date) -> list[BoardRow]:
    """Per officer, the section's tasks: open, overdue, due this week, done in the last 30 days
    (one aggregate query over the chief's scope)."""
    todo = FollowUp.status == FollowUpStatus.TODO
    done_recently = sa.and_(
        FollowUp.status == FollowUpStatus.DONE,
        FollowUp.completed_at >= utcnow() - timedelta(days=30),
    )
    stmt = (
        scoped(
            sa.select(
                FollowUp.assignee_id,
                sa.func.count().filter(todo),
                sa.func.count().filter(todo, FollowUp.due_on < today),
                sa.func.count().filter(todo, FollowUp.due_on.between(today, week_end(today))),
                sa.func.count().filter(done_recently),
            ),
            user,
            joined=(FollowUp,),
        )
        # Not the older done tasks: a section's history outgrows its open work many times over.
        .where(sa.or_(todo, done_recently))
        .group_by(FollowUp.assignee_id)
    )
    counts = {row[0]: row[1:] for row in db.session.execute(stmt)}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(counts)))}
    rows = [BoardRow(people[i], *counts[i]) for i in counts]
    return sorted(rows, key=lambda r: (-r.overdue, -r.open, r.assignee.display_name))


def board_tasks(user: User, today: date, assignee_id: int | None) -> list[FollowUp]:
    """The open tasks the board lists: one officer's, or the section's overdue ones."""
    stmt = scoped(sa.select(FollowUp), user).where(FollowUp.status == FollowUpStatus.TODO)
    if assignee_id is not None:
        stmt = stmt.where(FollowUp.assignee_id == assignee_id)
    else:
        stmt = stmt.where(FollowUp.due_on < today)
    stmt = stmt.order_by(*TASK_ORDER).limit(BOARD_LIMIT)
    return list(db.session.scalars(with_task_details(stmt)))


def assignable() -> list[User]:
    """Active officers and chiefs, by region and name: who can be given tasks."""
    stmt = (
        sa.select(User)
        .where(User.active.is_(True), User.role.in_(ASSIGNEE_ROLES))
        .order_by(User.region_code, User.display_name)
    )
    return list(db.session.scalars(stmt))


def assignee_choices(
    actor: User, county_code: str, candidates: list[User] | None = None
) -> list[User]:
    """Whom a chief may give a task on an enterprise of `county_code`: active officers and
    chiefs who work there and lie within the chief's own scope (of `candidates`, when a page
    that asks for several counties has read them once)."""
    return [
        u
        for u in (assignable() if candidates is None else candidates)
        if in_scope(u, county_code) and in_scope(actor, u.region_code)
    ]
