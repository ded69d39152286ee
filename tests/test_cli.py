"""`flask --app crm crm …` commands."""

import re
from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.db import utcnow
from crm.demo import DEMO_PASSWORD
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, YIYANG, UserInfo, log_in


def users(app):
    with app.app_context():
        return {u.username: u for u in db.session.scalars(sa.select(User))}


def test_create_user_with_password(app, client):
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "create-user",
            "--username",
            "Root",
            "--role",
            "admin",
            "--password",
            "first1234",
            "--display-name",
            "信息中心",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "已创建用户 root" in result.output
    root = users(app)["root"]
    assert (root.role, root.region_code, root.must_change_password) == (Role.ADMIN, CITY, False)
    log_in(client, UserInfo(root.id, "root", "admin", CITY, "first1234"))


def test_create_user_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "--username", "zhao", "--role", "officer", "--region", YIYANG],
        input="prompted99\nprompted99\n",
    )
    assert result.exit_code == 0, result.output
    assert users(app)["zhao"].region_code == YIYANG
    assert "Repeat" not in result.output and "再次输入密码" in result.output
    mistyped = app.test_cli_runner().invoke(
        args=["crm", "create-user", "--username", "qian", "--role", "officer"],
        input="prompted99\nprompted98\n",
    )
    assert mistyped.exit_code == 1 and "两次输入的密码不一致" in mistyped.output
    assert "qian" not in users(app)


def test_create_user_refuses_bad_input_and_creates_nothing(app):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(
        args=["crm", "create-user", "--username", "a1", "--role", "boss", "--password", "pass12345"]
    )
    assert bad_role.exit_code == 2
    bad_region = runner.invoke(
        args=[
            "crm",
            "create-user",
            "--username",
            "a1",
            "--role",
            "officer",
            "--region",
            "999999",
            "--password",
            "pass12345",
        ]
    )
    assert bad_region.exit_code == 1 and "region_code" in bad_region.output
    weak = runner.invoke(
        args=["crm", "create-user", "--username", "a1", "--role", "officer", "--password", "weak"]
    )
    assert weak.exit_code == 1 and "8" in weak.output
    assert users(app) == {}


def test_create_token_prints_a_working_token(app, client, create_user):
    user = create_user("officer")
    result = app.test_cli_runner().invoke(args=["crm", "create-token", "--username", user.username])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["username"] == user.username


def test_create_token_for_an_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(args=["crm", "create-token", "--username", "nobody"])
    assert result.exit_code == 1


def test_demo_creates_one_user_per_role_and_the_county_users(app, client):
    result = app.test_cli_runner().invoke(args=["crm", "demo"])
    assert result.exit_code == 0, result.output
    assert f"密码均为 {DEMO_PASSWORD}" in result.output
    created = users(app)
    assert {u.role for u in created.values()} == set(Role)
    assert (created["yiyang"].role, created["yiyang"].region_code) == (Role.OFFICER, YIYANG)
    assert (created["mengjin"].role, created["mengjin"].region_code) == (Role.VIEWER, MENGJIN)
    log_in(client, UserInfo(created["admin"].id, "admin", "admin", CITY, DEMO_PASSWORD))


def test_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["crm", "demo"])
    again = runner.invoke(args=["crm", "demo"])
    assert again.exit_code == 0 and "新建 0 个用户" in again.output
    assert len(users(app)) == 6


def test_a_large_demo_spreads_its_work_over_county_staff(app, client, monkeypatch):
    """About one officer per ENTERPRISES_PER_OFFICER of a county's enterprises and a chief
    where there are officers: the visits, problems and tasks of a city-size demo are shared by
    them as in a bureau, not piled on the few named accounts. A second run adds none."""
    from crm import demo
    from crm.enterprises.models import Enterprise
    from crm.followups.models import FollowUp
    from crm.problems.models import Problem
    from crm.visits.models import Visit

    monkeypatch.setattr(demo, "ENTERPRISES_PER_OFFICER", 10)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "demo", "--enterprises", "280", "--visits", "2000"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        per_county = dict(
            db.session.execute(
                sa.select(Enterprise.county_code, sa.func.count()).group_by(Enterprise.county_code)
            ).all()
        )
        staff = db.session.scalars(sa.select(User).where(demo.is_county_staff())).all()
        officers = [u for u in staff if u.role is Role.OFFICER]
        for county, count in per_county.items():
            theirs = [u for u in officers if u.region_code == county]
            assert len(theirs) == round(count / 10) > 0
            assert [
                u.username for u in staff if u.role is Role.CHIEF and u.region_code == county
            ] == [f"chief-{county}-01"]
        assert all(u.display_name and u.unit.endswith("科技局") for u in staff)
        led = sa.select(Visit.lead_id, sa.func.count()).group_by(Visit.lead_id)
        leads = dict(db.session.execute(led).all())
        ids = {u.id for u in officers}
        assert sum(n for lead, n in leads.items() if lead in ids) > 2000 / 2
        assert len(ids & set(leads)) > len(ids) * 0.9  # nearly every officer leads visits
        assignees = set(db.session.scalars(sa.select(FollowUp.assignee_id).distinct()))
        assert len(ids & assignees) > len(ids) * 0.9
        chiefs = {u.region_code: u.id for u in staff if u.role is Role.CHIEF}
        assigned = db.session.execute(
            sa.select(Problem.county_code, Problem.assigned_by_id)
            .where(Problem.assigned_by_id.is_not(None))
            .distinct()
        ).all()
        assert assigned and all(chiefs[county] == chief for county, chief in assigned)
    assert (
        f"{len(staff)} 名县区干部" in result.output and f"{officers[0].username}" in result.output
    )
    log_in(client, UserInfo(officers[0].id, officers[0].username, "officer", "", DEMO_PASSWORD))

    again = runner.invoke(args=["crm", "demo"])
    assert again.exit_code == 0 and "新建 0 个用户" in again.output


def test_demo_if_empty_leaves_a_used_database_alone(app, create_user):
    create_user("admin")
    result = app.test_cli_runner().invoke(args=["crm", "demo", "--if-empty"])
    assert "未载入演示数据" in result.output
    assert len(users(app)) == 1


def test_demo_enterprises_are_plausible_and_idempotent(app):
    from crm.demo import DEMO_ENTERPRISES
    from crm.enterprises import credit_code
    from crm.enterprises.models import Contact, Enterprise

    runner = app.test_cli_runner()
    runner.invoke(args=["crm", "demo"])
    with app.app_context():
        stored = db.session.scalars(sa.select(Enterprise)).all()
        assert len(stored) == DEMO_ENTERPRISES
        assert len({e.name for e in stored}) == DEMO_ENTERPRISES
        for enterprise in stored:
            assert credit_code.status(enterprise.credit_code) is credit_code.CodeStatus.VALID
            assert credit_code.registering_area(enterprise.credit_code) == enterprise.county_code
            assert enterprise.name.endswith("公司") and enterprise.name_initials
        assert len({e.county_code for e in stored}) == 14  # spread over every county
        assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == DEMO_ENTERPRISES
    again = runner.invoke(args=["crm", "demo"])
    assert "0 家企业" in again.output
    more = runner.invoke(args=["crm", "demo", "--enterprises", "12", "--seed", "7"])
    assert "12 家企业" in more.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == DEMO_ENTERPRISES + 12


def test_demo_enterprises_outnumber_the_names_of_one_brand(monkeypatch):
    """More enterprises than single-brand names: once those are used up, names of two brands
    (启航必达) follow, all distinct; before, the drawing never ended. A city's usual count is far
    from that point, so its names stay those of the seed."""
    from crm import demo

    counties = ["410327", "410323"]
    usual = demo.demo_enterprise_entries(demo.DEMO_ENTERPRISES * 10, 1, counties, {})
    assert not [v["name"] for v, _ in usual if sum(b in v["name"] for b in demo.BRANDS) > 1]
    monkeypatch.setattr(demo, "PLACES", ("洛阳", "河洛"))
    monkeypatch.setattr(demo, "BRANDS", ("启航", "必达"))
    monkeypatch.setattr(demo, "TRADES", (("新材料", "C30"),))
    monkeypatch.setattr(demo, "ENDINGS", ("有限公司",))
    entries = demo.demo_enterprise_entries(20, 1, counties, {})  # 8 single-brand names exist
    names = [values["name"] for values, _contact in entries]
    assert len(set(names)) == 20
    assert len({values["credit_code"] for values, _contact in entries}) == 20
    assert {name for name in names if "启航必达" in name or "必达启航" in name}


def test_demo_names_read_as_real_ones():
    """No word twice over (信息技术技术有限公司, 农业科技科技有限公司), and a place in brackets is
    written with full-width ones, as registered names are."""
    from crm import demo

    entries = demo.demo_enterprise_entries(demo.DEMO_ENTERPRISES * 10, 1, ["410327"], {})
    names = [values["name"] for values, _contact in entries]
    doubled = [n for n in names if re.search(r"(技术|科技)\1|[()]", n)]
    assert doubled == [] and any("（" in name for name in names)


def visit_count(app) -> int:
    from crm.visits.models import Visit

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Visit.id)))


def test_demo_visits_are_added_once_unless_asked_for(app):
    from crm.demo import DEMO_VISITS

    runner = app.test_cli_runner()
    assert runner.invoke(args=["crm", "demo"]).exit_code == 0
    assert visit_count(app) == DEMO_VISITS
    assert runner.invoke(args=["crm", "demo"]).exit_code == 0
    assert visit_count(app) == DEMO_VISITS
    assert runner.invoke(args=["crm", "demo", "--visits", "50"]).exit_code == 0
    assert visit_count(app) == DEMO_VISITS + 50


def test_demo_leaves_postgresql_with_fresh_statistics(app, database):
    """A bulk load leaves the planner's statistics behind the data until autovacuum catches up;
    the demo command refreshes them (on PostgreSQL; SQLite keeps none to refresh)."""
    assert app.test_cli_runner().invoke(args=["crm", "demo", "--visits", "30"]).exit_code == 0
    with app.app_context():
        if database.backend == "postgresql":
            analysed = db.session.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN "
                    "('visits', 'problems', 'enterprises') AND last_vacuum IS NOT NULL "
                    "AND last_analyze IS NOT NULL"
                )
            )
            assert analysed == 3
        else:  # no ANALYZE: SQLite's plans stay the ones the suite and the bench measure
            stat = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            assert db.session.scalar(sa.text(stat)) == 0


def test_demo_visits_are_plausible(app):
    from sqlalchemy.orm import selectinload

    from crm.enterprises.models import Enterprise
    from crm.i18n import local_today
    from crm.visits.models import Visit

    app.test_cli_runner().invoke(args=["crm", "demo"])
    with app.test_request_context():
        visits = db.session.scalars(
            sa.select(Visit).options(
                selectinload(Visit.enterprise),
                selectinload(Visit.lead),
                selectinload(Visit.companions),
                selectinload(Visit.policies),
                selectinload(Visit.problems),
            )
        ).all()
        today = local_today()
        assert all(today - timedelta(days=560) <= v.visit_date < today for v in visits)
        assert all(v.created_at <= utcnow() for v in visits)
        assert all(v.county_code == v.enterprise.county_code and v.summary for v in visits)
        assert len({v.client_uuid for v in visits}) == len(visits)
        leads = {(v.lead.username, v.county_code == YIYANG) for v in visits}
        city, county = {"chief", "officer"}, {"chief", "officer", "yiyang"}
        assert leads == {(u, False) for u in city} | {(u, True) for u in county}
        assert not any(v.lead in v.companions for v in visits)
        assert any(v.companions for v in visits) and any(v.next_step for v in visits)
        assert max(len(v.policies) for v in visits) == 3
        raised = [v for v in visits if v.problems]
        assert 0.2 < len(raised) / len(visits) < 0.4
        for visit in raised:
            for problem in visit.problems:
                assert (problem.raised_on, problem.county_code) == (
                    visit.visit_date,
                    visit.county_code,
                )
                assert problem.created_by_id == visit.lead_id
        newest: dict[int, date] = {}
        for visit in sorted(visits, key=lambda v: v.visit_date):
            newest[visit.enterprise_id] = visit.visit_date
        stored = db.session.execute(sa.select(Enterprise.id, Enterprise.last_visited_on)).all()
        assert {id_: day for id_, day in stored if day} == newest
        raised[0].problems[0].title = "新建厂房用地指标不足"
        db.session.flush()  # the ORM's version counter works on bulk-inserted problems


def test_demo_visits_depend_only_on_the_seed_and_the_data(app):
    from crm import demo
    from crm.problems.models import Problem, ProblemEvent
    from crm.visits.models import Visit

    app.test_cli_runner().invoke(args=["crm", "demo", "--visits", "0"])
    columns = (
        Visit.client_uuid,
        Visit.enterprise_id,
        Visit.lead_id,
        Visit.summary,
        Visit.created_at,
    )
    histories = (
        # Ids come from sequences, which PostgreSQL does not roll back: compare visit numbers.
        sa.select(Visit.client_uuid, Problem.status, Problem.assignee_id, Problem.due_on)
        .join(Visit, Problem.visit_id == Visit.id)
        .order_by(Problem.id),
        sa.select(ProblemEvent.step, ProblemEvent.at, ProblemEvent.note).order_by(ProblemEvent.id),
    )
    drawn = []
    with app.test_request_context():
        for _attempt in range(2):
            demo.load_demo_visits(30, seed=5)
            visits = db.session.execute(sa.select(*columns).order_by(*columns)).all()
            drawn.append([visits, *(db.session.execute(stmt).all() for stmt in histories)])
            db.session.rollback()
    assert len(drawn[0][0]) == 30 and drawn[0][1] and drawn[0] == drawn[1]


def test_demo_visits_drawn_in_a_second_process_are_those_drawn_in_this_one(app, monkeypatch):
    """A large load draws its chunks in a second process while this one inserts, and builds
    the indexes at its end: the rows are the ones this process would have drawn and inserted
    with the indexes kept up, ids and histories alike."""
    from crm import demo
    from crm.followups.models import FollowUp
    from crm.problems.models import Problem, ProblemEvent
    from crm.visits.models import Visit, VisitPolicy

    app.test_cli_runner().invoke(args=["crm", "demo", "--visits", "0"])
    drawn_here = []
    original_draw = demo.VisitDrawing.draw

    def draw_here(drawing, days):
        drawn_here.append(len(days))
        return original_draw(drawing, days)

    monkeypatch.setattr(demo.VisitDrawing, "draw", draw_here)
    statements = [
        sa.select(Visit.id, Visit.client_uuid, Visit.summary).order_by(Visit.id),
        sa.select(VisitPolicy.visit_id, VisitPolicy.policy_id).order_by(*VisitPolicy.__table__.c),
        sa.select(Problem.id, Problem.visit_id, Problem.status).order_by(Problem.id),
        sa.select(ProblemEvent.problem_id, ProblemEvent.step, ProblemEvent.at).order_by(
            ProblemEvent.id
        ),
        sa.select(FollowUp.visit_id, FollowUp.due_on).order_by(FollowUp.id),
    ]
    drawn = []
    built_after = []
    original_built_after = demo.built_after_load

    def built_after_load(session, *models):
        built_after.append(models)
        return original_built_after(session, *models)

    monkeypatch.setattr(demo, "built_after_load", built_after_load)
    monkeypatch.setattr(demo, "VISIT_CHUNK", 10)
    with app.test_request_context():
        # Four chunks drawn here with the indexes kept up, then over there with them built after.
        for apart_from, indexed_after in ((5, 1000), (2, 40)):
            monkeypatch.setattr(demo, "DRAWN_APART_FROM", apart_from)
            monkeypatch.setattr(demo, "INDEXED_AFTER_FROM", indexed_after)
            demo.load_demo_visits(40, seed=5)
            drawn.append([db.session.execute(statement).all() for statement in statements])
            db.session.rollback()
    assert drawn_here == [10, 10, 10, 10]  # the second load drew nothing in this process
    assert built_after == [demo.VISIT_TABLES]  # and built the indexes once, at its end
    visits, _policies, problems, events, followups = drawn[0]
    assert len(visits) == 40 and problems and events and followups
    assert drawn[1] == drawn[0]


def test_records_added_after_the_demo_get_ids_of_their_own(app, client, login):
    """The demo gives its visits and problems their ids itself; the ones recorded later get
    the ids after them (on PostgreSQL, the sequences have moved on)."""
    from crm.problems.models import Problem
    from crm.visits.models import Visit
    from tests.test_visits import form_visit, post_form

    runner = app.test_cli_runner()
    assert runner.invoke(args=["crm", "demo", "--visits", "200"]).exit_code == 0
    with app.app_context():
        newest = [db.session.scalar(sa.select(sa.func.max(m.id))) for m in (Visit, Problem)]
        enterprise = db.session.scalar(sa.select(Visit.enterprise_id).where(Visit.id == newest[0]))
    login("officer")
    assert post_form(client, form_visit(enterprise)).status_code == 302
    with app.app_context():
        added = [db.session.scalar(sa.select(sa.func.max(m.id))) for m in (Visit, Problem)]
    assert added == [newest[0] + 1, newest[1] + 1]


def test_demo_certification_cases_have_their_histories_and_certificates(app):
    """Each demo case's events lead from 储备 to its stage, signed by its owner; a certified
    case's certificate is on its enterprise's record; a case opened afterwards gets the next id."""
    from crm.auth.models import User
    from crm.certification import operations
    from crm.certification.models import CertificationCase, Programme, StageEvent
    from crm.certification.workflow import FLOWS, SUCCESS
    from crm.enterprises.models import Enterprise

    assert app.test_cli_runner().invoke(args=["crm", "demo", "--visits", "0"]).exit_code == 0
    with app.app_context():
        cases = db.session.scalars(sa.select(CertificationCase).order_by(CertificationCase.id))
        cases = cases.all()
        assert {case.programme for case in cases} == set(Programme)
        assert {case.stage for case in cases} > {SUCCESS[Programme.HIGH_TECH]}
        for case in cases:
            events = sorted(case.events, key=lambda event: (event.at, event.id))
            assert events[0].from_stage is None and events[0].to_stage == FLOWS[case.programme][0]
            assert [e.from_stage for e in events[1:]] == [e.to_stage for e in events[:-1]]
            assert events[-1].to_stage == case.stage and case.version == 1
            assert {e.actor_name for e in events} == {case.owner.display_name}
            assert case.created_at == events[0].at and case.stage_since == events[-1].at
            enterprise = case.enterprise
            if case.stage != SUCCESS[case.programme]:
                assert not case.certificate_no and case.valid_until is None
            elif case.programme == Programme.HIGH_TECH:
                assert enterprise.high_tech and case.valid_from < case.valid_until
                assert enterprise.high_tech_certificate == case.certificate_no
                assert enterprise.high_tech_valid_until == case.valid_until
            else:
                assert (enterprise.tech_sme, enterprise.tech_sme_year) == (True, case.year)
                assert enterprise.tech_sme_number == case.certificate_no
        assert db.session.scalar(sa.select(sa.func.count(StageEvent.id))) == sum(
            len(case.events) for case in cases
        )
        chief = db.session.scalar(sa.select(User).where(User.username == "chief"))
        without = sa.select(CertificationCase.enterprise_id)
        enterprise = db.session.scalar(
            sa.select(Enterprise).where(Enterprise.id.not_in(without)).limit(1)
        )
        opened = operations.open_case(chief, enterprise, {"programme": "high_tech"})
        assert opened.id == cases[-1].id + 1


def replay(problem) -> None:
    """The problem's events are a path through the workflow that ends where the problem is."""
    from crm.problems.models import ProblemStatus
    from crm.problems.workflow import TRANSITIONS, Step

    raised, *steps = problem.events
    assert (raised.step, raised.from_status, raised.to_status, raised.version) == (
        Step.RAISE,
        None,
        ProblemStatus.NEW,
        1,
    )
    previous = raised
    for event in steps:
        transition = TRANSITIONS[Step(event.step)]
        assert event.from_status == previous.to_status and event.from_status in transition.sources
        assert event.to_status == transition.target and event.version == previous.version + 1
        assert previous.at < event.at <= utcnow() and event.actor_name
        previous = event
    assert (problem.status, problem.version) == (previous.to_status, previous.version)
    assert problem.reopen_count == sum(e.step == Step.REOPEN for e in problem.events)


def check_fields(problem, chief, today) -> None:
    """What each state leaves on the problem, as the operations would have left it."""
    from crm.auth.scope import in_scope
    from crm.i18n import local_date
    from crm.problems.models import ProblemStatus, Satisfaction
    from crm.problems.workflow import Step

    status = problem.status
    if status == ProblemStatus.NEW:
        assert problem.assignee_id is None and not problem.unit and problem.due_on is None
        return
    assigned = [e for e in problem.events if e.step == Step.ASSIGN][-1]
    assert (problem.assigned_by_id, problem.assigned_at) == (chief.id, assigned.at)
    assert assigned.details["due_on"] == problem.due_on.isoformat()
    days = 30 if problem.major else 7
    assert problem.due_on == local_date(assigned.at) + timedelta(days=days)
    if problem.unit:
        assert problem.assignee_id is None and assigned.details["assignee"] == problem.unit
        assert re.fullmatch(r"\S+ 0379-6\d{7}", problem.unit_contact)
    else:
        assert in_scope(problem.assignee, problem.county_code)
        assert assigned.details["assignee"] == problem.assignee.display_name
    assert (problem.acknowledged_at is None) == (status == ProblemStatus.ASSIGNED)
    assert (problem.resolved_on is not None) == (
        status in (ProblemStatus.RESOLVED, ProblemStatus.CLOSED)
    )
    assert bool(problem.unresolvable_reason) == (status == ProblemStatus.UNRESOLVABLE)
    if status == ProblemStatus.CLOSED:
        assert problem.satisfaction != Satisfaction.DISSATISFIED and problem.callback_comment
        assert problem.closed_by_id == chief.id and problem.resolved_on <= problem.closed_on
        assert problem.closed_on < today


def test_demo_problems_have_the_histories_their_age_allows(app):
    from sqlalchemy.orm import selectinload

    from crm.i18n import local_today
    from crm.problems import deadlines
    from crm.problems.models import Problem, ProblemStatus

    app.test_cli_runner().invoke(args=["crm", "demo", "--visits", "12000"])
    with app.test_request_context():
        today = local_today()
        chief = db.session.scalar(sa.select(User).where(User.username == "chief"))
        problems = db.session.scalars(
            sa.select(Problem).options(selectinload(Problem.events), selectinload(Problem.assignee))
        ).all()
        for problem in problems:
            replay(problem)
            check_fields(problem, chief, today)
        statuses = Counter(p.status for p in problems)
        assert set(statuses) == set(ProblemStatus)
        assert statuses[ProblemStatus.CLOSED] > 0.8 * len(problems)
        yesterday = today - timedelta(days=1)
        assert all(p.status == ProblemStatus.NEW for p in problems if p.raised_on == yesterday)
        open_ = [p for p in problems if p.status in deadlines.OPEN]
        overdue = [p for p in open_ if deadlines.is_overdue(p, today)]
        assert 0 < len(overdue) < 0.35 * len(open_)
        reopened = {p.status for p in problems if p.reopen_count}
        assert ProblemStatus.CLOSED in reopened and len(reopened) > 1
        assert 0.05 < sum(p.major for p in problems) / len(problems) < 0.15
        assert any(p.unit for p in problems) and any(p.assignee_id for p in problems)
