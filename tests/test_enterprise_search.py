"""Finding enterprises the way Chinese users type: name part, pinyin, initials, code prefix."""

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.enterprises import queries
from crm.enterprises.search import search_keys
from crm.extensions import db
from tests.conftest import MENGJIN, QIHANG, YIYANG, code_for


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("洛阳启航必达科技有限公司", "luoyangqihangbidakejiyouxiangongsi", "lyqhbdkjyxgs"),
        ("海普半导体(洛阳)有限公司", "haipubandaotiluoyangyouxiangongsi", "hpbdtlyyxgs"),
        ("洛阳ABC光电3D科技有限公司", "luoyangabcguangdian3dkejiyouxiangongsi", "lyabcgd3dkjyxgs"),
        (
            "洛阳启航必达000123科技有限公司",
            "luoyangqihangbida000123kejiyouxiangongsi",
            "lyqhbd000123kjyxgs",
        ),
        # Read as pypinyin reads the whole name: 银行 yin hang after a number, as before one.
        (
            "重庆长行A12银行（洛阳）有限公司",
            "chongqingzhangxinga12yinhangluoyangyouxiangongsi",
            "cqzxa12yhlyyxgs",
        ),
    ],
)
def test_search_keys(name, full, initials):
    assert search_keys(name) == (full, initials)


@pytest.mark.parametrize(
    "query",
    ["启航", "洛阳启航", "lyqh", "LYQH", "luoyangqihang", "qihang", "91410327MA9F", "91410327ma9f"],
)
def test_one_box_finds_qihang_every_way(app, create_user, create_enterprise, query):
    create_enterprise(name="洛阳古城新材料科技有限公司")
    create_enterprise(name="洛阳启航精密机械有限公司", county_code=MENGJIN)  # out of scope
    qihang = create_enterprise(**QIHANG)
    user = create_user("officer", YIYANG)
    with app.test_request_context(), app.app_context():
        found = queries.typeahead(query, db.session.get(User, user.id))
        assert found and found[0].id == qihang.id


def test_ranking_exact_code_then_prefix_then_the_rest(app, create_user, create_enterprise):
    inside = create_enterprise(name="宜阳县启航机械有限公司")
    prefix = create_enterprise(name="启航智能装备有限公司")
    exact = create_enterprise(name="洛阳北斗电子有限公司")
    user = create_user("chief")
    with app.test_request_context(), app.app_context():
        viewer = db.session.get(User, user.id)
        assert [e.id for e in queries.typeahead("启航", viewer)] == [prefix.id, inside.id]
        assert queries.typeahead(exact.credit_code, viewer)[0].id == exact.id


def test_search_escapes_wildcards_and_ignores_empty_input(app, create_user, create_enterprise):
    create_enterprise(name="洛阳百分百科技有限公司")
    user = create_user("chief")
    with app.test_request_context(), app.app_context():
        viewer = db.session.get(User, user.id)
        assert queries.typeahead("%", viewer) == []
        assert queries.typeahead("_", viewer) == []
        assert queries.typeahead("   ", viewer) == []


def test_type_ahead_endpoint_answers_a_fragment(client, login, create_enterprise):
    create_enterprise(**QIHANG)
    login("officer", YIYANG)
    page = client.get(
        "/enterprises/search", query_string={"q": "lyqh"}, headers={"HX-Request": "true"}
    )
    assert page.status_code == 200
    assert "<html" not in page.text
    assert "洛阳启航必达科技有限公司" in page.text
    nothing = client.get("/enterprises/search", query_string={"q": "zzzz"})
    assert "没有与“zzzz”匹配的企业" in nothing.text


def test_deleted_enterprises_are_not_found(app, create_user, create_enterprise):
    from crm.db import utcnow
    from crm.enterprises.models import Enterprise

    gone = create_enterprise(**QIHANG)
    with app.app_context():
        db.session.execute(
            sa.update(Enterprise).where(Enterprise.id == gone.id).values(deleted_at=utcnow())
        )
        db.session.commit()
    user = create_user("chief")
    with app.test_request_context(), app.app_context():
        assert queries.typeahead("lyqh", db.session.get(User, user.id)) == []


def test_search_index_follows_edits_and_bulk_inserts(app, client, login, create_enterprise):
    """The index is kept by the database (SQLite triggers, a PostgreSQL generated column)."""
    from crm.enterprises import operations
    from crm.enterprises.models import Enterprise

    enterprise = create_enterprise(name="洛阳启航必达科技有限公司")
    user = login("chief")
    client.post(
        f"/enterprises/{enterprise.id}/edit",
        data={
            "name": "海普半导体(洛阳)有限公司",
            "credit_code": enterprise.credit_code,
            "county_code": YIYANG,
        },
    )
    with app.test_request_context(), app.app_context():
        viewer = db.session.get(User, user.id)
        assert queries.typeahead("启航", viewer) == []
        assert [e.name for e in queries.typeahead("hpbdt", viewer)] == ["海普半导体(洛阳)有限公司"]
        operations.insert_enterprises(
            None,
            [
                (
                    {
                        "name": "洛阳古城新材料科技有限公司",
                        "credit_code": code_for(YIYANG, 4242),
                        "county_code": YIYANG,
                    },
                    {},
                )
            ],
        )
        db.session.commit()
        assert [e.name for e in queries.typeahead("古城", viewer)] == ["洛阳古城新材料科技有限公司"]
        db.session.execute(sa.delete(Enterprise).where(Enterprise.name.like("海普%")))
        db.session.commit()
        assert queries.typeahead("hpbdt", viewer) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("启航", ["启航科技有限公司", "洛阳启航必达科技有限公司"]),  # prefix first, then contains
        ("qi", ["启航科技有限公司", "洛阳启航必达科技有限公司"]),
        ("有限公司", ["洛阳启航必达科技有限公司", "启航科技有限公司"]),  # pinyin order
        ("航必达", ["洛阳启航必达科技有限公司"]),
        ("必达启航", []),  # every bigram occurs, but not in this order
        ("ＬＹＱＨ", ["洛阳启航必达科技有限公司"]),  # full-width, as some keyboards type it
        ("启", []),  # one character: keep typing
    ],
)
def test_type_ahead_substring_semantics(app, create_user, create_enterprise, query, expected):
    create_enterprise(name="洛阳启航必达科技有限公司")
    create_enterprise(name="启航科技有限公司")
    user = create_user("chief")
    with app.test_request_context(), app.app_context():
        found = queries.typeahead(query, db.session.get(User, user.id))
        assert [e.name for e in found] == expected


@pytest.mark.parametrize("query", ["启", "司", "q"])
def test_the_list_search_takes_a_single_character(client, login, create_enterprise, query):
    """Even the last character of a name (which starts no bigram) is found."""
    create_enterprise(name="洛阳启航必达科技有限公司")
    create_enterprise(name="海普半导体(洛阳)有限公司" if query != "司" else "海普半导体")
    login("chief")
    page = client.get("/enterprises/", query_string={"q": query}).text
    assert "洛阳启航必达科技有限公司" in page and "共 1 家企业" in page
