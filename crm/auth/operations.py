"""Every write to users, their sessions and their API tokens. Nothing here commits."""

import enum
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.audit.labels import register_labels
from crm.audit.operations import Changes, apply_changes, record_audit
from crm.auth.models import ApiToken, Role, User
from crm.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    spend_verification_time,
    token_digest,
    verify_password,
)
from crm.auth.scope import in_scope
from crm.auth.tokens import TOKEN_PREFIX
from crm.db import utcnow
from crm.errors import FieldErrors, Forbidden, ValidationFailed, invalid
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.regions.models import Region, RegionLevel
from crm.regions.queries import region_name
from crm.regions.tree import regions
from crm.text import collapse, is_clean, is_phone, phone_text

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
EDITABLE_FIELDS = ("display_name", "phone", "email", "role", "unit", "region_code")


register_labels(
    {
        "login": _l("Logged in"),
        "login.failed": _l("Failed login"),
        "login.inactive": _l("Login refused (deactivated)"),
        "logout": _l("Logged out"),
        "user.create": _l("Created user"),
        "user.update": _l("Changed user"),
        "user.deactivate": _l("Deactivated user"),
        "user.reactivate": _l("Reactivated user"),
        "user.reset_password": _l("Reset password"),
        "user.change_password": _l("Changed own password"),
        "user.wrong_password": _l("Wrong current password when changing it"),
        "user.logout_everywhere": _l("Logged out on every device"),
        "user.language": _l("Changed language"),
        "api_token.create": _l("Created API token"),
        "api_token.revoke": _l("Revoked API token"),
    },
    {
        "username": _l("Username"),
        "display_name": _l("Name"),
        "phone": _l("Phone"),
        "email": _l("E-mail"),
        "role": _l("Role"),
        "unit": _l("Unit"),
        "region_code": _l("Region scope"),
        "active": _l("Account status"),
        "token": _l("Token"),
        "locale": _l("Language"),
        "api_tokens_revoked": _l("API tokens revoked"),
    },
    {"users": _l("User")},
    {
        "role": lambda value: Role(value).label,
        "region_code": region_name,
        "active": lambda value: _("Active") if value else _("Deactivated"),
    },
)


class LoginOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    INACTIVE = "inactive"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None


def normalize_username(username: str) -> str:
    return username.strip().lower()


def _check_password(password: str, field: str = "password") -> None:
    if problems := password_problems(password):
        raise ValidationFailed(problems[0], {field: problems})


TOKEN_NAME_MAX = 64
PROFILE_TEXTS = {"display_name": 64, "unit": 64, "phone": 32, "email": 120}
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _clean_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Name, unit, phone and e-mail as typed, refusing what cannot be stored or is not one;
    every bad field told at once."""
    errors = FieldErrors()
    for field, limit in PROFILE_TEXTS.items():
        if field in values:
            values[field] = collapse(values[field])
            if len(values[field]) > limit:
                errors.add(field, _("At most %(n)d characters.", n=limit))
            if not is_clean(values[field]):
                errors.add(field, _("Contains characters that cannot be stored."))
    if "display_name" in values and not values["display_name"]:
        errors.add("display_name", _("Enter the user's name."))
    if values.get("phone"):
        values["phone"] = phone_text(values["phone"])
    if values.get("phone") and not is_phone(values["phone"]):
        errors.add("phone", _("Enter a phone number, e.g. 13800000000 or 0379-12345678."))
    if values.get("email") and not EMAIL_PATTERN.fullmatch(values["email"]):
        errors.add("email", _("Enter an e-mail address such as name@example.gov.cn."))
    errors.raise_any()
    return values


def _check_region(actor: User | None, region_code: str) -> None:
    region = regions().get(region_code)
    if region is None or region.level == RegionLevel.TOWNSHIP:
        raise invalid("region_code", _("Choose the city or one county/district."))
    if actor is not None and not in_scope(actor, region_code):
        raise invalid("region_code", _("You may only choose a region within your own scope."))


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    region_code: str,
    password: str,
    unit: str = "",
    phone: str = "",
    email: str = "",
    must_change_password: bool = True,
) -> User:
    """Create a user; `actor` is None for the command line. Every bad field is told at once:
    a taken username does not hide a password that breaks the rules."""
    errors = FieldErrors()
    username = normalize_username(username)
    if not USERNAME_PATTERN.match(username):
        errors.add(
            "username",
            _(
                "2–32 characters: lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit."
            ),
        )
    elif db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors.add("username", _("This username is already taken."))
    with errors.collecting():
        _check_region(actor, region_code)
    with errors.collecting():
        _check_password(password)
    profile: dict[str, Any] = {}
    with errors.collecting():
        profile = _clean_profile(
            {"display_name": display_name, "unit": unit, "phone": phone, "email": email}
        )
    errors.raise_any()
    user = User(
        username=username,
        role=Role(role),
        region_code=region_code,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        **profile,
    )
    db.session.add(user)
    db.session.flush()
    record_audit(
        "user.create",
        user,
        actor=actor,
        changes={
            field: [None, str(getattr(user, field))]
            for field in ("username", *EDITABLE_FIELDS)
            if getattr(user, field)
        },
    )
    return user


def update_user(actor: User, user: User, values: dict[str, Any]) -> None:
    """Change a user's profile, role or region."""
    values = _clean_profile({key: values[key] for key in EDITABLE_FIELDS if key in values})
    if "role" in values:
        values["role"] = Role(values["role"])
        if user.id == actor.id and values["role"] != user.role:
            raise invalid("role", _("You cannot change your own role."))
    if "region_code" in values and values["region_code"] != user.region_code:
        _check_region(actor, values["region_code"])
    role, region_code = values.get("role", user.role), values.get("region_code", user.region_code)
    city_wide = (found := regions().get(region_code)) is not None and found.parent_code is None
    if role != Role.ADMIN or not city_wide:
        _keep_a_city_admin(user, "role" if role != Role.ADMIN else "region_code")
    if changes := apply_changes(user, values):
        db.session.flush()
        record_audit("user.update", user, changes=changes, actor=actor)


def _end_every_session(user: User) -> None:
    """Raise the session version in SQL, so that concurrent raises are never lost."""
    user.session_version = User.session_version + 1
    db.session.flush()


def _revoke_every_token(user: User) -> int:
    revoked = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return revoked.rowcount


def _locked_out(user: User) -> Changes:
    """End every session and API token of the user; the audit changes that say so."""
    _end_every_session(user)
    tokens = _revoke_every_token(user)
    return {"api_tokens_revoked": [None, tokens]} if tokens else {}


def _keep_a_city_admin(user: User, field: str) -> None:
    """Refuse to make the user anything but an active city-wide admin when no other is left:
    no one could then manage the city's users (only the command line could). The other admins'
    rows are locked (PostgreSQL), theirs and this one's in one order, so two admins demoting
    each other at once cannot both pass, nor wait on each other."""
    if not (user.active and user.role == Role.ADMIN and user.region.is_root):
        return
    admins = db.session.scalars(
        sa.select(User.id)
        .join(Region, Region.code == User.region_code)
        .where(User.active.is_(True), User.role == Role.ADMIN, Region.parent_code.is_(None))
        .order_by(User.id)
        .with_for_update(of=User)
    ).all()
    if not [admin for admin in admins if admin != user.id]:
        raise invalid(
            field, _("The city needs at least one active administrator; this is the last one.")
        )


def deactivate_user(actor: User, user: User) -> None:
    """Stop a user from logging in, end their sessions, revoke their tokens; records stay."""
    if user.id == actor.id:
        raise Forbidden(_("You cannot deactivate your own account."))
    _keep_a_city_admin(user, "active")
    if user.active:
        user.active = False
        changes = {"active": [True, False], **_locked_out(user)}
        record_audit("user.deactivate", user, actor=actor, changes=changes)


def reactivate_user(actor: User, user: User) -> None:
    if not user.active:
        user.active = True
        record_audit("user.reactivate", user, actor=actor, changes={"active": [False, True]})


def reset_password(actor: User, user: User, password: str) -> None:
    """Set a temporary password: sessions and API tokens end, a new password is due at login."""
    _check_password(password)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    record_audit("user.reset_password", user, actor=actor, changes=_locked_out(user))


def change_password(user: User, current: str, new: str) -> None:
    """The user's own password change; every other session of theirs ends."""
    if not verify_password(user.password_hash, current):
        record_audit("user.wrong_password", user, actor=user)  # a guess, as at the login
        raise invalid("current_password", _("The current password is not correct."))
    if new == current:
        raise invalid("new_password", _("Choose a password different from the current one."))
    _check_password(new, "new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _end_every_session(user)
    record_audit("user.change_password", user, actor=user)


def end_all_sessions(user: User) -> None:
    """Log the user out on every device."""
    _end_every_session(user)
    record_audit("user.logout_everywhere", user, actor=user)


def authenticate(username: str, password: str) -> LoginResult:
    """Check a login attempt and record it; a wrong username or password are not told apart."""
    username = normalize_username(username)
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        spend_verification_time(password)
        record_audit("login.failed", changes={"username": [None, username[:32]]})
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        record_audit("login.failed", user, actor=user)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if not user.active:
        record_audit("login.inactive", user, actor=user)
        return LoginResult(LoginOutcome.INACTIVE)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_audit("login", user, actor=user)
    return LoginResult(LoginOutcome.OK, user)


def set_language(user: User, locale: str) -> None:
    """Remember the user's interface language on every device."""
    if changes := apply_changes(user, {"locale": locale}):
        record_audit("user.language", user, actor=user, changes=changes)


def record_logout(user: User) -> None:
    record_audit("logout", user, actor=user)


def issue_api_token(actor: User | None, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token for `user`; the token itself is returned once and never stored."""
    name = collapse(name)
    if not name:
        raise invalid("name", _("Give the token a name, e.g. the system that will use it."))
    if len(name) > TOKEN_NAME_MAX:
        raise invalid("name", _("At most %(n)d characters.", n=TOKEN_NAME_MAX))
    if not is_clean(name):
        raise invalid("name", _("Contains characters that cannot be stored."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name, token_hash=token_digest(token), prefix=token[:12])
    db.session.add(record)
    db.session.flush()
    record_audit("api_token.create", user, actor=actor, changes={"token": [None, record.prefix]})
    return record, token


def revoke_api_token(actor: User, record: ApiToken) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        record_audit(
            "api_token.revoke", record.user, actor=actor, changes={"token": [record.prefix, None]}
        )
