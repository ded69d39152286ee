"""/api/v1/enterprises and /api/v1/policies, and the region scope on every enterprise path."""

import pytest
import sqlalchemy as sa

from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, QIHANG, YIYANG, code_for


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(client, create_user, create_token):
    """api(role, region) → request headers of a fresh user's token."""

    def headers(role="officer", region=YIYANG):
        return bearer(create_token(create_user(role, region)))

    return headers


PAYLOAD = {
    "name": "洛阳启航必达科技有限公司",
    "credit_code": QIHANG["credit_code"],
    "county_code": YIYANG,
    "industry": "C39",
    "founded_on": "2018-05-20",
    "staff": 120,
    "tech_staff": 25,
    "revenue": "3560.5",
    "rnd_expense": 210,
    "high_tech_revenue": 2400,
    "ip_class1": 2,
    "ip_class2": 8,
}


def test_create_then_read(client, api):
    headers = api("officer")
    created = client.post("/api/v1/enterprises", json=PAYLOAD, headers=headers)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["credit_code"] == QIHANG["credit_code"]
    assert body["county_name"] == "宜阳县" and body["revenue"] == 3560.5
    again = client.get(f"/api/v1/enterprises/{body['id']}", headers=headers)
    assert again.json["name"] == "洛阳启航必达科技有限公司" and again.json["contacts"] == []


def test_invalid_code_is_422_with_the_field(client, api):
    response = client.post(
        "/api/v1/enterprises",
        json={**PAYLOAD, "credit_code": "91350100M000100Y44"},
        headers=api("officer"),
    )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["credit_code"]
    assert response.json["error"]["fields"]["credit_code"][0].startswith(
        "统一社会信用代码校验位错误"
    )


def test_mismatched_code_with_confirmation_is_stored_flagged(client, api):
    response = client.post(
        "/api/v1/enterprises",
        json={**PAYLOAD, "credit_code": "91350100M000100Y44", "credit_code_confirmed": True},
        headers=api("officer"),
    )
    assert response.status_code == 201
    assert response.json["credit_code_unverified"] is True


def test_existing_code_is_409(client, api, create_enterprise):
    create_enterprise(**QIHANG)
    response = client.post("/api/v1/enterprises", json={**PAYLOAD, "name": "别名"}, headers=api())
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "credit_code" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"staff": -1}, "staff"),
        ({"revenue": "lots"}, "revenue"),
        ({"founded_on": "2026-02-30"}, "founded_on"),
        ({"county_code": "999999"}, "county_code"),
        ({"name": ""}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"industry": "Z9"}, "industry"),
    ],
)
def test_bad_fields_are_422_and_store_nothing(app, client, api, change, field):
    response = client.post(
        "/api/v1/enterprises", json={**PAYLOAD, **change}, headers=api("chief", CITY)
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0


def test_patch_changes_only_what_is_sent(client, api, create_enterprise):
    enterprise = create_enterprise(**QIHANG, staff=50, industry="C39")
    response = client.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"staff": 80}, headers=api("officer")
    )
    assert response.status_code == 200
    assert (response.json["staff"], response.json["industry"]) == (80, "C39")


def test_viewers_cannot_write(client, api, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    headers = api("viewer", CITY)
    assert client.post("/api/v1/enterprises", json=PAYLOAD, headers=headers).status_code == 403
    patch = client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"staff": 1}, headers=headers)
    assert patch.status_code == 403


def test_list_searches_and_filters(client, api, create_enterprise):
    create_enterprise(**QIHANG)
    create_enterprise(name="洛阳古城新材料科技有限公司")
    headers = api("chief", CITY)
    found = client.get("/api/v1/enterprises", query_string={"q": "lyqh"}, headers=headers).json
    assert [item["name"] for item in found["items"]] == ["洛阳启航必达科技有限公司"]
    assert found["total"] == 1 and set(found) == {"items", "total", "page", "per_page"}
    assert client.get("/api/v1/enterprises?county=410308", headers=headers).json["total"] == 0


# --- region scope on every path --------------------------------------------------------------


@pytest.fixture
def other_county(create_enterprise):
    """An enterprise in 孟津区, out of reach of a 宜阳县 officer."""
    return create_enterprise(
        name="孟津精密机械有限公司", county_code=MENGJIN, credit_code=code_for(MENGJIN, 1)
    )


def test_county_officer_cannot_reach_another_countys_enterprise(client, login, api, other_county):
    headers = api("officer", YIYANG)
    base = f"/api/v1/enterprises/{other_county.id}"
    assert client.get(base, headers=headers).status_code == 404
    assert client.patch(base, json={"staff": 1}, headers=headers).status_code == 404
    listed = client.get("/api/v1/enterprises", headers=headers).json
    assert listed["total"] == 0
    searched = client.get("/api/v1/enterprises", query_string={"q": "mjjm"}, headers=headers).json
    assert searched["total"] == 0
    login("officer", YIYANG)
    for url in (
        f"/enterprises/{other_county.id}",
        f"/enterprises/{other_county.id}/edit",
        f"/enterprises/{other_county.id}/contacts/1",
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(f"/enterprises/{other_county.id}/contacts", data={"name": "x"}).status_code
        == 404
    )
    assert "孟津精密机械" not in client.get("/enterprises/").text
    assert "孟津精密机械" not in client.get("/enterprises/search?q=孟津").text
    assert "孟津精密机械" not in client.get("/enterprises/?q=mjjm").text


def test_county_chief_cannot_delete_another_countys_enterprise(client, login, other_county):
    login("chief", YIYANG)
    assert client.post(f"/enterprises/{other_county.id}/delete").status_code == 404


def test_city_chief_reaches_every_county(client, login, api, other_county):
    headers = api("chief", CITY)
    assert client.get(f"/api/v1/enterprises/{other_county.id}", headers=headers).status_code == 200
    login("chief", CITY)
    assert client.get(f"/enterprises/{other_county.id}").status_code == 200
    assert "孟津精密机械有限公司" in client.get("/enterprises/search?q=mjjm").text


# --- policies ---------------------------------------------------------------------------------


def test_policy_catalogue_is_seeded_and_listed(client, api):
    body = client.get("/api/v1/policies", headers=api()).json
    names = [item["name"] for item in body["items"]]
    assert body["total"] == 16
    assert "高新技术企业认定及15%所得税优惠" in names and "创新创业领军人才" in names
    by_name = {item["name"]: item for item in body["items"]}
    assert by_name["研发费用加计扣除"]["category"] == "tax"
    assert by_name["高新技术企业认定及15%所得税优惠"]["reference"] == "国科发火〔2016〕32号"
    talent = client.get("/api/v1/policies?category=talent", headers=api()).json
    assert {item["category"] for item in talent["items"]} == {"talent"}
