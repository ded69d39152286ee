"""What the API shares: the OpenAPI document, the error envelope and the list envelope.

Each feature puts its endpoints in its own `api.py`, calling the same operations as its views;
token authentication lives in crm.auth.
"""

from flask import request

API_PREFIX = "/api/"


def wants_json() -> bool:
    """True when the client asked for JSON: the API, and the tablet form's own script."""
    return is_api_request() or request.accept_mimetypes.best == "application/json"


def is_api_request() -> bool:
    """True for requests to the JSON API: they get JSON errors and may use Bearer tokens."""
    return request.path.startswith(API_PREFIX)
