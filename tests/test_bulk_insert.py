"""Bulk inserts (imports, demo data) store exactly what an ORM insert of the same values stores."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.db import built_after_load, bulk_insert, utcnow
from crm.enterprises.models import Enterprise, Scale
from crm.extensions import db
from tests.conftest import YIYANG, code_for


def stored_rows() -> list[dict]:
    """The rows as the database holds them (SQLite's dates and times are strings there)."""
    result = db.session.execute(sa.text("SELECT * FROM enterprises ORDER BY id"))
    return [dict(row) for row in result.mappings()]


def test_bulk_insert_stores_what_an_insert_statement_stores(app):
    now = utcnow()
    full = {
        "name": "洛阳批量写入科技有限公司",
        "county_code": YIYANG,
        "scale": Scale.SMALL,
        "revenue": Decimal("1234.56"),
        "founded_on": date(2020, 2, 29),
        "high_tech": True,
        "tags": ["高企培育", "专精特新"],
        "created_at": now,
        "updated_at": now,
        "deleted_at": now - timedelta(days=1, microseconds=7),
    }
    # Left out: every column with a Python-side default (False, "", None, an empty list).
    sparse = {key: full[key] for key in ("name", "county_code", "created_at", "updated_at")}
    with app.app_context():
        ids = {}
        for number, values in enumerate((full, sparse)):
            bulk, statement = code_for(YIYANG, 2 * number), code_for(YIYANG, 2 * number + 1)
            ids |= bulk_insert(
                db.session, Enterprise, [{**values, "credit_code": bulk}], "credit_code"
            )
            db.session.execute(sa.insert(Enterprise), [{**values, "credit_code": statement}])
        rows = stored_rows()
        db.session.rollback()
    assert len(rows) == 4
    assert ids == {rows[0]["credit_code"]: rows[0]["id"], rows[2]["credit_code"]: rows[2]["id"]}
    for by_bulk, by_statement in (rows[0:2], rows[2:4]):
        for column in ("id", "credit_code"):
            del by_bulk[column], by_statement[column]
        assert by_bulk == by_statement
    assert rows[2]["tags"] in ("[]", [])  # the default, not NULL


def test_bulk_insert_names_the_newest_row_of_a_key(app):
    """An older (deleted) enterprise may hold the same credit code: the new row's id is given."""
    code = code_for(YIYANG, 7)
    values = {"name": "洛阳重名科技有限公司", "credit_code": code, "county_code": YIYANG}
    with app.app_context():
        now = utcnow()
        old = bulk_insert(db.session, Enterprise, [{**values, "deleted_at": now}], "credit_code")
        new = bulk_insert(db.session, Enterprise, [values], "credit_code")
        newest = db.session.scalar(sa.select(sa.func.max(Enterprise.id)))
        db.session.rollback()
    assert new == {code: newest} and old[code] < newest


def table_structure(tables: list[str]) -> dict:
    """Each table's indexes and foreign keys as the database has them now."""
    inspector = sa.inspect(db.session.connection())
    return {
        table: (
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            sorted(
                (k["name"] or "", tuple(k["constrained_columns"]), k["referred_table"])
                for k in inspector.get_foreign_keys(table)
            ),
        )
        for table in tables
    }


def test_a_load_built_after_keeps_the_indexes_and_checks_the_references(app, database):
    """built_after_load sets the indexes (and on PostgreSQL the foreign keys) aside for the
    load and makes them again: the tables end as they were, and a row referring to nothing
    still fails the load."""
    from crm.problems.models import Problem, ProblemEvent
    from crm.visits.models import Visit, VisitPolicy

    models = (Visit, VisitPolicy, Problem, ProblemEvent)
    tables = [model.__tablename__ for model in models]
    with app.app_context():
        before = table_structure(tables)
        assert all(indexes and keys for indexes, keys in before.values())
        with built_after_load(db.session, *models):
            during = table_structure(tables)
        assert table_structure(tables) == before
        db.session.commit()
        assert table_structure(tables) == before
        for table, (indexes, keys) in during.items():
            assert len(indexes) < len(before[table][0])  # only the unique ones remain
            assert keys == ([] if database.backend == "postgresql" else before[table][1])
        dangling = {"visit_id": 1_000_000, "policy_id": 1_000_000, "note": ""}
        driver = db.session.get_bind().dialect.dbapi  # bulk_insert speaks to it directly
        with (
            pytest.raises((sa.exc.IntegrityError, driver.IntegrityError)),
            built_after_load(db.session, *models),
        ):
            bulk_insert(db.session, VisitPolicy, [dangling])
        db.session.rollback()
        assert table_structure(tables) == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitPolicy)) == 0
