"""Alembic environment, run through Flask-Migrate (`flask --app crm db …`)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import crm.models  # noqa: F401  (every model registered on the metadata)
from crm.db import UTCDateTime
from crm.enterprises import search_index

config = context.config
# Keep the application's loggers alive when migrations run inside the app (tests, commands).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Write our UTC column type as the plain SQLAlchemy type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    """Leave out what migrations manage by hand (the search index), which no model declares."""
    if type_ == "table" and name.startswith(search_index.MIGRATION_ONLY_TABLE_PREFIX):
        return False
    if type_ == "index" and name in search_index.MIGRATION_ONLY_INDEXES:
        return False
    return not (type_ == "column" and name in search_index.MIGRATION_ONLY_COLUMNS)


def skip_empty_autogenerate(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    context.configure(
        url=database.engine.url.render_as_string(hide_password=False),
        target_metadata=database.metadata,
        literal_binds=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def check_sqlite_foreign_keys(connection) -> None:
    """Batch mode rebuilt tables with the checks off: fail (and roll back) on any violation."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign key violations after migration: {problems}")


def run_migrations_online() -> None:
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty_autogenerate)
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables; foreign keys are checked once at the end instead.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun transaction so Alembic owns its own
        try:
            context.configure(
                connection=connection,
                target_metadata=database.metadata,
                render_item=render_item,
                include_object=include_object,
                **options,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    check_sqlite_foreign_keys(connection)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
