"""企业服务走访 CRM: the application factory."""

from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import IntegerConverter

from crm.config import configure

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_RECORD_ID = 2**31 - 1  # the largest key of an INTEGER column on PostgreSQL


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in URLs: a number too large to be a record's id matches nothing (404)."""

    def __init__(self, url_map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: type | Mapping | None = None) -> Flask:
    """Create the app: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, config)
    app.url_map.converters["int"] = RecordIdConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from crm import assets, auth, i18n, navigation, security
    from crm.extensions import api, cache, csrf, db, limiter, migrate

    db.init_app(app)
    with app.app_context():
        _configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    auth.init_app(app)
    navigation.init_app(app)
    api.init_app(app)


def _configure_engine(engine: sa.Engine) -> None:
    """SQLite: WAL, a busy timeout and enforced foreign keys on every connection; savepoints
    always inside a transaction."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "savepoint")
    def begin_before_savepoint(connection, _name):  # type: ignore[no-untyped-def]
        # sqlite3 opens a transaction only before INSERT/UPDATE/DELETE; a SAVEPOINT issued
        # outside one would start its own, and releasing it would commit everything early.
        # IMMEDIATE takes the write lock now (waiting up to the busy timeout), as a write follows.
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    from crm import health
    from crm.audit import views as audit_views
    from crm.auth import api as auth_api
    from crm.auth import user_views
    from crm.auth import views as auth_views
    from crm.auth.permissions import login_required, public
    from crm.certification import api as certification_api
    from crm.certification import views as certification_views
    from crm.dashboard import views as dashboard_views
    from crm.enterprises import api as enterprises_api
    from crm.enterprises import import_views
    from crm.enterprises import views as enterprise_views
    from crm.exports import api as exports_api
    from crm.exports import views as export_views
    from crm.extensions import api
    from crm.followups import api as followups_api
    from crm.followups import views as followup_views
    from crm.policies import api as policies_api
    from crm.policies import views as policy_views
    from crm.problems import api as problems_api
    from crm.problems import views as problem_views
    from crm.regions import api as regions_api
    from crm.visits import api as visits_api
    from crm.visits import offline
    from crm.visits import views as visit_views

    app.register_blueprint(health.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(user_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(dashboard_views.bp)
    app.register_blueprint(enterprise_views.bp)
    app.register_blueprint(import_views.bp)
    app.register_blueprint(policy_views.bp)
    app.register_blueprint(visit_views.bp)
    app.before_request_funcs.setdefault(None, []).insert(0, visit_views.allow_visit_uploads)
    app.register_blueprint(offline.bp)
    app.register_blueprint(problem_views.bp)
    app.register_blueprint(followup_views.bp)
    app.register_blueprint(followup_views.notifications_bp)
    app.register_blueprint(certification_views.bp)
    app.register_blueprint(export_views.bp)
    api_blueprints = (
        auth_api.blp,
        regions_api.blp,
        enterprises_api.blp,
        policies_api.blp,
        visits_api.blp,
        problems_api.blp,
        followups_api.blp,
        certification_api.blp,
        exports_api.blp,
    )
    for blueprint in api_blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    # Views the framework adds: static files are public, the OpenAPI document needs a login.
    app.view_functions["static"] = public(app.view_functions["static"])
    openapi = "api-docs.openapi_json"
    app.view_functions[openapi] = login_required(app.view_functions[openapi])


def register_errorhandlers(app: Flask) -> None:
    from crm import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from crm import cli

    cli.init_app(app)
