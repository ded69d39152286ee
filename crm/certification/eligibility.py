"""Eligibility checks for 高新技术企业 (国科发火〔2016〕32号, article 11) and 科技型中小企业
(科技型中小企业评价办法): pure functions of the figures given, one result per criterion with the
figure, the threshold, pass or fail, and what is missing in words.

Money is in 万元. Figures arrive as numbers or strings; they are read as Decimal, so a ratio of
exactly 10 % is 10 % (no floating-point rounding decides a boundary). A figure that is missing
fails its criterion with a request to supply it.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation
from typing import Any

from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today

HIGH_TECH_FIELDS = {
    "electronic_info": _l("Electronic information"),
    "bio_medicine": _l("Biology and new medicine"),
    "aerospace": _l("Aerospace"),
    "new_materials": _l("New materials"),
    "high_tech_services": _l("High-tech services"),
    "new_energy": _l("New energy and energy saving"),
    "resources_environment": _l("Resources and environment"),
    "advanced_manufacturing": _l("Advanced manufacturing and automation"),
}
HIGH_TECH_KEYS = (
    "age",
    "ip",
    "field",
    "tech_staff_ratio",
    "rnd_ratio",
    "rnd_domestic_ratio",
    "high_tech_revenue_ratio",
    "innovation_score",
    "compliance",
)
TECH_SME_KEYS = ("size", "compliance", "direct", "score")

PERCENT = Decimal(100)
# Wide enough for any ratio of the figures allowed (a tiny sales figure makes a huge share).
WIDE = Context(prec=80)
SMALL_SALES = Decimal(5000)  # 万元: up to here R&D must be 5 % of sales
MEDIUM_SALES = Decimal(20000)  # up to and including 2 亿: 4 %; above: 3 %
MIN_INNOVATION_SCORE = 71
SME_LIMITS = {"staff": Decimal(500), "sales": Decimal(20000), "assets": Decimal(20000)}
SME_MIN_SCORE = 60
# Tiers (ratio in %, points), best first.
SME_STAFF_TIERS = ((30, 20), (25, 16), (20, 12), (15, 8), (10, 4))
SME_RND_SALES_TIERS = ((6, 50), (5, 40), (4, 30), (3, 20), (2, 10))
SME_RND_COST_TIERS = ((30, 50), (25, 40), (20, 30), (15, 20), (10, 10))
SME_IP_CLASS2_POINTS = {4: 24, 3: 18, 2: 12, 1: 6}
SME_DIRECT = ("high_tech_valid", "provincial_rnd_institution", "national_award", "led_standard")


@dataclass(frozen=True)
class Criterion:
    key: str
    passed: bool
    value: Any
    threshold: Any
    explanation: str


@dataclass(frozen=True)
class Result:
    eligible: bool
    criteria: list[Criterion]
    # Alternatives that did not decide (科小: the score when the enterprise qualifies directly).
    excused: frozenset[str] = frozenset()

    @property
    def missing(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed and c.key not in self.excused]


def number(value: Any) -> Decimal | None:
    """A figure as Decimal; None when missing or not a finite number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _ratio(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole * PERCENT


def _percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'), context=WIDE):f}%"


def _money(value: Decimal) -> str:
    """Whole 万元, rounded up: what must still be found."""
    return f"{value.to_integral_value(rounding=ROUND_CEILING):f}"


def _missing(key: str, threshold: Any, what: str) -> Criterion:
    return Criterion(key, False, None, threshold, _("%(what)s: not given.", what=what))


def one_year_after(day: date) -> date:
    """The same date a year later (29 February: the 28th; the calendar's last year: its end)."""
    if day.year >= date.max.year:
        return date.max
    last = calendar.monthrange(day.year + 1, day.month)[1]
    return day.replace(year=day.year + 1, day=min(day.day, last))


def _age(figures: dict[str, Any]) -> Criterion:
    founded, applying = figures.get("founded_on"), figures.get("apply_on") or local_today()
    if not isinstance(founded, date):
        return _missing("age", 365, _("Founding date"))
    days = (applying - founded).days
    passed = days >= 365 and one_year_after(founded) <= applying  # (the calendar's end clamps)
    if passed:
        text = _("Founded %(days)d days before applying (at least one year).", days=days)
    else:
        text = _(
            "Founded %(days)d days before applying; one full year is needed (from %(date)s).",
            days=days,
            date=one_year_after(founded).isoformat(),
        )
    return Criterion("age", passed, days, 365, text)


def _ip(figures: dict[str, Any]) -> Criterion:
    first, second = number(figures.get("ip_class1")) or 0, number(figures.get("ip_class2")) or 0
    passed = first >= 1 or second >= 1
    text = (
        _("Owns core IP: %(a)s class I, %(b)s class II.", a=f"{first:f}", b=f"{second:f}")
        if passed
        else _("No core IP: at least one class I or class II item is needed.")
    )
    return Criterion("ip", passed, {"class1": int(first), "class2": int(second)}, 1, text)


def _field(figures: dict[str, Any]) -> Criterion:
    field = figures.get("field")
    passed = field in HIGH_TECH_FIELDS
    text = (
        _("Field: %(name)s.", name=HIGH_TECH_FIELDS[field])
        if passed
        else _("The products must fall in one of the eight national high-tech fields.")
    )
    return Criterion("field", passed, field, list(HIGH_TECH_FIELDS), text)


def _share(key: str, label: str, part: Any, whole: Any, minimum: int, unit: str) -> Criterion:
    """A share of at least `minimum` %; what is missing in `unit` when it falls short."""
    part_n, whole_n = number(part), number(whole)
    share = _ratio(part_n, whole_n)
    if share is None and part_n is not None and whole_n is not None:  # a whole of 0
        text = _("%(what)s cannot be worked out: the total it is a share of is 0.", what=label)
        return Criterion(key, False, None, minimum, text)
    if share is None:
        return _missing(key, minimum, label)
    passed = share >= minimum
    if passed:
        text = _(
            "%(what)s %(value)s (at least %(min)d%%).",
            what=label,
            value=_percent(share),
            min=minimum,
        )
    else:
        short = whole_n * minimum / PERCENT - part_n
        text = _(
            "%(what)s %(value)s; at least %(min)d%% is needed, %(short)s %(unit)s short.",
            what=label,
            value=_percent(share),
            min=minimum,
            short=_money(short),
            unit=unit,
        )
    return Criterion(
        key, passed, float(share.quantize(Decimal("0.0001"), context=WIDE)), minimum, text
    )


def rnd_minimum(sales_last_year: Decimal) -> int:
    """The R&D share of sales required: 5 % up to 5000 万, 4 % up to and including 2 亿, 3 %."""
    if sales_last_year <= SMALL_SALES:
        return 5
    if sales_last_year <= MEDIUM_SALES:
        return 4
    return 3


def _rnd_ratio(figures: dict[str, Any]) -> Criterion:
    sales = number(figures.get("sales_last_year"))
    if sales is None:
        return _missing("rnd_ratio", None, _("Sales of the latest year"))
    label = str(_l("R&D expenses over three years as a share of sales"))
    return _share(
        "rnd_ratio",
        label,
        figures.get("rnd_3y"),
        figures.get("sales_3y"),
        rnd_minimum(sales),
        _("10 000 yuan"),
    )


def _score(figures: dict[str, Any]) -> Criterion:
    score = number(figures.get("innovation_score"))
    if score is None:
        return _missing("innovation_score", MIN_INNOVATION_SCORE, _("Innovation score"))
    passed = score >= MIN_INNOVATION_SCORE
    text = _(
        "Innovation score %(score)s; at least %(min)d is needed.",
        score=f"{score:f}",
        min=MIN_INNOVATION_SCORE,
    )
    return Criterion("innovation_score", passed, float(score), MIN_INNOVATION_SCORE, text)


def _compliance(figures: dict[str, Any]) -> Criterion:
    incident = bool(figures.get("major_incident"))
    text = (
        _("A major safety, quality or environmental incident in the last year rules it out.")
        if incident
        else _("No major safety, quality or environmental incident.")
    )
    return Criterion("compliance", not incident, incident, False, text)


# A figure that is part of another cannot be larger than it: (part, whole, what the whole is).
PARTS = (
    ("tech_staff", "staff", _l("Cannot be more than the staff.")),
    ("rnd_domestic_3y", "rnd_3y", _l("Cannot be more than the R&D expenses.")),
    ("high_tech_revenue", "total_revenue", _l("Cannot be more than the total revenue.")),
    ("sales_last_year", "sales_3y", _l("Cannot be more than the three years' sales.")),
    ("rnd", "total_cost", _l("Cannot be more than the total costs and expenses.")),
)


def impossible_figures(figures: dict[str, Any]) -> dict[str, str]:
    """Figures that cannot all be true (a part larger than its whole, a founding after the
    application), by field: the check would pass on them what no enterprise is."""
    wrong = {}
    for part, whole, message in PARTS:
        part_n, whole_n = number(figures.get(part)), number(figures.get(whole))
        if part_n is not None and whole_n is not None and part_n > whole_n:
            wrong[part] = str(message)
    founded, applying = _day(figures.get("founded_on")), _day(figures.get("apply_on"))
    if founded is not None and applying is not None and founded > applying:
        wrong["founded_on"] = _("The founding cannot come after the application date.")
    return wrong


def _day(value: Any) -> date | None:
    """A date figure, as the form gives it or as a case keeps it (ISO text)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def check_high_tech(figures: dict[str, Any]) -> Result:
    """高新技术企业: every criterion must pass."""
    criteria = [
        _age(figures),
        _ip(figures),
        _field(figures),
        _share(
            "tech_staff_ratio",
            str(_l("Science and technology staff as a share of all staff")),
            figures.get("tech_staff"),
            figures.get("staff"),
            10,
            _("people"),
        ),
        _rnd_ratio(figures),
        _share(
            "rnd_domestic_ratio",
            str(_l("R&D spent in China as a share of all R&D")),
            figures.get("rnd_domestic_3y"),
            figures.get("rnd_3y"),
            60,
            _("10 000 yuan"),
        ),
        _share(
            "high_tech_revenue_ratio",
            str(_l("High-tech products and services as a share of revenue")),
            figures.get("high_tech_revenue"),
            figures.get("total_revenue"),
            60,
            _("10 000 yuan"),
        ),
        _score(figures),
        _compliance(figures),
    ]
    return Result(all(c.passed for c in criteria), criteria)


def _tier(share: Decimal | None, tiers: tuple[tuple[int, int], ...]) -> int:
    if share is None:
        return 0
    return next((points for minimum, points in tiers if share >= minimum), 0)


def _size(figures: dict[str, Any]) -> Criterion:
    values = {key: number(figures.get(key)) for key in SME_LIMITS}
    given = {key: value for key, value in values.items() if value is not None}
    over = [key for key, value in given.items() if value > SME_LIMITS[key]]
    passed = len(given) == len(SME_LIMITS) and not over
    if passed:
        text = _("Within the size limits: at most 500 staff, sales and assets at most 2 亿 each.")
    elif over:
        text = _("Above the size limits (at most 500 staff, sales and assets at most 2 亿 each).")
    else:
        text = _("Staff, sales and total assets are all needed to check the size limits.")
    value = {key: (float(v) if v is not None else None) for key, v in values.items()}
    return Criterion("size", passed, value, {k: float(v) for k, v in SME_LIMITS.items()}, text)


def _direct(figures: dict[str, Any]) -> Criterion:
    held = [key for key in SME_DIRECT if figures.get(key)]
    text = (
        _(
            "Qualifies directly (a valid high-tech certificate, a provincial R&D institution, a "
            "national award or a led standard)."
        )
        if held
        else _("No direct qualification: the score decides.")
    )
    return Criterion("direct", bool(held), held, list(SME_DIRECT), text)


def sme_points(figures: dict[str, Any]) -> dict[str, int]:
    """The three parts of the 科技型中小企业 score."""
    staff_share = _ratio(number(figures.get("tech_staff")), number(figures.get("staff")))
    rnd = number(figures.get("rnd"))
    rnd_points = max(
        _tier(_ratio(rnd, number(figures.get("sales"))), SME_RND_SALES_TIERS),
        _tier(_ratio(rnd, number(figures.get("total_cost"))), SME_RND_COST_TIERS),
    )
    first, second = number(figures.get("ip_class1")) or 0, number(figures.get("ip_class2")) or 0
    ip_points = 30 if first >= 1 else SME_IP_CLASS2_POINTS.get(min(int(second), 4), 0)
    return {
        "tech_staff": _tier(staff_share, SME_STAFF_TIERS),
        "rnd": rnd_points,
        "ip": ip_points,
    }


def _sme_score(figures: dict[str, Any]) -> Criterion:
    points = sme_points(figures)
    total = sum(points.values())
    passed = total >= SME_MIN_SCORE and points["tech_staff"] > 0
    if passed:
        text = _("Score %(total)d (at least 60).", total=total)
    elif points["tech_staff"] == 0:
        text = _(
            "Score %(total)d; science and technology staff below 10%% score nothing, which "
            "rules the score out.",
            total=total,
        )
    else:
        text = _(
            "Score %(total)d; at least 60 is needed, %(short)d points short.",
            total=total,
            short=SME_MIN_SCORE - total,
        )
    return Criterion("score", passed, total, SME_MIN_SCORE, text)


def check_tech_sme(figures: dict[str, Any]) -> Result:
    """科技型中小企业: within the size limits, compliant, and qualifying directly or by score."""
    size, compliance = _size(figures), _compliance(figures)
    direct, score = _direct(figures), _sme_score(figures)
    eligible = size.passed and compliance.passed and (direct.passed or score.passed)
    # Either alternative qualifies: the other is not missing; when neither does, the score is.
    excused = frozenset({"direct", "score"} if direct.passed or score.passed else {"direct"})
    return Result(eligible, [size, compliance, direct, score], excused)
