"""Migrations match the models, upgrade and downgrade on both databases, load reference data."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from crm.enterprises import search_index
from crm.enterprises.search import FTS_TABLE, TSVECTOR
from crm.extensions import db
from crm.regions.models import Region, RegionLevel
from crm.regions.reference import sync_regions
from tests.conftest import make_app

DESIGN_COUNTIES = {
    "410302": "老城区",
    "410303": "西工区",
    "410304": "瀍河回族区",
    "410305": "涧西区",
    "410307": "偃师区",
    "410308": "孟津区",
    "410311": "洛龙区",
    "410323": "新安县",
    "410324": "栾川县",
    "410325": "嵩县",
    "410326": "汝阳县",
    "410327": "宜阳县",
    "410328": "洛宁县",
    "410329": "伊川县",
}


def test_models_and_migrations_agree(app):
    with app.app_context():
        check()  # exits with an error when autogenerate would write anything


@pytest.fixture
def scratch_url(database, tmp_path):
    """An empty database of the same backend, for running migrations from scratch."""
    if database.backend == "sqlite":
        yield f"sqlite:///{tmp_path}/scratch.sqlite3"
        return
    engine = sa.create_engine(database.url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS migration_test CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA migration_test")
    yield database.url + "?options=-csearch_path%3Dmigration_test"
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA migration_test CASCADE")
    engine.dispose()


def table_names(app):
    """The tables the models declare (the search index's own tables apart)."""
    names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not name.startswith(search_index.MIGRATION_ONLY_TABLE_PREFIX)}


def search_index_present() -> bool:
    inspector = sa.inspect(db.engine)
    if db.engine.dialect.name == "sqlite":
        return FTS_TABLE in inspector.get_table_names()
    return "enterprises" in inspector.get_table_names() and TSVECTOR in {
        column["name"] for column in inspector.get_columns("enterprises")
    }


def test_upgrade_downgrade_upgrade(scratch_url):
    app = make_app(scratch_url)
    with app.app_context():
        upgrade()
        assert table_names(app) == {t.name for t in db.metadata.sorted_tables}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) > 15
        assert search_index_present()
        db.session.remove()
        downgrade(revision="base")
        assert table_names(app) == set()
        assert not search_index_present()
        upgrade()
        check()
        db.session.remove()
        db.engine.dispose()


def insert_row(connection, table_name, **values):
    """A row in a table as an earlier revision left it: what is not given gets a plain value."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        if column.primary_key:
            continue
        plain = (
            (sa.Boolean, False),
            (sa.Integer, 0),
            (sa.Numeric, Decimal(0)),
            (sa.DateTime, datetime(2026, 1, 5, 8, tzinfo=UTC)),
            (sa.Date, date(2026, 1, 5)),
            (sa.JSON, {}),
        )
        kinds = (kind for kind, value in plain if isinstance(column.type, kind))
        kind = next(kinds, None)
        values[column.name] = dict(plain)[kind] if kind else ""
    connection.execute(table.insert().values(**values))


def test_follow_ups_asked_for_on_visits_become_tasks(scratch_url):
    """Visits recorded before revision 0006 kept their follow-up on the visit; the upgrade makes
    each one the lead officer's task (an old one counts as reminded already)."""
    app = make_app(scratch_url)
    with app.app_context():
        upgrade(revision="0005")
        connection = db.session.connection()
        insert_row(connection, "users", id=1, username="li", role="officer", region_code="410327")
        insert_row(connection, "enterprises", id=1, name="启航", county_code="410327")
        for visit_id, title, due in ((1, "送申报指南", date(2026, 1, 12)), (2, "", None)):
            insert_row(
                connection,
                "visits",
                id=visit_id,
                client_uuid=f"00000000-0000-0000-0000-00000000000{visit_id}",
                enterprise_id=1,
                county_code="410327",
                mode="onsite",
                lead_id=1,
                created_by_id=1,
                followup_title=title,
                followup_due_on=due,
            )
        db.session.commit()
        upgrade()
        from crm.followups.models import FollowUp

        tasks = db.session.scalars(sa.select(FollowUp)).all()
        assert [(t.visit_id, t.title, t.assignee_id, t.due_on) for t in tasks] == [
            (1, "送申报指南", 1, date(2026, 1, 12))
        ]
        assert tasks[0].status.value == "todo" and tasks[0].escalated_at is not None
        db.session.remove()
        db.engine.dispose()


def test_reference_regions_are_loaded(app):
    with app.app_context():
        regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
        city = regions["410300"]
        assert (city.name, city.level, city.parent_code) == ("洛阳市", RegionLevel.CITY, None)
        counties = {c: r.name for c, r in regions.items() if r.level == RegionLevel.COUNTY}
        assert counties == DESIGN_COUNTIES
        for code in DESIGN_COUNTIES:
            townships = [r for r in regions.values() if r.parent_code == code]
            assert len(townships) >= 3, code
            assert all(len(t.code) == 9 and t.code.startswith(code) for t in townships)
            assert all(t.level == RegionLevel.TOWNSHIP for t in townships)


def test_region_sync_is_idempotent(app):
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Region))
        with db.engine.begin() as connection:
            connection.execute(sa.update(Region).where(Region.code == "410327").values(name="x"))
            sync_regions(connection)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == before
        assert db.session.get(Region, "410327").name == "宜阳县"
