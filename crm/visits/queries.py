"""Reads of visits, always in scope: the filtered list, the officer's own, the offline list."""

from datetime import date, timedelta
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from wtforms import DateField, SelectChoice
from wtforms.validators import Optional

from crm import MAX_RECORD_ID
from crm.auth.models import User
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.forms import CrmForm, NotBefore, SelectField
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.problems.models import Problem
from crm.regions.models import Region
from crm.visits.models import MODE_LABELS, Visit, VisitMode, VisitPolicy, visit_companions

OFFLINE_LIMIT = 3000
RECENT_DAYS = 180


class VisitFilterForm(CrmForm):
    class Meta:
        csrf = False

    county = SelectField(_l("County/district"), default="")
    township = SelectField(_l("Township/street"), default="")
    officer = SelectField(_l("Officer"), default="")
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional(), NotBefore("start")])
    mode = SelectField(
        _l("Visit mode"),
        choices=[
            SelectChoice("", _l("All")),
            *(SelectChoice(m.value, MODE_LABELS[m]) for m in VisitMode),
        ],
        default="",
    )
    policy = SelectField(_l("Policy"), default="")
    problems = SelectField(
        _l("Problems"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("yes", _l("With problems")),
            SelectChoice("no", _l("Without problems")),
        ],
        default="",
    )


def took_part(user_id: int) -> sa.ColumnElement[bool]:
    """The visits a user led or accompanied."""
    accompanied = sa.select(visit_companions.c.visit_id).where(
        visit_companions.c.user_id == user_id
    )
    return sa.or_(Visit.lead_id == user_id, Visit.id.in_(accompanied.scalar_subquery()))


def _where(stmt: sa.Select, form: VisitFilterForm) -> sa.Select:
    if form.county.data:
        stmt = stmt.where(Visit.county_code == form.county.data)
    if form.township.data:
        townships = sa.select(Enterprise.id).where(Enterprise.township_code == form.township.data)
        stmt = stmt.where(Visit.enterprise_id.in_(townships.scalar_subquery()))
    if form.officer.data:
        stmt = stmt.where(took_part(int(form.officer.data)))
    if form.start.data:
        stmt = stmt.where(Visit.visit_date >= form.start.data)
    if form.end.data:
        stmt = stmt.where(Visit.visit_date <= form.end.data)
    if form.mode.data:
        stmt = stmt.where(Visit.mode == VisitMode(form.mode.data))
    if form.policy.data:
        explained = sa.select(VisitPolicy.visit_id).where(
            VisitPolicy.policy_id == int(form.policy.data)
        )
        stmt = stmt.where(Visit.id.in_(explained.scalar_subquery()))
    if form.problems.data:
        raised = sa.exists().where(Problem.visit_id == Visit.id)
        stmt = stmt.where(raised if form.problems.data == "yes" else ~raised)
    return stmt


class VisitRow(NamedTuple):
    """A row of the visit list: what the list shows of a visit, its id first."""

    id: int
    visit_date: date
    mode: VisitMode
    summary: str
    enterprise_name: str
    county_name: str
    lead_name: str
    policy_count: int
    problem_count: int
    companions: list[str]


def list_rows(keys: list[int]) -> list[VisitRow]:
    """The visit list's rows of the visits `keys` (crm.db.paginate's `rows`), in two statements
    whatever the page size: the visits with their enterprise's name and county, their lead
    officer and their counts of policies explained and problems raised; then the companions'
    names. Plain rows: the list shows a few of the columns of four tables."""
    visits, companions = _list_rows()
    names: dict[int, list[str]] = {}
    for visit_id, name in db.session.execute(companions, {"keys": keys}):
        names.setdefault(visit_id, []).append(name)
    rows = db.session.execute(visits, {"keys": keys})
    return [VisitRow(*row, names.get(row[0], [])) for row in rows]


@cache
def _list_rows() -> tuple[sa.Select, sa.Select]:
    """The statements of list_rows, built once: every page of a visit list asks them, and a new
    statement is built and looked up among the compiled ones for a millisecond."""
    keys = sa.bindparam("keys", expanding=True)
    policies, problems = counts()
    visits = (
        sa.select(Visit.id, Visit.visit_date, Visit.mode, Visit.summary, Enterprise.name)
        .join(Enterprise, Enterprise.id == Visit.enterprise_id)
        .join(Region, Region.code == Enterprise.county_code)
        .join(User, User.id == Visit.lead_id)
        .add_columns(Region.name, User.display_name, policies, problems)
        .where(Visit.id.in_(keys))
    )
    companions = (
        sa.select(visit_companions.c.visit_id, User.display_name)
        .join(User, User.id == visit_companions.c.user_id)
        .where(visit_companions.c.visit_id.in_(keys))
        .order_by(User.display_name)
    )
    return visits, companions


@cache
def counts() -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """A visit's number of policies explained and of problems raised, as subqueries on its row
    (built once)."""
    policies = sa.select(sa.func.count()).where(VisitPolicy.visit_id == Visit.id)
    problems = sa.select(sa.func.count(Problem.id)).where(Problem.visit_id == Visit.id)
    return policies.scalar_subquery(), problems.scalar_subquery()


def with_full_details(stmt: sa.Select) -> sa.Select:
    """Everything the API gives of each visit, in a fixed number of queries."""
    return stmt.options(
        selectinload(Visit.enterprise),
        selectinload(Visit.lead),
        selectinload(Visit.companions),
        selectinload(Visit.policies),
        selectinload(Visit.problems),
        selectinload(Visit.attachments),
    )


def newest_first(stmt: sa.Select) -> sa.Select:
    return stmt.order_by(Visit.visit_date.desc(), Visit.id.desc())


def filtered_visits(form: VisitFilterForm, user: User) -> sa.Select:
    """The visits the user may see, filtered as the form says, newest first."""
    return newest_first(_where(scoped(sa.select(Visit), user), form))


def visits_of(user: User) -> sa.Select:
    """The visits the user led or accompanied, newest first."""
    return newest_first(scoped(sa.select(Visit), user).where(took_part(user.id)))


def enterprise_for_visit(enterprise_id: Any, user: User) -> Enterprise | None:
    """The enterprise a new visit is for; None when there is no such enterprise within the
    user's scope (the visit's rules then name the field). One outside the scope is answered as
    one that does not exist: the answer must not tell another county's ids from unused ones."""
    try:
        ident = int(enterprise_id)
    except (TypeError, ValueError):
        return None
    if not 0 < ident <= MAX_RECORD_ID:
        return None
    live = sa.select(Enterprise).where(Enterprise.id == ident, Enterprise.deleted_at.is_(None))
    return db.session.scalars(scoped(live, user)).first()


def offline_enterprises(user: User) -> list[dict[str, Any]]:
    """A compact list for the type-ahead without network: the user's assigned enterprises and
    those the user visited in the last half year."""
    since = local_today() - timedelta(days=RECENT_DAYS)
    visited = sa.select(Visit.enterprise_id).where(took_part(user.id), Visit.visit_date >= since)
    stmt = (
        scoped(sa.select(Enterprise), user)
        .where(sa.or_(Enterprise.liaison_id == user.id, Enterprise.id.in_(visited)))
        .order_by(Enterprise.name_pinyin, Enterprise.id)
        .limit(OFFLINE_LIMIT)
    )
    return [enterprise_option(e) for e in db.session.scalars(stmt)]


def enterprise_option(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": enterprise.id,
        "name": enterprise.name,
        "county": enterprise.county.name,
        "pinyin": enterprise.name_pinyin,
        "initials": enterprise.name_initials,
    }
