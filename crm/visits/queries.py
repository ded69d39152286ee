"""Reads of visits, always in scope: the filtered list, the officer's own, the offline list."""

from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload, selectinload, with_expression
from sqlalchemy.orm.interfaces import ORMOption
from wtforms import DateField, SelectChoice
from wtforms.validators import Optional

from crm import MAX_RECORD_ID
from crm.auth.models import User, names_only
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.forms import CrmForm, SelectField
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.problems.models import Problem
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
    end = DateField(_l("To"), validators=[Optional()])
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


def with_list_details(stmt: sa.Select) -> sa.Select:
    """What a list row shows: the enterprise, the officers, how many policies were explained
    and problems raised; in a fixed number of queries whatever the page size (the enterprise's
    name and county, of its 45 columns, and the lead officer come with the rows themselves)."""
    return stmt.options(*_list_details())


@cache
def _list_details() -> tuple[ORMOption, ...]:
    """Built once: loader options are immutable, and these take some 0.4 ms to build."""
    return (
        joinedload(Visit.enterprise, innerjoin=True).load_only(
            Enterprise.name, Enterprise.county_code
        ),
        names_only(joinedload(Visit.lead, innerjoin=True)),
        names_only(selectinload(Visit.companions)),
        *with_counts(),
    )


@cache
def counts() -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """A visit's number of policies explained and of problems raised, as subqueries on its row
    (built once)."""
    policies = sa.select(sa.func.count()).where(VisitPolicy.visit_id == Visit.id)
    problems = sa.select(sa.func.count(Problem.id)).where(Problem.visit_id == Visit.id)
    return policies.scalar_subquery(), problems.scalar_subquery()


@cache
def with_counts() -> tuple[ORMOption, ORMOption]:
    """Options filling Visit.policy_count and Visit.problem_count with the row itself (a
    subquery each), not by loading the policies and problems to count them (built once)."""
    policies, problems = counts()
    return (
        with_expression(Visit.policy_count, policies),
        with_expression(Visit.problem_count, problems),
    )


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
    """The enterprise a new visit is for; None when there is no such enterprise (the visit's
    rules then name the field), 404 when it lies outside the user's scope."""
    try:
        ident = int(enterprise_id)
    except (TypeError, ValueError):
        return None
    if not 0 < ident <= MAX_RECORD_ID:
        return None
    live = sa.select(Enterprise).where(Enterprise.id == ident, Enterprise.deleted_at.is_(None))
    if enterprise := db.session.scalars(scoped(live, user)).first():
        return enterprise
    if db.session.scalars(live).first() is not None:
        abort(404)
    return None


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
