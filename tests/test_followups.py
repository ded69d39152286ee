"""Follow-up tasks: who gives them to whom, completing a repeating one, cancelling, reassigning
within scope, 我的任务 and the chief's board, notifications and the bell, the API."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from crm.auth.models import User
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.followups import operations, rules
from crm.followups.models import FollowUp, FollowUpStatus, Notification, Repeat
from crm.followups.queries import SECTION_LIMIT
from crm.followups.reminders import due_reminders, overdue_escalation
from tests.conftest import CITY, MENGJIN, YIYANG, bureau_today, log_in, posted_at_once, queries_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def people(create_user):
    return {
        "chief": create_user("chief", YIYANG),
        "officer": create_user("officer", YIYANG),
        "other_officer": create_user("officer", YIYANG),
        "city_chief": create_user("chief", CITY),
        "mengjin_chief": create_user("chief", MENGJIN),
        "mengjin_officer": create_user("officer", MENGJIN),
        "viewer": create_user("viewer", YIYANG),
    }


@pytest.fixture
def enterprise(create_enterprise):
    return create_enterprise(county_code=YIYANG)


@pytest.fixture
def make_task(app, people, enterprise):
    """make_task(by="chief", for_="officer", **values) → the new task's id."""

    def make(by: str = "chief", for_: str | None = "officer", **values) -> int:
        with app.app_context():
            actor = db.session.get(User, people[by].id)
            given = {
                "title": "核实研发费用材料",
                "due_on": bureau_today() + timedelta(days=3),
                "assignee_id": people[for_].id if for_ else None,
                **values,
            }
            task = operations.create_followup(
                actor, db.session.get(Enterprise, enterprise.id), given
            )
            db.session.commit()
            return task.id

    return make


def task_state(app, task_id):
    with app.app_context():
        task = db.session.get(FollowUp, task_id)
        return task.status.value, task.version, task.assignee_id


def notifications_of(app, user_id):
    with app.app_context():
        stmt = sa.select(Notification).where(Notification.user_id == user_id)
        return [(n.kind.value, n.text) for n in db.session.scalars(stmt.order_by(Notification.id))]


def test_a_chief_gives_a_task_and_the_officer_is_told(app, client, people, make_task):
    task_id = make_task()
    assert task_state(app, task_id)[::2] == ("todo", people["officer"].id)
    told = notifications_of(app, people["officer"].id)
    assert [kind for kind, _text in told] == ["assigned"]
    assert "核实研发费用材料" in told[0][1]
    log_in(client, people["officer"])
    page = client.get("/tasks/").text
    assert "核实研发费用材料" in page and "bell-count" in client.get("/").text


def test_an_officer_gives_tasks_only_to_themselves(app, people, make_task):
    own = make_task(by="officer", for_=None)
    assert task_state(app, own)[2] == people["officer"].id
    assert notifications_of(app, people["officer"].id) == []  # nobody to tell
    with pytest.raises(ValidationFailed) as refused:
        make_task(by="officer", for_="other_officer")
    assert list(refused.value.fields) == ["assignee_id"]


def test_a_chief_cannot_give_a_task_outside_the_enterprises_region(app, people, make_task):
    with pytest.raises(ValidationFailed) as refused:
        make_task(by="chief", for_="mengjin_officer")
    assert list(refused.value.fields) == ["assignee_id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FollowUp.id))) == 0


@pytest.mark.parametrize(
    "due, repeat, expected",
    [
        (date(2027, 1, 31), Repeat.MONTHLY, [date(2027, 2, 28), date(2027, 3, 31)]),
        (date(2028, 1, 31), Repeat.MONTHLY, [date(2028, 2, 29), date(2028, 3, 31)]),
        (date(2026, 11, 30), Repeat.QUARTERLY, [date(2027, 2, 28), date(2027, 5, 30)]),
        (date(2026, 12, 15), Repeat.MONTHLY, [date(2027, 1, 15), date(2027, 2, 15)]),
    ],
    ids=["31 Jan to 28 Feb", "leap year", "quarterly at a month end", "across the year"],
)
def test_completing_a_repeating_task_creates_exactly_one_next(
    app, people, make_task, due, repeat, expected
):
    with time_machine.travel(datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
        task_id = make_task(due_on=due, repeat=repeat.value)
    dues = []
    with app.app_context():
        officer = db.session.get(User, people["officer"].id)
        for _round in expected:
            task = db.session.get(FollowUp, task_id)
            following = operations.complete_followup(officer, task, task.version, {})
            db.session.commit()
            dues.append(following.due_on)
            assert following.previous_id == task_id
            task_id = following.id
        total = db.session.scalar(sa.select(sa.func.count(FollowUp.id)))
    assert dues == expected
    assert total == len(expected) + 1


def test_a_second_completion_is_refused_and_creates_no_second_next(app, client, people, make_task):
    task_id = make_task(repeat="monthly")
    log_in(client, people["officer"])
    first = client.post(f"/api/v1/followups/{task_id}/complete", json={"version": 1})
    again = client.post(f"/api/v1/followups/{task_id}/complete", json={"version": 1})
    assert first.status_code == 200 and first.json["next"]["status"] == "todo"
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FollowUp.id))) == 2


def test_complete_on_the_page_with_a_note(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["officer"])
    response = client.post(
        f"/tasks/{task_id}/complete",
        data={"version": "1", "outcome": "材料已核实", "back": "/tasks/"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/tasks/"
    with app.app_context():
        task = db.session.get(FollowUp, task_id)
        assert (task.status, task.outcome) == (FollowUpStatus.DONE, "材料已核实")
    assert "材料已核实" in client.get("/tasks/").text  # under 最近完成


def test_a_task_refused_from_the_list_opens_with_what_was_typed_and_why(
    app, client, people, make_task
):
    task_id = make_task()
    log_in(client, people["officer"])
    changed = app.test_client()
    log_in(changed, people["chief"])
    again = {
        "version": 1,
        "assignee_id": people["officer"].id,
        "due_on": bureau_today().isoformat(),
    }
    changed.post(f"/api/v1/followups/{task_id}/reassign", json=again)
    response = client.post(
        f"/tasks/{task_id}/complete",
        data={"version": "1", "outcome": "材料已核实，企业补交了研发台账", "back": "/tasks/"},
    )
    assert response.status_code == 409
    assert "材料已核实，企业补交了研发台账" in response.text  # the outcome, still in its box
    assert "alert-warning" in response.text and "此任务已被修改" in response.text
    assert task_state(app, task_id)[0] == "todo"


def test_a_task_done_meanwhile_says_so_on_its_page(app, client, people, make_task):
    """Completed by the chief while the officer typed: no form is left to show the reason
    beside, so it is said above the task, with the outcome typed (to copy, not lost)."""
    task_id = make_task()
    chief = app.test_client()
    log_in(chief, people["chief"])
    chief.post(f"/api/v1/followups/{task_id}/complete", json={"version": 1})
    log_in(client, people["officer"])
    typed = {"version": "1", "outcome": "已核实研发台账", "back": "/tasks/"}
    response = client.post(f"/tasks/{task_id}/complete", data=typed)
    assert response.status_code == 409
    refused = re.search(r'id="refused-elsewhere">(.*?)</div>\s*</div>', response.text, re.S)
    assert refused and "此任务已被修改" in refused[1] and "已核实研发台账" in refused[1]
    assert f'name="next" value="/tasks/{task_id}"' in response.text  # not the POST-only route


def test_cancelling_needs_a_reason(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["chief"])
    refused = client.post(f"/api/v1/followups/{task_id}/cancel", json={"version": 1})
    assert refused.status_code == 422 and "reason" in refused.json["error"]["fields"]
    assert task_state(app, task_id)[0] == "todo"
    done = client.post(
        f"/api/v1/followups/{task_id}/cancel", json={"version": 1, "reason": "企业已注销"}
    )
    assert done.status_code == 200 and done.json["status"] == "cancelled"


def test_an_officer_cannot_cancel_what_a_chief_gave(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["officer"])
    response = client.post(
        f"/api/v1/followups/{task_id}/cancel", json={"version": 1, "reason": "不想做"}
    )
    assert response.status_code == 403
    assert task_state(app, task_id)[0] == "todo"


def test_officers_see_their_own_tasks_and_their_regions(app, client, people, make_task):
    yiyang_task = make_task()
    with app.app_context():
        chief = db.session.get(User, people["mengjin_chief"].id)
        # A 孟津区 chief may give a 孟津区 officer a task on a 孟津区 enterprise only.
        from crm.enterprises import operations as enterprise_operations
        from tests.conftest import code_for

        mengjin = enterprise_operations.create_enterprise(
            None,
            {
                "name": "孟津测试有限公司",
                "county_code": MENGJIN,
                "credit_code": code_for(MENGJIN, 5),
            },
        )
        values = {
            "title": "孟津任务",
            "due_on": bureau_today(),
            "assignee_id": people["mengjin_officer"].id,
        }
        mengjin_task = operations.create_followup(chief, mengjin, values).id
        db.session.commit()
    for who, visible, hidden in (
        ("other_officer", yiyang_task, mengjin_task),
        ("mengjin_officer", mengjin_task, yiyang_task),
    ):
        client.post("/logout")
        log_in(client, people[who])
        listed = [item["id"] for item in client.get("/api/v1/followups").json["items"]]
        assert listed == [visible]
        assert client.get(f"/api/v1/followups/{hidden}").status_code == 404
        assert client.get(f"/tasks/{hidden}").status_code == 404
        assert client.get(f"/tasks/{visible}").status_code == 200


def test_a_chief_reassigns_within_scope_only(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["chief"])
    outside = client.post(
        f"/api/v1/followups/{task_id}/reassign",
        json={"version": 1, "assignee_id": people["mengjin_officer"].id},
    )
    assert outside.status_code == 422 and "assignee_id" in outside.json["error"]["fields"]
    page = client.post(
        f"/tasks/{task_id}/reassign",
        data={"version": "1", "assignee_id": str(people["other_officer"].id)},
    )
    assert page.status_code == 302
    assert task_state(app, task_id)[2] == people["other_officer"].id
    assert [k for k, _t in notifications_of(app, people["other_officer"].id)] == ["assigned"]
    # The 孟津区 chief cannot even see it, let alone move it.
    client.post("/logout")
    log_in(client, people["mengjin_chief"])
    moved = client.post(
        f"/api/v1/followups/{task_id}/reassign",
        json={"version": 2, "assignee_id": people["mengjin_officer"].id},
    )
    assert moved.status_code == 404


def test_reassigning_to_the_same_officer_and_day_says_nothing_would_change(
    app, client, people, make_task
):
    task_id = make_task()
    log_in(client, people["chief"])
    same = {"version": "1", "assignee_id": str(people["officer"].id)}
    response = client.post(f"/tasks/{task_id}/reassign", data=same)
    assert response.status_code == 422
    error = re.search(
        r'id="reassign-assignee".*?invalid-feedback[^>]*>([^<]+)<', response.text, re.S
    )
    assert error and "已负责此任务" in error[1]
    assert task_state(app, task_id)[1] == 1  # not a new version, nobody told anything


def test_the_board_counts_each_officers_tasks(app, client, people, make_task):
    make_task()
    late = make_task()
    make_task(for_="other_officer")
    with app.app_context():
        db.session.execute(
            sa.update(FollowUp)
            .where(FollowUp.id == late)
            .values(due_on=bureau_today() - timedelta(days=2))
        )
        db.session.commit()
    log_in(client, people["chief"])
    rows = client.get("/tasks/board").text
    assert "board-table" in rows and f'id="task-{late}"' in rows  # overdue ones listed
    with app.app_context():
        from crm.followups.queries import board_rows

        chief = db.session.get(User, people["chief"].id)
        counts = {r.assignee.id: (r.open, r.overdue) for r in board_rows(chief, bureau_today())}
    assert counts == {people["officer"].id: (2, 1), people["other_officer"].id: (1, 0)}


def test_the_board_lists_the_most_overdue_first_and_says_how_many_more(
    app, client, people, make_task, monkeypatch
):
    from crm.followups import queries

    monkeypatch.setattr(queries, "BOARD_LIMIT", 2)
    late = [make_task(), make_task(), make_task(for_="other_officer")]
    done_long_ago, done_lately = make_task(), make_task()
    with app.app_context():
        for days, task in zip((5, 4, 3), late, strict=True):
            db.session.execute(
                sa.update(FollowUp)
                .where(FollowUp.id == task)
                .values(due_on=bureau_today() - timedelta(days=days))
            )
        for days, task in ((40, done_long_ago), (3, done_lately)):
            db.session.execute(
                sa.update(FollowUp)
                .where(FollowUp.id == task)
                .values(status=FollowUpStatus.DONE, completed_at=utcnow() - timedelta(days=days))
            )
        db.session.commit()
    log_in(client, people["chief"])
    board = client.get("/tasks/board").text
    listed = board[board.index('id="board-tasks"') :]
    assert f'id="task-{late[0]}"' in listed and f'id="task-{late[1]}"' in listed
    assert f'id="task-{late[2]}"' not in listed
    assert "按截止日期先后显示前 2 条，其后还有 1 条。" in board
    chosen = client.get(f"/tasks/board?assignee={people['other_officer'].id}").text
    assert f'id="task-{late[2]}"' in chosen and 'id="board-more"' not in chosen
    with app.app_context():
        chief = db.session.get(User, people["chief"].id)
        rows = {r.assignee.id: r for r in queries.board_rows(chief, bureau_today())}
    assert rows[people["officer"].id].done_recently == 1  # not the one done 40 days ago


def test_stale_version_is_a_conflict_and_changes_nothing(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["chief"])
    client.post(
        f"/api/v1/followups/{task_id}/reassign",
        json={"version": 1, "assignee_id": people["other_officer"].id},
    )
    stale = client.post(f"/api/v1/followups/{task_id}/complete", json={"version": 1})
    assert stale.status_code == 409
    assert task_state(app, task_id)[:2] == ("todo", 2)


def test_the_visit_forms_follow_up_becomes_a_task(app, client, people, enterprise):
    from tests.test_visits import api_visit

    log_in(client, people["officer"])
    body = api_visit(enterprise.id)
    body.update(followup_title="送高企申报指南", followup_due_on=bureau_today().isoformat())
    assert client.post("/api/v1/visits", json=body).status_code == 201
    again = client.post("/api/v1/visits", json=body)  # a retry stores nothing twice
    assert again.status_code == 200
    tasks = client.get("/api/v1/followups?mine=1").json["items"]
    assert [(t["title"], t["visit_id"]) for t in tasks] == [("送高企申报指南", again.json["id"])]


def test_tasks_show_on_the_enterprise_timeline(app, client, people, make_task, enterprise):
    make_task(title="补充知识产权证明")
    log_in(client, people["viewer"])
    assert "补充知识产权证明" in client.get(f"/enterprises/{enterprise.id}").text


def test_the_enterprise_timeline_reads_its_tasks_assignees_with_the_tasks(
    app, client, people, make_task, enterprise
):
    """However many colleagues the enterprise's tasks are shared by, the page asks the same."""
    make_task(for_="officer")
    log_in(client, people["viewer"])
    page = f"/enterprises/{enterprise.id}"
    few = queries_for(app, client, page)
    for assignee in ("other_officer", "chief"):
        make_task(for_=assignee)
    assert queries_for(app, client, page) == few


def test_notifications_list_and_mark_read(app, client, people, make_task):
    make_task()
    make_task(title="第二个任务")
    log_in(client, people["officer"])
    unread = client.get("/api/v1/notifications?unread=1").json
    assert unread["total"] == 2
    first = unread["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{first}/read").json["read_at"]
    assert client.get("/api/v1/notifications?unread=1").json["total"] == 1
    assert 'data-unread="1"' in client.get("/tasks/").text
    client.post("/notifications/read")
    assert client.get("/api/v1/notifications?unread=1").json["total"] == 0
    assert "bell-count" not in client.get("/tasks/").text
    # Someone else's notification is not there to be read.
    client.post("/logout")
    log_in(client, people["other_officer"])
    assert client.post(f"/api/v1/notifications/{first}/read").status_code == 404


def test_notification_click_marks_read_and_follows_the_link(app, client, people, make_task):
    task_id = make_task()
    log_in(client, people["officer"])
    item = client.get("/api/v1/notifications").json["items"][0]
    response = client.get(f"/notifications/{item['id']}")
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    assert client.get("/api/v1/notifications?unread=1").json["total"] == 0


def test_problem_steps_tell_whom_they_concern(app, client, people, enterprise):
    from crm.problems import operations as problem_operations
    from crm.problems.workflow import Step

    with app.app_context():
        problem = problem_operations.raise_problem(
            None,
            db.session.get(Enterprise, enterprise.id),
            {"category": "talent", "title": "缺少高端人才", "description": ""},
            bureau_today(),
        )
        chief = db.session.get(User, people["chief"].id)
        officer = db.session.get(User, people["officer"].id)
        problem_operations.take_step(chief, problem, Step.ASSIGN, 1, {"assignee_id": officer.id})
        problem_operations.take_step(officer, problem, Step.ACCEPT, 2, {})
        problem_operations.take_step(officer, problem, Step.RESOLVE, 3, {"resolution": "已对接"})
        db.session.commit()
    assert [k for k, t in notifications_of(app, people["officer"].id)] == ["problem"]
    told_chief = notifications_of(app, people["chief"].id)
    assert len(told_chief) == 1 and "缺少高端人才" in told_chief[0][1]


def test_rules_tie_permissions_to_state():
    task = FollowUp(status=FollowUpStatus.DONE, assignee_id=1, assigned_by_id=1)
    user = User(id=1)
    assert not rules.can_complete_followup(user, task)
    assert not rules.can_cancel_followup(user, task)


def test_a_chief_adding_a_follow_up_to_a_visit_gives_it_to_the_lead(app, people, enterprise):
    from crm.visits import operations as visit_operations
    from tests.test_visits import visit_values

    with app.app_context():
        officer = db.session.get(User, people["officer"].id)
        chief = db.session.get(User, people["chief"].id)
        company = db.session.get(Enterprise, enterprise.id)
        visit, _created = visit_operations.record_visit(officer, company, visit_values())
        db.session.commit()
        values = visit_values(
            client_uuid=str(visit.client_uuid),
            followup_title="补交研发台账",
            followup_due_on=bureau_today() + timedelta(days=5),
        )
        visit_operations.update_visit(chief, visit, values)
        db.session.commit()
        task = db.session.scalars(sa.select(FollowUp)).one()
        assert (task.visit_id, task.assignee_id, task.assigned_by_id) == (
            visit.id,
            officer.id,
            chief.id,
        )


def test_deleting_an_enterprise_cancels_its_open_tasks(app, client, people, make_task, enterprise):
    open_task, done_task = make_task(), make_task()
    log_in(client, people["officer"])
    client.post(f"/api/v1/followups/{done_task}/complete", json={"version": 1})
    client.post("/logout")
    log_in(client, people["chief"])
    assert client.post(f"/enterprises/{enterprise.id}/delete").status_code == 302
    assert task_state(app, open_task)[0] == "cancelled"
    assert task_state(app, done_task)[0] == "done"
    client.post("/logout")
    log_in(client, people["officer"])
    assert "核实研发费用材料" not in client.get("/tasks/").text.split("recently-done")[0]


def test_my_tasks_shows_the_most_urgent_of_a_long_list_at_once(app, client, people, enterprise):
    """An officer with 53 overdue tasks gets the 50 due first, the group's full count, and a
    link to all of them; the page's statements do not grow with the tasks."""
    today = bureau_today()

    def add(count: int, first_due: date, name: str) -> None:
        with app.app_context():
            db.session.add_all(
                FollowUp(
                    enterprise_id=enterprise.id,
                    county_code=YIYANG,
                    title=f"{name}任务 {number:02d}",
                    assignee_id=people["officer"].id,
                    assigned_by_id=people["chief"].id,
                    due_on=first_due + timedelta(days=number),
                )
                for number in range(count)
            )
            db.session.commit()

    add(3, today - timedelta(days=200), "最早")
    add(1, today + timedelta(days=60), "最晚")
    log_in(client, people["officer"])
    few = queries_for(app, client, "/tasks/")
    add(50, today - timedelta(days=100), "逾期")
    add(2, today + timedelta(days=30), "以后")
    page = client.get("/tasks/").text
    overdue = page.split('id="group-overdue"')[1].split("</section>")[0]
    assert '<span class="badge text-bg-danger">53</span>' in overdue
    shown = SECTION_LIMIT - 3  # after the three due first
    assert overdue.count("最早任务") == 3 and overdue.count("逾期任务") == shown
    assert f"逾期任务 {shown - 1:02d}" in overdue and f"逾期任务 {shown:02d}" not in overdue
    assert f"其后还有 {53 - SECTION_LIMIT} 条" in overdue and "/tasks/?all=overdue" in overdue
    later = page.split('id="group-later"')[1].split("</section>")[0]
    assert later.count("以后任务") == 2 and "其后还有" not in later
    assert queries_for(app, client, "/tasks/") == few
    expanded = client.get("/tasks/?all=overdue").text.split('id="group-overdue"')[1]
    assert expanded.split("</section>")[0].count("逾期任务") == 50


def sorts(statement: sa.Select) -> bool:
    """True when the database would sort the statement's rows rather than read them in order
    off an index (PostgreSQL is told to avoid sorting and scanning where it can: on a test's
    few rows it would otherwise prefer them)."""
    connection = db.session.connection()
    compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}")]
        return any("Sort" in line for line in plan)
    plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    return any("TEMP B-TREE" in line for line in plan)


def test_my_last_tasks_done_are_read_in_order_off_an_index(app, people, make_task):
    """An officer's done tasks only grow (86 449 for the full-scale demo's officer): 我的任务's
    last ten done must not sort them all."""
    from crm.followups.queries import open_tasks_of, recently_done

    make_task()
    with app.app_context():
        officer = db.session.get(User, people["officer"].id)
        assert not sorts(recently_done(officer))
        assert sorts(open_tasks_of(officer).order_by(FollowUp.title))  # the check can fail
        db.session.rollback()


def test_the_new_task_form_marks_what_it_needs(client, people, enterprise):
    """任务 and 截止日期 carry the asterisk of a required field; 负责人 (oneself when left
    empty) and the rest do not."""
    log_in(client, people["chief"])
    page = client.get(f"/tasks/new?enterprise_id={enterprise.id}").text
    marked = re.findall(
        r'>([^<>]+)</label><span class="text-danger ms-1" aria-hidden="true">\*', page
    )
    assert marked == ["任务", "截止日期"]


def count_tasks(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp))


def test_a_task_sent_again_is_stored_once(app, client, people, enterprise):
    """A retry on a weak network (or Back and 保存 again) finds the task stored the first time."""
    log_in(client, people["chief"])
    page = client.get(f"/tasks/new?enterprise_id={enterprise.id}").text
    number = re.search(r'name="client_uuid" type="hidden" value="([0-9a-f-]{36})"', page)
    form = {
        "client_uuid": number.group(1),
        "enterprise_id": enterprise.id,
        "title": "核实研发费用材料",
        "due_on": (bureau_today() + timedelta(days=3)).isoformat(),
        "priority": "normal",
    }
    first = client.post("/tasks/new", data=form)
    again = client.post("/tasks/new", data=form, follow_redirects=True)
    assert first.status_code == 302 and again.status_code == 200
    assert first.location.endswith(again.request.path)
    assert "该任务已创建" in again.text
    assert count_tasks(app) == 1
    fresh = client.get(f"/tasks/new?enterprise_id={enterprise.id}").text
    assert number.group(1) not in fresh  # a new page, a new task
    assert client.post("/tasks/new", data={**form, "client_uuid": ""}).status_code == 302
    assert count_tasks(app) == 2


def test_a_task_number_of_another_task_is_refused_and_replaced(
    app, client, people, enterprise, create_enterprise
):
    """Another's number, or the same number on another enterprise, stores nothing; the form
    says so above its fields and carries a new number, so that the next send goes through."""
    log_in(client, people["chief"])
    number = "0f8e4f7c-56a3-4c7e-9a55-2f6d1c1b7d10"
    task = {"enterprise_id": enterprise.id, "title": "送申报指南", "client_uuid": number}
    task["due_on"] = (bureau_today() + timedelta(days=3)).isoformat()
    assert client.post("/api/v1/followups", json=task).status_code == 201
    elsewhere = create_enterprise(county_code=YIYANG)
    moved = client.post("/api/v1/followups", json={**task, "enterprise_id": elsewhere.id})
    assert moved.status_code == 409 and "client_uuid" in moved.json["error"]["fields"]
    client.post("/logout")
    log_in(client, people["officer"])
    page = client.post("/tasks/new", data={**task, "priority": "normal"})
    assert page.status_code == 422
    assert "表单的任务编号无法使用" in page.text.split('name="title"')[0]
    renewed = re.search(r'name="client_uuid" type="hidden" value="([0-9a-f-]{36})"', page.text)
    assert renewed and renewed.group(1) != number
    assert "送申报指南" in page.text  # what was typed stays
    assert count_tasks(app) == 1
    malformed = client.post("/tasks/new", data={**task, "client_uuid": "x"})
    assert malformed.status_code == 422 and count_tasks(app) == 1


def test_the_api_stores_a_task_once_per_number(app, client, people, enterprise):
    log_in(client, people["chief"])
    task = {
        "enterprise_id": enterprise.id,
        "title": "核实研发费用材料",
        "due_on": (bureau_today() + timedelta(days=3)).isoformat(),
        "assignee_id": people["officer"].id,
    }
    key = {"Idempotency-Key": "board-7-task-0001"}
    first = client.post("/api/v1/followups", json=task, headers=key)
    second = client.post("/api/v1/followups", json=task, headers=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"] and second.json["title"] == task["title"]
    # The number with other words is no retry: refused, not answered as stored (and lost).
    other = client.post("/api/v1/followups", json={**task, "title": "改过"}, headers=key)
    assert other.status_code == 409 and "client_uuid" in other.json["error"]["fields"]
    assert count_tasks(app) == 1
    assert len(notifications_of(app, people["officer"].id)) == 1  # told once
    plain = [client.post("/api/v1/followups", json=task).status_code for _ in range(2)]
    assert plain == [201, 201] and count_tasks(app) == 3  # no number: two tasks asked for
    client.post("/logout")
    log_in(client, people["other_officer"])
    theirs = client.post("/api/v1/followups", json={**task, "assignee_id": None}, headers=key)
    assert theirs.status_code == 201  # another user's key is a number of their own
    assert count_tasks(app) == 4


def test_concurrent_sends_of_one_task_store_it_once(app, people, create_token, enterprise):
    token = create_token(people["chief"])
    task = {
        "client_uuid": "4b0c5f0e-7a43-4a8e-8f0e-9a1d2c3b4a50",
        "enterprise_id": enterprise.id,
        "title": "核实研发费用材料",
        "due_on": (bureau_today() + timedelta(days=3)).isoformat(),
        "assignee_id": people["officer"].id,
    }
    assert posted_at_once(app, "/api/v1/followups", task, token) == [200, 200, 200, 201]
    assert count_tasks(app) == 1
    assert len(notifications_of(app, people["officer"].id)) == 1


def test_a_task_an_officer_gave_themselves_is_told_to_the_countys_chief_once_they_move(
    app, people, make_task
):
    """No one else assigned it: once its officer moved, the county's chief hears of it rather
    than no one (and the reminder is not spent on nobody)."""
    make_task(by="officer", due_on=bureau_today())
    with app.app_context():
        db.session.get(User, people["officer"].id).region_code = MENGJIN
        db.session.commit()
        due_reminders(utcnow())
        db.session.commit()
    told = [text for _kind, text in notifications_of(app, people["chief"].id)]
    assert any("核实研发费用材料" in text for text in told)
    assert notifications_of(app, people["officer"].id) == []


def test_a_task_stays_with_its_county_when_its_officer_moves(app, client, people, make_task):
    """Moved to another county, the officer no longer sees the old county's tasks, theirs
    included (a user sees only records inside their scope): the reminders go to the chief who
    assigned them, who can open them and hand them on."""
    soon = make_task(due_on=bureau_today())
    late = make_task()
    with app.app_context():
        officer = db.session.get(User, people["officer"].id)
        officer.region_code = MENGJIN
        db.session.get(FollowUp, late).due_on = bureau_today() - timedelta(days=2)
        db.session.commit()
        now = utcnow()
        due_reminders(now)
        overdue_escalation(now)
        db.session.commit()
    told = [kind for kind, _text in notifications_of(app, people["officer"].id)]
    assert "due_soon" not in told and "overdue" not in told
    chief = [kind for kind, _text in notifications_of(app, people["chief"].id)]
    assert "due_soon" in chief and "overdue" in chief
    log_in(client, people["officer"])
    assert client.get(f"/tasks/{soon}").status_code == 404
    for page in ("/tasks/", "/"):  # 我的任务 and the home page's figures
        text = client.get(page).text
        assert f"/tasks/{soon}" not in text and f"/tasks/{late}" not in text, page
    assert client.get(f"/api/v1/followups/{late}").status_code == 404
    assert soon not in [t["id"] for t in client.get("/api/v1/followups").json["items"]]
