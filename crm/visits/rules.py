"""The rules for a visit's fields, shared by the tablet form, the offline sync and the API.

`clean_visit` checks everything a visit carries and raises one ValidationFailed naming every
bad field, before crm.visits.operations writes anything.
"""

import uuid
from datetime import date
from decimal import Decimal, DecimalException
from typing import Any

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.errors import FieldErrors, invalid
from crm.extensions import db
from crm.i18n import DUE_YEARS_AHEAD, latest_due, local_today
from crm.i18n import gettext as _
from crm.policies.models import Policy
from crm.problems.rules import clean_problem
from crm.regions.tree import codes_above
from crm.text import collapse, is_clean, tidy
from crm.visits.models import Visit, VisitMode

TEXTS = {"people_met": 200, "next_step": 500, "location": 200}
SUMMARY_MAX = 5000
POLICY_NOTE_MAX = 200
FOLLOWUP_TITLE_MAX = 100
MAX_PROBLEMS = 20
EARLIEST_VISIT = date(2000, 1, 1)
MAX_ID = 2**31 - 1
COORDINATES = {"latitude": 90, "longitude": 180}  # field: its largest number of degrees
# Who may go along on a visit (and so see it, whatever its county).
COMPANION_ROLES = (Role.OFFICER, Role.CHIEF)


def companion_regions(lead: User) -> list[str] | None:
    """The regions a lead's companions come from: for a county's officer the county and those
    above it (as the ledger's assignees, crm.problems.rules.assignees); for the city's, any
    (None)."""
    return None if lead.region.is_root else codes_above(lead.region_code)


def parse_client_uuid(value: Any) -> uuid.UUID:
    """The device's visit number; ValidationFailed when it is missing or not a UUID."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        message = _("The visit number is missing or malformed; reload the form.")
        raise invalid("client_uuid", message) from None


def clean_visit(
    actor: User,
    values: dict[str, Any],
    current: Visit | None = None,
    *,
    county_code: str | None = None,
    enterprise_missing: bool = False,
) -> dict[str, Any]:
    """Every field of a visit checked and normalised; problems only when it is new.
    `county_code`, a new visit's: the county of the enterprise visited."""
    errors = FieldErrors()
    if enterprise_missing:
        errors.add("enterprise_id", _("Choose the enterprise visited from the list."))
    cleaned: dict[str, Any] = {}
    _check_date(values, errors, cleaned)
    _check_texts(values, errors, cleaned)
    _check_location(values, errors, cleaned)
    cleaned["policies"] = _check_policies(values, errors, current)
    county = current.county_code if current else county_code
    cleaned["companions"] = _check_companions(actor, values, errors, current, county)
    _check_followup(values, errors, cleaned, current)
    if current is None:
        cleaned["problems"] = _check_problems(values, errors)
    errors.raise_any()
    return cleaned


def _check_date(values: dict[str, Any], errors: FieldErrors, cleaned: dict[str, Any]) -> None:
    visit_date = values.get("visit_date")
    if not isinstance(visit_date, date):
        errors.add("visit_date", _("Enter the date of the visit."))
    elif visit_date > local_today():
        errors.add("visit_date", _("The visit date cannot be in the future."))
    elif visit_date < EARLIEST_VISIT:
        errors.add("visit_date", _("The visit date is too far in the past."))
    cleaned["visit_date"] = visit_date
    try:
        cleaned["mode"] = VisitMode(values.get("mode"))
    except ValueError:
        errors.add("mode", _("Choose how the visit took place."))


def _check_texts(values: dict[str, Any], errors: FieldErrors, cleaned: dict[str, Any]) -> None:
    for field, limit in TEXTS.items():
        text = collapse(values.get(field))
        if len(text) > limit or not is_clean(text):
            errors.add(field, _("At most %(n)d ordinary characters.", n=limit))
        cleaned[field] = text
    summary = tidy(values.get("summary"))
    if not summary:
        errors.add("summary", _("Write what was discussed."))
    elif len(summary) > SUMMARY_MAX or not is_clean(summary, multiline=True):
        errors.add("summary", _("At most %(n)d ordinary characters.", n=SUMMARY_MAX))
    cleaned["summary"] = summary


def _coordinate(value: Any, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    number = Decimal(str(value))
    if not number.is_finite() or abs(number) > limit:
        raise ValueError("not a coordinate")
    return number.quantize(Decimal("0.000001"))


def _check_location(values: dict[str, Any], errors: FieldErrors, cleaned: dict[str, Any]) -> None:
    """Latitude and longitude, each refused under its own name (the visit form shows both
    beside its one location field)."""
    unreadable = _("The position could not be read; try again or leave it out.")
    for field, limit in COORDINATES.items():
        try:
            cleaned[field] = _coordinate(values.get(field), limit)
        except (DecimalException, ValueError):
            cleaned[field] = None
            errors.add(field, unreadable)
    latitude, longitude = cleaned["latitude"], cleaned["longitude"]
    if (latitude is None) != (longitude is None) and not errors.fields.keys() & COORDINATES:
        errors.add("longitude" if longitude is None else "latitude", unreadable)


def _ids(values: dict[str, Any], field: str, errors: FieldErrors) -> list[int]:
    raw = values.get(field) or []
    try:
        ids = list(dict.fromkeys(int(value) for value in raw))
    except (TypeError, ValueError):
        ids = [0]
    if not all(0 < i <= MAX_ID for i in ids):
        errors.add(field, _("The selection contains an invalid entry."))
        return []
    return ids


def _check_policies(
    values: dict[str, Any], errors: FieldErrors, current: Visit | None
) -> list[tuple[Policy, str]]:
    """(policy, note) for each policy explained; a retired policy only where it already was."""
    ids = _ids(values, "policy_ids", errors)
    kept = {link.policy_id for link in current.policies} if current else set()
    found = {p.id: p for p in db.session.scalars(sa.select(Policy).where(Policy.id.in_(ids)))}
    usable = [found[i] for i in ids if i in found and (found[i].active or i in kept)]
    if len(usable) < len(ids):
        errors.add("policy_ids", _("One of the chosen policies is not in the catalogue."))
    notes = values.get("policy_notes") or {}
    chosen = []
    for policy in usable:
        note = collapse(notes.get(policy.id) or notes.get(str(policy.id)))
        if len(note) > POLICY_NOTE_MAX:
            message = _("At most %(n)d characters.", n=POLICY_NOTE_MAX)
            errors.add(f"policy_notes.{policy.id}", message)
        elif not is_clean(note):
            message = _("Contains characters that cannot be stored.")
            errors.add(f"policy_notes.{policy.id}", message)
        chosen.append((policy, note))
    return chosen


def _check_companions(
    actor: User,
    values: dict[str, Any],
    errors: FieldErrors,
    current: Visit | None,
    county_code: str | None,
) -> list[User]:
    """Colleagues who went along: active officers and chiefs (the lead is not a companion) who
    may see the enterprise's county, since they will see the visit: its own and the city's (for
    a county's officer, those the form offers). Those already on the visit stay whatever became
    of their account."""
    lead = current.lead if current else actor
    ids = [i for i in _ids(values, "companion_ids", errors) if i != lead.id]
    kept = {user.id for user in current.companions} if current else set()
    named = sa.select(User).where(User.id.in_(ids))
    found = {u.id: u for u in db.session.scalars(named)} if ids else {}
    regions = companion_regions(lead)
    usable, elsewhere = [], False
    for i in ids:
        user = found.get(i)
        if user is None or not (i in kept or (user.active and user.role in COMPANION_ROLES)):
            continue
        offered = regions is None or user.region_code in regions
        sees = county_code is None or in_scope(user, county_code)
        if i not in kept and not (offered and sees):
            elsewhere = True
            continue
        usable.append(user)
    if elsewhere or len(usable) < len(ids):
        # One message, whatever the reason: it must not tell another county's colleagues from
        # ids no one has.
        errors.add(
            "companion_ids",
            _(
                "One of the companions cannot go on this visit (a county's visits are made "
                "with its own colleagues and the city's)."
            ),
        )
    return usable


def _check_followup(
    values: dict[str, Any], errors: FieldErrors, cleaned: dict[str, Any], current: Visit | None
) -> None:
    title = collapse(values.get("followup_title"))
    due = values.get("followup_due_on")
    if len(title) > FOLLOWUP_TITLE_MAX or not is_clean(title):
        errors.add("followup_title", _("At most %(n)d ordinary characters.", n=FOLLOWUP_TITLE_MAX))
    if title and not isinstance(due, date):
        errors.add("followup_due_on", _("Give the follow-up a due date."))
    elif due is not None and not title:
        errors.add("followup_title", _("Say what should be followed up."))
    elif (
        isinstance(due, date)
        and due < local_today()
        and not (current and due == current.followup_due_on)
    ):
        errors.add("followup_due_on", _("The due date cannot be in the past."))
    elif isinstance(due, date) and due > latest_due(local_today()):
        message = _("The due date lies too far ahead: at most %(n)d years.", n=DUE_YEARS_AHEAD)
        errors.add("followup_due_on", message)
    cleaned["followup_title"] = title
    cleaned["followup_due_on"] = due if title else None


def _check_problems(values: dict[str, Any], errors: FieldErrors) -> list[dict[str, Any]]:
    raw = values.get("problems") or []
    if len(raw) > MAX_PROBLEMS:
        errors.add("problems", _("At most %(n)d problems per visit.", n=MAX_PROBLEMS))
        return []
    return [clean_problem(entry, errors, f"problems.{i}.") for i, entry in enumerate(raw)]
