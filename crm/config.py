"""Settings: class defaults, then the environment, then an optional CRM_CONFIG file."""

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from flask import Flask

# Environment variable → Flask setting. Read when the app is created, never at import time.
ENVIRONMENT = {
    "CRM_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "CRM_SECRET_KEY": "SECRET_KEY",
    "CRM_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
}


class Config:
    """Defaults for every deployment."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_NAME = "crm_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # False still marks the cookie Secure on HTTPS requests (crm.security.SessionInterface).
    SESSION_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    # How long the record of a session no longer used is kept (crm.auth.sessions.prune_sessions).
    SESSION_RECORDS_KEPT = timedelta(days=30)
    # A tablet form may stay open for a working day before it is sent.
    WTF_CSRF_TIME_LIMIT = 24 * 3600
    # crm.auth.permissions decides which requests need the token (not the Bearer-token API).
    WTF_CSRF_CHECK_DEFAULT = False
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    # Babel reads zh_CN as zh_Hans_CN, so the Chinese catalogue lives in translations/zh_Hans_CN.
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    # A visit may carry several photos and files, each up to ATTACHMENT_MAX_BYTES.
    VISIT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024
    ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    # How long the lead officer may still change a visit (chiefs always may).
    VISIT_EDIT_DAYS = 7
    # The campaign's "13710" habit: acknowledge a problem within 1 day, report progress within
    # 3, solve an ordinary one within 7 days and a major one within 30.
    PROBLEM_ACK_DAYS = 1
    PROBLEM_PROGRESS_DAYS = 3
    PROBLEM_DUE_DAYS = 7
    PROBLEM_MAJOR_DUE_DAYS = 30
    # Notifications by e-mail: off until MAIL_SERVER names the bureau's SMTP server.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = "crm@localhost"
    MAIL_TIMEOUT = 10
    # The address users reach the app at, for links in e-mails (e.g. https://crm.example.gov.cn).
    PUBLIC_URL = ""
    # The dashboard's figures are computed at most this often per region and month (a city's
    # 18 months over a million visits take seconds); the page says when they were computed.
    # Each process keeps its own copy unless CACHE_TYPE names a shared store (see config/).
    CACHE_TYPE = "SimpleCache"
    DASHBOARD_CACHE_SECONDS = 300
    # Follow-ups: the reminder goes out this many days before the due date (0: on the day).
    FOLLOWUP_REMIND_DAYS = 1
    # Problems overdue this many days after the assignee was told go to the chief as well.
    PROBLEM_ESCALATE_DAYS = 1
    # A high-tech certificate's re-certification case opens this many months before expiry.
    RECERTIFY_MONTHS_AHEAD = 6
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_USERNAME = "5 per 10 minutes"
    LOGIN_LIMIT_PER_IP = "30 per 10 minutes"
    # argon2id parameters (RFC 9106 second recommended option).
    PASSWORD_HASH = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
    PASSWORD_MIN_LENGTH = 8
    PROXY_FIX_HOPS = 0
    HSTS_SECONDS = 0
    BUREAU_NAME = "洛阳市科学技术局"
    IMPORT_MAX_BYTES = 10 * 1024 * 1024
    API_TITLE = "企业服务走访 CRM API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "crm_session"},
            }
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    }


class TestingConfig(Config):
    """Fast, deterministic settings for the test suite."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def configure(app: Flask, overrides: type | Mapping | None) -> None:
    """Load the settings in order: defaults, environment, CRM_CONFIG file, explicit overrides."""
    app.config.from_object(Config)
    app.config.from_mapping(
        {key: os.environ[var] for var, key in ENVIRONMENT.items() if os.environ.get(var)}
    )
    if path := os.environ.get("CRM_CONFIG"):
        app.config.from_pyfile(os.path.abspath(path))
    if isinstance(overrides, Mapping):
        app.config.from_mapping(overrides)
    elif overrides is not None:
        app.config.from_object(overrides)
    instance = Path(app.instance_path)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{instance / 'crm.sqlite3'}")
    app.config["SECRET_KEY"] = secret_key(app, instance / "secret_key")
    app.config.setdefault("IMPORT_FOLDER", str(instance / "imports"))
    app.config.setdefault("ATTACHMENT_FOLDER", str(instance / "attachments"))
    app.config.setdefault("REPORT_FOLDER", str(instance / "reports"))


def secret_key(app: Flask, key_file: Path) -> str:
    """The configured key, the instance key file written by `make run`, or a throwaway in debug."""
    if key := app.config.get("SECRET_KEY"):
        return key
    if key_file.is_file():
        return key_file.read_text().strip()
    if app.debug or app.testing:
        return secrets.token_hex(32)
    raise RuntimeError(
        "CRM_SECRET_KEY is not set. Set it (see README, 'Configuration') before starting the app."
    )
