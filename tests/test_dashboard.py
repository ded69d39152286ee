"""The home page: the region's dashboard gives the monthly metrics' figures in the viewer's
scope, each number links to the list that reproduces it; officers get their own summary; the
page's statements do not grow with the data."""

import html
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.certification import operations as certification
from crm.dashboard.overview import COUNTY_KEYS, KPI_KEYS, Card, shown
from crm.enterprises.models import Enterprise
from crm.exports import metrics
from crm.extensions import cache, db
from crm.followups import operations as followups
from crm.followups.models import FollowUp
from crm.i18n import local_today
from crm.problems import operations as problems
from crm.problems.models import Problem
from crm.problems.workflow import Step
from crm.regions.models import Region
from crm.visits.operations import record_visit
from tests.conftest import CITY, MENGJIN, YIYANG, UserInfo, log_in, queries_for

# A figure and the list behind it (none for a figure with no list: an earlier month's overdue).
LINK = r'class="kpi-value[^"]*"(?: href="(?P<url>[^"]*)")?>(?P<value>[^<]*)<'
CARD = re.compile(r'id="kpi-(?P<key>\w+)" data-key.*?' + LINK, re.S)
MINE = re.compile(r'id="(?P<key>mine-[\w-]+)".*?' + LINK, re.S)
ROW = re.compile(r'<tr data-county="(?P<code>\d*)">(?P<cells>.*?)</tr>', re.S)
CELL = re.compile(
    r'<td class="text-end">(?:<a class="figure-link" href="(?P<url>[^"]*)">)?(?P<value>[^<]*)'
)


@dataclass
class Cast:
    chief: UserInfo
    officers: dict[str, UserInfo]


@pytest.fixture
def cast(create_user) -> Cast:
    return Cast(
        chief=create_user("chief", CITY),
        officers={YIYANG: create_user("officer", YIYANG), MENGJIN: create_user("officer", MENGJIN)},
    )


def _visit(officer: User, enterprise: Enterprise, day: date, *problems: str) -> None:
    values = {
        "client_uuid": str(uuid.uuid4()),
        "visit_date": day,
        "mode": "onsite",
        "summary": "了解研发投入和高企申报准备情况。",
        "problems": [{"category": c, "title": "企业诉求", "description": ""} for c in problems],
    }
    record_visit(officer, enterprise, values)


def _walk(chief: User, officer: User, problem: Problem, steps: list[Step], **given) -> None:
    for step in steps:
        actor = officer if step in (Step.ACCEPT, Step.RESOLVE) else chief
        values = {
            Step.ASSIGN: {"assignee_id": officer.id},
            Step.RESOLVE: {"resolution": "已协调解决"},
            Step.CLOSE: {"satisfaction": "satisfied", "comment": "企业满意"},
        }.get(step, {})
        problems.take_step(actor, problem, step, problem.version, {**values, **given})


@pytest.fixture
def add_activity(app, cast, create_enterprise):
    """add_activity(county): a month's work in the county — visits this month and last, an
    overdue problem, a closed one, a new one, a high-tech case, a task due today."""

    def add(county: str) -> None:
        ids = [create_enterprise(county_code=county).id for _ in range(2)]
        with app.app_context():
            today = local_today()
            last_month = metrics.Period.of(today, today).previous(today).first
            officer = db.session.get(User, cast.officers[county].id)
            chief = db.session.get(User, cast.chief.id)
            first, second = (db.session.get(Enterprise, i) for i in ids)
            _visit(officer, first, today, "talent", "financing", "land")
            _visit(officer, first, today)
            _visit(officer, second, last_month)
            late, closed, _new = db.session.scalars(
                sa.select(Problem).where(Problem.enterprise_id == first.id).order_by(Problem.id)
            )
            _walk(chief, officer, late, [Step.ASSIGN])
            late.due_on = today - timedelta(days=2)
            _walk(chief, officer, closed, [Step.ASSIGN, Step.ACCEPT, Step.RESOLVE, Step.CLOSE])
            certification.open_case(officer, second, {"programme": "high_tech"})
            task = followups.create_followup(
                officer, first, {"title": "送申报指南", "due_on": today + timedelta(days=1)}
            )
            task.due_on = today - timedelta(days=1)
            db.session.commit()

    return add


def cards(page: str, pattern: re.Pattern = CARD) -> dict[str, tuple[str, str]]:
    """{key: (shown value, link)} of the page's key-figure cards."""
    return {
        m["key"]: (m["value"].strip(), html.unescape(m["url"] or ""))
        for m in pattern.finditer(page)
    }


def county_rows(page: str) -> dict[str, list[tuple[str, str]]]:
    """{county code or "" for the total: [(shown value, link)] in COUNTY_KEYS order}."""
    return {
        m["code"]: [(c["value"], html.unescape(c["url"] or "")) for c in CELL.finditer(m["cells"])]
        for m in ROW.finditer(page)
    }


def chart_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page)
    return json.loads(found.group(1))


def listed(client, url: str, kind: str) -> int:
    """How many records (problems or visits) the list page at `url` shows."""
    page = client.get(url)
    assert page.status_code == 200, url
    return len(set(re.findall(rf'href="/{kind}/(\d+)"', page.text)))


def expected(app, region_code: str) -> tuple[metrics.Figures, metrics.Figures, dict]:
    """The metric module's figures for the region: this month, last month, per county."""
    with app.test_request_context():
        today = local_today()
        region = db.session.get(Region, region_code)
        period = metrics.Period.of(today, today)
        return (
            metrics.summary(region, period),
            metrics.summary(region, period.previous(today)),
            metrics.by_county(region, period),
        )


def test_the_city_dashboard_gives_the_monthly_figures(app, client, cast, add_activity):
    add_activity(YIYANG), add_activity(MENGJIN)
    log_in(client, cast.chief)
    page = client.get("/").text
    now, before, counties = expected(app, CITY)

    shown_cards = cards(page)
    assert list(shown_cards) == list(KPI_KEYS)
    for key in KPI_KEYS:
        assert shown_cards[key][0] == shown(now[key]), key
    assert now["visits"] == 4 and now["overdue_open"] == 2 and before["visits"] == 2
    rows = county_rows(page)
    assert len(rows) == len(counties) + 1  # every county, and the total
    for code, figures in counties.items():
        assert [value for value, _url in rows[code]] == [shown(figures[k]) for k in COUNTY_KEYS]
    assert [value for value, _url in rows[""]] == [shown(now[k]) for k in COUNTY_KEYS]
    charts = chart_data(page)
    assert len(charts["months"]) == metrics.TREND_MONTHS
    assert charts["visits"]["items"][-1]["value"] == now["visits"]
    assert charts["visits"]["items"][-2]["value"] == before["visits"]
    assert sum(item["value"] for item in charts["statuses"]) == now["problems_total"] == 6


def test_a_change_against_last_month():
    assert Card("visits", 5, 2, "").change_text == "3"
    assert Card("visits", 5, 2, "").tone == "good"
    assert Card("overdue_open", 5, 2, "").tone == "bad"
    assert Card("overdue_open", 1, 2, "").direction == "down"
    assert Card("visits", 2, 2, "").direction == "flat"
    assert Card("resolution_rate", Decimal("0.5"), None, "").direction == "none"
    assert Card("resolution_rate", Decimal("0.5"), Decimal("0.4875"), "").change == Decimal("1.3")
    assert Card("resolution_rate", Decimal("0.9412"), Decimal("0.9416"), "").direction == "flat"
    assert shown(Decimal("0.83335")) == "83.3%" and shown(Decimal("0.0005")) == "0.1%"
    assert shown(None) == "—" and shown(0) == "0"


def test_a_county_viewer_sees_only_the_county(app, client, create_user, add_activity):
    add_activity(YIYANG), add_activity(MENGJIN), add_activity(MENGJIN)
    log_in(client, create_user("viewer", YIYANG))
    page = client.get("/").text
    now, _before, _counties = expected(app, YIYANG)
    city, _, _ = expected(app, CITY)

    shown_cards = cards(page)
    for key in KPI_KEYS:
        assert shown_cards[key][0] == shown(now[key]), key
    assert now["visits"] == 2 and city["visits"] == 6
    assert now["overdue_open"] == 1 and city["overdue_open"] == 3
    assert now["high_tech_prospects"] == 1 and city["high_tech_prospects"] == 3
    for key, (_value, url) in shown_cards.items():
        assert ("high_tech" in key) != (f"county={YIYANG}" in url), key  # the board: no filter
    assert county_rows(page) == {}  # the per-county table is the city's
    charts = chart_data(page)
    assert sum(item["value"] for item in charts["categories"]) == 3
    assert charts["visits"]["items"][-1]["value"] == 2
    assert charts["funnel"][0]["value"] == 1
    assert MENGJIN not in page


@pytest.mark.parametrize("region", [CITY, YIYANG])
def test_the_overdue_figure_opens_the_ledger_of_exactly_those(
    app, client, create_user, add_activity, region
):
    add_activity(YIYANG), add_activity(MENGJIN), add_activity(MENGJIN)
    log_in(client, create_user("viewer", region))
    page = client.get("/").text
    value, url = cards(page)["overdue_open"]
    assert url.startswith("/problems/?") and "overdue=1" in url
    assert listed(client, url, "problems") == int(value) == expected(app, region)[0]["overdue_open"]
    visits_value, visits_url = cards(page)["visits"]
    assert listed(client, visits_url, "visits") == int(visits_value)


def test_an_earlier_months_overdue_figure_links_to_no_list_of_todays(
    app, client, cast, add_activity
):
    """Overdue at the end of an earlier month is not the ledger's overdue of today: the figure
    is shown without a link rather than with one to a list of other problems."""
    add_activity(YIYANG)
    log_in(client, cast.chief)
    with app.test_request_context():
        earlier = (local_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page = client.get("/", query_string={"month": earlier}).text
    card = re.search(r'id="kpi-overdue_open".*?</div>\s*</div>', page, re.S)[0]
    assert 'class="kpi-value"' in card and "overdue=1" not in card
    assert "overdue=1" not in page
    assert cards(page)["visits"][1].startswith("/visits/?")  # the other figures keep theirs


def test_every_county_row_links_to_its_lists(app, client, cast, add_activity):
    add_activity(YIYANG), add_activity(MENGJIN), add_activity(MENGJIN)
    log_in(client, cast.chief)
    rows = county_rows(client.get("/").text)
    column = {key: i for i, key in enumerate(COUNTY_KEYS)}
    for code in (YIYANG, MENGJIN, ""):
        for key in ("visits", "overdue_open", "new_problems"):
            value, url = rows[code][column[key]]
            kind = "visits" if key == "visits" else "problems"
            assert (f"county={code}" in url) == bool(code)
            assert listed(client, url, kind) == int(value), (code, key)


def test_officers_get_their_own_summary(app, client, cast, add_activity, create_user):
    add_activity(YIYANG), add_activity(MENGJIN)
    log_in(client, cast.officers[YIYANG])
    page = client.get("/").text
    assert "dashboard-data" not in page and "echarts" not in page
    mine = cards(page, MINE)
    assert {key: value for key, (value, _url) in mine.items()} == {
        "mine-visits": "2",
        "mine-problems": "1",
        "mine-problems-overdue": "1",
        "mine-tasks-overdue": "1",
        "mine-tasks-today": "0",
        "mine-tasks-week": "0",
    }
    assert listed(client, mine["mine-visits"][1], "visits") == 2
    assert listed(client, mine["mine-problems-overdue"][1], "problems") == 1
    assert mine["mine-tasks-overdue"][1] == "/tasks/#group-overdue"
    assert "Record a visit" in page or "记录走访" in page  # the tiles stay


def test_echarts_is_loaded_by_the_dashboard_only(client, cast):
    log_in(client, cast.chief)
    home = client.get("/").text
    assert "vendor/echarts/echarts.min.js" in home and "js/dashboard.js" in home
    assert "echarts" not in client.get("/problems/").text
    # The CSP forbids inline scripts: the charts' data is JSON, not code.
    for tag in re.findall(r"<script[^>]*>", home):
        assert " src=" in tag or 'type="application/json"' in tag, tag


@pytest.mark.parametrize("role", ["chief", "officer"])
def test_the_home_pages_statements_do_not_grow_with_the_data(app, client, cast, add_activity, role):
    user = cast.chief if role == "chief" else cast.officers[YIYANG]
    add_activity(YIYANG)
    log_in(client, user)
    few = queries_for(app, client, "/")
    add_activity(YIYANG), add_activity(MENGJIN), add_activity(MENGJIN)
    with app.app_context():
        cache.clear()  # the figures are computed again, over more data
    assert queries_for(app, client, "/") == few
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 4


@pytest.mark.parametrize("role", ["admin", "chief", "viewer", "officer"])
def test_who_gets_the_dashboard(client, login, role):
    login(role, CITY)
    page = client.get("/").text
    assert ('id="dashboard-data"' in page) == (role != "officer")
    assert ('id="mine-visits"' in page) == (role == "officer")
    assert 'id="tiles-title"' in page


def test_the_figures_written_once_serve_everyone_of_the_region_with_their_own_greeting(
    app, client, login, add_activity, create_user
):
    """The figures' HTML is kept with the figures: a second viewer of the city reads it from the
    cache (two statements: the session and the bell), under a greeting and shortcuts of their
    own; another language, or a county, gets figures written for it."""
    add_activity(YIYANG)
    login("chief", CITY, display_name="王科长")
    first = client.get("/").text
    admin = app.test_client()
    log_in(admin, create_user("admin", CITY, display_name="李管理员"))
    assert queries_for(app, admin, "/") == 2
    second = admin.get("/").text

    def figures(page: str) -> str:
        return page[page.index('aria-labelledby="kpi-title"') : page.index('id="tiles-title"')]

    assert figures(first) == figures(second) and cards(second) == cards(first)
    assert "您好，王科长" in first and "您好，李管理员" in second and "王科长" not in second
    assert 'href="/admin/users/"' in second and 'href="/admin/users/"' not in first
    admin.post("/language", data={"locale": "en", "next": "/"})
    assert "Visits per month" in admin.get("/").text and "Visits per month" not in first
    county = app.test_client()
    log_in(county, create_user("viewer", YIYANG))
    assert county_rows(county.get("/").text) == {} and county_rows(first) != {}


def test_figures_cached_by_the_release_before_are_not_read(app, client, login, add_activity):
    """A shared cache outlives a deployment: what the release before kept there, in the shape
    of its own, is not read as the figures' HTML."""
    from crm.dashboard.views import _month
    from crm.i18n import local_today

    add_activity(YIYANG)
    login("chief", CITY)
    with app.app_context():
        period = _month(None, local_today())
        stale = f"dashboard/{CITY}/{period.key}/{period.as_of}/zh_Hans_CN"
        cache.set(stale, ("an overview object", "<p>old figures</p>"))
    page = client.get("/")
    assert page.status_code == 200
    assert "old figures" not in page.text and 'aria-labelledby="kpi-title"' in page.text
