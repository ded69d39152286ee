"""Reads of the problem ledger, always in scope: filters, counts per status, my problems."""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from wtforms import DateField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from crm.auth.models import User, names_only
from crm.auth.scope import scoped
from crm.db import COUNT_LIMIT
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.forms import CrmForm, NotBefore, SelectField, searchable
from crm.i18n import lazy_gettext as _l
from crm.problems import deadlines
from crm.problems.models import CATEGORY_LABELS, Problem, ProblemCategory, ProblemStatus

LEDGER_ORDER = (Problem.raised_on.desc(), Problem.id.desc())
# Overdue problems the longest overdue first: what a chief chases first, and what the index on
# (county, status, due date) hands over without reading the county's whole ledger.
OVERDUE_ORDER = (Problem.due_on, Problem.id)


def ledger_order(overdue: bool) -> tuple:
    return OVERDUE_ORDER if overdue else LEDGER_ORDER


class LedgerFilterForm(CrmForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            *(SelectChoice(s.value, s.value) for s in ProblemStatus),
        ],
        default="",
    )
    category = SelectField(
        _l("Category"),
        choices=[
            SelectChoice("", _l("All")),
            *(SelectChoice(c.value, CATEGORY_LABELS[c]) for c in ProblemCategory),
        ],
        default="",
    )
    county = SelectField(_l("County/district"), default="")
    assignee = SelectField(_l("Assigned to"), default="")
    unit = StringField(
        _l("Responsible unit"), validators=[Optional(), Length(max=100)], filters=[searchable]
    )
    overdue = SelectField(
        _l("Deadline"),
        choices=[SelectChoice("", _l("All")), SelectChoice("1", _l("Overdue"))],
        default="",
    )
    reopened = SelectField(
        _l("Reopened"),
        choices=[SelectChoice("", _l("All")), SelectChoice("1", _l("Reopened at least once"))],
        default="",
    )
    start = DateField(_l("Raised from"), validators=[Optional()])
    end = DateField(_l("Raised until"), validators=[Optional(), NotBefore("start")])


def _where(stmt: sa.Select, form: LedgerFilterForm, today: date) -> sa.Select:
    """Every filter but the status (the tabs count per status under the other filters)."""
    if form.category.data:
        stmt = stmt.where(Problem.category == ProblemCategory(form.category.data))
    if form.county.data:
        stmt = stmt.where(Problem.county_code == form.county.data)
    if form.assignee.data:
        stmt = stmt.where(Problem.assignee_id == int(form.assignee.data))
    if form.unit.data:
        stmt = stmt.where(Problem.unit.contains(form.unit.data.strip(), autoescape=True))
    if form.overdue.data:
        stmt = stmt.where(deadlines.overdue(today))
    if form.reopened.data:
        stmt = stmt.where(Problem.reopen_count > 0)
    if form.start.data:
        stmt = stmt.where(Problem.raised_on >= form.start.data)
    if form.end.data:
        stmt = stmt.where(Problem.raised_on <= form.end.data)
    return stmt


def ledger(form: LedgerFilterForm, user: User, today: date) -> sa.Select:
    """The problems the user may see, filtered as the form says, newest first (overdue ones:
    the longest overdue first)."""
    stmt = _where(scoped(sa.select(Problem), user), form, today)
    if form.status.data:
        stmt = stmt.where(Problem.status == ProblemStatus(form.status.data))
    return stmt.order_by(*ledger_order(bool(form.overdue.data)))


@dataclass
class StatusCounts:
    """How many problems each status tab holds ("" for all of them), each status counted up to
    `limit`: past it a tab says "10000+" (as the list's own count says "more than 10 000"), and
    so does the whole ledger's."""

    counts: dict[str, int]
    limit: int

    def shown(self, status: str) -> str:
        capped = [count > self.limit for count in self.counts.values()]
        if status == "":
            return f"{self.limit}+" if any(capped) else str(sum(self.counts.values()))
        count = self.counts.get(status, 0)
        return f"{self.limit}+" if count > self.limit else str(count)


def status_counts(
    form: LedgerFilterForm, user: User, today: date, limit: int = COUNT_LIMIT
) -> StatusCounts:
    """The status tabs' counts under the other filters, in one statement: for each status, its
    problems up to limit + 1. Grouping a city's whole ledger by status reads every problem in
    it (350 000 for the full-scale city, 60 ms) on every page; this reads a bounded number of
    index entries however large the ledger grows, and a filtered ledger is counted exactly."""
    matching = _where(scoped(sa.select(Problem.id), user), form, today)
    per_status = [
        sa.select(sa.func.count())
        .select_from(matching.where(Problem.status == status).limit(limit + 1).subquery())
        .scalar_subquery()
        for status in ProblemStatus
    ]
    row = db.session.execute(sa.select(*per_status)).one()
    return StatusCounts(dict(zip((s.value for s in ProblemStatus), row, strict=True)), limit)


class LedgerRow(NamedTuple):
    """A row of the ledger: what it shows of a problem and what its deadline badges read (the
    names of Problem's attributes, so that crm.problems.deadlines reads either), its id first."""

    id: int
    title: str
    category: ProblemCategory
    status: ProblemStatus
    raised_on: date
    due_on: date | None
    assigned_at: datetime | None
    first_progress_at: datetime | None
    reopen_count: int
    major: bool
    unit: str
    version: int
    enterprise_name: str
    assignee_name: str | None


LEDGER_COLUMNS = (
    Problem.id,
    Problem.title,
    Problem.category,
    Problem.status,
    Problem.raised_on,
    Problem.due_on,
    Problem.assigned_at,
    Problem.first_progress_at,
    Problem.reopen_count,
    Problem.major,
    Problem.unit,
    Problem.version,
)


def ledger_rows(keys: list[int]) -> list[LedgerRow]:
    """The ledger's rows of the problems `keys` (crm.db.paginate's `rows`), in one statement:
    plain rows of the problem's columns shown, its enterprise's name and its assignee's."""
    return [LedgerRow(*row) for row in db.session.execute(_ledger_rows(), {"keys": keys})]


@cache
def _ledger_rows() -> sa.Select:
    """The statement of ledger_rows, built once: every page of the ledger asks it, and a new
    statement is built and looked up among the compiled ones for a millisecond."""
    return (
        sa.select(*LEDGER_COLUMNS, Enterprise.name, User.display_name)
        .join(Enterprise, Enterprise.id == Problem.enterprise_id)
        .outerjoin(User, User.id == Problem.assignee_id)
        .where(Problem.id.in_(sa.bindparam("keys", expanding=True)))
    )


def with_ledger_details(stmt: sa.Select) -> sa.Select:
    """What a ledger row shows, joined to the rows: the enterprise's name (of its 45 columns) and
    the assignee."""
    return stmt.options(
        joinedload(Problem.enterprise, innerjoin=True).load_only(Enterprise.name),
        names_only(joinedload(Problem.assignee)),
    )


def unfinished_problems_of(enterprise: Enterprise) -> int:
    """How many of the enterprise's problems are still to be closed (销号) or marked cannot be
    solved: new, assigned, in hand, or resolved and awaiting the call-back."""
    ended = (ProblemStatus.CLOSED, ProblemStatus.UNRESOLVABLE)
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Problem)
        .where(Problem.enterprise_id == enterprise.id, Problem.status.not_in(ended))
    )


def problems_of(user: User) -> sa.Select:
    """我的问题: what is assigned to the user and not finished, the most urgent first."""
    open_states = (ProblemStatus.ASSIGNED, ProblemStatus.IN_PROGRESS, ProblemStatus.RESOLVED)
    return (
        scoped(sa.select(Problem), user)
        .where(Problem.assignee_id == user.id, Problem.status.in_(open_states))
        .order_by(Problem.due_on.asc().nulls_last(), Problem.id)
    )
