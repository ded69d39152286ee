"""The enterprise registry: forms, credit-code rules, list, page, contacts, soft delete."""

import re
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, QIHANG, YIYANG, bureau_today, code_for
from tests.forms import fields_of

VALID = "91350100M000100Y43"
MISMATCH = "91350100M000100Y44"


def form(**fields):
    """A complete enterprise form as the browser sends it."""
    return {
        "name": "洛阳启航必达科技有限公司",
        "credit_code": QIHANG["credit_code"],
        "county_code": YIYANG,
        "township_code": "410327001",
        "industry": "C39",
        "staff": "120",
        "tech_staff": "25",
        "revenue": "3560.50",
        "founded_on": "2018-05-20",
        **fields,
    }


def enterprises(app):
    with app.app_context():
        return db.session.scalars(sa.select(Enterprise).order_by(Enterprise.id)).all()


def audit_actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()


def test_officer_registers_an_enterprise(app, client, login):
    login("officer", YIYANG)
    response = client.post("/enterprises/new", data=form())
    assert response.status_code == 302
    [enterprise] = enterprises(app)
    assert (enterprise.name, enterprise.county_code, enterprise.industry) == (
        "洛阳启航必达科技有限公司",
        YIYANG,
        "C39",
    )
    assert str(enterprise.revenue) == "3560.50"
    assert (enterprise.name_pinyin, enterprise.name_initials)[1] == "lyqhbdkjyxgs"
    assert "enterprise.create" in audit_actions(app)
    page = client.get(response.headers["Location"]).text
    assert "洛阳启航必达科技有限公司已保存。" in page
    assert "C39 计算机、通信和其他电子设备制造业" in page


@pytest.mark.parametrize(
    "typed", [VALID.lower(), "９１３５０１００Ｍ０００１００Ｙ４３", " 9135 0100 M000 100Y43 "]
)
def test_codes_are_stored_normalised(app, client, login, typed):
    login("chief")
    client.post("/enterprises/new", data=form(credit_code=typed))
    assert enterprises(app)[0].credit_code == VALID


def test_registering_area_is_shown(client, login, create_enterprise):
    login("chief")
    enterprise = create_enterprise(**QIHANG)
    assert "登记机关所在地：宜阳县" in client.get(f"/enterprises/{enterprise.id}").text


def test_malformed_code_is_refused_beside_the_field(app, client, login):
    login("chief")
    response = client.post("/enterprises/new", data=form(credit_code="91350100M000100YSO"))
    assert response.status_code == 200
    assert "不含 I、O、S、V、Z" in response.text
    assert enterprises(app) == []


def test_check_mismatch_needs_the_confirmation_then_is_flagged_and_audited(app, client, login):
    login("chief")
    refused = client.post("/enterprises/new", data=form(credit_code=MISMATCH))
    assert "统一社会信用代码校验位错误。如已与营业执照核对无误，请勾选下方确认。" in refused.text
    assert enterprises(app) == []
    confirmed = client.post(
        "/enterprises/new", data=form(credit_code=MISMATCH, credit_code_confirmed="y")
    )
    assert confirmed.status_code == 302
    [enterprise] = enterprises(app)
    assert enterprise.credit_code == MISMATCH and enterprise.credit_code_unverified
    assert "enterprise.credit_code_confirmed" in audit_actions(app)
    assert "校验位未通过（已人工核对）" in client.get(confirmed.headers["Location"]).text


def test_a_live_code_is_registered_once_a_deleted_one_again(app, client, login, create_enterprise):
    login("chief")
    first = create_enterprise(**QIHANG)
    again = client.post("/enterprises/new", data=form(name="另一家公司"))
    assert "该统一社会信用代码已登记：洛阳启航必达科技有限公司。" in again.text
    client.post(f"/enterprises/{first.id}/delete")
    assert client.post("/enterprises/new", data=form(name="另一家公司")).status_code == 302
    assert len(enterprises(app)) == 2


def test_code_registered_in_another_county_is_not_named(client, login, create_enterprise):
    create_enterprise(name="孟津某公司", county_code=MENGJIN, credit_code=code_for(MENGJIN, 99))
    login("officer", YIYANG)
    response = client.post("/enterprises/new", data=form(credit_code=code_for(MENGJIN, 99)))
    assert "该统一社会信用代码已由其他县区登记。" in response.text
    assert "孟津某公司" not in response.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "此项必填。"),
        ({"tech_staff": "500"}, "科技人员数不能多于职工人数。"),
        ({"staff": "-3"}, "不能小于 0。"),  # not WTForms' "必须大于 0" (0 is allowed)
        ({"revenue": "abc"}, "is-invalid"),
        (
            {"founded_on": (bureau_today() + timedelta(days=2)).isoformat()},
            "成立日期应在 1900 年至今天之间。",
        ),
        ({"township_code": "410308002"}, "is-invalid"),
        ({"county_code": MENGJIN, "township_code": ""}, "is-invalid"),
        ({"industry": "A39"}, "is-invalid"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, client, login, fields, message):
    login("officer", YIYANG)
    response = client.post("/enterprises/new", data=form(**fields))
    assert response.status_code == 200
    assert message in response.text
    assert enterprises(app) == []


def test_every_bad_field_is_told_on_the_first_send(app, client, login, create_enterprise):
    """A negative count (refused by the form) does not hold back a bad credit code or a
    founding date in the future (refused by the enterprise's rules): all on the first send, on
    the new form and on the edit form alike."""
    login("officer", YIYANG)
    bad = form(staff="-5", credit_code="123", founded_on="2099-01-01")
    for url in ("/enterprises/new", f"/enterprises/{create_enterprise(**QIHANG).id}/edit"):
        response = client.post(url, data=bad)
        fields = fields_of(response.text)
        invalid = {name for name, field in fields.items() if field.invalid}
        assert {"staff", "credit_code", "founded_on"} <= invalid, (url, invalid)
    assert len(enterprises(app)) == 1 and enterprises(app)[0].staff != -5


@pytest.mark.parametrize("year", ["2016", "99999"])
def test_a_registration_year_out_of_range_names_the_range(client, login, year):
    login("officer", YIYANG)
    response = client.post("/enterprises/new", data=form(tech_sme="y", tech_sme_year=year))
    last = bureau_today().year + 1
    assert f"请填写 2017 至 {last} 年之间的年份。" in response.text


def test_a_number_that_cannot_be_read_is_told_once(app, client, login):
    login("officer", YIYANG)
    response = client.post("/enterprises/new", data=form(revenue="abc", staff="十"))
    errors = re.findall(r'class="invalid-feedback[^"]*">([^<]*)<', response.text)
    assert len(errors) == 2 and not any("不能小于" in error for error in errors), errors
    assert enterprises(app) == []


def test_editing_changes_fields_recomputes_pinyin_and_audits(app, client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("officer", YIYANG)
    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data=form(name="洛阳古城新材料科技有限公司", tags="重点培育、链主企业", industry="C30"),
    )
    assert response.status_code == 302
    [stored] = enterprises(app)
    assert stored.name_initials.startswith("lygcxcl")
    assert stored.tags == ["重点培育", "链主企业"]
    with app.app_context():
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "enterprise.update")
        ).one()
        assert entry.changes["name"] == ["洛阳启航必达科技有限公司", "洛阳古城新材料科技有限公司"]
        assert entry.region_code == YIYANG


def test_edit_form_keeps_what_is_stored(client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG, tags=["重点培育"])
    login("chief")
    page = client.get(f"/enterprises/{enterprise.id}/edit").text
    assert QIHANG["credit_code"] in page and 'value="重点培育"' in page


def test_a_save_over_someone_elses_is_refused_once(app, client, login, create_enterprise):
    """Two editors: the later save does not silently undo the earlier one. It is refused with
    what was typed kept; sent again, it is what the editor chose. A visit recorded meanwhile
    (which moves the enterprise's date of last visit) is no one's edit."""
    enterprise = create_enterprise(**QIHANG, staff=1000)
    login("officer", YIYANG)
    page = client.get(f"/enterprises/{enterprise.id}/edit").text
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page).group(1)
    with app.app_context():
        stored = db.session.get(Enterprise, enterprise.id)
        stored.last_visited_on = date(2026, 11, 20)  # a visit: not an edit
        db.session.commit()
    fine = client.post(f"/enterprises/{enterprise.id}/edit", data=form(staff="1000", seen=seen))
    assert fine.status_code == 302
    page = client.get(f"/enterprises/{enterprise.id}/edit").text
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page).group(1)
    with app.app_context():
        db.session.get(Enterprise, enterprise.id).staff = 999  # the chief's save
        db.session.commit()
    mine = form(staff="1000", address="洛阳市洛龙区开元大道 1 号", seen=seen)
    refused = client.post(f"/enterprises/{enterprise.id}/edit", data=mine)
    assert refused.status_code == 200 and "此企业信息已被保存过" in refused.text
    assert "开元大道 1 号" in refused.text  # what was typed is still there
    assert enterprises(app)[0].staff == 999
    again = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', refused.text).group(1)
    assert again != seen
    decided = client.post(f"/enterprises/{enterprise.id}/edit", data={**mine, "seen": again})
    assert decided.status_code == 302 and enterprises(app)[0].staff == 1000


def test_liaison_must_be_an_officer_covering_the_county(app, client, login, create_user):
    login("chief")
    yiyang_officer = create_user("officer", YIYANG)
    mengjin_officer = create_user("officer", MENGJIN)
    refused = client.post("/enterprises/new", data=form(liaison_id=str(mengjin_officer.id)))
    assert refused.status_code == 200 and "is-invalid" in refused.text
    assert (
        client.post("/enterprises/new", data=form(liaison_id=str(yiyang_officer.id))).status_code
        == 302
    )
    assert enterprises(app)[0].liaison_id == yiyang_officer.id


def test_townships_follow_the_county(client, login):
    login("officer")
    options = client.get("/enterprises/townships", query_string={"county_code": YIYANG}).text
    assert "兴宜街道" in options and "会盟镇" not in options
    # A filter's: 全部 first; the city has no townships (its children are counties).
    filtering = client.get("/enterprises/townships", query_string={"county": YIYANG, "all": 1})
    assert filtering.text.startswith('<option value="">全部</option>')
    assert (
        "兴宜街道" not in client.get("/enterprises/townships", query_string={"county": CITY}).text
    )
    assert "宜阳县" not in client.get("/enterprises/townships", query_string={"county": CITY}).text


@pytest.mark.parametrize(
    ("url", "listed"), [("/enterprises/", "共 1 家企业"), ("/visits/", "共 1 次走访")]
)
def test_a_township_left_from_another_county_is_dropped(
    client, login, create_enterprise, url, listed
):
    """County 宜阳 and one of its townships, then 孟津 chosen: the list is 孟津's, not an
    error under a box that reads 全部, nor an empty list."""
    login("chief")
    mengjin = create_enterprise(county_code=MENGJIN)
    visit = {"client_uuid": str(uuid.uuid4()), "enterprise_id": mengjin.id, "mode": "onsite"}
    visit |= {"visit_date": bureau_today().isoformat(), "summary": "了解企业情况"}
    assert client.post("/api/v1/visits", json=visit).status_code == 201
    page = client.get(url, query_string={"county": MENGJIN, "township": "410327001"})
    assert page.status_code == 200 and "is-invalid" not in page.text
    assert listed in page.text


def test_viewers_read_but_do_not_edit(client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("viewer")
    page = client.get(f"/enterprises/{enterprise.id}")
    assert page.status_code == 200 and "编辑" not in page.text
    assert client.get(f"/enterprises/{enterprise.id}/edit").status_code == 403
    assert (
        client.post(f"/enterprises/{enterprise.id}/contacts", data={"name": "x"}).status_code == 403
    )


def test_only_chiefs_and_admins_delete(app, client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("officer", YIYANG)
    assert client.post(f"/enterprises/{enterprise.id}/delete").status_code == 403
    client.post("/logout")
    login("chief")
    page = client.get(f"/enterprises/{enterprise.id}").text
    assert 'data-confirm="确定删除' in page
    client.post(f"/enterprises/{enterprise.id}/delete")
    [stored] = enterprises(app)
    assert stored.deleted_at is not None
    assert client.get(f"/enterprises/{enterprise.id}").status_code == 404
    assert "洛阳启航必达科技有限公司" not in client.get("/enterprises/").text
    assert "enterprise.delete" in audit_actions(app)


def list_names(client, **query):
    html = client.get("/enterprises/", query_string=query).text
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1]
    return re.findall(r'class="fw-semibold stretched-link">([^<]+)</a>', body)


def test_list_filters_sorts_and_counts(app, client, login, create_enterprise, create_user):
    officer = create_user("officer", YIYANG)
    create_enterprise(
        name="甲公司",
        industry="C39",
        high_tech=True,
        revenue=100,
        liaison_id=officer.id,
        township_code="410327001",
    )
    create_enterprise(name="乙公司", industry="I65", tech_sme=True, revenue=900)
    create_enterprise(
        name="丙公司", county_code=MENGJIN, credit_code=code_for(MENGJIN, 7), specialized="province"
    )
    with app.app_context():
        db.session.execute(
            sa.update(Enterprise)
            .where(Enterprise.name == "乙公司")
            .values(last_visited_on=bureau_today() - timedelta(days=5))
        )
        db.session.commit()
    login("chief")
    assert sorted(list_names(client)) == sorted(["甲公司", "乙公司", "丙公司"])
    assert "共 3 家企业" in client.get("/enterprises/").text
    assert list_names(client, county=MENGJIN) == ["丙公司"]
    assert list_names(client, county=YIYANG, township="410327001") == ["甲公司"]
    assert list_names(client, industry="I") == ["乙公司"]
    assert list_names(client, flag="high_tech") == ["甲公司"]
    assert list_names(client, flag="specialized") == ["丙公司"]
    assert list_names(client, liaison=str(officer.id)) == ["甲公司"]
    assert sorted(list_names(client, not_visited="30")) == sorted(["甲公司", "丙公司"])
    assert list_names(client, sort="-revenue")[:2] == ["乙公司", "甲公司"]
    assert list_names(client, sort="last_visited")[-1] == "乙公司"
    assert list_names(client, q="jgs") == ["甲公司"]


def test_list_paginates(client, login, create_enterprise):
    for number in range(30):
        create_enterprise(name=f"分页企业{number:02d}有限公司")
    login("chief")
    assert len(list_names(client)) == 25
    assert len(list_names(client, page=2)) == 5


def test_invalid_filter_shows_nothing_rather_than_failing(client, login, create_enterprise):
    create_enterprise(**QIHANG)
    login("chief")
    response = client.get("/enterprises/", query_string={"county": "999999"})
    assert response.status_code == 200
    assert list_names(client, county="999999") == []


def contacts(app):
    with app.app_context():
        return [
            (c.name, c.phone, c.primary)
            for c in db.session.scalars(sa.select(Contact).order_by(Contact.id))
        ]


def test_contacts_are_added_edited_and_removed_on_the_page(app, client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("officer", YIYANG)
    url = f"/enterprises/{enterprise.id}/contacts"
    added = client.post(
        url,
        data={"name": "李总", "title": "总经理", "phone": "138 0000 0000"},
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200 and "<html" not in added.text
    assert 'href="tel:13800000000"' in added.text
    client.post(url, data={"name": "王工", "phone": "0379-12345678", "primary": "y"})
    assert contacts(app) == [("李总", "138 0000 0000", False), ("王工", "0379-12345678", True)]
    with app.app_context():
        first = db.session.scalars(sa.select(Contact).where(Contact.name == "李总")).one()
    prefix = f"contact-{first.id}-"  # the edit form's fields are named apart from the new one's
    edited = {"name": "李总", "title": "董事长", "phone": "13900000000"}
    client.post(f"{url}/{first.id}", data={prefix + name: value for name, value in edited.items()})
    assert contacts(app)[0] == ("李总", "13900000000", False)
    client.post(f"{url}/{first.id}/delete")
    assert contacts(app) == [("王工", "0379-12345678", True)]
    actions = audit_actions(app)
    assert {"contact.create", "contact.update", "contact.delete"} <= set(actions)


def test_bad_contact_input_is_shown_and_stores_nothing(app, client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("officer", YIYANG)
    response = client.post(
        f"/enterprises/{enterprise.id}/contacts",
        data={"name": "李总", "phone": "call me"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "请填写电话号码" in response.text
    assert contacts(app) == []


def test_a_contact_of_another_enterprise_is_not_reachable(client, login, create_enterprise):
    first, second = create_enterprise(**QIHANG), create_enterprise()
    login("chief")
    client.post(f"/enterprises/{first.id}/contacts", data={"name": "李总"})
    assert client.post(f"/enterprises/{second.id}/contacts/1/delete").status_code == 404
    assert client.get(f"/enterprises/{second.id}/contacts/1").status_code == 404


def test_timeline_shows_the_registration(client, login, create_enterprise):
    enterprise = create_enterprise(**QIHANG)
    login("chief")
    assert "建立企业档案" in client.get(f"/enterprises/{enterprise.id}").text


def test_the_city_scope_sees_every_county(client, login, create_enterprise):
    create_enterprise(name="宜阳企业")
    create_enterprise(name="孟津企业", county_code=MENGJIN, credit_code=code_for(MENGJIN, 3))
    login("chief", CITY)
    assert sorted(list_names(client)) == ["孟津企业", "宜阳企业"]
