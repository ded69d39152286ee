"""The API skeleton: Bearer tokens, the caller, errors, lists, CSRF for browser sessions."""

import re

import pytest
import sqlalchemy as sa
from flask import jsonify, request

from crm.auth.models import ApiToken, User
from crm.auth.permissions import login_required
from crm.db import utcnow
from crm.extensions import db
from tests.conftest import YIYANG


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def probe_write(app):
    """A write endpoint under /api/ (the real ones come with the features)."""

    def write():
        return jsonify(received=request.get_json(silent=True)), 201

    app.add_url_rule("/api/v1/_probe", view_func=login_required(write), methods=["POST"])


def test_me_with_a_token(client, create_user, create_token):
    user = create_user("officer", YIYANG, display_name="赵伟", unit="宜阳县科技局")
    response = client.get("/api/v1/me", headers=bearer(create_token(user)))
    assert response.status_code == 200
    assert response.json == {
        "id": user.id,
        "username": user.username,
        "display_name": "赵伟",
        "role": "officer",
        "unit": "宜阳县科技局",
        "region_code": YIYANG,
        "region_name": "宜阳县",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # token clients get no session


def test_me_with_the_browser_session(client, login):
    user = login("chief")
    assert client.get("/api/v1/me").json["username"] == user.username


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer crm_not-a-real-token", "Basic YWRtaW46cGFzcw==", "crm_raw"],
)
def test_missing_or_bad_credentials_get_401_json(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.json["error"]["message"] == "请先登录，或提供有效的 API 令牌。"
    assert response.json["error"]["fields"] == {}  # always there, as DESIGN's envelope has it
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_and_deactivated_owner_get_401(app, client, create_user, create_token):
    revoked_owner, inactive_owner = create_user("officer"), create_user("officer")
    revoked, inactive = create_token(revoked_owner), create_token(inactive_owner)
    with app.app_context():
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == revoked_owner.id)
        ).one().revoked_at = utcnow()
        db.session.get(User, inactive_owner.id).active = False
        db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(revoked)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(inactive)).status_code == 401


def test_token_is_stored_hashed_and_records_its_use(app, client, create_user, create_token):
    token = create_token(create_user("officer"))
    client.get("/api/v1/me", headers=bearer(token))
    with app.app_context():
        record = db.session.scalars(sa.select(ApiToken)).one()
        assert token not in (record.token_hash, record.prefix)
        assert record.last_used_at is not None


def test_token_does_not_open_web_pages(client, create_user, create_token):
    token = create_token(create_user("admin"))
    assert client.get("/admin/users/", headers=bearer(token)).status_code == 302


def test_token_writes_need_no_csrf_token(app, probe_write, create_user, create_token):
    app.config["WTF_CSRF_ENABLED"] = True
    token = create_token(create_user("officer"))
    response = app.test_client().post("/api/v1/_probe", headers=bearer(token), json={})
    assert response.status_code == 201


def test_session_writes_to_the_api_need_the_csrf_token(app, probe_write, create_user):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = create_user("officer")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)
    client.post(
        "/login", data={"username": user.username, "password": user.password, "csrf_token": csrf[1]}
    )
    refused = client.post("/api/v1/_probe", json={})
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "csrf_failed"
    page = client.get("/").text
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page)[1]
    accepted = client.post("/api/v1/_probe", json={}, headers={"X-CSRFToken": header_token})
    assert accepted.status_code == 201


def test_oversized_api_body_gets_413_json(app, probe_write, create_user, create_token):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    token = create_token(create_user("officer"))
    response = app.test_client().post(
        "/api/v1/_probe", headers=bearer(token), json={"text": "x" * 4096}
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_regions_list_envelope_and_filters(client, create_user, create_token):
    token = create_token(create_user("viewer"))
    everything = client.get("/api/v1/regions", headers=bearer(token)).json
    assert set(everything) == {"items", "total", "page", "per_page"}
    assert everything["total"] == len(everything["items"]) > 15
    counties = client.get("/api/v1/regions?level=county&per_page=5&page=3", headers=bearer(token))
    assert counties.json["total"] == 14
    assert counties.json["page"] == 3 and counties.json["per_page"] == 5
    assert [item["code"] for item in counties.json["items"]] == [
        "410326",
        "410327",
        "410328",
        "410329",
    ]
    townships = client.get(f"/api/v1/regions?parent={YIYANG}", headers=bearer(token)).json
    assert all(item["code"].startswith(YIYANG) for item in townships["items"])


@pytest.mark.parametrize(
    ("query", "field"), [("per_page=0", "per_page"), ("page=x", "page"), ("level=town", "level")]
)
def test_invalid_query_gets_422_with_the_field(client, create_user, create_token, query, field):
    token = create_token(create_user("viewer"))
    response = client.get(f"/api/v1/regions?{query}", headers=bearer(token))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert list(response.json["error"]["fields"]) == [field]


def test_bad_fields_are_told_in_chinese_as_on_the_pages(client, login, create_enterprise):
    """The API's type checks (marshmallow's) speak the caller's language, like the forms."""
    login("chief", YIYANG)
    enterprise = create_enterprise(county_code=YIYANG)
    fields = client.get("/api/v1/regions?per_page=0&page=x&level=town").json["error"]["fields"]
    assert fields == {
        "per_page": ["取值应在 1 至 200 之间。"],
        "page": ["请填写整数。"],
        "level": ["请从以下取值中选择：city, county, township。"],
    }
    body = {"enterprise_id": enterprise.id, "title": "回访", "due_on": "x", "oops": 1}
    fields = client.post("/api/v1/followups", json=body).json["error"]["fields"]
    assert fields == {"due_on": ["请填写日期。"], "oops": ["不是本接口的字段。"]}
    transition = client.post("/api/v1/problems/1/transition", json={"to": "assigned"})
    assert transition.json["error"]["fields"] == {"version": ["此项必填。"]}


def test_wrong_method_gets_405_json(client, create_user, create_token):
    token = create_token(create_user("viewer"))
    response = client.delete("/api/v1/me", headers=bearer(token))
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.json["error"]["fields"] == {}


def test_openapi_documents_the_error_envelope_and_security(client, create_user, create_token):
    token = create_token(create_user("viewer"))
    spec = client.get("/api/v1/openapi.json", headers=bearer(token)).json
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorBody")
    assert {"bearerAuth": []} in spec["security"]
    regions = spec["paths"]["/api/v1/regions"]["get"]
    assert {p["name"] for p in regions["parameters"]} >= {"page", "per_page", "level", "parent"}


def test_account_page_creates_a_token_shown_once(app, client, login):
    login("officer")
    page = client.post("/account/tokens", data={"name": "县区数据对接"})
    token = re.search(r"(crm_[A-Za-z0-9_-]{40,})", page.text)[1]
    assert "请立即复制此令牌" in page.text
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert token not in client.get("/account").text
    with app.app_context():
        record = db.session.scalars(sa.select(ApiToken)).one()
    client.post(f"/account/tokens/{record.id}/revoke")
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_the_token_form_sent_again_creates_no_second_token(app, client, login):
    """Reloading the page that showed a new token sends its form again: no second token,
    unseen by anyone, is made; a form filled in anew makes one."""
    login("officer")
    once = re.search(
        r'name="once" type="hidden" value="([0-9a-f]{32})"', client.get("/account").text
    )[1]
    first = client.post("/account/tokens", data={"name": "县区数据对接", "once": once})
    assert "crm_" in first.text
    again = client.post("/account/tokens", data={"name": "县区数据对接", "once": once})
    assert again.status_code == 303
    assert "已经生成" in client.get(again.headers["Location"]).text
    fresh = re.search(r'name="once" type="hidden" value="([0-9a-f]{32})"', first.text)[1]
    assert fresh != once
    client.post("/account/tokens", data={"name": "第二个对接", "once": fresh})
    with app.app_context():
        names = db.session.scalars(sa.select(ApiToken.name).order_by(ApiToken.id)).all()
    assert names == ["县区数据对接", "第二个对接"]


def test_token_without_a_name_is_refused(client, login):
    login("officer")
    response = client.post("/account/tokens", data={"name": ""})
    assert response.status_code == 422
    assert "此项必填。" in response.text


def test_others_tokens_cannot_be_revoked_from_my_account(
    app, client, login, create_user, create_token
):
    other = create_user("officer")
    create_token(other)
    login("officer")
    with app.app_context():
        token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404


def test_bad_values_the_api_used_to_take_or_fail_on(app, client, login, create_enterprise):
    """Each once took a value it should not (a fraction read as an integer, a deadline in the
    year 9999, figures of any shape) or answered 500 (an empty township, JSON nested too deep):
    now a 4xx naming the field, and nothing stored."""
    import uuid
    from datetime import timedelta

    from crm.certification.models import CertificationCase
    from crm.enterprises.models import Enterprise
    from crm.followups.models import FollowUp
    from tests.conftest import bureau_today

    login("chief", YIYANG)
    enterprise = create_enterprise(county_code=YIYANG, staff=10)
    far = "9999-12-31"
    for bad in ("0001-01-01", far):
        certificate = {"high_tech": True, "high_tech_valid_until": bad}
        answer = client.patch(f"/api/v1/enterprises/{enterprise.id}", json=certificate)
        assert "high_tech_valid_until" in answer.json["error"]["fields"], bad
    check = {"founded_on": far, "apply_on": far}
    age = client.post("/api/v1/eligibility/high-tech", json=check).json
    assert not next(c for c in age["criteria"] if c["key"] == "age")["passed"]
    fraction = client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"staff": 7.9})
    assert fraction.status_code == 422 and "staff" in fraction.json["error"]["fields"]
    township = client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"township_code": ""})
    assert township.status_code == 200 and township.json["township_code"] is None
    task = {"enterprise_id": enterprise.id, "title": "远期", "due_on": far, "repeat": "monthly"}
    refused = client.post("/api/v1/followups", json=task)
    assert refused.status_code == 422 and "5 年" in refused.json["error"]["fields"]["due_on"][0]
    visit = {
        "client_uuid": str(uuid.uuid4()),
        "enterprise_id": enterprise.id,
        "visit_date": bureau_today().isoformat(),
        "mode": "onsite",
        "summary": "了解情况",
        "followup_title": "回访",
        "followup_due_on": far,
    }
    assert "followup_due_on" in client.post("/api/v1/visits", json=visit).json["error"]["fields"]
    soon = (bureau_today() + timedelta(days=5 * 366 + 2)).isoformat()
    assert client.post("/api/v1/followups", json={**task, "due_on": soon}).status_code == 422
    deep = "[" * 100_000 + "]" * 100_000
    nested = client.post("/api/v1/visits", data=deep, content_type="application/json")
    assert nested.status_code == 400 and nested.json["error"]["code"] == "bad_request"
    no_enterprise = client.post("/api/v1/certifications", json={"programme": "high_tech"})
    assert no_enterprise.status_code == 422
    assert "enterprise_id" in no_enterprise.json["error"]["fields"]
    junk = {"\u0000": "\u202e\u0007", "staff": "x" * 1000}
    odd = {"enterprise_id": enterprise.id, "programme": "high_tech", "figures": junk}
    assert client.post("/api/v1/certifications", json=odd).status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FollowUp.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(CertificationCase.id))) == 0
        assert db.session.get(Enterprise, enterprise.id).staff == 10
    figures = {"staff": 50, "tech_staff": 8, "founded_on": "2018-05-20", "major_incident": False}
    fine = {"enterprise_id": enterprise.id, "programme": "high_tech", "figures": figures}
    assert client.post("/api/v1/certifications", json=fine).status_code == 201


def test_a_page_of_two_hundred_is_one(client, login, create_enterprise):
    login("chief")
    for _ in range(3):
        create_enterprise()
    page = client.get("/api/v1/enterprises?per_page=200").json
    assert page["per_page"] == 200 and len(page["items"]) == 3
