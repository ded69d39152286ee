"""Login throttling, in Flask-Limiter's storage (memory, or Redis shared by every worker).

An attempt is counted against its username *before* the password is checked, with an atomic
hit, so parallel guesses cannot slip past the limit; a successful login clears that count. Only
failures are counted against the client address, which a whole office may share.

When the storage cannot be reached (Redis down), logins go on unthrottled and the error is
logged, as Flask-Limiter does for the limits it applies itself (RATELIMIT_SWALLOW_ERRORS): a
throttle that fails must not lock the whole bureau out.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request
from limits import RateLimitItem, parse

from crm.extensions import limiter

T = TypeVar("T")


def _stored(call: Callable[[], T], otherwise: T) -> T:
    try:
        return call()
    except Exception:  # the storage's own errors (redis, memcached …) have no common base
        current_app.logger.exception("login throttle: the limiter storage cannot be reached")
        return otherwise


def _limit(setting: str) -> RateLimitItem:
    return parse(current_app.config[setting])


def _key(kind: str, value: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), "login", kind, value)


def admit_attempt(username: str) -> bool:
    """Count a login attempt; False when the username or the address is over its limit."""
    if not limiter.enabled:
        return True
    address = _key("address", request.remote_addr or "")
    if not _stored(lambda: limiter.limiter.test(_limit("LOGIN_LIMIT_PER_IP"), *address), True):
        return False
    by_name = _key("username", username)
    return _stored(lambda: limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_USERNAME"), *by_name), True)


def record_failure() -> None:
    if limiter.enabled:
        address = _key("address", request.remote_addr or "")
        _stored(lambda: limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_IP"), *address), None)


def record_success(username: str) -> None:
    if limiter.enabled:
        by_name = _key("username", username)
        _stored(lambda: limiter.limiter.clear(_limit("LOGIN_LIMIT_PER_USERNAME"), *by_name), None)
