"""The app factory, settings, health check, error pages, security headers and cookies."""

import json

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.extensions import db
from tests.conftest import make_app


def test_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setattr("crm.PROJECT_ROOT", tmp_path)  # no instance/secret_key file here
    with pytest.raises(RuntimeError, match="CRM_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_secret_key_from_environment_and_instance_file(monkeypatch, tmp_path):
    monkeypatch.setattr("crm.PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("CRM_SECRET_KEY", "from-environment")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key == "from-environment"
    monkeypatch.delenv("CRM_SECRET_KEY")
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("from-file\n")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key == "from-file"


def test_settings_from_environment_and_config_file(monkeypatch, tmp_path):
    config_file = tmp_path / "production.py"
    config_file.write_text('BUREAU_NAME = "宜阳县科学技术局"\nSESSION_COOKIE_SECURE = True\n')
    monkeypatch.setenv("CRM_SECRET_KEY", "k")
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path}/other.sqlite3")
    monkeypatch.setenv("CRM_CONFIG", str(config_file))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/other.sqlite3"
    assert app.config["BUREAU_NAME"] == "宜阳县科学技术局"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_CONFIG", raising=False)
    app = create_app({"SECRET_KEY": "k"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/crm.sqlite3")


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/pragmas.sqlite3")
    with app.app_context():
        pragma = lambda name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 10000
        assert pragma("foreign_keys") == 1


def test_engine_pings_connections_before_use(app):
    with app.app_context():
        assert db.engine.pool._pre_ping is True


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "db": "ok"}


def test_healthz_reports_unreachable_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing/dir/crm.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "db": "error"}


def test_healthz_reports_unreachable_postgresql():
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["db"] == "error"


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "页面不存在，或您无权查看。"), (403, "您没有权限执行此操作。")],
)
def test_error_pages_are_chinese_html(client, login, status, text):
    login("officer")
    url = "/no-such-page" if status == 404 else "/admin/users/"
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert text in response.text
    assert 'lang="zh-CN"' in response.text


def test_errors_under_api_are_json(client, login):
    login("officer")
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json == {
        "error": {"code": "not_found", "message": "页面不存在，或您无权查看。", "fields": {}}
    }


def test_unexpected_error_gives_500_page_and_json(app, client, login):
    def broken():
        raise ZeroDivisionError

    from crm.auth.permissions import login_required

    app.add_url_rule("/broken", view_func=login_required(broken))
    app.add_url_rule("/api/v1/broken", endpoint="api_broken", view_func=login_required(broken))
    login("officer")
    page = client.get("/broken")
    assert page.status_code == 500
    assert "系统出现内部错误" in page.text
    api = client.get("/api/v1/broken")
    assert api.status_code == 500
    assert api.json["error"]["code"] == "internal_error"


def test_oversized_body_is_refused_with_413(app, client, login):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    login("officer")
    page = client.post("/account/tokens", data={"name": "x" * 4096})
    assert page.status_code == 413
    assert "上传的内容过大" in page.text


def test_security_headers_on_pages(client, login):
    login("officer")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_security_header_a_response_sets_itself_is_kept(app, client):
    from crm.auth.permissions import public

    @app.get("/own-frame-policy")
    @public
    def own_frame_policy():
        return "", 200, {"X-Frame-Options": "SAMEORIGIN"}

    response = client.get("/own-frame-policy")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Referrer-Policy") == ["same-origin"]


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert "Content-Security-Policy" in response.headers


def test_session_cookie_flags(client, login):
    login("officer")
    cookie = client.get_cookie("crm_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure  # plain HTTP in tests
    assert cookie.expires is None  # no remember-me: the cookie ends with the browser


def test_session_cookie_is_secure_over_https(client, create_user):
    user = create_user("officer")
    response = client.post(
        "/login",
        data={"username": user.username, "password": user.password},
        base_url="https://crm.example.test",
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_no_inline_scripts_or_handlers_in_pages(client, login):
    login("admin")
    for url in ("/", "/admin/users/", "/account", "/admin/audit/", "/account/password"):
        html = client.get(url).text
        # Scripts come from files; a JSON data block (the dashboard's charts) is not run.
        code = html.replace("<script src=", "").replace('<script type="application/json"', "")
        assert "<script>" not in html and "<script " not in code
        assert " onclick=" not in html and " onsubmit=" not in html
        assert " style=" not in html


def test_openapi_document_is_generated(client, login):
    login("officer")
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    json.dumps(spec)


def test_selects_write_the_same_options_as_wtforms():
    """crm.forms' select writes plain options itself; what it writes is WTForms' own markup,
    escaping included, and options with attributes of their own are left to WTForms."""
    import wtforms
    from werkzeug.datastructures import MultiDict
    from wtforms import SelectChoice

    from crm.forms import SelectField, SelectMultipleField

    choices = [
        SelectChoice("", "—"),
        SelectChoice(3, "王<伟> & \"李\" 'x'"),
        SelectChoice('a"b', ""),
        SelectChoice("c", "禁用", render_kw={"disabled": True}),
        SelectChoice(True, "是"),
    ]

    class Ours(wtforms.Form):
        one = SelectField(choices=choices, validate_choice=False)
        many = SelectMultipleField(choices=choices, validate_choice=False)

    class Theirs(wtforms.Form):
        one = wtforms.SelectField(choices=choices, validate_choice=False)
        many = wtforms.SelectMultipleField(choices=choices, validate_choice=False)

    for data in ({}, {"one": "3", "many": ["3", 'a"b']}, {"one": 'a"b', "many": ["c"]}):
        ours, theirs = Ours(MultiDict(data)), Theirs(MultiDict(data))
        for name in ("one", "many"):
            assert ours[name](class_="form-select") == theirs[name](class_="form-select")
    assert 'selected value="3">王&lt;伟&gt; &amp; &#34;李&#34; &#39;x&#39;</option>' in str(
        Ours(MultiDict({"one": "3"})).one()
    )
