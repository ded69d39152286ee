"""Reads of the pipeline, always in scope: the board of a programme's year, its funnel, and the
enterprises closest to qualifying (潜在培育对象)."""

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.certification.eligibility import Criterion, check_high_tech
from crm.certification.models import CertificationCase, Programme, Stage, StageEvent
from crm.certification.workflow import stages_of
from crm.enterprises.models import Enterprise
from crm.extensions import db

PROSPECT_POOL = 2000
COLUMN_LIMIT = 20  # cards in a stage's column; the list view pages through all of them
BOARD_ORDER = (CertificationCase.stage_since, CertificationCase.id)
PROSPECTS_SHOWN = 50
# What the stored figures of an enterprise can tell (its field and score are not stored).
KNOWN = ("age", "ip", "tech_staff_ratio", "rnd_ratio", "high_tech_revenue_ratio")


def cases_of_year(
    user: User, programme: Programme, year: int, stage: Stage | None = None
) -> sa.Select:
    """The year's cases of the programme in the user's scope (in one stage), the longest in
    their stage first, with what a card or a row shows."""
    stmt = scoped(sa.select(CertificationCase).join(Enterprise), user, joined=(Enterprise,)).where(
        CertificationCase.programme == programme, CertificationCase.year == year
    )
    if stage is not None:
        stmt = stmt.where(CertificationCase.stage == stage)
    return stmt.options(
        contains_eager(CertificationCase.enterprise).load_only(Enterprise.name),
        joinedload(CertificationCase.owner),
    ).order_by(*BOARD_ORDER)


@dataclass
class BoardColumn:
    """A stage of the board: how many of the year's cases stand there, and the first of them
    (the longest in the stage first)."""

    count: int = 0
    cases: list[CertificationCase] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return self.count - len(self.cases)


def board(user: User, programme: Programme, year: int) -> dict[Stage, BoardColumn]:
    """Each stage's count and its first COLUMN_LIMIT cases, in two statements whatever the year
    holds (a city's year runs to thousands of cases; the list pages through them all)."""
    columns = {stage: BoardColumn() for stage in stages_of(programme)}
    year_cases = cases_of_year(user, programme, year).order_by(None)
    counted = year_cases.with_only_columns(CertificationCase.stage, sa.func.count()).group_by(
        CertificationCase.stage
    )
    for stage, count in db.session.execute(counted):
        columns[Stage(stage)].count = count
    place = sa.func.row_number().over(partition_by=CertificationCase.stage, order_by=BOARD_ORDER)
    ranked = year_cases.with_only_columns(CertificationCase.id, place.label("place")).subquery()
    first = sa.select(ranked.c.id).where(ranked.c.place <= COLUMN_LIMIT)
    for case in db.session.scalars(
        cases_of_year(user, programme, year).where(CertificationCase.id.in_(first))
    ):
        columns[case.stage].cases.append(case)
    return columns


def funnel(user: User, programme: Programme, year: int) -> list[tuple[Stage, int]]:
    """How many of the year's cases reached each stage of the flow (a case that went on, or
    ended later, counts for every stage it passed)."""
    cases = scoped(
        sa.select(CertificationCase.id).join(Enterprise), user, joined=(Enterprise,)
    ).where(CertificationCase.programme == programme, CertificationCase.year == year)
    stmt = (
        sa.select(StageEvent.to_stage, sa.func.count(sa.distinct(StageEvent.case_id)))
        .where(StageEvent.case_id.in_(cases.scalar_subquery()))
        .group_by(StageEvent.to_stage)
    )
    reached = {Stage(stage): count for stage, count in db.session.execute(stmt)}
    flow = [s for s in stages_of(programme) if s not in (Stage.REJECTED, Stage.WITHDRAWN)]
    # A case entered at a later stage (imported, say) still passed the earlier ones.
    counts, running = [], 0
    for stage in reversed(flow):
        running = max(running, reached.get(stage, 0))
        counts.append((stage, running))
    return list(reversed(counts))


def enterprise_figures(enterprise: Enterprise, today: date) -> dict:
    """The high-tech check's figures as far as the enterprise record holds them; three-year
    sums estimated as three times the last year's."""
    revenue, rnd = enterprise.revenue, enterprise.rnd_expense
    return {
        "founded_on": enterprise.founded_on,
        "apply_on": today,
        "ip_class1": enterprise.ip_class1,
        "ip_class2": enterprise.ip_class2,
        "staff": enterprise.staff,
        "tech_staff": enterprise.tech_staff,
        "sales_last_year": revenue,
        "sales_3y": revenue * 3 if revenue is not None else None,
        "rnd_3y": rnd * 3 if rnd is not None else None,
        "rnd_domestic_3y": rnd * 3 if rnd is not None else None,
        "high_tech_revenue": enterprise.high_tech_revenue,
        "total_revenue": revenue,
    }


@dataclass
class Prospect:
    enterprise: Enterprise
    passed: int
    missing: list[Criterion]


def prospects(user: User, today: date) -> list[Prospect]:
    """Enterprises in scope without a high-tech certificate, the closest to qualifying first:
    most of the criteria their stored figures can tell already met, then the highest R&D
    share. The pool is the PROSPECT_POOL with the highest R&D share of revenue."""
    share = Enterprise.rnd_expense / sa.func.nullif(Enterprise.revenue, 0)
    stmt = (
        scoped(sa.select(Enterprise), user)
        .where(
            sa.or_(Enterprise.high_tech.is_(False), Enterprise.high_tech_valid_until < today),
            Enterprise.revenue > 0,
        )
        .where(Enterprise.rnd_expense.is_not(None), Enterprise.staff > 0)
        .order_by(share.desc(), Enterprise.id)
        .limit(PROSPECT_POOL)
    )
    ranked = []
    for enterprise in db.session.scalars(stmt):
        result = check_high_tech(enterprise_figures(enterprise, today))
        known = [c for c in result.criteria if c.key in KNOWN]
        missing = [c for c in known if not c.passed]
        ranked.append(Prospect(enterprise, len(known) - len(missing), missing))
    ranked.sort(key=lambda p: -p.passed)  # stable: the R&D share's order within a count
    return ranked[:PROSPECTS_SHOWN]
