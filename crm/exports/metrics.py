"""The monthly figures: one definition of each, used by the workbook, the dashboard and the API.

Every figure is a function of a region (the city or one county) and a calendar month M of the
bureau's calendar (Asia/Shanghai), counted "as of the last day of M" — or as of today while M is
still under way (`Period.as_of`). Each metric below is a named function returning one SQL
aggregate; its docstring is its definition. `evaluate` puts the aggregates of one table into one
statement (per county when asked, and for several months at once: the dashboard's 18-month
trend is one scan per table), so nothing loops over rows in Python.

Conventions shared by the definitions:
- A record belongs to the county stored on it (the county of its enterprise when it was made).
- A problem raised in a visit is raised on the visit's date (`Problem.raised_on`).
- "Resolved" counts problems that reached resolved and stayed resolved or went on to closed,
  on the date they were resolved (a reopened problem has lost its resolution date).
- As in the ledger, a problem or task is not overdue on its due date itself.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from crm.auth.scope import codes_within
from crm.certification.models import CertificationCase, Programme, Stage, StageEvent
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.i18n import lazy_gettext as _l
from crm.problems.models import Problem, ProblemEvent, ProblemStatus
from crm.problems.workflow import Step
from crm.regions.models import Region
from crm.visits.models import Visit, VisitPolicy

RESOLVED = (ProblemStatus.RESOLVED, ProblemStatus.CLOSED)
OPEN = (ProblemStatus.ASSIGNED, ProblemStatus.IN_PROGRESS)
RESERVE = (Stage.PROSPECT, Stage.COACHING, Stage.PREPARING)
TREND_MONTHS = 18


# -- the month -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar month M: its first and last day, and the day its figures are counted to."""

    first: date
    last: date
    as_of: date
    closed: bool = False  # M is over: its last day has ended too

    @classmethod
    def of(cls, month: date, today: date) -> "Period":
        first = month.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return cls(first, last, min(last, today), closed=today > last)

    @property
    def overdue_before(self) -> date:
        """A due date before this one has passed: in a month that is over, its last day
        included (a task due on the 31st and not done is late when the figures go out on the
        1st; the next month does not count it); while it is under way, today is not yet."""
        return self.last + timedelta(days=1) if self.closed else self.as_of

    @property
    def key(self) -> str:
        """YYYY-MM, as the API and the file names write the month."""
        return f"{self.first:%Y-%m}"

    def previous(self, today: date) -> "Period":
        return Period.of(self.first - timedelta(days=1), today)

    def end_moment(self) -> datetime:
        """The first moment after `as_of` in the bureau's calendar, as aware time."""
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        return datetime.combine(self.as_of + timedelta(days=1), time(), tzinfo=zone)


FIRST_YEAR = 2000  # no figures before it


def parse_month(text: str) -> date:
    """'2026-10' → 2026-10-01; ValueError when it is not a month."""
    parsed = datetime.strptime(text.strip(), "%Y-%m").date()
    if parsed.year < FIRST_YEAR:
        raise ValueError(text)
    return parsed


def months_back(period: Period, count: int, today: date) -> list[Period]:
    """`count` months ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.insert(0, periods[0].previous(today))
    return periods


# -- SQL helpers -----------------------------------------------------------------------------


class local_day(FunctionElement):  # noqa: N801  (used like a SQL function)
    """The bureau's calendar day of a stored UTC moment, in SQL."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: Any, **kw: Any) -> str:
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"].replace("'", "")
    moment = compiler.process(element.clauses, **kw)
    return f"CAST(({moment}) AT TIME ZONE '{zone}' AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    # SQLite has no zone database; the bureau's zone (Asia/Shanghai) keeps one offset all year.
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    offset = datetime(2000, 1, 1, tzinfo=zone).utcoffset() or timedelta()
    moment = compiler.process(element.clauses, **kw)
    return f"date({moment}, '{int(offset.total_seconds())} seconds')"


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.count().filter(condition)


def _within(column: Any, first: date, last: date) -> sa.ColumnElement[bool]:
    return column.between(first, last)


# -- the tables the figures are read from ----------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A table (or join) the figures of one statement are read from, with its county column
    and a condition narrowing the rows to those any of the periods can count."""

    name: str
    select_from: Callable[[], Any]
    county: Callable[[], Any]
    rows: Callable[[Sequence[Period]], sa.ColumnElement[bool]]


VISITS = Source(
    "visits",
    lambda: Visit,
    lambda: Visit.county_code,
    lambda periods: _within(
        Visit.visit_date, min(p.first for p in periods), max(p.as_of for p in periods)
    ),
)
POLICIES = Source(
    "policies",
    lambda: sa.join(VisitPolicy, Visit, VisitPolicy.visit_id == Visit.id),
    lambda: Visit.county_code,
    VISITS.rows,
)
PROBLEMS = Source(
    "problems",
    lambda: Problem,
    lambda: Problem.county_code,
    lambda periods: Problem.raised_on <= max(p.as_of for p in periods),
)
REOPENINGS = Source(
    "reopenings",
    lambda: sa.join(ProblemEvent, Problem, ProblemEvent.problem_id == Problem.id),
    lambda: Problem.county_code,
    lambda periods: sa.and_(
        ProblemEvent.step == Step.REOPEN,
        ProblemEvent.at < max(p.end_moment() for p in periods),
    ),
)
FOLLOWUPS = Source(
    "followups",
    lambda: FollowUp,
    lambda: FollowUp.county_code,
    lambda periods: _within(
        FollowUp.due_on, min(p.first for p in periods), max(p.last for p in periods)
    ),
)
CASES = Source(
    "certification",
    lambda: CertificationCase,
    lambda: CertificationCase.county_code,
    lambda periods: sa.true(),
)


# -- the metrics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    name: Any  # the figure's full name (lazy text): 走访次数, 跟进任务到期
    label: Any  # its header on 汇总, under the group's header when it has one: 到期
    group: Any  # the header above a group of columns on 汇总 (跟进任务), or None
    source: Source | None
    aggregate: Callable[[Period], sa.ColumnElement] | None = None
    # for rates: the numerator and the parts whose sum is the denominator
    rate_of: tuple[str, tuple[str, ...]] | None = None

    @property
    def is_rate(self) -> bool:
        return self.rate_of is not None


METRICS: dict[str, Metric] = {}  # the figures of the report, in the report's order
PARTS: dict[str, Metric] = {}  # counts that rates are made of, not reported themselves


def metric(name: Any, source: Source, group: Any = None, label: Any = None, *, part: bool = False):
    def register(function: Callable[[Period], sa.ColumnElement]) -> Callable:
        registry = PARTS if part else METRICS
        key = function.__name__
        registry[key] = Metric(key, name, label or name, group, source, function)
        return function

    return register


def rate(key: str, label: Any, numerator: str, denominator: tuple[str, ...], doc: str) -> None:
    METRICS[key] = Metric(key, label, label, None, None, rate_of=(numerator, denominator))
    RATE_DEFINITIONS[key] = doc


RATE_DEFINITIONS: dict[str, str] = {}


@metric(_l("Enterprises visited"), VISITS)
def visited_enterprises(p: Period) -> sa.ColumnElement:
    """走访企业数: distinct enterprises with at least one visit dated in M."""
    return sa.func.count(sa.distinct(Visit.enterprise_id)).filter(
        _within(Visit.visit_date, p.first, p.as_of)
    )


@metric(_l("Visit count"), VISITS)
def visits(p: Period) -> sa.ColumnElement:
    """走访次数: visits dated in M."""
    return _count(_within(Visit.visit_date, p.first, p.as_of))


@metric(_l("Policy explanations"), POLICIES)
def policy_explanations(p: Period) -> sa.ColumnElement:
    """政策宣讲次数: (visit, policy) pairs of the visits dated in M."""
    return _count(_within(Visit.visit_date, p.first, p.as_of))


@metric(_l("New problems"), PROBLEMS)
def new_problems(p: Period) -> sa.ColumnElement:
    """新增问题数: problems raised in M."""
    return _count(_within(Problem.raised_on, p.first, p.as_of))


@metric(_l("Resolved this month"), PROBLEMS)
def resolved_in_month(p: Period) -> sa.ColumnElement:
    """本月办结数: problems now resolved or closed whose resolution date falls in M."""
    return _count(
        sa.and_(Problem.status.in_(RESOLVED), _within(Problem.resolved_on, p.first, p.as_of))
    )


@metric(_l("Problems to date"), PROBLEMS)
def problems_total(p: Period) -> sa.ColumnElement:
    """累计问题数: problems raised on or before the last day of M."""
    return _count(Problem.raised_on <= p.as_of)


@metric(_l("Resolved to date"), PROBLEMS)
def resolved_total(p: Period) -> sa.ColumnElement:
    """累计办结数: problems now resolved or closed, resolved on or before the last day of M."""
    return _count(
        sa.and_(
            Problem.raised_on <= p.as_of,
            Problem.status.in_(RESOLVED),
            Problem.resolved_on <= p.as_of,
        )
    )


rate(
    "resolution_rate",
    _l("Resolution rate"),
    "resolved_total",
    ("problems_total",),
    "办结率: 累计办结数 ÷ 累计问题数 (none when no problem was raised).",
)


# A call-back closes its problem (满意, 基本满意) or reopens it (不满意). A closed problem stays
# closed, so its closing date dates its call-back; the reopenings are read from the history.
@metric(_l("Call-backs satisfied"), PROBLEMS, part=True)
def callbacks_satisfied(p: Period) -> sa.ColumnElement:
    """Call-backs recorded on or before the last day of M that were 满意 or 基本满意: the
    problems closed by then."""
    return _count(sa.and_(Problem.status == ProblemStatus.CLOSED, Problem.closed_on <= p.as_of))


@metric(_l("Call-backs dissatisfied"), REOPENINGS, part=True)
def callbacks_dissatisfied(p: Period) -> sa.ColumnElement:
    """Call-backs recorded on or before the last day of M that were 不满意: the reopenings."""
    return _count(ProblemEvent.at < p.end_moment())


rate(
    "satisfaction_rate",
    _l("Satisfaction rate"),
    "callbacks_satisfied",
    ("callbacks_satisfied", "callbacks_dissatisfied"),
    "满意率: (满意 + 基本满意) ÷ call-backs recorded on or before the last day of M "
    "(none when there was no call-back).",
)


def overdue_at_end(p: Period) -> sa.ColumnElement[bool]:
    """A problem raised by the end of M, assigned or in progress then (those resolved since
    included), whose due date had passed by then (the ledger sheet marks them)."""
    unresolved_then = sa.or_(
        Problem.status.in_(OPEN),
        sa.and_(Problem.status.in_(RESOLVED), Problem.resolved_on > p.as_of),
    )
    return sa.and_(Problem.raised_on <= p.as_of, unresolved_then, Problem.due_on < p.overdue_before)


@metric(_l("Overdue, unresolved"), PROBLEMS)
def overdue_open(p: Period) -> sa.ColumnElement:
    """逾期未办结数: problems assigned or in progress at the end of M (those resolved since
    included) whose due date had passed by then (the last day included, once M is over)."""
    return _count(overdue_at_end(p))


FOLLOWUP_GROUP = _l("Follow-ups")


def done_on_time() -> sa.ColumnElement[bool]:
    """A task completed on or before its due date (the bureau's calendar day)."""
    return sa.and_(
        FollowUp.status == FollowUpStatus.DONE, local_day(FollowUp.completed_at) <= FollowUp.due_on
    )


def counted_task(p: Period) -> sa.ColumnElement[bool]:
    """A task due in M that counts for it: not cancelled by the end of M (one cancelled since,
    say with its enterprise deleted, was due then and stays so)."""
    cancelled_then = sa.and_(
        FollowUp.status == FollowUpStatus.CANCELLED,
        sa.or_(FollowUp.completed_at.is_(None), FollowUp.completed_at < p.end_moment()),
    )
    return sa.and_(_within(FollowUp.due_on, p.first, p.last), sa.not_(cancelled_then))


@metric(_l("Follow-ups due"), FOLLOWUPS, FOLLOWUP_GROUP, _l("Due in the month"))
def followups_due(p: Period) -> sa.ColumnElement:
    """跟进任务 到期: tasks due in M, but those cancelled by its end."""
    return _count(counted_task(p))


@metric(_l("Follow-ups done on time"), FOLLOWUPS, FOLLOWUP_GROUP, _l("Done on time"))
def followups_done_on_time(p: Period) -> sa.ColumnElement:
    """跟进任务 按期完成: of those, the ones completed on or before their due date."""
    return _count(sa.and_(counted_task(p), done_on_time()))


@metric(_l("Follow-ups overdue"), FOLLOWUPS, FOLLOWUP_GROUP, _l("Past due"))
def followups_overdue(p: Period) -> sa.ColumnElement:
    """跟进任务 逾期: of those, the ones not completed by their due date, once that date has
    passed (the last day of M included, once M is over)."""
    return _count(
        sa.and_(
            counted_task(p),
            FollowUp.due_on < p.overdue_before,
            sa.not_(done_on_time()),
        )
    )


HIGH_TECH_GROUP = _l("High-tech")
TECH_SME_GROUP = _l("Tech SME")


def as_it_stood(
    event: type[ProblemEvent] | type[StageEvent],
    of_record: sa.ColumnElement[bool],
    end: datetime,
    what: str,
    now: sa.ColumnElement,
) -> sa.ColumnElement:
    """A record's status (or stage) at the moment `end`, from its history: where the last step
    before it led (to_*), else where the first step after it started from (from_*, or its to_*
    for a first step, a problem raised on an earlier day than it was entered), else, with no
    history at all, what it is now."""
    before = (
        sa.select(getattr(event, f"to_{what}"))
        .where(of_record, event.at < end)
        .order_by(event.at.desc(), event.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    after = (  # a first step with no from_* (raised, entered late): where it led
        sa.select(sa.func.coalesce(getattr(event, f"from_{what}"), getattr(event, f"to_{what}")))
        .where(of_record, event.at >= end)
        .order_by(event.at, event.id)
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(before, after, now)


def stage_at_end(p: Period) -> sa.ColumnElement:
    """A case's stage at the end of M: the one it has now, when it reached it by then (most
    cases: no history is read); else where its moves had left it."""
    end = p.end_moment()
    then = as_it_stood(
        StageEvent,
        StageEvent.case_id == CertificationCase.id,
        end,
        "stage",
        CertificationCase.stage,
    )
    return sa.case((CertificationCase.stage_since < end, CertificationCase.stage), else_=then)


@metric(_l("High-tech in reserve"), CASES, HIGH_TECH_GROUP, _l("In reserve"))
def high_tech_prospects(p: Period) -> sa.ColumnElement:
    """高企 储备: high-tech cases opened by the end of M that stood then at 储备, 培育辅导 or
    材料准备 (a case submitted since still counts for M, as the 高企培育 sheet shows it)."""
    return _count(
        sa.and_(
            CertificationCase.programme == Programme.HIGH_TECH,
            CertificationCase.created_at < p.end_moment(),
            stage_at_end(p).in_(RESERVE),
        )
    )


@metric(_l("High-tech submitted"), CASES, HIGH_TECH_GROUP, _l("Submitted"))
def high_tech_submitted(p: Period) -> sa.ColumnElement:
    """高企 已申报: high-tech cases submitted in M's year up to the last day of M."""
    return _count(
        sa.and_(
            CertificationCase.programme == Programme.HIGH_TECH,
            _within(CertificationCase.submitted_on, p.first.replace(month=1), p.as_of),
        )
    )


@metric(_l("High-tech newly certified"), CASES, HIGH_TECH_GROUP, _l("Newly certified"))
def high_tech_certified_in_month(p: Period) -> sa.ColumnElement:
    """高企 新认定: high-tech cases certified with a result date in M."""
    return _count(
        sa.and_(
            CertificationCase.programme == Programme.HIGH_TECH,
            CertificationCase.stage == Stage.CERTIFIED,
            _within(CertificationCase.result_on, p.first, p.as_of),
        )
    )


@metric(_l("Tech SMEs newly registered"), CASES, TECH_SME_GROUP, _l("Newly registered"))
def tech_sme_registered_in_month(p: Period) -> sa.ColumnElement:
    """科小 新入库: tech-SME cases registered with a result date in M."""
    return _count(
        sa.and_(
            CertificationCase.programme == Programme.TECH_SME,
            CertificationCase.stage == Stage.REGISTERED,
            _within(CertificationCase.result_on, p.first, p.as_of),
        )
    )


KEYS = tuple(METRICS)  # in the order the design lists them (a test holds it to that)


def definition(key: str) -> str:
    """The definition of a figure (its docstring, or a rate's formula)."""
    if key in RATE_DEFINITIONS:
        return RATE_DEFINITIONS[key]
    entry = METRICS.get(key) or PARTS[key]
    return " ".join((entry.aggregate.__doc__ or "").split())


# -- evaluation ------------------------------------------------------------------------------

Figures = dict[str, int | Decimal | None]


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """A rate as a fraction 0–1 to four places; None when there is nothing to divide."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def region_condition(column: Any, region: Region) -> sa.ColumnElement[bool]:
    if region.is_root:
        return sa.true()
    return column.in_(sorted(codes_within(region.code)))


def evaluate(
    region: Region,
    periods: Sequence[Period],
    *,
    by_county: bool = False,
    keys: Iterable[str] | None = None,
) -> dict[tuple[str | None, str], Figures]:
    """The figures for the region and each period: {(county or None, month key): figures}.

    One statement per table; with `by_county` the rows are grouped by county (every county
    of the region appears, with zeros when it has nothing). `keys` limits the work to those
    figures (the others are left out of the result)."""
    counties = counties_of(region) if by_county else [None]
    counts = {(county, p.key): {} for county in counties for p in periods}
    wanted = list(keys) if keys is not None else list(METRICS)
    entries = _needed(wanted)
    for source in dict.fromkeys(m.source for m in entries if m.source is not None):
        mine = [m for m in entries if m.source is source]
        for county, values in _read(source, mine, region, periods, by_county):
            if (county, periods[0].key) not in counts:
                continue  # a code below the region that is not a county
            for period in periods:
                counts[county, period.key].update((m.key, next(values) or 0) for m in mine)
    return {slot: _figures(values, wanted) for slot, values in counts.items()}


def _needed(keys: list[str]) -> list[Metric]:
    """The counted metrics the figures `keys` are made of."""
    needed: dict[str, Metric] = {}
    for key in keys:
        entry = METRICS[key]
        parts = (entry.rate_of[0], *entry.rate_of[1]) if entry.rate_of else (key,)
        for part in parts:
            needed[part] = METRICS.get(part) or PARTS[part]
    return list(needed.values())


def _read(
    source: Source, mine: list[Metric], region: Region, periods: Sequence[Period], by_county: bool
) -> Iterator[tuple[str | None, Iterator[int]]]:
    """One statement: each metric of `mine` for each period (per county when asked)."""
    columns = [
        m.aggregate(p).label(f"m{j}_{i}") for j, p in enumerate(periods) for i, m in enumerate(mine)
    ]
    county_column = source.county()
    stmt = (
        sa.select(*columns)
        .select_from(source.select_from())
        .where(source.rows(periods), region_condition(county_column, region))
    )
    if by_county:
        stmt = stmt.add_columns(county_column).group_by(county_column)
    for row in db.session.execute(stmt):
        yield (row[-1] if by_county else None), iter(row)


def _figures(counts: dict[str, int], keys: list[str]) -> Figures:
    figures: Figures = {}
    for key in keys:
        entry = METRICS[key]
        if entry.rate_of:
            numerator, denominator = entry.rate_of
            total = sum(counts.get(part, 0) for part in denominator)
            figures[key] = ratio(counts.get(numerator, 0), total)
        else:
            figures[key] = counts.get(key, 0)
    return figures


def counties_of(region: Region) -> list[str]:
    from crm.regions.models import RegionLevel

    stmt = sa.select(Region.code).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)
    if not region.is_root:
        stmt = stmt.where(Region.code.in_(sorted(codes_within(region.code))))
    return list(db.session.scalars(stmt))


def summary(region: Region, period: Period) -> Figures:
    """The figures of one region and month: what the API returns and 汇总's 合计 row holds."""
    return evaluate(region, [period])[None, period.key]


def by_county(region: Region, period: Period) -> dict[str, Figures]:
    """The figures of each county of the region for one month: 汇总's rows."""
    return {
        county: figures
        for (county, _month), figures in evaluate(region, [period], by_county=True).items()
    }


def trend(
    region: Region, periods: Iterable[Period], keys: Iterable[str] | None = None
) -> dict[str, Figures]:
    """The figures (`keys`, or all) of the region for each month: {month key: figures}, oldest
    first."""
    periods = list(periods)
    results = evaluate(region, periods, keys=keys)
    return {period.key: results[None, period.key] for period in periods}
