"""What the README's security notes promise: key rotation with a fallback, and no password or
token in the audit log or the server log."""

import json
import logging
import re

import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.extensions import db
from tests.conftest import YIYANG, UserInfo, log_in, make_app
from tests.test_users import NEW_USER


def test_a_rotated_secret_key_keeps_sessions_only_while_the_old_one_is_a_fallback(app, create_user):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    before = make_app(url, SECRET_KEY="the-old-key-0123456789")
    signed_in = before.test_client()
    log_in(signed_in, create_user("officer"))
    cookie = signed_in.get_cookie("crm_session").value

    def home_with_cookie(**keys: object) -> int:
        client = make_app(url, **keys).test_client()
        client.set_cookie("crm_session", cookie)
        return client.get("/").status_code

    assert home_with_cookie(SECRET_KEY="the-old-key-0123456789") == 200
    fallback = {"SECRET_KEY_FALLBACKS": ["the-old-key-0123456789"]}
    assert home_with_cookie(SECRET_KEY="the-new-key-9876543210", **fallback) == 200
    assert home_with_cookie(SECRET_KEY="the-new-key-9876543210") == 302  # to the login page


def test_passwords_and_tokens_reach_neither_the_audit_log_nor_the_server_log(
    app, client, login, caplog
):
    caplog.set_level(logging.DEBUG)
    login("admin")
    assert client.post("/admin/users/new", data=NEW_USER).status_code == 302
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == NEW_USER["username"]))
    reset = client.post(f"/admin/users/{user_id}/password", data={"password": "temp98765x"})
    assert reset.status_code == 302
    officer = app.test_client()
    wrong = officer.post(
        "/login", data={"username": NEW_USER["username"], "password": "guess-1234"}
    )
    assert wrong.status_code == 200
    log_in(officer, UserInfo(int(user_id), NEW_USER["username"], "officer", YIYANG, "temp98765x"))
    changed = officer.post(
        "/account/password",
        data={"current_password": "temp98765x", "new_password": "later-pass-42",
              "confirm_password": "later-pass-42"},
    )  # fmt: skip
    assert changed.status_code == 302
    page = officer.post("/account/tokens", data={"name": "数据对接"})
    token = re.search(r"(crm_[A-Za-z0-9_-]{40,})", page.text)[1]

    with app.app_context():
        entries = db.session.scalars(sa.select(AuditLog)).all()
        written = json.dumps([(e.action, e.changes) for e in entries], ensure_ascii=False)
    actions = {entry.action for entry in entries}
    assert {"user.create", "user.reset_password", "user.change_password", "login.failed",
            "login", "api_token.create"} <= actions  # fmt: skip
    secrets = ["start1234", "temp98765x", "guess-1234", "later-pass-42", token, "$argon2"]
    for secret in secrets:
        assert secret not in written, secret
        assert secret not in caplog.text, secret
