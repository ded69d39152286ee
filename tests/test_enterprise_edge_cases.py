"""Odd input and edge cases of the enterprise registry: nothing fails, nothing leaks."""

import re

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, QIHANG, YIYANG, code_for
from tests.workbooks import good_row, run_import, upload_workbook, write_workbook

ODD_QUERIES = [
    '"',
    "*",
    ":",
    "&",
    "|",
    "!",
    "(",
    ")",
    "'",
    "\\",
    "-",
    "^",
    "~",
    "<->",
    "a:*",
    '"a" OR b',
    "NEAR(a b)",
    "\x00x",
    "启\x00航",
    "😀",
    "😀😀",
    "ｑｉｈａｎｇ",
    "　",
    "%",
    "_",
    "[",
    "{}",
    "启" * 300,
    "9" * 40,
    "910",
    "91410327MA9F4K2X3",
    "select * from enterprises",
    "<script>",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_search_input_never_fails(
    client, login, create_user, create_token, create_enterprise, query
):
    create_enterprise(**QIHANG)
    login("officer", YIYANG)
    assert client.get("/enterprises/search", query_string={"q": query}).status_code == 200
    assert client.get("/enterprises/", query_string={"q": query}).status_code == 200
    headers = {"Authorization": f"Bearer {create_token(create_user('officer', YIYANG))}"}
    api = client.get("/api/v1/enterprises", query_string={"q": query}, headers=headers)
    assert api.status_code in (200, 422)


def test_county_filter_of_the_api_is_checked(client, create_user, create_token):
    headers = {"Authorization": f"Bearer {create_token(create_user('officer', YIYANG))}"}
    response = client.get("/api/v1/enterprises?county=41%0027", headers=headers)
    assert response.status_code == 422 and "county" in response.json["error"]["fields"]


@pytest.mark.parametrize("name", ["启航\x00科技", "启航\udc80科技"])
def test_unstorable_text_is_refused_beside_the_field(
    app, client, login, create_user, create_token, name
):
    login("officer", YIYANG)
    form = {"name": name, "credit_code": QIHANG["credit_code"], "county_code": YIYANG}
    if "\x00" in name:  # a browser cannot send a lone surrogate in a form
        page = client.post("/enterprises/new", data=form)
        assert "包含无法存储的字符" in page.text
    headers = {"Authorization": f"Bearer {create_token(create_user('officer', YIYANG))}"}
    api = client.post("/api/v1/enterprises", json=form, headers=headers)
    assert api.status_code == 422 and "name" in api.json["error"]["fields"]
    contact = client.post(
        "/api/v1/enterprises", json={**form, "name": "好名字", "address": name}, headers=headers
    )
    assert contact.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(app, client, login, value):
    login("officer", YIYANG)
    form = {
        "name": "启航",
        "credit_code": QIHANG["credit_code"],
        "county_code": YIYANG,
        "revenue": value,
    }
    response = client.post("/enterprises/new", data=form)
    assert response.status_code == 200 and "is-invalid" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0


def upload(client, path):
    page, token = upload_workbook(client, path)
    assert token is not None, page.text[-500:]
    return token


def test_non_finite_cells_are_row_errors(client, login, tmp_path):
    login("chief")
    rows = [
        {**good_row(2), "职工人数": "Infinity"},
        {**good_row(3), "上年营业收入(万元)": "NaN"},
        {**good_row(4), "研发费用(万元)": "sNaN"},
    ]
    token = upload(client, write_workbook(tmp_path / "odd.xlsx", rows))
    preview = client.get(f"/enterprises/import/{token}").text
    assert len(re.findall(r"无法识别", preview)) == 3


def test_the_import_preview_does_not_name_another_countys_enterprise(
    client, login, tmp_path, create_enterprise
):
    other = create_enterprise(
        name="孟津精密机械有限公司", county_code=MENGJIN, credit_code=code_for(MENGJIN, 77)
    )
    login("chief", YIYANG)
    row = {**good_row(2), "企业名称": "孟津精密机械有限公司"}
    token = upload(client, write_workbook(tmp_path / "names.xlsx", [row]))
    preview = client.get(f"/enterprises/import/{token}").text
    report = client.get(f"/enterprises/import/{token}/report.xlsx").data
    assert "已有同名企业（已由其他县区登记）" in preview
    assert other.credit_code not in preview
    assert other.credit_code.encode() not in report


def test_an_enterprise_confirmed_once_is_edited_without_confirming_again(
    app, client, login, tmp_path
):
    login("chief", CITY)
    mismatch = "91350100M000100Y44"
    client.post(
        "/enterprises/new",
        data={
            "name": "核对过的企业",
            "credit_code": mismatch,
            "county_code": YIYANG,
            "credit_code_confirmed": "y",
        },
    )
    with app.app_context():
        enterprise = db.session.scalars(sa.select(Enterprise)).one()
    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data={
            "name": "核对过的企业",
            "credit_code": mismatch,
            "county_code": YIYANG,
            "address": "新地址",
        },
    )
    assert response.status_code == 302
    row = {
        **good_row(2),
        "企业名称": "核对过的企业",
        "统一社会信用代码": mismatch,
        "职工人数": 0,
        "科技人员数": 0,
    }
    token = upload(client, write_workbook(tmp_path / "update.xlsx", [row]))
    run_import(client, token, "all")
    with app.app_context():
        stored = db.session.scalars(sa.select(Enterprise)).one()
        assert (stored.address, stored.staff, stored.credit_code_unverified) == ("新地址", 0, True)


def test_import_updates_keep_zeros_and_are_audited_per_enterprise(
    app, client, login, tmp_path, create_enterprise
):
    existing = create_enterprise(name="老企业有限公司", staff=80, ip_class1=3)
    login("chief", YIYANG)
    row = {
        **good_row(2),
        "企业名称": "老企业有限公司",
        "统一社会信用代码": existing.credit_code,
        "职工人数": 60,
        "科技人员数": 0,
        "Ⅰ类知识产权数": 0,
    }
    token = upload(client, write_workbook(tmp_path / "update.xlsx", [row]))
    preview = client.get(f"/enterprises/import/{token}").text
    assert "该企业已登记，将用表中已填写的内容更新。" in preview
    run_import(client, token, "all")
    with app.app_context():
        stored = db.session.get(Enterprise, existing.id)
        assert (stored.staff, stored.tech_staff, stored.ip_class1) == (60, 0, 0)
        update = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "enterprise.update")
        ).one()
        assert update.changes["ip_class1"] == [3, 0] and update.entity_id == str(existing.id)
    audit = client.get("/admin/audit/?action=enterprise.import").text
    entries = re.search(r"<tbody>(.*?)</tbody>", audit, re.S)[1]
    assert "导入企业" in entries  # the county chief sees it
    named = re.findall(r'text-body-secondary">([^<]+)</span>', entries)
    assert {"文件：", "新增企业：", "更新企业：", "跳过的行："} <= set(named), named


def test_moving_an_enterprise_to_another_county_drops_its_township(
    app, client, create_user, create_token, create_enterprise
):
    enterprise = create_enterprise(**QIHANG, township_code="410327001")
    headers = {"Authorization": f"Bearer {create_token(create_user('chief', CITY))}"}
    response = client.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"county_code": MENGJIN}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json["county_code"], response.json["township_code"]) == (MENGJIN, None)


def test_an_import_runs_only_once(app, client, login, tmp_path):
    login("chief")
    token = upload(client, write_workbook(tmp_path / "one.xlsx", [good_row(2)]))
    run_import(client, token, "all")
    again = run_import(client, token)
    assert re.search(r'id="created">1<', again.text)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 1


def test_the_tail_of_a_long_name_is_found(app, client, login, create_enterprise):
    create_enterprise(name="洛阳" + "长" * 120 + "尾巴科技有限公司")
    login("chief")
    assert "共 1 家企业" in client.get("/enterprises/", query_string={"q": "尾巴科技"}).text


@pytest.mark.parametrize("query", ["启航", "lyqh", "luoyangqihang", "91410327MA9F"])
def test_list_and_api_find_qihang_every_way_ranked(
    client, login, create_user, create_token, create_enterprise, query
):
    create_enterprise(name="宜阳县启航机械有限公司", credit_code=code_for(YIYANG, 5))
    create_enterprise(**QIHANG)
    login("chief")
    html = client.get("/enterprises/", query_string={"q": query}).text
    names = re.findall(
        r'class="fw-semibold stretched-link">([^<]+)</a>',
        re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1],
    )
    assert names[0] == "洛阳启航必达科技有限公司"
    headers = {"Authorization": f"Bearer {create_token(create_user('chief', CITY))}"}
    api = client.get("/api/v1/enterprises", query_string={"q": query}, headers=headers).json
    assert api["items"][0]["name"] == "洛阳启航必达科技有限公司"


def test_search_follows_soft_delete_import_updates_and_renames(
    app, client, login, tmp_path, create_enterprise
):
    deleted = create_enterprise(name="将被删除的企业有限公司")
    renamed = create_enterprise(name="旧名字有限公司")
    login("chief")
    client.post(f"/enterprises/{deleted.id}/delete")
    row = {**good_row(2), "企业名称": "新名字有限公司", "统一社会信用代码": renamed.credit_code}
    token = upload(client, write_workbook(tmp_path / "rename.xlsx", [row]))
    run_import(client, token, "all")
    search = lambda q: client.get("/enterprises/search", query_string={"q": q}).text  # noqa: E731
    assert "将被删除的企业有限公司" not in search("将被删除")
    assert "旧名字有限公司" not in search("旧名字")
    assert "新名字有限公司" in search("xmz")


def test_import_entries_written_before_their_keys_were_renamed_still_read_in_chinese(app):
    from crm.audit.labels import field_label

    with app.test_request_context():
        old = [field_label("", key) for key in ("file", "created", "updated", "skipped")]
    assert old == ["文件", "新增企业", "更新企业", "跳过的行"]


def test_a_county_officers_edit_keeps_a_city_officer_as_liaison(
    app, client, create_user, create_enterprise
):
    """A city officer may look after a county enterprise: the county officer's form offers
    them, so saving it unchanged keeps them; the list filters by them too."""
    from tests.conftest import log_in
    from tests.forms import forms_of

    city_officer = create_user("officer", CITY, display_name="市局包联员")
    enterprise = create_enterprise(county_code=YIYANG, liaison_id=city_officer.id)
    log_in(client, create_user("officer", YIYANG))
    (edit,) = [
        f
        for f in forms_of(client.get(f"/enterprises/{enterprise.id}/edit").text)
        if "liaison_id" in f.fields
    ]
    assert edit.values()["liaison_id"] == str(city_officer.id)
    assert client.post(f"/enterprises/{enterprise.id}/edit", data=edit.values()).status_code == 302
    with app.app_context():
        assert db.session.get(Enterprise, enterprise.id).liaison_id == city_officer.id
    listed = client.get("/enterprises/", query_string={"liaison": city_officer.id}).text
    assert enterprise.name in listed and "请从列表中选择" not in listed


def test_a_patch_is_held_to_the_figures_and_liaison_it_leaves_unchanged(
    client, login, create_user, create_enterprise
):
    """PATCH sends only what changes: fewer staff than the 科技人员 already recorded, or a move
    away from the county its liaison covers, is refused as the full form would refuse it."""
    liaison = create_user("officer", YIYANG)
    enterprise = create_enterprise(
        county_code=YIYANG, staff=300, tech_staff=269, liaison_id=liaison.id
    )
    login("chief")  # the city's
    url = f"/api/v1/enterprises/{enterprise.id}"
    fewer = client.patch(url, json={"staff": 1})
    assert fewer.status_code == 422 and list(fewer.json["error"]["fields"]) == ["staff"]
    moved = client.patch(url, json={"county_code": MENGJIN})
    assert moved.status_code == 422 and list(moved.json["error"]["fields"]) == ["liaison_id"]
    both = client.patch(url, json={"county_code": MENGJIN, "liaison_id": None, "staff": 269})
    assert both.status_code == 200 and both.json["county_code"] == MENGJIN
    assert client.patch(url, json={"address": "新址"}).status_code == 200
    # A liaison who left stays as they were on a PATCH (or an import row) that moves nothing.
    kept = create_enterprise(county_code=YIYANG, liaison_id=liaison.id)
    with client.application.app_context():
        from crm.auth.models import User

        db.session.get(User, liaison.id).active = False
        db.session.commit()
    same = client.patch(
        f"/api/v1/enterprises/{kept.id}", json={"county_code": YIYANG, "address": "原址"}
    )
    assert same.status_code == 200, same.json


def test_a_tag_holding_a_separator_is_refused_not_split_by_the_next_save(
    client, login, create_enterprise
):
    enterprise = create_enterprise(county_code=YIYANG)
    login("chief")
    url = f"/api/v1/enterprises/{enterprise.id}"
    for tag in ("重点,培育", "链主 企业", "专精、特新"):
        refused = client.patch(url, json={"tags": [tag]})
        assert refused.status_code == 422
        assert refused.json["error"]["fields"]["tags"] == ["标签中不能含逗号、顿号、分号或空格。"]
    assert client.patch(url, json={"tags": ["重点培育", "链主企业"]}).status_code == 200


def test_a_second_enterprise_of_the_same_name_is_refused_as_the_import_refuses_it(
    client, login, create_enterprise
):
    mine = create_enterprise(county_code=YIYANG, name="洛阳金鹰新材料股份有限公司")
    theirs = create_enterprise(county_code=MENGJIN, name="伊滨龙腾新材料科技有限公司")
    login("officer", YIYANG)
    for name, other in ((mine.name, mine.credit_code), (theirs.name, "已由其他县区登记")):
        body = {"name": name, "credit_code": code_for(YIYANG, 777), "county_code": YIYANG}
        refused = client.post("/api/v1/enterprises", json=body)
        assert refused.status_code == 422, refused.json
        assert refused.json["error"]["fields"]["name"] == [f"已有同名企业（{other}）。"]
    renamed = client.patch(f"/api/v1/enterprises/{mine.id}", json={"name": theirs.name})
    assert renamed.status_code == 422 and list(renamed.json["error"]["fields"]) == ["name"]
    same = client.patch(
        f"/api/v1/enterprises/{mine.id}", json={"name": mine.name, "address": "新址"}
    )
    assert same.status_code == 200
