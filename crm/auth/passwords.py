"""Password hashing with argon2id, the password policy, and token digests."""

import hashlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from crm.i18n import gettext as _

# Verified when the username is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH_PASSWORD = "not-a-real-password"


def _hasher() -> PasswordHasher:
    return PasswordHasher(**current_app.config["PASSWORD_HASH"])


def hash_password(password: str) -> str:
    """An argon2id hash of `password` with the configured cost."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches `password_hash`."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Do the work of one verification, for a username that does not exist."""
    dummy = current_app.extensions.get("crm_dummy_password_hash")
    if dummy is None:
        dummy = current_app.extensions["crm_dummy_password_hash"] = hash_password(
            _DUMMY_HASH_PASSWORD
        )
    verify_password(dummy, password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    return _hasher().check_needs_rehash(password_hash)


def password_problems(password: str) -> list[str]:
    """What the password policy finds wrong with `password` (empty when it is acceptable)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(_("Use at least %(n)d characters.", n=minimum))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        problems.append(_("Use both letters and digits."))
    return problems


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy random token (session id or API token)."""
    return hashlib.sha256(token.encode()).hexdigest()
