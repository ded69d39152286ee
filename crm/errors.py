"""Errors: the exceptions operations raise, and the handlers that answer every failure.

Under /api/ the answer is {"error": {"code", "message", "fields"}}; elsewhere a Chinese page.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_babel import force_locale
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.api import wants_json
from crm.extensions import db
from crm.i18n import lazy_gettext as _l

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please log in first."),
    403: _l("You do not have permission to do this."),
    404: _l("The page does not exist, or you may not see it."),
    405: _l("This action is not supported here."),
    409: _l("This record changed after you opened it; reload it and try again."),
    413: _l("The upload is too large."),
    422: _l("Some fields are not valid."),
    429: _l("Too many attempts; please wait and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
    503: _l("The service is temporarily unavailable."),
}
RETRY_AFTER = 5  # seconds: what a 503 for an unreachable database asks clients to wait


class DomainError(Exception):
    """A rule of the product refused the operation; nothing was changed."""

    status = 400

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422


class Conflict(DomainError):
    """The record clashes with another (a code already registered, a stale version)."""

    status = 409


class Forbidden(DomainError):
    status = 403


class FieldErrors:
    """Field errors collected while checking, raised together as one ValidationFailed."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Run a check that raises a ValidationFailed of its own, keeping its field errors
        with these instead of stopping at them."""
        try:
            yield
        except ValidationFailed as error:
            for field, messages in error.fields.items():
                self.fields.setdefault(field, []).extend(messages)

    def raise_any(self) -> None:
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            raise ValidationFailed(first, self.fields)


def invalid(field: str, message: str) -> ValidationFailed:
    """A ValidationFailed about one field."""
    return ValidationFailed(message, {field: [message]})


def json_error(
    status: int, message: str, fields: dict[str, list[str]] | None = None, code: str | None = None
) -> Response:
    # "fields" always there (empty when no field is at fault): a client reads error.fields.x
    # whatever the status.
    body = {
        "code": code or ERROR_CODES.get(status, "error"),
        "message": message,
        "fields": fields or {},
    }
    response = jsonify(error=body)
    response.status_code = status
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages, nested or not, as {"a.0.b": ["..."]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "_schema": [in_our_words(item) for item in messages]}
    return {prefix or "_schema": [str(messages)]}


# marshmallow's messages (and the schemas' own), as the product words them, in the caller's
# language: an API answers bad fields in Chinese as the pages do.
API_WORDING = {
    "Missing data for required field.": _l("Required."),
    "Field may not be null.": _l("May not be null."),
    "Invalid value.": _l("Invalid value."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "Number too large.": _l("The number is too large."),
    ma.fields.Float.default_error_messages["special"]: _l("Enter a finite number."),  # nan, inf
    "Not a valid date.": _l("Enter a date."),
    "Not a valid datetime.": _l("Enter a date and time."),
    "Not a valid UUID.": _l("Enter a UUID."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid utf-8 string.": _l("Enter text."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid list.": _l("Enter a list."),
    "Not a valid mapping type.": _l("Enter an object of keys and values."),
    "Invalid type.": _l("Not of the expected type."),
    "Invalid input type.": _l("Not of the expected type."),
    "Unknown field.": _l("Not a field of this request."),
    "String does not match expected pattern.": _l("Not in the expected form."),
    "Must not be earlier than from.": _l("Must not be earlier than from."),
    "Not a figure of the eligibility check.": _l("Not a figure of the eligibility check."),
    "A yes/no, a number or a short text.": _l("A yes/no, a number or a short text."),
}
API_PATTERNS = (
    (re.compile(r"Must be one of: (?P<choices>.*)\."), _l("Choose one of: %(choices)s.")),
    (
        re.compile(
            r"Must be greater than or equal to (?P<min>\S+) "
            r"and less than or equal to (?P<max>\S+)\."
        ),
        _l("Between %(min)s and %(max)s."),
    ),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."), _l("At least %(min)s.")),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."), _l("At most %(max)s.")),
    (re.compile(r"Longer than maximum length (?P<n>\d+)\."), _l("At most %(n)s characters.")),
    (re.compile(r"Shorter than minimum length (?P<n>\d+)\."), _l("At least %(n)s characters.")),
)


def in_our_words(message: str) -> str:
    """A marshmallow message as the product words it (one it does not know stays as it is)."""
    if (ours := API_WORDING.get(message)) is not None:
        return str(ours)
    for pattern, wording in API_PATTERNS:
        if matched := pattern.fullmatch(message):
            return str(wording) % matched.groupdict()
    return message


def _request_fields(error: HTTPException) -> dict[str, list[str]] | None:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if not isinstance(messages, dict):
        return None
    # webargs keys the messages by location ("json", "query", ...) first.
    flat: dict[str, list[str]] = {}
    for location_messages in messages.values():
        flat.update(_flatten(location_messages))
    return flat


def error_page(status: int, message: str) -> tuple[str, int]:
    try:
        return render_template("errors/error.html", status=status, message=message), status
    except Exception:  # the page itself failed (e.g. the database is down): answer plainly
        current_app.logger.exception("error page for %s failed", status)
        return render_template("errors/plain.html", status=status, message=message), status


def handle_http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    if isinstance(error, CSRFError):
        message = str(
            _l(
                "The form has expired or its origin could not be verified. "
                "Reload the page and try again."
            )
        )
        code = "csrf_failed"
    else:
        message, code = str(MESSAGES.get(status, error.description)), None
    if wants_json():
        response = json_error(status, message, _request_fields(error), code)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    return error_page(status, message)


def handle_domain_error(error: DomainError) -> Any:
    db.session.rollback()
    if wants_json():
        return json_error(error.status, error.message, error.fields)
    return error_page(error.status, error.message)


def handle_database_error(error: sa.exc.DBAPIError) -> Any:
    """The database could not be reached or dropped the connection (a restart, a failover, a
    lock held too long): the request's transaction is rolled back, and asking again shortly
    will do. A 503 that says so, with Retry-After; the pool replaces the broken connection by
    itself."""
    if not (
        error.connection_invalidated
        or isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError)
    ):
        return handle_unexpected_error(error)
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        db.session().invalidate()
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, error.orig
    )
    # In the bureau's language: the user's own would be read from the database.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = str(_l("The database cannot be reached just now. Try again in a moment."))
        response = (
            json_error(503, message) if wants_json() else make_response(error_page(503, message))
        )
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def release_session(_error: BaseException | None) -> None:
    """At the end of every request, before Flask-SQLAlchemy's own clean-up: close the session.
    When its connection died after the request's work (the answer is ready, maybe a commit
    made), the rollback that closing sends fails; the connection is then dropped, for the
    pool to replace, and the answer still goes out."""
    try:
        db.session.remove()
    except sa.exc.DBAPIError as error:
        current_app.logger.warning("database connection lost after the request: %s", error.orig)
        db.session().invalidate()
        db.session.remove()


def handle_unexpected_error(error: Exception) -> Any:
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if wants_json():
        return json_error(500, str(MESSAGES[500]))
    return error_page(500, str(MESSAGES[500]))


def handle_recursion_error(error: RecursionError) -> Any:
    """A body nested too deep to read (JSON of a hundred thousand brackets): a bad request."""
    db.session.rollback()
    if wants_json():
        return json_error(400, str(MESSAGES[400]))
    return error_page(400, str(MESSAGES[400]))


def init_app(app: Flask) -> None:
    app.register_error_handler(RecursionError, handle_recursion_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected_error)
    app.teardown_appcontext(release_session)  # runs before db.init_app's (registered first)
