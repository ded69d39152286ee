"""The region's overview on the home page: the month's key figures against last month, the
charts and the per-county table, each number with the link to the list behind it.

Every figure comes from the monthly metrics (crm.exports.metrics), so the dashboard, the
workbook and the API agree; the snapshot charts come from crm.dashboard.queries. The number
of statements is fixed: it does not grow with the data or the number of counties.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import get_locale
from markupsafe import Markup

from crm.auth.models import Role, User
from crm.certification.models import Programme
from crm.certification.queries import funnel
from crm.dashboard.queries import problems_by_category, problems_by_status
from crm.db import utcnow
from crm.exports.metrics import METRICS, TREND_MONTHS, Figures, Period, evaluate, months_back, trend
from crm.extensions import cache, db
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.regions.models import Region, RegionLevel

# The month's key figures, in the order of their cards.
KPI_KEYS = (
    "visited_enterprises",
    "visits",
    "resolution_rate",
    "satisfaction_rate",
    "overdue_open",
    "high_tech_prospects",
    "high_tech_submitted",
    "high_tech_certified_in_month",
)
RATE_KEYS = ("resolution_rate", "satisfaction_rate")
TREND_KEYS = ("visits", *RATE_KEYS)  # 18 months of them: the bars, then the lines
COUNTY_KEYS = (
    "visited_enterprises",
    "visits",
    "new_problems",
    "resolution_rate",
    "satisfaction_rate",
    "overdue_open",
)
# Figures where a rise is bad news (their change is shown in red).
FEWER_IS_BETTER = frozenset({"overdue_open"})
OVERVIEW_ROLES = frozenset({Role.ADMIN, Role.CHIEF, Role.VIEWER})
ONE_DECIMAL = Decimal("0.1")

Value = int | Decimal | None
Link = Callable[[Period, str | None], str | None]  # None: no list behind the figure


def sees_overview(user: User) -> bool:
    """Chiefs, viewers and admins get the region's dashboard; officers their own summary."""
    return user.role in OVERVIEW_ROLES


def shown(value: Value) -> str:
    """A figure as the page writes it: a count as it is, a rate in per cent with one
    decimal (0.8333 → 83.3%), a rate of nothing as —."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{(value * 100).quantize(ONE_DECIMAL, ROUND_HALF_UP)}%"
    return str(value)


# -- the lists behind the numbers: filters that reproduce each figure of a month --------------


def _visits(period: Period, county: str | None) -> str:
    return url_for("visits.index", county=county, start=period.first, end=period.as_of)


def _high_tech(period: Period, _county: str | None) -> str:
    # The board has no county filter: its scope is the viewer's.
    year = period.first.year
    return url_for("certification.index", programme=Programme.HIGH_TECH.value, year=year)


LINKS: dict[str, Link] = {
    "visited_enterprises": _visits,
    "visits": _visits,
    "new_problems": lambda p, county: url_for(
        "problems.index", county=county, start=p.first, end=p.as_of
    ),
    "resolution_rate": lambda p, county: url_for("problems.index", county=county, end=p.as_of),
    # The satisfied call-backs are the ones that closed their problem.
    "satisfaction_rate": lambda p, county: url_for(
        "problems.index", county=county, status="closed"
    ),
    # Overdue today: the ledger's own overdue filter, a list of today's; an earlier month's
    # figure (overdue at its end) has no list behind it.
    "overdue_open": lambda p, county: (
        url_for("problems.index", county=county, overdue=1) if p.as_of == local_today() else None
    ),
    "high_tech_prospects": _high_tech,
    "high_tech_submitted": _high_tech,
    "high_tech_certified_in_month": _high_tech,
}


# -- what the page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """A key figure of the month with last month's, and the link to the list behind it."""

    key: str
    value: Value
    previous: Value
    url: str | None  # None: no list behind the figure

    @property
    def name(self) -> Any:
        return METRICS[self.key].name

    @property
    def change(self) -> Value:
        """The change as the page shows it: a count's difference, a rate's in percentage
        points to one decimal; None when either month has nothing to divide."""
        if self.value is None or self.previous is None:
            return None
        if isinstance(self.value, Decimal):
            return ((self.value - self.previous) * 100).quantize(ONE_DECIMAL, ROUND_HALF_UP)
        return self.value - self.previous

    @property
    def direction(self) -> str:
        """up, down or flat; none when either month has nothing to divide."""
        change = self.change
        if change is None:
            return "none"
        return "up" if change > 0 else "down" if change < 0 else "flat"

    @property
    def tone(self) -> str:
        """good or bad news, or neutral (no change)."""
        if self.direction in ("none", "flat"):
            return "neutral"
        rising = self.direction == "up"
        return "bad" if rising == (self.key in FEWER_IS_BETTER) else "good"

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            return "—"
        if isinstance(change, Decimal):
            return _("%(points)s pp", points=abs(change))
        return str(abs(change))


@dataclass(frozen=True)
class Cell:
    value: Value
    url: str | None


@dataclass(frozen=True)
class CountyRow:
    code: str | None  # None for the region's total
    name: str
    cells: list[Cell]


@dataclass(frozen=True)
class Overview:
    computed_at: datetime
    period: Period
    county: str | None  # the viewer's county; None for the city
    cards: list[Card]
    counties: list[CountyRow]  # the city's: one per county, the total last
    charts: dict[str, Any]  # the charts' data, for static/js/dashboard.js

    @property
    def columns(self) -> list[Any]:
        """The names of the per-county table's figures."""
        return [METRICS[key].name for key in COUNTY_KEYS]


def _row(code: str | None, name: str, figures: Figures, period: Period) -> CountyRow:
    cells = [Cell(figures[key], LINKS[key](period, code)) for key in COUNTY_KEYS]
    return CountyRow(code, name, cells)


def _county_rows(region: Region, period: Period, total: Figures) -> list[CountyRow]:
    """The city's counties and its total; none on a county's own dashboard."""
    if not region.is_root:
        return []
    figures = evaluate(region, [period], by_county=True, keys=COUNTY_KEYS)
    counties = sa.select(Region.code, Region.name).where(Region.level == RegionLevel.COUNTY)
    names = {code: name for code, name in db.session.execute(counties)}
    rows = [
        _row(county, names[county], values, period)
        for (county, _month), values in sorted(figures.items())
    ]
    return [*rows, _row(None, _("Total"), total, period)]


def _number(value: Value) -> float | int | None:
    """A figure for a chart: rates in per cent."""
    if isinstance(value, Decimal):
        return float((value * 100).quantize(ONE_DECIMAL, ROUND_HALF_UP))
    return value


def _series(
    key: str, monthly: dict[str, Figures], months: list[Period], county: str | None
) -> dict[str, Any]:
    """A figure month by month, each point with the list behind it."""
    return {
        "name": str(METRICS[key].name),
        "items": [
            {"value": _number(monthly[p.key][key]), "url": LINKS[key](p, county)} for p in months
        ],
    }


def _slices(counts: dict[Any, int], field: str, county: str | None) -> list[dict[str, Any]]:
    """Problems per category or status, each with the ledger filtered to it."""
    return [
        {
            "name": member.label,
            "value": count,
            "url": url_for("problems.index", county=county, **{field: member.value}),
        }
        for member, count in counts.items()
    ]


def _charts(user: User, months: list[Period], county: str | None) -> dict[str, Any]:
    """The charts' data: 18 months of visits and rates, the problems as they stand, the
    high-tech funnel of the year (the board's own)."""
    monthly = trend(user.region, months, keys=TREND_KEYS)
    board = _high_tech(months[-1], county)
    stages = funnel(user, Programme.HIGH_TECH, months[-1].first.year)
    return {
        "months": [p.key for p in months],
        "visits": _series("visits", monthly, months, county),
        "rates": [_series(key, monthly, months, county) for key in RATE_KEYS],
        "categories": _slices(problems_by_category(user), "category", county),
        "statuses": _slices(problems_by_status(user), "status", county),
        "funnel": [{"name": stage.label, "value": count, "url": board} for stage, count in stages],
    }


def cached_overview(
    user: User, period: Period, today: date, written: Callable[[Overview], str]
) -> tuple[datetime, Markup]:
    """When the overview of the user's region was computed, and `written(overview)`, the page's
    figures as HTML (nothing of the viewer's own in it): both computed at most once per
    DASHBOARD_CACHE_SECONDS for everyone looking at the same region, month and language. The
    cache keeps the HTML alone, not the overview it was written from (which took ten times as
    long to read back)."""
    # A key of its own for each shape of entry: a shared cache (Redis) outlives a deployment,
    # and the entries of the one before held the overview itself.
    key = f"dashboard-html/{user.region_code}/{period.key}/{period.as_of}/{get_locale()}"
    found = cache.get(key)
    if found is None:
        board = overview(user, period, today)
        found = (board.computed_at, str(written(board)))
        cache.set(key, found, timeout=current_app.config["DASHBOARD_CACHE_SECONDS"])
    computed_at, html = found
    return computed_at, Markup(html)  # nosec B704: written by the product's own template


def overview(user: User, period: Period, today: date) -> Overview:
    """The dashboard of the user's region for a month (the one under way, or an earlier one)."""
    region = user.region
    previous = period.previous(today)
    county = None if region.is_root else region.code
    figures = trend(region, [previous, period], keys=dict.fromkeys((*KPI_KEYS, *COUNTY_KEYS)))
    now, before = figures[period.key], figures[previous.key]
    cards = [Card(key, now[key], before[key], LINKS[key](period, county)) for key in KPI_KEYS]
    months = months_back(period, TREND_MONTHS, today)
    return Overview(
        utcnow(),
        period,
        county,
        cards,
        _county_rows(region, period, now),
        _charts(user, months, county),
    )
