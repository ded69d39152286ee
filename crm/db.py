"""The declarative base, shared column types and mixins. Nothing here commits."""

import enum
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (the database's timezone)."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use crm.db.utcnow() or an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_class: type[enum.Enum]) -> sa.Enum:
    """Store an enum by its English value (the API key) as a plain string column."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


BULK_BATCH = 5000
BULK_ANALYZE_AFTER = 10_000

Convert = Callable[[Any], Any]


def table_of(model: type[Base] | sa.Table) -> sa.Table:
    """A model's table, or the plain table itself."""
    return model if isinstance(model, sa.Table) else model.__table__


def bulk_insert(
    session: Session,
    model: type[Base] | sa.Table,
    records: list[dict],
    key: str | None = None,
    analyze: bool = True,
) -> dict:
    """Insert many rows at once (same keys in every record) into a model's or a plain table;
    with `key`, return {key: id} of the inserted rows (`key` unique among them, e.g. a credit
    code). Columns the records leave out get their Python-side defaults, as with an insert
    statement, and the rows stored are the same as an insert statement's.

    On PostgreSQL a large insert is followed by ANALYZE of the table, unless `analyze` is False
    (a load in many parts that analyses its tables once at its end, with analyze_tables).

    The rows go straight to the driver (COPY on PostgreSQL, executemany on SQLite), each value
    through the converter its column needs, chosen once per column: building every row's
    parameters through SQLAlchemy's compiler took half the time of a large load."""
    if not records:
        return {}
    table = table_of(model)
    dialect = session.get_bind().dialect
    given = list(records[0])
    defaulted = [c.key for c in table.columns if c.key not in given and c.default is not None]
    defaults = [_python_default(table.c[name]) for name in defaulted]
    columns = [table.c[name] for name in given + defaulted]
    converters = [
        (n, convert) for n, c in enumerate(columns) if (convert := _converter(c, dialect))
    ]

    def rows(batch: list[dict]) -> Iterator[list]:
        for record in batch:
            row = [record[name] for name in given] + [default() for default in defaults]
            for n, convert in converters:
                row[n] = convert(row[n])
            yield row

    quote = dialect.identifier_preparer.quote
    into = f"{quote(table.name)} ({', '.join(quote(column.name) for column in columns)})"
    cursor = session.connection().connection.driver_connection.cursor()
    if dialect.name == "postgresql":
        with cursor.copy(f"COPY {into} FROM STDIN") as copy:
            for row in rows(records):
                copy.write_row(row)
        if analyze and len(records) >= BULK_ANALYZE_AFTER:
            analyze_tables(session, table)  # plans must know the new rows at once
    else:
        # Quoted names of the model's own table and columns; the values are parameters.
        insert = f"INSERT INTO {into} VALUES ({', '.join('?' for _column in columns)})"  # nosec B608
        for start in range(0, len(records), BULK_BATCH):
            cursor.executemany(insert, rows(records[start : start + BULK_BATCH]))
    if key is None:
        return {}
    return _ids_by_key(cursor, dialect, table.c[key], [record[key] for record in records])


def analyze_tables(session: Session, *models: type[Base] | sa.Table) -> None:
    """PostgreSQL: refresh the planner's statistics of these tables (after a bulk load, so that
    the next statements are planned for the rows now there). SQLite keeps none to refresh."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return
    tables = [table_of(model) for model in models]
    names = ", ".join(dialect.identifier_preparer.quote(table.name) for table in tables)
    session.execute(sa.text(f"ANALYZE {names}"))  # the models' own table names


@contextmanager
def built_after_load(session: Session, *models: type[Base] | sa.Table) -> Iterator[None]:
    """Around a large bulk load into tables that hold few rows or none: their non-unique
    indexes, and on PostgreSQL their foreign keys, are set aside for the load and made again at
    its end, in the same transaction. One index build over a million rows and one join per
    reference are faster than keeping them up row by row. References are still checked: a row
    that refers to nothing fails the load when its foreign key is made again, and a failed load
    rolls the whole back. On PostgreSQL the tables, and those they refer to, stay locked until
    the transaction ends (meant for a first load, not for a database in use)."""
    connection = session.connection()
    tables = [table_of(model) for model in models]
    keys = []
    if connection.dialect.name == "postgresql":  # SQLite cannot drop a foreign key
        keys = [key for table in tables for key in table.foreign_key_constraints]
    indexes = [index for table in tables for index in table.indexes if not index.unique]
    driver = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite" and not driver.in_transaction:
        # sqlite3 opens a transaction only before INSERT/UPDATE/DELETE: without one, the
        # indexes would be dropped for good, even if the load then failed.
        driver.execute("BEGIN IMMEDIATE")
    for key in keys:
        connection.execute(sa.schema.DropConstraint(key))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
    for key in keys:
        connection.execute(sa.schema.AddConstraint(key))


def first_free_id(session: Session, model: type[Base]) -> int:
    """The first id a bulk load may give rows of `model` itself (ids known before the rows are
    inserted, so that other rows can refer to them). On PostgreSQL the table is locked against
    other writers until the transaction ends (SQLite has one writer at a time anyway), and
    claim_ids must follow the load."""
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        quote = session.get_bind().dialect.identifier_preparer.quote
        # The model's own table name. Readers go on; writers wait for the load's commit.
        session.execute(sa.text(f"LOCK TABLE {quote(table.name)} IN EXCLUSIVE MODE"))
    return (session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def claim_ids(session: Session, model: type[Base], last: int) -> None:
    """After a bulk load that gave its rows ids from first_free_id on: the next row inserted
    the usual way gets an id after `last` (PostgreSQL's sequence moves; SQLite takes the
    largest id plus one by itself)."""
    if last > 0 and session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(model.__tablename__, "id")
        session.execute(sa.select(sa.func.setval(sequence, last)))


def _ids_by_key(cursor: Any, dialect: sa.Dialect, key: sa.Column, keys: list) -> dict:
    """{key: id} of the rows just inserted. Older rows may share a key (a deleted enterprise's
    code): the newest id wins."""
    quote = dialect.identifier_preparer.quote
    convert = _converter(key, dialect) or _same
    stored = {convert(value): value for value in keys}
    table, column = quote(key.table.name), quote(key.name)
    if dialect.name == "postgresql":
        match, parameter = "= ANY(%s)", list(stored)
    else:
        match, parameter = "IN (SELECT value FROM json_each(?))", json.dumps(list(stored))
    # Quoted names of the model's own table and column; the keys are a parameter.
    statement = f"SELECT {column}, id FROM {table} WHERE {column} {match} ORDER BY id"  # nosec B608
    cursor.execute(statement, (parameter,))
    return {stored[value]: ident for value, ident in cursor.fetchall()}


def _converter(column: sa.Column, dialect: sa.Dialect) -> Convert | None:
    """What a value of this column becomes before the driver sees it, if anything. SQLite:
    what SQLAlchemy does on that database (the dialect's own types: dates and times are
    strings of a fixed form there). PostgreSQL's COPY takes Python values but enums and JSON."""
    if dialect.name != "postgresql":
        return column.type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column.type, sa.Enum):
        return lambda value: value.value if isinstance(value, enum.Enum) else value
    if isinstance(column.type, sa.JSON):
        from psycopg.types.json import Json

        return lambda value: None if value is None else Json(value)
    return None


def _same(value: Any) -> Any:
    return value


def _python_default(column: sa.Column) -> Callable[[], Any]:
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg
    if default is not None and default.is_callable:
        return lambda: default.arg(None)
    raise ValueError(f"{column}: a bulk insert needs a value or a Python-side default")


def refresh_statistics(engine: sa.Engine) -> None:
    """After a bulk load, on PostgreSQL: what autovacuum would do some minutes later, now.
    ANALYZE gives the planner the tables' new sizes and value spreads (without them it plans
    parallel scans for a page of 25 rows); VACUUM marks the pages all-visible, so counts and
    key pages read indexes alone. SQLite needs neither."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")


MAX_PAGE = 10**9
# A list counts its rows up to here: past it, "more than 10 000" (a city's million visits are
# not counted again for every page of its list; a filter narrow enough is counted exactly).
COUNT_LIMIT = 10_000


def page_number() -> int:
    """The request's `page`: 1 when absent or not a number; past any list, MAX_PAGE (the empty
    page past the end, as a database can take its offset)."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


MAX_PAGE_SIZE = 200  # the API's largest page (Flask-SQLAlchemy's default cap is 100)


class KeysFirstPagination(SelectPagination):
    """A page of one model's rows in two steps: the page's primary keys first, then those rows
    with their eager loads. The first step reads only the index that serves the filter and the
    order, however deep the page; the rows themselves are fetched for this page alone. A page
    that is not full is the last: its keys tell the count. Otherwise the count is a statement of
    its own, on the keys too, and stops past `count_limit` (COUNT_LIMIT): `more` then says that
    more rows match than `total`."""

    more = False
    _last_page_total: int | None = None

    @staticmethod
    def _prepare_page_args(**options: Any) -> tuple[int, int]:
        """A page number past any list (one whose offset no database could take) is the empty
        page past the end, like any other."""
        if options.get("page") is None:
            options["page"] = page_number()
        return SelectPagination._prepare_page_args(**options)

    def _keys(self) -> sa.Select:
        stmt = self._query_args["select"]
        (key,) = sa.inspect(stmt.column_descriptions[0]["entity"]).primary_key
        return stmt.with_only_columns(key)

    def _query_items(self) -> list:
        stmt, session = self._query_args["select"], self._query_args["session"]
        keys = list(session.scalars(self._keys().limit(self.per_page).offset(self._query_offset)))
        if 0 < len(keys) < self.per_page:
            self._last_page_total = self._query_offset + len(keys)
        if not keys:
            return []
        if (rows_of := self._query_args["rows"]) is not None:
            by_key = {row[0]: row for row in rows_of(keys)}
        else:
            (key,) = sa.inspect(stmt.column_descriptions[0]["entity"]).primary_key
            rows = session.scalars(stmt.limit(None).order_by(None).where(key.in_(keys)))
            by_key = {sa.inspect(row).identity[0]: row for row in rows}
        return [by_key[k] for k in keys if k in by_key]

    def _query_count(self) -> int:
        limit = self._query_args["count_limit"]
        if self._last_page_total is not None and (limit is None or self._last_page_total <= limit):
            return self._last_page_total
        keys = self._keys().order_by(None).limit(None if limit is None else limit + 1).subquery()
        counted = self._query_args["session"].scalar(sa.select(sa.func.count()).select_from(keys))
        self.more = limit is not None and counted > limit
        return counted if limit is None else min(counted, limit)


def paginate(
    session: Session,
    stmt: sa.Select,
    page: int | None = None,
    per_page: int | None = None,
    count_limit: int | None = None,
    *,
    exact: bool = False,
    rows: Callable[[list[Any]], Iterable[Any]] | None = None,
) -> KeysFirstPagination:
    """One page of a select of a single model (with its loader options), keys first; the page
    number and size come from the request's `page` and `per_page` when not given. A page past
    the end is empty, never an error. The rows are counted up to `count_limit` (COUNT_LIMIT),
    or all of them when `exact` (the API's envelope promises the total). `rows`, given the
    page's keys, reads the page's items in place of the model's objects: plain rows of what
    the page shows, each with its key first."""
    if exact:
        count_limit = None
    elif count_limit is None:
        count_limit = COUNT_LIMIT
    return KeysFirstPagination(
        select=stmt,
        session=session,
        page=page,
        per_page=per_page,
        max_per_page=MAX_PAGE_SIZE,
        error_out=False,
        count_limit=count_limit,
        rows=rows,
    )
