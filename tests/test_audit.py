"""The audit log: written by operations, browsed by administrators and chiefs in scope."""

import re
from datetime import UTC, datetime

from crm.audit.models import AuditLog
from crm.audit.operations import apply_changes, record_audit
from crm.auth.models import Role, User
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, YIYANG


def test_apply_changes_returns_only_what_changed(app, create_user):
    info = create_user("officer", display_name="旧名字")
    with app.app_context():
        user = db.session.get(User, info.id)
        values = {"display_name": "新名字", "role": Role.OFFICER, "unit": "成果转化科"}
        changes = apply_changes(user, values)
        assert changes == {"display_name": ["旧名字", "新名字"], "unit": ["", "成果转化科"]}
        assert user.display_name == "新名字"


def test_entries_record_actor_ip_and_region(app, create_user):
    actor, target = create_user("admin"), create_user("officer", YIYANG)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        entry = record_audit(
            "user.update",
            db.session.get(User, target.id),
            actor=db.session.get(User, actor.id),
            changes={"unit": ["", "x"]},
        )
        db.session.commit()
        assert (entry.actor_id, entry.ip, entry.region_code) == (actor.id, "10.1.2.3", YIYANG)
        assert (entry.entity_type, entry.entity_id) == ("users", str(target.id))


def table_body(html):
    """The text of the result table's body, without the filter bar."""
    return re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1]


def test_admin_browses_and_filters_the_log(app, client, login, create_user):
    login("admin", display_name="管理员甲")
    create_user("officer", YIYANG, display_name="宜阳干部")
    app.test_client().post("/login", data={"username": "ghost", "password": "nope"})
    rows = table_body(client.get("/admin/audit/").text)
    assert "创建用户" in rows and "登录失败" in rows
    failures = table_body(client.get("/admin/audit/?action=login.failed").text)
    assert "登录失败" in failures and "创建用户" not in failures
    by_actor = table_body(client.get("/admin/audit/", query_string={"actor": "管理员甲"}).text)
    assert "登录" in by_actor and "登录失败" not in by_actor


def test_date_filter_uses_the_local_calendar_day(app, client, login):
    login("admin")
    with app.app_context():
        # 2026-03-01 23:57 in Beijing is still 2026-03-01 15:57 UTC.
        db.session.add(
            AuditLog(action="probe", created_at=datetime(2026, 3, 1, 15, 57, tzinfo=UTC))
        )
        db.session.commit()
    day = {"date_from": "2026-03-01", "date_to": "2026-03-01"}
    page = client.get("/admin/audit/", query_string=day).text
    assert "共 1 条记录" in page and "2026-03-01 23:57" in page
    next_day = {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    assert "共 0 条记录" in client.get("/admin/audit/", query_string=next_day).text


def test_invalid_filter_shows_an_error_not_a_crash(client, login):
    login("admin")
    response = client.get("/admin/audit/", query_string={"date_from": "2026-02-30"})
    assert response.status_code == 200
    assert "is-invalid" in response.text
    backwards = {"date_from": "2026-03-02", "date_to": "2026-03-01"}
    assert "结束日期不能早于开始日期。" in client.get("/admin/audit/", query_string=backwards).text


def test_county_chief_sees_only_their_countys_entries(app, client, login, create_user):
    yiyang = create_user("officer", YIYANG)
    mengjin = create_user("officer", MENGJIN)
    city = create_user("chief", CITY)
    app.test_client().post("/login", data={"username": "ghost", "password": "nope"})
    login("chief", YIYANG)
    rows = table_body(client.get("/admin/audit/").text)
    assert f"用户 #{yiyang.id}<" in rows
    assert f"用户 #{mengjin.id}<" not in rows and f"用户 #{city.id}<" not in rows
    assert "登录失败" not in rows  # an unknown username belongs to no county


def test_changes_are_shown_with_readable_values(app, client, login, create_user):
    login("admin")
    officer = create_user("officer", YIYANG)
    form = {
        "display_name": "赵伟",
        "role": "chief",
        "region_code": MENGJIN,
        "unit": "",
        "phone": "",
    }
    client.post(f"/admin/users/{officer.id}", data=form)
    rows = table_body(client.get("/admin/audit/?action=user.update").text)
    assert "<del>走访干部</del> → 科长" in rows
    assert "<del>宜阳县</del> → 孟津区" in rows


def test_a_field_is_named_as_its_own_table_means_it(app, client, login):
    """One key means different things in different tables: a contact's title is a 职务, a
    problem's is the problem; a task's status is not a problem's; a yes/no reads 是/否."""
    login("admin")
    entries = [
        ("problems", {"title": [None, "融资难"], "unit": [None, "市人社局"]}),
        ("contacts", {"name": [None, "王芳"], "title": [None, "财务总监"]}),
        ("followups", {"status": ["todo", "done"]}),
        (
            "policies",
            {"name": [None, "科技创新券"], "category": [None, "tax"], "active": [True, False]},
        ),
        ("users", {"unit": ["", "科技科"]}),
        ("visits", {"summary": ["", "了解研发投入"]}),
    ]
    with app.app_context():
        for table, changes in entries:
            entry = AuditLog(action=f"{table}.check", entity_type=table, entity_id="1")
            entry.actor_name, entry.changes, entry.region_code = "周管理", changes, CITY
            db.session.add(entry)
        db.session.commit()
    rows = table_body(client.get("/admin/audit/").text)
    for shown in (
        "问题：</span>\n              融资难",
        "责任单位：",
        "姓名：</span>\n              王芳",
        "职务：</span>\n              财务总监",
        "<del>待办</del> → 已完成",
        "类别：</span>\n              财税",
        "政策名称：</span>\n              科技创新券",
        "<del>是</del> → 否",
        "单位/科室：",
        "走访情况：",
    ):
        assert shown in rows, shown
