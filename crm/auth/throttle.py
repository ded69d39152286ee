"""Login throttling, in Flask-Limiter's storage (memory, or Redis shared by every worker).

An attempt is counted against its username *before* the password is checked, with an atomic
hit, so parallel guesses cannot slip past the limit; a successful login clears that count. Only
failures are counted against the client address, which a whole office may share.
"""

from flask import current_app, request
from limits import RateLimitItem, parse

from crm.extensions import limiter


def _limit(setting: str) -> RateLimitItem:
    return parse(current_app.config[setting])


def _key(kind: str, value: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), "login", kind, value)


def admit_attempt(username: str) -> bool:
    """Count a login attempt; False when the username or the address is over its limit."""
    if not limiter.enabled:
        return True
    address = _key("address", request.remote_addr or "")
    if not limiter.limiter.test(_limit("LOGIN_LIMIT_PER_IP"), *address):
        return False
    return limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_USERNAME"), *_key("username", username))


def record_failure() -> None:
    if limiter.enabled:
        address = _key("address", request.remote_addr or "")
        limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_IP"), *address)


def record_success(username: str) -> None:
    if limiter.enabled:
        limiter.limiter.clear(_limit("LOGIN_LIMIT_PER_USERNAME"), *_key("username", username))
