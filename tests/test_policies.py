"""The policy catalogue: seeded by the migration, read by everyone, kept by administrators."""

import sqlalchemy as sa

from crm.audit.models import AuditLog
from crm.extensions import db
from crm.policies.models import Policy, PolicyCategory
from crm.policies.reference import POLICIES


def policies(app):
    with app.app_context():
        return {p.name: p for p in db.session.scalars(sa.select(Policy))}


def test_migration_seeds_the_designed_catalogue_in_order(app):
    stored = policies(app)
    assert set(stored) == {entry["name"] for entry in POLICIES}
    assert len(stored) == 16
    assert [stored[e["name"]].position for e in POLICIES] == list(range(1, 17))
    assert stored["科技副总"].category == PolicyCategory.TALENT
    assert all(p.active and p.summary and p.issuer for p in stored.values())


def test_everyone_reads_the_catalogue_grouped_by_category(client, login):
    login("officer")
    page = client.get("/policies/").text
    assert "资质认定" in page and "高新技术企业认定及15%所得税优惠" in page
    assert "新增政策" not in page


def test_admin_adds_and_changes_a_policy(app, client, login):
    login("admin")
    response = client.post(
        "/policies/new",
        data={
            "name": "首台套保险补偿",
            "category": "finance",
            "summary": "对首台（套）重大技术装备给予保费补贴",
            "issuer": "工业和信息化部",
            "active": "y",
        },
    )
    assert response.status_code == 302
    created = policies(app)["首台套保险补偿"]
    assert created.position == 17 and created.category == PolicyCategory.FINANCE
    client.post(
        f"/policies/{created.id}/edit",
        data={"name": "首台套保险补偿", "category": "finance", "summary": "改过的简介"},
    )
    changed = policies(app)["首台套保险补偿"]
    assert changed.summary == "改过的简介" and changed.active is False
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditLog.action).where(AuditLog.entity_type == "policies")
        )
        assert list(actions) == ["policy.create", "policy.update"]
    log = client.get("/admin/audit/?action=policy.create").text
    assert "启用（走访时可选）：</span>\n              是" in log  # not "True"
    assert "类别：</span>\n              金融" in log  # the category's name, not its key


def test_inactive_policies_are_hidden_from_officers_and_the_api(
    app, client, login, create_user, create_token
):
    with app.app_context():
        db.session.execute(sa.update(Policy).where(Policy.name == "院录企用").values(active=False))
        db.session.commit()
    login("officer")
    assert "院录企用" not in client.get("/policies/").text
    token = create_token(create_user("officer"))
    api = client.get("/api/v1/policies", headers={"Authorization": f"Bearer {token}"}).json
    assert api["total"] == 15
    everything = client.get(
        "/api/v1/policies?include_inactive=true", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert everything["total"] == 16


def test_duplicate_or_empty_names_are_refused(app, client, login):
    login("admin")
    duplicate = client.post("/policies/new", data={"name": "科技副总", "category": "talent"})
    assert "政策目录中已有同名政策。" in duplicate.text
    empty = client.post("/policies/new", data={"name": "", "category": "talent"})
    assert "此项必填。" in empty.text
    assert len(policies(app)) == 16


def test_only_admins_edit(client, login):
    login("chief")
    assert client.get("/policies/new").status_code == 403
    assert client.get("/policies/1/edit").status_code == 403
