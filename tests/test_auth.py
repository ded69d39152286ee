"""Logging in and out, throttling, CSRF, and the life of a session."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.auth.models import User, UserSession
from crm.extensions import db
from tests.conftest import log_in, make_app


def session_records(app, user):
    with app.app_context():
        return db.session.scalars(
            sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        ).all()


def test_login_page_is_chinese(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "企业服务走访系统" in page.text
    assert "用户名" in page.text and "密码" in page.text


@pytest.mark.parametrize("url", ["/", "/account", "/admin/users/", "/admin/audit/"])
def test_anonymous_pages_redirect_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_then_back_to_requested_page(client, create_user):
    user = create_user("admin")
    response = client.post(
        "/login?next=/admin/users/", data={"username": user.username, "password": user.password}
    )
    assert response.headers["Location"] == "/admin/users/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/%09/evil.example/",
        "/%0A/evil.example/",
        "/%0D/evil.example/",
        "/%5C/evil.example/",
        "javascript:alert(1)",
    ],
)
def test_login_ignores_next_pointing_elsewhere(client, create_user, target):
    user = create_user("officer")
    response = client.post(
        f"/login?next={target}", data={"username": user.username, "password": user.password}
    )
    assert response.headers["Location"] == "/"


def test_login_is_case_insensitive_on_username(client, create_user):
    user = create_user("officer")
    response = client.post(
        "/login", data={"username": f"  {user.username.upper()} ", "password": user.password}
    )
    assert response.status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_chinese_error(client, create_user):
    user = create_user("officer")
    wrong_password = client.post("/login", data={"username": user.username, "password": "nope"})
    unknown_user = client.post("/login", data={"username": "nobody", "password": "nope"})
    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert "用户名或密码错误。" in response.text
        assert "不存在" not in response.text
    assert client.get("/").status_code == 302


def test_empty_login_form_shows_field_errors(client):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.text.count("invalid-feedback") == 2


def test_deactivated_user_cannot_log_in(app, client, create_user):
    user = create_user("officer")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert "该账号已停用" in response.text
    assert client.get("/").status_code == 302


def test_sixth_rapid_failure_is_throttled(client, create_user):
    user = create_user("officer")
    for _ in range(5):
        response = client.post("/login", data={"username": user.username, "password": "wrong1"})
        assert response.status_code == 200
    # Even the right password is refused now: the attacker learns nothing from the 6th try.
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.text
    assert client.get("/").status_code == 302


def test_guessing_the_current_password_on_the_change_form_is_throttled_and_audited(
    app, client, login
):
    """A session left open on a shared tablet: its password is guessed on 修改密码 no faster
    than on the login page, and each wrong guess is in the audit log."""
    user = login("officer")
    same = {"current_password": user.password, "new_password": user.password}
    for _ in range(6):  # refused for another reason, the right password is no guess
        answer = client.post("/account/password", data={**same, "confirm_password": user.password})
        assert answer.status_code == 200
    new = {"new_password": "Newpass2026", "confirm_password": "Newpass2026"}
    guess = {"current_password": "wrong123", **new}
    for _ in range(5):
        response = client.post("/account/password", data=guess)
        assert response.status_code == 200 and "当前密码不正确" in response.text
    right = {**guess, "current_password": user.password}
    refused = client.post("/account/password", data=right)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    with app.app_context():
        wrong = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "user.wrong_password")
        ).all()
        assert [entry.actor_id for entry in wrong] == [user.id] * 5


def test_parallel_guesses_cannot_slip_past_the_limit(app, create_user):
    from concurrent.futures import ThreadPoolExecutor

    user = create_user("officer")

    def guess(_):
        data = {"username": user.username, "password": "wrong1"}
        return app.test_client().post("/login", data=data).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(200) == 5  # checked (and refused): exactly the limit
    assert statuses.count(429) == 15


def test_a_json_login_counts_in_the_same_bucket(client, create_user):
    user = create_user("officer")
    for _ in range(5):
        client.post("/login", data={"username": user.username, "password": "wrong1"})
    response = client.post("/login", json={"username": user.username, "password": user.password})
    assert response.status_code == 429


def test_throttle_is_per_username(client, create_user):
    victim, other = create_user("officer"), create_user("officer")
    for _ in range(6):
        client.post("/login", data={"username": victim.username, "password": "wrong1"})
    log_in(client, other)


def test_successful_logins_do_not_count_towards_the_limit(client, create_user):
    user = create_user("officer")
    for _ in range(7):
        log_in(client, user)
        client.post("/logout")


def test_throttle_per_ip_across_usernames(app, create_user):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 10 minutes"
    client = app.test_client()
    user = create_user("officer")
    for name in ("a1", "b2", "c3"):
        client.post("/login", data={"username": name, "password": "wrong1"})
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert response.status_code == 429


def test_post_without_csrf_token_is_refused(database, tmp_path, create_user):
    app = make_app(database.url_for_test(tmp_path), WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "页面已过期或来源无法验证" in response.text


def test_post_with_csrf_token_from_the_page_succeeds(app, create_user):
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = create_user("officer")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": user.username, "password": user.password, "csrf_token": token[1]},
    )
    assert response.status_code == 302
    # Logged in, a write without the token is still refused.
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_logout_requires_post(client, login):
    login("officer")
    assert client.get("/logout").status_code == 405


def test_logout_makes_a_copied_cookie_useless(app, client, login):
    login("officer")
    copied = client.get_cookie("crm_session").value
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("crm_session", copied)
    assert thief.get("/").status_code == 302


def test_logout_elsewhere_keeps_other_sessions(app, client, create_user):
    user = create_user("officer")
    log_in(client, user)
    tablet = app.test_client()
    log_in(tablet, user)
    client.post("/logout")
    assert tablet.get("/").status_code == 200


def test_logout_everywhere_ends_every_session(app, client, create_user):
    user = create_user("officer")
    log_in(client, user)
    tablet = app.test_client()
    log_in(tablet, user)
    response = client.post("/account/logout-everywhere")
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert tablet.get("/").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, create_user):
    user = create_user("officer")
    log_in(client, user)
    copied = client.get_cookie("crm_session").value
    tablet = app.test_client()
    log_in(tablet, user)
    response = client.post(
        "/account/password",
        data={
            "current_password": user.password,
            "new_password": "newpass456",
            "confirm_password": "newpass456",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert tablet.get("/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("crm_session", copied)
    assert thief.get("/").status_code == 302
    client.post("/logout")
    user.password = "newpass456"
    log_in(client, user)


def test_deactivation_ends_existing_sessions(app, client, create_user):
    admin, officer = create_user("admin"), create_user("officer")
    tablet = app.test_client()
    log_in(tablet, officer)
    log_in(client, admin)
    response = client.post(f"/admin/users/{officer.id}/deactivate")
    assert response.status_code == 302
    page = tablet.get("/", follow_redirects=True)
    assert "您的登录已失效，请重新登录。" in page.text


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", timedelta(minutes=31)), ("created_at", timedelta(hours=12, minutes=1))],
)
def test_expired_session_asks_to_log_in_again(app, client, login, column, age):
    user = login("officer")
    with app.app_context():
        record = db.session.scalars(sa.select(UserSession)).one()
        setattr(record, column, getattr(record, column) - age)
        db.session.commit()
    response = client.get("/admin/audit/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "登录已超时，请重新登录。" in client.get(response.headers["Location"]).text
    assert session_records(app, user)[0].ended_at is not None


def test_active_session_is_kept_alive(app, client, login):
    user = login("officer")
    with app.app_context():
        record = db.session.scalars(sa.select(UserSession)).one()
        record.last_seen_at -= timedelta(minutes=29)
        db.session.commit()
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    seen = session_records(app, user)[0].last_seen_at
    with app.app_context():
        from crm.db import utcnow

        assert utcnow() - seen < timedelta(minutes=1)


def test_htmx_request_of_an_expired_session_redirects_the_page(client):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_password_reset_forces_a_new_password_at_login(app, client, create_user):
    user = create_user("officer", must_change_password=True)
    log_in(client, user)
    assert client.get("/").headers["Location"] == "/account/password"
    assert client.get("/admin/audit/").headers["Location"] == "/account/password"
    page = client.get("/account/password")
    assert "您的密码由管理员设置" in page.text
    client.post(
        "/account/password",
        data={
            "current_password": user.password,
            "new_password": "mine12345",
            "confirm_password": "mine12345",
        },
    )
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.session.get(User, user.id).must_change_password is False


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {
                "current_password": "wrong",
                "new_password": "abc12345",
                "confirm_password": "abc12345",
            },
            "current_password",
            "当前密码不正确。",
        ),
        ({"new_password": "short1", "confirm_password": "short1"}, "new_password", "至少需要 8 位"),
        (
            {"new_password": "abcdefghij", "confirm_password": "abcdefghij"},
            "new_password",
            "须同时包含字母和数字",
        ),
        (
            {"new_password": "abc12345", "confirm_password": "abc12346"},
            "confirm_password",
            "两次输入的密码不一致。",
        ),
    ],
)
def test_password_change_errors_are_shown_beside_the_field(
    app, client, login, form, field, message
):
    user = login("officer")
    data = {"current_password": user.password, **form}
    response = client.post("/account/password", data=data)
    assert response.status_code == 200
    assert message in response.text
    with app.app_context():
        from crm.auth.passwords import verify_password

        assert verify_password(db.session.get(User, user.id).password_hash, user.password)


def test_logins_and_failures_are_audited(app, client, create_user):
    from crm.audit.models import AuditLog

    user = create_user("officer")
    client.post("/login", data={"username": user.username, "password": "wrong1"})
    log_in(client, user)
    client.post("/logout")
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditLog.action).where(AuditLog.actor_id == user.id).order_by(AuditLog.id)
        ).all()
    assert actions[-3:] == ["login.failed", "login", "logout"]


def test_passwords_are_stored_as_argon2id(app, create_user):
    user = create_user("officer")
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert user.password not in stored


def test_language_switch_to_english_and_back(client, login):
    login("officer")
    client.post("/language", data={"locale": "en", "next": "/"})
    assert "Log out" in client.get("/").text
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    assert "退出登录" in client.get("/").text


def test_language_switch_ignores_unknown_locale(client):
    client.post("/language", data={"locale": "xx", "next": "/login"})
    assert "企业服务走访系统" in client.get("/login").text


@pytest.mark.parametrize(("storage", "status"), [("redis", 429), ("memory://", 302)])
def test_throttle_counts_are_shared_through_redis(app, redis_url, create_user, storage, status):
    """Five failures seen by one worker process count for the next one, via Redis."""
    import secrets

    settings = {
        "RATELIMIT_STORAGE_URI": redis_url if storage == "redis" else storage,
        "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}",
    }
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    user = create_user("officer")
    first_worker = make_app(url, **settings)
    for _ in range(5):
        first_worker.test_client().post(
            "/login", data={"username": user.username, "password": "wrong1"}
        )
    second_worker = make_app(url, **settings)  # a new process: its own limiter storage
    response = second_worker.test_client().post(
        "/login", data={"username": user.username, "password": user.password}
    )
    assert response.status_code == status


def test_a_throttle_store_out_of_reach_does_not_lock_everyone_out(app, create_user, caplog):
    """Redis down: the login goes on (unthrottled, the error logged), not a 500 for all."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    user = create_user("officer")
    nowhere = make_app(url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")  # nothing listens
    response = nowhere.test_client().post(
        "/login", data={"username": user.username, "password": user.password}
    )
    assert response.status_code == 302
    assert "the limiter storage cannot be reached" in caplog.text


def test_csrf_token_lasts_a_working_day(app, monkeypatch):
    """A tablet form opened in the morning can still be sent in the evening."""
    import time

    from flask_wtf.csrf import generate_csrf, validate_csrf
    from itsdangerous import TimestampSigner

    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context():
        nine_hours_ago = int(time.time()) - 9 * 3600
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: nine_hours_ago)
        token = generate_csrf()
        monkeypatch.undo()
        validate_csrf(token)  # raises when expired


def test_language_choice_is_kept_for_the_user_on_other_devices(app, client, create_user):
    user = create_user("officer")
    log_in(client, user)
    client.post("/language", data={"locale": "en", "next": "/"})
    tablet = app.test_client()
    log_in(tablet, user)
    assert "Log out" in tablet.get("/").text
    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"


def test_forced_password_change_also_holds_for_the_api(client, create_user):
    user = create_user("officer", must_change_password=True)
    log_in(client, user)
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json["error"]["message"] == "请先修改密码再使用系统。"


def test_session_version_raises_are_never_lost(app, create_user):
    """Two requests ending sessions at once (say, logout everywhere and a password change)."""
    from crm.auth import operations

    info = create_user("officer")
    with app.app_context():
        stale = db.session.get(User, info.id)
        assert stale.session_version == 1
        with app.app_context():  # the other request, in its own database session
            operations.end_all_sessions(db.session.get(User, info.id))
            db.session.commit()
        operations.end_all_sessions(stale)
        db.session.commit()
        assert db.session.get(User, info.id).session_version == 3


def test_wrong_role_is_refused_before_the_request_is_parsed(app, client, login):
    """flask-smorest parses arguments in decorators outside ours: the role check comes first."""
    import functools

    from flask import abort

    from crm.auth.models import Role
    from crm.auth.permissions import role_required

    def parses_arguments(view):
        @functools.wraps(view)
        def parse(*args, **kwargs):
            abort(422)  # as webargs does for bad input, before the view runs

        return parse

    admin_only = parses_arguments(role_required(Role.ADMIN)(lambda: "secret"))
    app.add_url_rule("/api/v1/_admin_only", "admin_only", admin_only)
    login("officer")
    assert client.get("/api/v1/_admin_only").status_code == 403


def test_language_chosen_on_the_login_page_is_kept_after_login_and_logout(client, create_user):
    user = create_user("officer")
    client.post("/language", data={"locale": "en", "next": "/login"})
    log_in(client, user)
    assert "Log out" in client.get("/").text
    client.post("/logout")
    assert "Enterprise Service CRM" in client.get("/login").text


def test_account_page_lists_the_signed_in_devices(app, client, create_user):
    user = create_user("officer")
    ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
    tablet = app.test_client()
    tablet.post(
        "/login",
        data={"username": user.username, "password": user.password},
        headers={"User-Agent": ipad},
        environ_base={"REMOTE_ADDR": "10.8.0.7"},
    )
    log_in(client, user)
    page = client.get("/account").text
    assert "iPad · Safari" in page and "10.8.0.7" in page
    assert page.count(">本设备<") == 1
    tablet.post("/logout")
    assert "iPad · Safari" not in client.get("/account").text


def test_the_scheduler_forgets_sessions_unused_for_a_month(app, client, login, create_user):
    """session_cleanup deletes the records of sessions last used over 30 days ago, whoever's
    they are; those of the last 30 days stay, and so does the login in use."""
    from crm.db import utcnow
    from crm.scheduler import JOBS_BY_NAME, run_job

    user = login("officer")
    other = create_user("chief")
    for _ in range(3):
        log_in(app.test_client(), other)
    old, recent, latest = (r.id for r in session_records(app, other))
    with app.app_context():
        db.session.get(UserSession, old).last_seen_at -= timedelta(days=30, minutes=1)
        db.session.get(UserSession, recent).last_seen_at -= timedelta(days=29, hours=23)
        db.session.commit()
        assert run_job(JOBS_BY_NAME["session_cleanup"], utcnow()) == "done"
    assert [r.id for r in session_records(app, other)] == [recent, latest]
    assert len(session_records(app, user)) == 1
    assert client.get("/").status_code == 200
