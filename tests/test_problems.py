"""The problem ledger: the transition table, call-backs, conflicts, scope, deadlines, pages, API."""

import re
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from crm.auth.models import User
from crm.db import utcnow
from crm.errors import Conflict
from crm.extensions import db
from crm.followups.models import Notification, NotificationKind
from crm.followups.reminders import problem_deadlines
from crm.problems import deadlines, operations
from crm.problems.models import Problem, ProblemEvent, ProblemStatus
from crm.problems.workflow import Step
from tests.conftest import CITY, MENGJIN, YIYANG, bureau_today, log_in, queries_for
from tests.forms import forms_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
# What each step is given when it is taken.
GIVEN = {
    "assign": lambda people: {"assignee_id": people["assignee"]},
    "accept": lambda people: {},
    "progress": lambda people: {"note": "已与市人社局对接"},
    "resolve": lambda people: {"resolution": "已协调解决人才公寓 3 套"},
    "close": lambda people: {"satisfaction": "satisfied", "comment": "企业满意"},
    "reopen": lambda people: {"satisfaction": "dissatisfied", "comment": "还没落实"},
    "mark_unresolvable": lambda people: {"note": "涉及国家政策调整，暂无法解决"},
}
# The steps that lead to each state from a new problem.
PATH = {
    "new": [],
    "assigned": ["assign"],
    "in_progress": ["assign", "accept"],
    "resolved": ["assign", "accept", "resolve"],
    "closed": ["assign", "accept", "resolve", "close"],
    "unresolvable": ["assign", "mark_unresolvable"],
}
# The transition table as the product promises it: (state, step) → who may take the step.
ALLOWED = {
    ("new", "assign"): {"chief"},
    ("assigned", "assign"): {"chief"},
    ("in_progress", "assign"): {"chief"},
    ("assigned", "accept"): {"assignee"},
    ("in_progress", "progress"): {"assignee"},
    ("in_progress", "resolve"): {"assignee"},
    ("resolved", "close"): {"chief"},
    ("resolved", "reopen"): {"chief"},
    ("assigned", "mark_unresolvable"): {"chief"},
    ("in_progress", "mark_unresolvable"): {"chief"},
}
ACTORS = ("admin", "chief", "assignee", "other_officer", "viewer")


@pytest.fixture
def people(create_user):
    """Users of 宜阳县 (the problems' county), keyed by their part in the workflow."""
    return {
        "admin": create_user("admin", YIYANG),
        "chief": create_user("chief", YIYANG),
        "assignee": create_user("officer", YIYANG),
        "other_officer": create_user("officer", YIYANG),
        "viewer": create_user("viewer", YIYANG),
    }


@pytest.fixture
def make_problem(app, create_enterprise, people):
    """make_problem(state="new", county=YIYANG) → the id of a problem walked to that state."""
    enterprises = {}

    def make(state: str = "new", county: str = YIYANG, **fields) -> int:
        if county not in enterprises:
            enterprises[county] = create_enterprise(county_code=county)
        with app.app_context():
            from crm.enterprises.models import Enterprise

            enterprise = db.session.get(Enterprise, enterprises[county].id)
            cleaned = {"category": "talent", "title": "缺少研发人才", "description": ""}
            problem = operations.raise_problem(
                None, enterprise, cleaned, bureau_today() - timedelta(days=3), **fields
            )
            ids = {name: info.id for name, info in people.items()}
            for step in PATH[state]:
                actor_name = "assignee" if step in ("accept", "progress", "resolve") else "chief"
                if county != YIYANG:
                    actor_name = "county_chief"
                actor = db.session.get(User, ids.get(actor_name) or _chief_of(county))
                values = GIVEN[step]({"assignee": ids["assignee"]})
                if county != YIYANG and step == "assign":
                    values = {"unit": "孟津区自然资源局"}
                operations.take_step(actor, problem, Step(step), problem.version, values)
            db.session.commit()
            return problem.id

    return make


def _chief_of(county: str) -> int:
    chief = db.session.scalars(
        sa.select(User).where(User.role == "chief", User.region_code == county)
    ).first()
    if chief is None:
        from crm.auth import operations as auth_operations

        chief = auth_operations.create_user(
            None,
            username=f"chief{county}",
            display_name="县科长",
            role="chief",
            region_code=county,
            password="secret123",
            must_change_password=False,
        )
        db.session.flush()
    return chief.id


def state_of(app, problem_id: int) -> tuple[str, int, int]:
    with app.app_context():
        problem = db.session.get(Problem, problem_id)
        events = db.session.scalar(
            sa.select(sa.func.count()).where(ProblemEvent.problem_id == problem_id)
        )
        return problem.status.value, problem.version, events


@pytest.mark.parametrize("state", PATH)
def test_every_state_step_and_role(app, people, make_problem, state):
    clients = {}
    for name, user in people.items():
        clients[name] = app.test_client()
        log_in(clients[name], user)
    wrong = []
    for step in GIVEN:
        for actor in ACTORS:
            problem_id = make_problem(state)
            before = state_of(app, problem_id)
            data = {"version": before[1], **GIVEN[step]({"assignee": people["assignee"].id})}
            response = clients[actor].post(f"/problems/{problem_id}/steps/{step}", data=data)
            after = state_of(app, problem_id)
            if actor in ALLOWED.get((state, step), set()):
                ok = response.status_code == 302 and after[2] == before[2] + 1
                ok = ok and after[1] == before[1] + 1
            else:
                ok = response.status_code in (403, 422) and after == before
            if not ok:
                wrong.append((step, actor, response.status_code, before, after))
    assert wrong == []


def test_closing_needs_a_call_back_and_dissatisfied_reopens(app, client, people, make_problem):
    problem_id = make_problem("resolved")
    log_in(client, people["chief"])
    version = state_of(app, problem_id)[1]
    refused = client.post(
        f"/api/v1/problems/{problem_id}/transition", json={"to": "closed", "version": version}
    )
    assert refused.status_code == 422 and "satisfaction" in refused.json["error"]["fields"]
    assert state_of(app, problem_id)[0] == "resolved"
    reopened = client.post(
        f"/api/v1/problems/{problem_id}/transition",
        json={
            "to": "closed",
            "version": version,
            "satisfaction": "dissatisfied",
            "comment": "补贴还没到账",
        },
    )
    assert reopened.status_code == 200
    assert reopened.json["status"] == "in_progress" and reopened.json["reopen_count"] == 1
    assert reopened.json["events"][-1]["step"] == "reopen"


def test_the_call_back_is_one_card_and_its_answer_decides_what_it_does(
    app, client, people, make_problem
):
    """One card asks for the enterprise's answer: 不满意 reopens the problem and is told as a
    reopening, not as the closing the card's title would have said."""
    problem_id = make_problem("resolved")
    log_in(client, people["chief"])
    page = client.get(f"/problems/{problem_id}").text
    assert page.count('class="card step-card"') == 1
    assert f"/problems/{problem_id}/steps/close" in page and "/steps/reopen" not in page
    version = state_of(app, problem_id)[1]
    answer = {"version": version, "satisfaction": "dissatisfied", "comment": "补贴还没到账"}
    saved = client.post(f"/problems/{problem_id}/steps/close", data=answer)
    assert saved.status_code == 302 and state_of(app, problem_id)[0] == "in_progress"
    shown = client.get(saved.location).text
    assert "已保存：回访不满意，重新办理。" in shown and "已保存：回访销号" not in shown


def test_a_step_refused_after_the_problem_moved_on_says_why_and_keeps_the_text(
    app, client, people, make_problem
):
    """Resolved by the officer while the chief typed why it cannot be solved: that card is gone
    from the page, so the reason and the text typed are shown above the steps left."""
    problem_id = make_problem("in_progress")
    version = state_of(app, problem_id)[1]
    officer = app.test_client()
    log_in(officer, people["assignee"])
    resolution = {"version": version, "resolution": "已协调解决"}
    assert officer.post(f"/problems/{problem_id}/steps/resolve", data=resolution).status_code == 302
    log_in(client, people["chief"])
    typed = {"version": version, "note": "涉及省级政策调整，县里暂无法解决"}
    response = client.post(f"/problems/{problem_id}/steps/mark_unresolvable", data=typed)
    assert response.status_code == 409
    refused = re.search(r'id="refused-elsewhere">(.*?)</div>\s*</div>', response.text, re.S)
    assert refused and "涉及省级政策调整，县里暂无法解决" in refused[1] and "办结" in refused[1]
    assert state_of(app, problem_id)[0] == "resolved"


def test_a_step_taken_in_another_tab_is_named_as_the_users_own(app, client, people, make_problem):
    """The chief who assigned the problem in one tab and presses again in another is told what
    changed and by whom (himself), not that someone else did it."""
    problem_id = make_problem("new")
    log_in(client, people["chief"])
    body = {"to": "assigned", "version": 1, "assignee_id": people["assignee"].id}
    assert client.post(f"/api/v1/problems/{problem_id}/transition", json=body).status_code == 200
    again = client.post(f"/api/v1/problems/{problem_id}/transition", json=body)
    message = again.json["error"]["message"]
    assert again.status_code == 409 and "他人" not in message
    with app.app_context():
        name = db.session.get(User, people["chief"].id).display_name
    assert message.startswith(f"您打开后，此问题已有新的办理（{name}交办")


def test_two_chiefs_assigning_from_the_same_version(app, client, people, make_problem, create_user):
    problem_id = make_problem("new")
    second_chief = create_user("chief", YIYANG)
    other = app.test_client()
    log_in(client, people["chief"])
    log_in(other, second_chief)
    body = {"to": "assigned", "version": 1}
    first = client.post(
        f"/api/v1/problems/{problem_id}/transition",
        json={**body, "assignee_id": people["assignee"].id},
    )
    late = other.post(
        f"/api/v1/problems/{problem_id}/transition", json={**body, "unit": "市人社局"}
    )
    assert first.status_code == 200 and late.status_code == 409
    assert "交办" in late.json["error"]["message"]
    with app.app_context():
        problem = db.session.get(Problem, problem_id)
        assert problem.assignee_id == people["assignee"].id and problem.unit == ""


def test_concurrent_assignments_store_exactly_one(app, people, make_problem, create_user):
    """Two sessions read version 1 and write at once: the database lets one through."""
    problem_id = make_problem("new")
    chiefs = [people["chief"].id, create_user("chief", YIYANG).id]
    loaded = threading.Barrier(2)
    outcomes = []

    def assign(chief_id: int, unit: str) -> None:
        with app.app_context():
            problem = db.session.get(Problem, problem_id)
            actor = db.session.get(User, chief_id)
            from crm.auth.scope import in_scope

            in_scope(actor, problem.county_code)
            loaded.wait()
            try:
                operations.take_step(actor, problem, Step.ASSIGN, 1, {"unit": unit})
                db.session.commit()
                outcomes.append("ok")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=assign, args=(chiefs[0], "市人社局")),
        threading.Thread(target=assign, args=(chiefs[1], "县自然资源局")),
    ]
    with app.test_request_context():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    status, version, events = state_of(app, problem_id)
    assert (status, version, events) == ("assigned", 2, 2)


def test_county_users_never_reach_another_countys_problems(app, client, create_user, make_problem):
    theirs = make_problem("new", county=MENGJIN)
    ours = make_problem("new")
    chief = create_user("chief", YIYANG)
    log_in(client, chief)
    assert client.get(f"/problems/{theirs}").status_code == 404
    assert client.get(f"/api/v1/problems/{theirs}").status_code == 404
    listed = client.get("/api/v1/problems").json
    assert [item["id"] for item in listed["items"]] == [ours]
    assert f"/problems/{theirs}" not in client.get("/problems/").text
    step = client.post(f"/problems/{theirs}/steps/assign", data={"version": 1, "unit": "x"})
    assert step.status_code == 404
    api = client.post(
        f"/api/v1/problems/{theirs}/transition", json={"to": "assigned", "version": 1, "unit": "x"}
    )
    assert api.status_code == 404
    bulk = client.post(
        "/problems/bulk-assign",
        data={
            "problem_ids": [ours, theirs],
            f"version_{ours}": 1,
            f"version_{theirs}": 1,
            "unit": "县人社局",
        },
    )
    assert bulk.status_code == 404
    assert state_of(app, theirs)[0] == "new" and state_of(app, ours)[0] == "new"


def test_bulk_assignment_assigns_every_ticked_problem(app, client, people, make_problem):
    first, second = make_problem("new"), make_problem("new")
    log_in(client, people["chief"])
    response = client.post(
        "/problems/bulk-assign",
        data={
            "problem_ids": [first, second],
            f"version_{first}": 1,
            f"version_{second}": 1,
            "assignee_id": people["assignee"].id,
        },
    )
    assert response.status_code == 302
    assert state_of(app, first)[0] == state_of(app, second)[0] == "assigned"
    mine = app.test_client()
    log_in(mine, people["assignee"])
    page = mine.get("/problems/mine").text
    assert f"/problems/{first}" in page and f"/problems/{second}" in page


def _ticked(page: str) -> set[int]:
    boxes = re.findall(r'<input[^>]*name="problem_ids"[^>]*>', page)
    return {int(re.search(r'value="(\d+)"', box)[1]) for box in boxes if " checked" in box}


def test_a_refused_bulk_assignment_shows_the_ledger_again_with_what_was_chosen(
    app, client, people, make_problem, monkeypatch
):
    first, second, third = make_problem("new"), make_problem("new"), make_problem("new")
    monkeypatch.setattr("crm.problems.views.PER_PAGE", 2)
    log_in(client, people["chief"])
    ledger = client.get("/problems/?status=new").text
    assert 'action="/problems/bulk-assign?status=new"' in ledger and not _ticked(ledger)
    past = (bureau_today() - timedelta(days=1)).isoformat()
    response = client.post(
        "/problems/bulk-assign?status=new",
        data={
            "problem_ids": [second, third],
            **{f"version_{i}": 1 for i in (first, second, third)},
            "unit": "市人社局",
            "due_date": past,
        },
    )
    assert response.status_code == 422
    page = response.text
    assert _ticked(page) == {second, third}  # page 1 of 2: the newest two
    assert re.search(r'<input[^>]*id="bulk-due"[^>]*is-invalid|is-invalid[^>]*id="bulk-due"', page)
    assert 'value="市人社局"' in page and f'value="{past}"' in page
    assert "办结期限不能早于今天。" in page  # the field's own name, not a task's 截止日期
    assert 'nav-link active" href="/problems/?status=new' in page  # the same tab, still
    assert 'href="/problems/?status=new&amp;page=2"' in page  # its pages, not the POST's route
    assert 'name="next" value="/problems/?status=new"' in page  # so is the language switch's
    assert all(state_of(app, i) == ("new", 1, 1) for i in (first, second, third))

    none_ticked = client.post("/problems/bulk-assign", data={"unit": "市人社局"})
    assert none_ticked.status_code == 422
    assert "alert-danger" in none_ticked.text and "请勾选要交办的问题" in none_ticked.text


def test_a_stale_bulk_assignment_names_the_problem_and_keeps_the_ticks(
    app, client, people, make_problem
):
    first = make_problem("new")
    second = make_problem("new")
    with app.app_context():
        db.session.get(Problem, second).title = "厂房用地指标不足"
        db.session.commit()
    log_in(client, people["chief"])
    other = app.test_client()
    log_in(other, people["chief"])
    other.post(f"/problems/{second}/steps/assign", data={"version": 1, "unit": "县自然资源局"})
    response = client.post(
        "/problems/bulk-assign",
        data={"problem_ids": [first, second], f"version_{first}": 1, f"version_{second}": 1,
              "unit": "市人社局"},
    )  # fmt: skip
    assert response.status_code == 409
    assert "“厂房用地指标不足”" in response.text and "alert-danger" in response.text
    # Both still ticked, the changed one at its new version: sent again, it is reassigned.
    assert _ticked(response.text) == {first, second}
    assert f'name="version_{second}" value="2"' in response.text
    assert state_of(app, first) == ("new", 1, 1)


def test_a_bulk_assignee_of_another_county_names_the_problem_beside_the_field(
    app, client, people, make_problem, create_user
):
    ours, theirs = make_problem("new"), make_problem("new", county=MENGJIN)
    with app.app_context():
        db.session.get(Problem, theirs).title = "孟津企业用地审批慢"
        db.session.commit()
    log_in(client, create_user("chief", CITY))  # who sees both counties' problems
    response = client.post(
        "/problems/bulk-assign",
        data={"problem_ids": [ours, theirs], f"version_{ours}": 1,
              f"version_{theirs}": state_of(app, theirs)[1],  # renamed above: a new version
              "assignee_id": people["assignee"].id},  # 宜阳县's officer
    )  # fmt: skip
    assert response.status_code == 422
    error = re.search(r'id="bulk-assignee".*?invalid-feedback[^>]*>([^<]+)<', response.text, re.S)
    assert error and "“孟津企业用地审批慢”" in error[1]
    assert state_of(app, ours)[0] == state_of(app, theirs)[0] == "new"


def test_a_bulk_assignment_to_no_one_is_told_beside_the_field_naming_no_problem(
    app, client, people, make_problem
):
    """No officer and no unit is the form's fault, not the first problem's."""
    first, second = make_problem("new"), make_problem("new")
    log_in(client, people["chief"])
    data = {"problem_ids": [first, second], f"version_{first}": 1, f"version_{second}": 1}
    response = client.post("/problems/bulk-assign", data=data)
    assert response.status_code == 422
    error = re.search(r'id="bulk-assignee".*?invalid-feedback[^>]*>([^<]+)<', response.text, re.S)
    assert error and "“" not in error[1] and "干部" in error[1]


def test_a_second_progress_note_moves_the_version_on(app, client, people, make_problem):
    """A chief who read the problem before the officer's latest note is told of it."""
    problem_id = make_problem("in_progress")
    log_in(client, people["assignee"])
    seen = state_of(app, problem_id)[1]
    note = {"version": seen, "note": "已与市人社局对接"}
    assert client.post(f"/problems/{problem_id}/steps/progress", data=note).status_code == 302
    again = {"version": seen + 1, "note": "人社局答复下周给出方案"}
    assert client.post(f"/problems/{problem_id}/steps/progress", data=again).status_code == 302
    assert state_of(app, problem_id)[1] == seen + 2
    chief = app.test_client()
    log_in(chief, people["chief"])
    stale = {"version": seen + 1, "note": "涉及省级政策，暂无法解决"}
    response = chief.post(f"/problems/{problem_id}/steps/mark_unresolvable", data=stale)
    assert response.status_code == 409 and "人社局答复下周给出方案" in response.text


def test_a_bulk_assignment_refused_when_nothing_is_left_to_tick_still_says_why(
    app, client, people, make_problem
):
    only = make_problem("new")
    with app.app_context():  # closed by someone else while the chief was choosing
        problem = db.session.get(Problem, only)
        problem.title, problem.status, problem.version = "申报材料缺失", ProblemStatus.CLOSED, 2
        db.session.commit()
    log_in(client, people["chief"])
    response = client.post(
        "/problems/bulk-assign?status=new",
        data={"problem_ids": [only], f"version_{only}": 1, "unit": "市人社局"},
    )
    assert response.status_code == 409
    assert 'id="bulk-assign"' not in response.text  # nothing left to tick: no form …
    assert re.search(r"alert-danger[^>]*>\s*“申报材料缺失”", response.text)  # … but the reason


def test_a_stale_bulk_assignment_changes_nothing(app, client, people, make_problem):
    first, second = make_problem("new"), make_problem("assigned")
    log_in(client, people["chief"])
    client.post(
        "/problems/bulk-assign",
        data={
            "problem_ids": [first, second],
            f"version_{first}": 1,
            f"version_{second}": 1,
            "unit": "市人社局",
        },
    )
    assert state_of(app, first) == ("new", 1, 1)
    assert state_of(app, second)[1] == 2


@pytest.mark.parametrize(
    "now, due, overdue",
    [
        (datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI), date(2026, 10, 31), False),
        (datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI), date(2026, 10, 31), True),
        (datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI), date(2026, 11, 30), False),
        (datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI), date(2026, 11, 30), True),
    ],
    ids=["on the due date", "the next month", "due today", "past midnight"],
)
def test_overdue_across_a_month_boundary(app, client, people, make_problem, now, due, overdue):
    problem_id = make_problem("assigned")
    with app.app_context():
        db.session.get(Problem, problem_id).due_on = due
        db.session.commit()
    with time_machine.travel(now, tick=False):
        log_in(client, people["chief"])
        flagged = client.get("/api/v1/problems?overdue=1").json["total"]
        one = client.get(f"/api/v1/problems/{problem_id}").json
    assert flagged == (1 if overdue else 0)
    assert one["overdue"] is overdue
    assert one["days_left"] == (due - now.date()).days


def test_overdue_problems_come_the_longest_overdue_first(app, client, people, make_problem):
    ids = [make_problem("assigned") for _ in range(3)]
    today = bureau_today()
    with app.app_context():
        for problem_id, days_late in zip(ids, (2, 9, 5), strict=True):
            db.session.get(Problem, problem_id).due_on = today - timedelta(days=days_late)
        db.session.commit()
    expected = [ids[1], ids[2], ids[0]]
    log_in(client, people["chief"])
    listed = client.get("/api/v1/problems?overdue=1").json["items"]
    assert [item["id"] for item in listed] == expected
    page = client.get("/problems/?overdue=1").text
    assert sorted(expected, key=lambda i: page.index(f'/problems/{i}"')) == expected
    everything = [item["id"] for item in client.get("/api/v1/problems").json["items"]]
    assert everything == sorted(ids, reverse=True)  # newest first otherwise


def test_deadlines_default_to_seven_days_or_thirty_for_a_major_problem(app, make_problem):
    ordinary, major = make_problem("assigned"), make_problem("assigned", major=True)
    with app.app_context():
        first, second = db.session.get(Problem, ordinary), db.session.get(Problem, major)
        assert (first.due_on - first.assigned_at.date()).days in (7, 8)
        assert (second.due_on - second.assigned_at.date()).days in (30, 31)
        assert not deadlines.is_overdue(first, first.due_on)


def test_the_problem_page_offers_only_the_viewers_steps(app, client, people, make_problem):
    problem_id = make_problem("assigned")
    log_in(client, people["assignee"])
    page = client.get(f"/problems/{problem_id}").text
    assert f"/problems/{problem_id}/steps/accept" in page
    assert f"/problems/{problem_id}/steps/assign" not in page
    other = app.test_client()
    log_in(other, people["viewer"])
    assert "/steps/" not in other.get(f"/problems/{problem_id}").text


def test_a_problem_without_a_visit(app, client, people, create_enterprise):
    enterprise = create_enterprise()
    log_in(client, people["assignee"])
    page = client.get(f"/problems/new?enterprise_id={enterprise.id}")
    assert page.status_code == 200
    response = client.post(
        "/problems/new",
        data={
            "enterprise_id": enterprise.id,
            "category": "land",
            "title": "厂房用地指标",
            "raised_on": bureau_today().isoformat(),
            "major": "y",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        problem = db.session.scalars(sa.select(Problem)).one()
        assert problem.visit_id is None and problem.major and problem.status == "new"
    bad = client.post(
        "/problems/new", data={"enterprise_id": enterprise.id, "category": "land", "title": ""}
    )
    assert bad.status_code == 422 and "invalid-feedback" in bad.text
    timeline = client.get(f"/enterprises/{enterprise.id}").text
    assert f'<a href="/problems/{problem.id}">问题：厂房用地指标</a>' in timeline
    assert "用地厂房 · 待交办" in timeline  # its category and where it stands


def tab_counts(page: str) -> list[str]:
    """The status tabs' badges: all, then new, assigned, in progress, resolved, closed,
    unresolvable."""
    tabs = page.split('class="nav nav-tabs status-tabs')[1].split("</ul>")[0]
    return re.findall(r'<span class="badge text-bg-secondary">([^<]+)</span>', tabs)


def test_the_ledger_counts_per_status_and_filters(app, client, people, make_problem):
    make_problem("new"), make_problem("new"), make_problem("assigned"), make_problem("closed")
    log_in(client, people["chief"])
    page = client.get("/problems/").text
    assert page.count('class="fw-semibold stretched-link"') >= 4
    assert tab_counts(page) == ["4", "2", "1", "0", "0", "1", "0"]
    # The tabs count under the other filters: none of these is overdue.
    assert tab_counts(client.get("/problems/?overdue=1").text) == ["0"] * 7
    assert client.get("/api/v1/problems?status=closed").json["total"] == 1
    tab = client.get("/problems/?status=assigned").text
    assert tab.count("problem_ids") == 1
    assert tab_counts(tab) == ["4", "2", "1", "0", "0", "1", "0"]
    backwards = client.get("/problems/?start=2026-10-10&end=2026-10-03").text
    assert "结束日期不能早于开始日期。" in backwards and tab_counts(backwards) == ["0"] * 7


def test_the_ledger_offers_bulk_assignment_only_where_a_problem_can_be_ticked(
    app, client, people, make_problem
):
    make_problem("new"), make_problem("closed")
    log_in(client, people["chief"])
    everything = client.get("/problems/").text
    assert everything.count('name="problem_ids"') == 1 and 'id="bulk-assign"' in everything
    assert everything.count('class="select-cell"') == 3  # the header's and the two rows'
    closed = client.get("/problems/?status=closed").text  # nothing left to hand over
    assert "problem_ids" not in closed and "bulk-assign" not in closed
    assert "select-cell" not in closed
    officer = app.test_client()  # who never assigns
    log_in(officer, people["assignee"])
    assert "bulk-assign" not in officer.get("/problems/").text


def test_the_status_tabs_count_up_to_a_limit(app, people, make_problem):
    """Each tab is counted up to the limit (COUNT_LIMIT, 10 000): past it, "10000+", and the
    whole ledger with it, so a city's or province's ledger is never counted through."""
    from crm.problems.queries import LedgerFilterForm, status_counts

    make_problem("new"), make_problem("new"), make_problem("new"), make_problem("closed")
    with app.test_request_context("/problems/"):
        chief = db.session.get(User, people["chief"].id)
        form = LedgerFilterForm(formdata=None)
        form.county.choices = form.assignee.choices = []
        counts = status_counts(form, chief, bureau_today(), limit=2)
        assert counts.counts["new"] == 3 and counts.counts["closed"] == 1
        assert [counts.shown(key) for key in ("", "new", "closed", "assigned")] == [
            "2+",
            "2+",
            "1",
            "0",
        ]
        # No status past the limit: every tab exact, and the whole ledger too.
        exact = status_counts(form, chief, bureau_today(), limit=3)
        assert [exact.shown(key) for key in ("", "new", "closed")] == ["4", "3", "1"]


def test_a_ledger_row_shows_the_problem_its_deadline_and_who_handles_it(
    app, client, people, make_problem
):
    late = make_problem("assigned", major=True)
    fresh, for_a_unit = make_problem("new"), make_problem("new")
    with app.app_context():
        problem = db.session.get(Problem, late)
        problem.due_on = bureau_today() - timedelta(days=2)
        problem.assigned_at = problem.assigned_at - timedelta(days=5)
        db.session.get(Problem, for_a_unit).unit = "宜阳县人社局"
        db.session.commit()
        assignee = db.session.get(User, people["assignee"].id).display_name
        enterprise, version = problem.enterprise.name, problem.version
    log_in(client, people["chief"])
    page = client.get("/problems/").text
    rows = {
        int(re.search(r'href="/problems/(\d+)"', row).group(1)): re.sub(r"<[^>]+>", " ", row)
        for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    }
    assert set(rows) == {late, fresh, for_a_unit}
    words = {problem_id: " ".join(text.split()) for problem_id, text in rows.items()}
    assert f"缺少研发人才 人才 · {enterprise}" in words[late]
    assert f"已交办 逾期 2 天 超过 1 天未签收 超过 3 天未报告进展 重大 {assignee}" in words[late]
    assert words[fresh].endswith("待交办 —") and words[for_a_unit].endswith("待交办 宜阳县人社局")
    assert f'name="version_{late}" value="{version}"' in page  # the bulk assignment's check


def test_the_ledger_filters_by_the_people_of_the_users_scope(app, client, create_user, people):
    city_officer = create_user("officer", CITY, display_name="市局走访员")
    elsewhere = create_user("officer", MENGJIN, display_name="孟津走访员")
    log_in(client, people["chief"])
    county_page = client.get("/problems/").text
    assert f'value="{city_officer.id}"' in county_page and "市局走访员" in county_page
    assert f'value="{people["assignee"].id}"' in county_page
    assert "孟津走访员" not in county_page and f'value="{elsewhere.id}"' not in county_page

    city = app.test_client()
    log_in(city, create_user("chief", CITY))
    assert "孟津走访员" in city.get("/problems/").text


def test_once_a_county_is_chosen_the_ledger_offers_the_people_who_take_its_problems(
    client, create_user, make_problem
):
    make_problem("new")  # of 宜阳县: a problem to tick, so that 批量交办 is offered
    create_user("officer", CITY, display_name="市局走访员")
    create_user("officer", YIYANG, display_name="宜阳走访员")
    mengjin = create_user("officer", MENGJIN, display_name="孟津走访员")
    log_in(client, create_user("chief", CITY))

    def offered(query: str) -> dict[str, list[str]]:
        """The names each select of the ledger offers: the filter's and 批量交办's."""
        page = client.get(f"/problems/?{query}")
        assert page.status_code == 200
        selects = re.findall(
            r'<select[^>]*name="(assignee|assignee_id)"[^>]*>(.*?)</select>', page.text, re.S
        )
        return {name: re.findall(r">([^<（]+)（", options) for name, options in selects}

    everyone = offered("")
    assert "孟津走访员" in everyone["assignee"] and "孟津走访员" in everyone["assignee_id"]
    yiyang = offered(f"county={YIYANG}")
    assert set(yiyang) == {"assignee", "assignee_id"}
    for names in yiyang.values():
        assert "市局走访员" in names and "宜阳走访员" in names
        assert "孟津走访员" not in names
    # No county of the city: the city's people (and no problem shown to assign).
    assert offered("county=999999") == {"assignee": everyone["assignee"]}
    # An officer of another county chosen before the county: still offered, still chosen.
    assert "孟津走访员" in offered(f"county={YIYANG}&assignee={mengjin.id}")["assignee"]
    page = client.get(f"/problems/?county={YIYANG}&assignee={mengjin.id}").text
    assert f'<option selected value="{mengjin.id}">' in page


def test_ledger_queries_do_not_grow_with_the_page_size(app, client, people, make_problem):
    for _ in range(30):
        make_problem("assigned")
    log_in(client, people["chief"])

    assert queries_for(app, client, "/api/v1/problems?per_page=2") == queries_for(
        app, client, "/api/v1/problems?per_page=30"
    )
    # 25 rows, then 5: the same statements, but the count (the last page's keys tell it).
    assert (
        queries_for(app, client, "/problems/") == queries_for(app, client, "/problems/?page=2") + 1
    )


def test_the_13710_reminders_on_the_problem(app, client, people, make_problem):
    assigned = make_problem("assigned")
    accepted = make_problem("in_progress")
    with app.app_context():
        assigned_at = db.session.get(Problem, assigned).assigned_at
    log_in(client, people["chief"])
    late_by_two = assigned_at + timedelta(days=2)
    with time_machine.travel(late_by_two, tick=False):
        log_in(client, people["chief"])
        not_accepted = client.get(f"/problems/{assigned}").text
        in_time = client.get(f"/problems/{accepted}").text
    assert "超过 1 天未签收" in not_accepted and "未报告进展" not in in_time
    with time_machine.travel(assigned_at + timedelta(days=4), tick=False):
        log_in(client, people["chief"])
        assert "超过 3 天未报告进展" in client.get(f"/problems/{accepted}").text


def test_a_problem_raised_before_2000_is_refused_in_words_that_say_so(
    client, people, create_enterprise
):
    enterprise = create_enterprise(county_code=YIYANG)
    log_in(client, people["chief"])
    response = client.post(
        f"/problems/new?enterprise_id={enterprise.id}",
        data={"enterprise_id": enterprise.id, "category": "talent", "title": "缺人才",
              "raised_on": "1990-01-01"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "日期应在 2000 年至今天之间。" in response.text and "不能晚于今天" not in response.text


def test_a_problem_opened_from_the_ledger_starts_by_choosing_its_enterprise(
    client, people, create_enterprise
):
    """From 登记问题 on the ledger: a type-ahead for the enterprise and nothing else to type
    yet; a match opens the form for that enterprise."""
    enterprise = create_enterprise(name="洛阳启明新材料有限公司")
    log_in(client, people["chief"])
    page = client.get("/problems/new").text
    assert 'hx-get="/enterprises/search?pick=problem"' in page
    assert 'name="title"' not in page and 'name="category"' not in page
    assert 'method="post"' not in page.split("<main")[1]  # Enter in the box posts nothing
    matches = client.get("/enterprises/search", query_string={"q": "启明", "pick": "problem"})
    assert f'href="/problems/new?enterprise_id={enterprise.id}"' in matches.text
    form = client.get(f"/problems/new?enterprise_id={enterprise.id}").text
    assert "洛阳启明新材料有限公司" in form and 'name="title"' in form
    plain = client.get("/enterprises/search", query_string={"q": "启明"}).text
    assert f'href="/enterprises/{enterprise.id}"' in plain  # the list page's: still the page


def test_an_unknown_enterprise_is_told_once_beside_the_picker(app, client, people):
    log_in(client, people["chief"])
    response = client.post(
        "/problems/new", data={"enterprise_id": "999999", "category": "talent", "title": "缺人才"}
    )
    assert response.status_code == 422
    assert response.text.count("请从列表中选择企业。") == 1
    assert "alert-danger" not in response.text


def enterprise_of(app, problem_id):
    with app.app_context():
        return db.session.get(Problem, problem_id).enterprise_id


@pytest.mark.parametrize("state", ["new", "in_progress", "resolved"])
def test_an_enterprise_with_a_problem_in_hand_is_not_deleted(
    app, client, people, make_problem, state
):
    """Deleted, its problem would drop out of sight while a unit still works on it."""
    problem_id = make_problem(state)
    enterprise_id = enterprise_of(app, problem_id)
    log_in(client, people["chief"])
    answer = client.post(f"/enterprises/{enterprise_id}/delete", follow_redirects=True)
    assert answer.request.path == f"/enterprises/{enterprise_id}"
    assert "还有 1 个问题未销号" in answer.text
    with app.app_context():
        enterprise = db.session.get(Problem, problem_id).enterprise
        assert enterprise.deleted_at is None and enterprise.name in answer.text


@pytest.mark.parametrize("state", ["closed", "unresolvable"])
def test_a_deleted_enterprises_problems_are_history_with_no_new_task(
    app, client, people, make_problem, state
):
    problem_id = make_problem(state)
    enterprise_id = enterprise_of(app, problem_id)
    log_in(client, people["chief"])
    page = client.get(f"/problems/{problem_id}").text
    assert f"/tasks/new?problem_id={problem_id}" in page  # offered while the enterprise is
    assert client.post(f"/enterprises/{enterprise_id}/delete").location == "/enterprises/"
    assert client.get(f"/enterprises/{enterprise_id}").status_code == 404
    page = client.get(f"/problems/{problem_id}")
    assert page.status_code == 200 and "/tasks/new" not in page.text
    assert client.get(f"/tasks/new?problem_id={problem_id}").status_code == 404
    task = {"problem_id": problem_id, "title": "回访", "due_on": bureau_today().isoformat()}
    refused = client.post("/api/v1/followups", json=task)
    assert refused.status_code == 409 and "该企业已删除" in refused.json["error"]["message"]


def test_marking_a_problem_cannot_be_solved_asks_first(client, people, make_problem):
    """The step has no way back: its card asks before it is taken."""
    problem_id = make_problem("assigned")
    log_in(client, people["chief"])
    page = client.get(f"/problems/{problem_id}").text
    form = re.search(r'<form[^>]*action="[^"]*/steps/mark_unresolvable"[^>]*>', page).group(0)
    assert 'data-confirm="确定将此问题标记为暂无法解决吗？' in form


def test_the_officer_a_problem_is_taken_from_is_told(app, people, make_problem):
    """Reassigned, the problem leaves its officer's list: they hear where it went, not
    nothing; a new deadline for the same officer tells no one that."""
    problem_id = make_problem("in_progress")
    with app.app_context():
        chief = db.session.get(User, people["chief"].id)
        problem = db.session.get(Problem, problem_id)
        later = bureau_today() + timedelta(days=20)
        values = {"assignee_id": people["assignee"].id, "due_date": later}
        operations.take_step(chief, problem, Step.ASSIGN, problem.version, values)
        values = {"assignee_id": people["other_officer"].id}
        operations.take_step(chief, problem, Step.ASSIGN, problem.version, values)
        db.session.commit()
        chief_name = chief.display_name
        told = {
            user_id: [
                n.text
                for n in db.session.scalars(
                    sa.select(Notification).where(Notification.user_id == user_id)
                )
            ]
            for user_id in (people["assignee"].id, people["other_officer"].id)
        }
    taken_off = [text for text in told[people["assignee"].id] if "改交" in text]
    assert taken_off == [f"{chief_name} 已将您负责的问题改交他人办理：缺少研发人才"]
    assert any("交办" in text for text in told[people["other_officer"].id])


def test_a_reopened_problem_gets_a_fresh_deadline_and_its_rejected_resolution_says_so(
    app, client, people, make_problem
):
    """Past its deadline when the enterprise says 不满意, the problem is handled again in the
    window of a new one (7 days for an ordinary problem), not overdue from the first moment."""
    problem_id = make_problem("resolved")
    with app.app_context():
        problem = db.session.get(Problem, problem_id)
        problem.due_on = bureau_today() - timedelta(days=2)
        db.session.commit()
        version = problem.version
    log_in(client, people["chief"])
    body = {"to": "closed", "version": version, "satisfaction": "dissatisfied", "comment": "没落实"}
    reopened = client.post(f"/api/v1/problems/{problem_id}/transition", json=body).json
    fresh = bureau_today() + timedelta(days=7)
    assert reopened["due_on"] == fresh.isoformat() and not reopened["overdue"]
    page = client.get(f"/problems/{problem_id}").text
    assert "上次办理结果（企业不满意）" in page and "已协调解决人才公寓 3 套" in page
    assert f"不满意 · 新办结期限 {fresh.isoformat()}" in page


def test_a_step_refused_as_stale_goes_through_when_sent_again(
    app, client, people, make_problem, create_user
):
    """Two chiefs assign at once: the later one sees what changed, beside the card still filled
    in, and a second 交办 (now knowing it) goes through, not the same refusal forever."""
    problem_id = make_problem("new")
    other = app.test_client()
    log_in(other, create_user("chief", YIYANG))
    unit = {"version": 1, "unit": "市人社局"}
    assert other.post(f"/problems/{problem_id}/steps/assign", data=unit).status_code == 302
    log_in(client, people["chief"])
    typed = {"version": 1, "unit": "县发改委", "note": "请牵头协调"}
    refused = client.post(f"/problems/{problem_id}/steps/assign", data=typed)
    assert refused.status_code == 409 and "市人社局" in refused.text
    (card,) = [f for f in forms_of(refused.text) if f.action.endswith("/steps/assign")]
    sent = card.values()
    assert sent["unit"] == "县发改委" and sent["version"] == str(state_of(app, problem_id)[1])
    assert client.post(f"/problems/{problem_id}/steps/assign", data=sent).status_code == 302
    with app.app_context():
        assert db.session.get(Problem, problem_id).unit == "县发改委"


def test_a_problem_deadline_is_told_to_someone_who_can_open_it(app, people, make_problem):
    """Its officer moved to another county: the overdue notice goes to the chief who assigned
    it, not to someone who would meet a 404 (and read another county's problem title)."""
    problem_id = make_problem("in_progress")
    with app.app_context():
        problem = db.session.get(Problem, problem_id)
        problem.due_on = bureau_today() - timedelta(days=3)
        db.session.get(User, people["assignee"].id).region_code = MENGJIN
        db.session.commit()
        problem_deadlines(utcnow())
        db.session.commit()
        kinds = {
            user: [
                n.kind.value
                for n in db.session.scalars(
                    sa.select(Notification).where(Notification.user_id == people[user].id)
                )
            ]
            for user in ("assignee", "chief")
        }
    assert "overdue" not in kinds["assignee"] and "overdue" in kinds["chief"]


def test_a_problem_whose_enterprise_moved_is_told_to_the_new_countys_chief(
    app, client, people, make_problem, create_user, login
):
    """Its officer and the chief who assigned it cannot see the county the enterprise moved to:
    the overdue notice goes to that county's chief, not to no one."""
    problem_id = make_problem("in_progress")
    mengjin_chief = create_user("chief", MENGJIN)
    login("chief")  # the city's
    enterprise_id = enterprise_of(app, problem_id)
    page = client.get(f"/enterprises/{enterprise_id}/edit").text
    (edit,) = [f for f in forms_of(page) if "county_code" in f.fields]
    values = {**edit.values(), "county_code": MENGJIN, "township_code": ""}
    assert client.post(f"/enterprises/{enterprise_id}/edit", data=values).status_code == 302
    with app.app_context():
        db.session.get(Problem, problem_id).due_on = bureau_today() - timedelta(days=3)
        db.session.commit()
        problem_deadlines(utcnow())
        db.session.commit()
        told = db.session.execute(
            sa.select(Notification.user_id, Notification.kind).where(
                Notification.kind == NotificationKind.OVERDUE
            )
        ).all()
    assert told == [(mengjin_chief.id, NotificationKind.OVERDUE)]


def test_a_ledger_asked_for_a_status_that_is_none_says_so(client, people):
    log_in(client, people["chief"])
    page = client.get("/problems/?status=foo").text
    assert "没有这种状态的问题，请从上方的标签中选择。" in page
    assert "没有这种状态的问题" not in client.get("/problems/?status=new").text


def test_moving_an_enterprise_to_another_county_warns_of_problems_left_out_of_reach(
    app, client, make_problem, login, people
):
    problem_id = make_problem("in_progress")  # 宜阳县's officer handles it
    enterprise_id = enterprise_of(app, problem_id)
    with app.app_context():  # and a task of it
        from crm.enterprises.models import Enterprise
        from crm.followups.operations import create_followup

        task = {
            "title": "送申报指南",
            "due_on": bureau_today(),
            "assignee_id": people["assignee"].id,
        }
        chief = db.session.get(User, people["chief"].id)
        create_followup(chief, db.session.get(Enterprise, enterprise_id), task)
        db.session.commit()
    login("chief")  # the city's
    page = client.get(f"/enterprises/{enterprise_id}/edit").text
    (edit,) = [f for f in forms_of(page) if "county_code" in f.fields]
    values = {**edit.values(), "county_code": MENGJIN, "township_code": ""}
    moved = client.post(f"/enterprises/{enterprise_id}/edit", data=values, follow_redirects=True)
    assert moved.status_code == 200
    assert (
        "已改属孟津区：其中 1 个办理中的问题、1 个未完成的跟进任务由看不到该县区的干部负责，"
        "请重新交办。"
    ) in moved.text
    page = client.get(f"/enterprises/{enterprise_id}/edit").text
    (edit,) = [f for f in forms_of(page) if "county_code" in f.fields]
    values = {**edit.values(), "address": "新址"}
    again = client.post(f"/enterprises/{enterprise_id}/edit", data=values, follow_redirects=True)
    assert again.status_code == 200 and "新址" in again.text
    assert "请重新交办" not in again.text  # said when it moves, not on every save
