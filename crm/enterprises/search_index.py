"""The full-text index over enterprises.search_doc, created and dropped by migrations.

SQLite: an FTS5 table with the document as external content, kept in step by triggers (so bulk
inserts are indexed too). PostgreSQL: a stored tsvector column with a GIN index. Neither is part
of the models; migrations/env.py leaves them out of autogenerate.

Beware: a batch-mode migration that rebuilds `enterprises` on SQLite drops the triggers; call
`drop` before and `create` after it.
"""

from sqlalchemy.engine import Connection

from crm.enterprises.search import FTS_TABLE, TSVECTOR

# FTS_TABLE is a constant of the code (nosec B608 below: no outside input in these statements).
SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "search_doc, content='enterprises', content_rowid='id', detail='full')",  # nosec B608
    f"""CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON enterprises BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_doc) VALUES (new.id, new.search_doc);
    END""",  # nosec B608
    f"""CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON enterprises BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_doc)
        VALUES ('delete', old.id, old.search_doc);
    END""",  # nosec B608
    f"""CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF search_doc ON enterprises BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_doc)
        VALUES ('delete', old.id, old.search_doc);
        INSERT INTO {FTS_TABLE}(rowid, search_doc) VALUES (new.id, new.search_doc);
    END""",  # nosec B608
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",  # nosec B608
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
POSTGRESQL_CREATE = [
    f"ALTER TABLE enterprises ADD COLUMN {TSVECTOR} tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_doc)) STORED",
    f"CREATE INDEX ix_enterprises_{TSVECTOR} ON enterprises USING gin ({TSVECTOR})",
]
POSTGRESQL_DROP = [
    f"DROP INDEX IF EXISTS ix_enterprises_{TSVECTOR}",
    f"ALTER TABLE enterprises DROP COLUMN IF EXISTS {TSVECTOR}",
]
# What autogenerate must not see as differences between the models and the database.
MIGRATION_ONLY_TABLE_PREFIX = FTS_TABLE
MIGRATION_ONLY_COLUMNS = frozenset({TSVECTOR})
MIGRATION_ONLY_INDEXES = frozenset({f"ix_enterprises_{TSVECTOR}"})


def _run(connection: Connection, statements: list[str]) -> None:
    for statement in statements:
        connection.exec_driver_sql(statement)


def create(connection: Connection) -> None:
    """Create the index and fill it from the documents already stored."""
    sqlite = connection.dialect.name == "sqlite"
    _run(connection, SQLITE_CREATE if sqlite else POSTGRESQL_CREATE)


def drop(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    _run(connection, SQLITE_DROP if sqlite else POSTGRESQL_DROP)
