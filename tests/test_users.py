"""The administrator's user pages and the user operations behind them."""

import re

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.auth import operations
from crm.auth.models import ApiToken, Role, User
from crm.errors import ValidationFailed
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, YIYANG, log_in
from tests.forms import fields_of

NEW_USER = {
    "username": "wangfang",
    "display_name": "王芳",
    "role": "officer",
    "region_code": YIYANG,
    "unit": "宜阳县科技局",
    "phone": "13800000000",
    "password": "start1234",
    "must_change_password": "y",
}


def get_user(app, username):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.username == username))


def audit_actions(app, entity_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.entity_type == "users", AuditLog.entity_id == str(entity_id))
            .order_by(AuditLog.id)
        ).all()


def test_admin_creates_a_user_who_must_change_the_password(app, client, login):
    login("admin")
    response = client.post("/admin/users/new", data=NEW_USER)
    assert response.status_code == 302
    user = get_user(app, "wangfang")
    assert (user.display_name, user.role, user.region_code) == ("王芳", Role.OFFICER, YIYANG)
    assert user.must_change_password
    assert audit_actions(app, user.id) == ["user.create"]
    page = client.get(response.headers["Location"])
    assert "已创建用户 王芳。" in page.text


def test_invalid_user_form_shows_chinese_errors_and_stores_nothing(app, client, login):
    login("admin")
    bad = {**NEW_USER, "username": "Bad Name!", "display_name": "", "password": "123"}
    response = client.post("/admin/users/new", data=bad)
    assert response.status_code == 200
    assert "此项必填。" in response.text  # display name, beside its field
    assert get_user(app, "bad name!") is None
    response = client.post("/admin/users/new", data={**NEW_USER, "username": "Bad Name!"})
    assert "只能包含小写字母" in response.text
    response = client.post("/admin/users/new", data={**NEW_USER, "password": "abcdefgh"})
    assert "须同时包含字母和数字" in response.text
    assert get_user(app, "wangfang") is None


def test_a_bad_phone_and_e_mail_are_both_told_beside_their_fields(app, client, login):
    login("admin")
    bad = {**NEW_USER, "phone": "phone???", "email": "wang at example"}
    response = client.post("/admin/users/new", data=bad)
    fields = fields_of(response.text)
    assert fields["phone"].invalid and fields["email"].invalid
    assert "请填写电话号码" in response.text and "name@example.gov.cn" in response.text
    assert fields["phone"].filled == ["phone???"]  # kept as typed
    assert get_user(app, "wangfang") is None


def test_the_form_and_the_rules_are_told_together(app, client, login, create_user):
    """WTForms' checks (a username too short, a name left empty) and the product's rules (the
    phone, the password) are told at once, each beside its field; an odd role is refused
    beside it, not a server error."""
    login("admin")
    bad = {**NEW_USER, "username": "a", "phone": "abc", "password": "abc"}
    response = client.post("/admin/users/new", data=bad)
    fields = fields_of(response.text)
    assert fields["username"].invalid and fields["phone"].invalid and fields["password"].invalid
    assert "请填写电话号码" in response.text and "密码至少需要 8 位" in response.text
    assert response.text.count("应为 2 至 32 个字符。") == 1  # the username's, told once
    odd = client.post("/admin/users/new", data={**bad, "role": "emperor"})
    assert odd.status_code == 200 and "请从列表中选择。" in odd.text
    officer = create_user("officer", YIYANG)
    edit = {"display_name": "", "phone": "abc", "email": "x", "role": "officer"}
    edited = client.post(f"/admin/users/{officer.id}", data={**edit, "region_code": YIYANG})
    assert "此项必填。" in edited.text and "请填写电话号码" in edited.text
    assert "name@example.gov.cn" in edited.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
        assert db.session.get(User, officer.id).phone != "abc"


def test_duplicate_username_is_refused(app, client, login):
    login("admin")
    client.post("/admin/users/new", data=NEW_USER)
    response = client.post("/admin/users/new", data={**NEW_USER, "display_name": "另一个"})
    assert "该用户名已被使用。" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2


def test_a_taken_username_and_a_weak_password_are_told_together(app, client, login):
    """Every bad field at once: the password's rules are not held back until the username is
    changed and the form sent again."""
    login("admin")
    client.post("/admin/users/new", data=NEW_USER)
    again = {**NEW_USER, "display_name": "另一个", "password": "abcdefgh", "phone": "phone???"}
    response = client.post("/admin/users/new", data=again)
    fields = fields_of(response.text)
    assert fields["username"].invalid and fields["password"].invalid and fields["phone"].invalid
    assert "该用户名已被使用。" in response.text and "须同时包含字母和数字" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2


def test_township_cannot_be_a_user_scope(client, login):
    login("admin")
    response = client.post("/admin/users/new", data={**NEW_USER, "region_code": "410327001"})
    assert response.status_code == 200
    assert "is-invalid" in response.text


def test_admin_edits_a_user_and_the_change_is_audited(app, client, login, create_user):
    login("admin")
    officer = create_user("officer", YIYANG)
    form = {"display_name": "赵伟", "role": "chief", "region_code": YIYANG, "unit": "", "phone": ""}
    response = client.post(f"/admin/users/{officer.id}", data=form)
    assert response.status_code == 302
    user = get_user(app, officer.username)
    assert (user.display_name, user.role) == ("赵伟", Role.CHIEF)
    with app.app_context():
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "user.update")
        ).one()
        assert entry.changes["role"] == ["officer", "chief"]
        assert entry.region_code == YIYANG
    page = client.get(f"/admin/users/{officer.id}")
    assert "修改用户" in page.text  # the history on the user's page


def test_admin_cannot_change_own_role_or_deactivate_self(app, client, login):
    admin = login("admin")
    form = {"display_name": "x", "role": "officer", "region_code": CITY, "unit": "", "phone": ""}
    response = client.post(f"/admin/users/{admin.id}", data=form)
    assert "不能修改自己的角色。" in response.text
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号。" in response.text
    assert get_user(app, admin.username).active


def test_the_last_city_administrator_stays_one(app, client, login, create_user):
    """No change leaves the city without an active administrator of its own: the last one
    cannot narrow their own region, nor be deactivated or demoted by anyone; with a second one
    there, either may be."""
    admin = login("admin")
    form = {"display_name": "x", "role": "admin", "region_code": YIYANG, "unit": "", "phone": ""}
    response = client.post(f"/admin/users/{admin.id}", data=form)
    assert response.status_code == 200 and "全市至少要保留一名在用的市级管理员" in response.text
    assert get_user(app, admin.username).region_code == CITY
    with app.test_request_context():
        last = db.session.get(User, admin.id)
        someone = db.session.get(User, create_user("admin", YIYANG).id)
        with pytest.raises(ValidationFailed):
            operations.deactivate_user(someone, last)
        with pytest.raises(ValidationFailed):
            operations.update_user(someone, last, {"role": "viewer"})
        db.session.rollback()
    second = create_user("admin", CITY)
    form = {**form, "region_code": CITY, "role": "viewer"}
    assert client.post(f"/admin/users/{second.id}", data=form).status_code == 302
    assert get_user(app, second.username).role == Role.VIEWER
    assert get_user(app, admin.username).active and get_user(app, admin.username).role == "admin"


def test_deactivate_and_reactivate(app, client, login, create_user):
    login("admin")
    officer = create_user("officer")
    client.post(f"/admin/users/{officer.id}/deactivate")
    assert not get_user(app, officer.username).active
    client.post(f"/admin/users/{officer.id}/reactivate")
    assert get_user(app, officer.username).active
    assert audit_actions(app, officer.id)[-2:] == ["user.deactivate", "user.reactivate"]
    history = client.get(f"/admin/users/{officer.id}").text
    assert "账号状态" in history and "已停用" in history  # not 已启用：是 → 否


def test_admin_resets_a_password(app, client, login, create_user):
    login("admin")
    officer = create_user("officer")
    response = client.post(f"/admin/users/{officer.id}/password", data={"password": "temp98765"})
    assert response.status_code == 302
    assert get_user(app, officer.username).must_change_password
    officer.password = "temp98765"
    other = app.test_client()
    log_in(other, officer)
    assert other.get("/").headers["Location"] == "/account/password"


def test_weak_reset_password_is_refused(app, client, login, create_user):
    login("admin")
    officer = create_user("officer")
    response = client.post(f"/admin/users/{officer.id}/password", data={"password": "weak"})
    assert response.status_code == 422
    assert "密码至少需要 8 位" in response.text
    assert not get_user(app, officer.username).must_change_password


def test_user_list_filters_and_counts(client, login, create_user):
    login("admin")
    create_user("officer", YIYANG, display_name="宜阳干部")
    create_user("viewer", MENGJIN, display_name="孟津查看")
    page = client.get("/admin/users/", query_string={"region": YIYANG})
    assert "宜阳干部" in page.text and "孟津查看" not in page.text
    assert "共 1 个用户" in page.text
    page = client.get("/admin/users/", query_string={"q": "孟津"})
    assert "孟津查看" in page.text and "宜阳干部" not in page.text
    page = client.get("/admin/users/", query_string={"role": "viewer", "status": "active"})
    assert "孟津查看" in page.text


def test_county_admin_sees_and_edits_only_their_county(client, login, create_user):
    login("admin", YIYANG)
    mine = create_user("officer", YIYANG, display_name="本县干部")
    other = create_user("officer", MENGJIN, display_name="外县干部")
    city = create_user("chief", CITY, display_name="市局科长")
    page = client.get("/admin/users/").text
    assert "本县干部" in page and "外县干部" not in page and "市局科长" not in page
    assert client.get(f"/admin/users/{mine.id}").status_code == 200
    for target in (other, city):
        assert client.get(f"/admin/users/{target.id}").status_code == 404
        assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 404
        assert (
            client.post(
                f"/admin/users/{target.id}/password", data={"password": "x1234567"}
            ).status_code
            == 404
        )
    # Only their own county is offered, and a forged choice of another region is refused.
    options = re.findall(r'<option[^>]*value="(\d+)"', client.get("/admin/users/new").text)
    assert options == [YIYANG]
    response = client.post("/admin/users/new", data={**NEW_USER, "region_code": MENGJIN})
    assert response.status_code == 200 and "is-invalid" in response.text


def test_admin_revokes_a_users_token(app, client, login, create_user, create_token):
    login("admin")
    officer = create_user("officer")
    token = create_token(officer)
    with app.app_context():
        token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    page = client.get(f"/admin/users/{officer.id}").text
    assert token[:12] in page and token not in page
    client.post(f"/admin/users/{officer.id}/tokens/{token_id}/revoke")
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )


def test_token_of_another_user_cannot_be_revoked_through_this_user(
    app, client, login, create_user, create_token
):
    login("admin")
    first, second = create_user("officer"), create_user("officer")
    create_token(first)
    with app.app_context():
        token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    assert client.post(f"/admin/users/{second.id}/tokens/{token_id}/revoke").status_code == 404


def test_search_treats_wildcards_as_text(client, login, create_user):
    login("admin")
    create_user("officer", display_name="百分之百")
    page = client.get("/admin/users/", query_string={"q": "%"})
    assert "共 0 个用户" in page.text


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_password_reset_revokes_the_users_api_tokens(app, client, login, create_user, create_token):
    login("admin")
    officer = create_user("officer")
    token = create_token(officer)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    client.post(f"/admin/users/{officer.id}/password", data={"password": "temp98765"})
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_deactivation_revokes_tokens_for_good(app, client, login, create_user, create_token):
    login("admin")
    officer = create_user("officer")
    token = create_token(officer)
    client.post(f"/admin/users/{officer.id}/deactivate")
    client.post(f"/admin/users/{officer.id}/reactivate")
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    with app.app_context():
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "user.deactivate")
        ).one()
        assert entry.changes["api_tokens_revoked"] == [None, 1]


def test_moving_or_deactivating_a_user_who_holds_work_says_so(
    app, client, login, create_user, create_enterprise
):
    """A user who still handles a problem and a task: the page says so with a link to their
    problems, the confirmation counts them, and moving or deactivating them is followed by a
    warning to hand the work over (a user moved away no longer sees it)."""
    from datetime import timedelta

    from crm.followups.models import FollowUp
    from crm.problems.models import Problem, ProblemCategory, ProblemStatus
    from tests.conftest import bureau_today

    login("admin")
    officer = create_user("officer", CITY)
    enterprise = create_enterprise(county_code=YIYANG)
    with app.app_context():
        db.session.add(
            Problem(
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                category=ProblemCategory.TALENT,
                title="缺少技工",
                raised_on=bureau_today(),
                status=ProblemStatus.ASSIGNED,
                assignee_id=officer.id,
                due_on=bureau_today() + timedelta(days=7),
            )
        )
        db.session.add(
            FollowUp(
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                title="回访",
                assignee_id=officer.id,
                due_on=bureau_today() + timedelta(days=3),
            )
        )
        db.session.commit()
    page = client.get(f"/admin/users/{officer.id}").text
    assert 'id="open-work"' in page and "仍承办 1 个未办结问题、1 个未完成跟进任务" in page
    assert f"/problems/?assignee={officer.id}" in page
    assert "其仍承办 1 个未办结问题、1 个未完成任务。" in page  # in the confirmation
    moved = {"display_name": "干部", "role": "officer", "region_code": MENGJIN}
    after = client.post(f"/admin/users/{officer.id}", data=moved, follow_redirects=True).text
    assert "请改派给能办理的人员" in after
    unchanged = client.post(f"/admin/users/{officer.id}", data=moved, follow_redirects=True)
    assert "请改派给能办理的人员" not in unchanged.text  # the region did not change this time
    done = client.post(f"/admin/users/{officer.id}/deactivate", follow_redirects=True).text
    assert "已停用" in done and "请改派给能办理的人员" in done
    # The link lists their problems still, deactivated as they are, to be handed over.
    ledger = client.get(f"/problems/?assignee={officer.id}").text
    assert "缺少技工" in ledger and "is-invalid" not in ledger and "（已不再承办问题）" in ledger
    idle = create_user("officer", YIYANG)
    assert 'id="open-work"' not in client.get(f"/admin/users/{idle.id}").text
