"""The rules for an enterprise's fields and its contacts, shared by every way of writing them.

The web form, the API and the Excel import all pass their values through `clean_values` (and
contacts through `clean_contact`) before crm.enterprises.operations writes anything.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.enterprises import credit_code, industries
from crm.enterprises.models import Enterprise, Scale, SpecializedLevel
from crm.errors import FieldErrors
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import local_today
from crm.regions.models import RegionLevel
from crm.regions.tree import regions
from crm.text import collapse, is_clean, is_phone, phone_text

TEXTS = {
    "name": 200,
    "address": 200,
    "legal_representative": 50,
    "high_tech_certificate": 32,
    "tech_sme_number": 32,
}
COUNTS = {"staff": 10_000_000, "tech_staff": 10_000_000, "ip_class1": 100_000, "ip_class2": 100_000}
MONEY = ("revenue", "rnd_expense", "high_tech_revenue")
MAX_MONEY = Decimal("100000000")  # 万元: a trillion yuan
FLAGS = ("above_scale", "high_tech", "tech_sme")
EDITABLE = (
    *TEXTS,
    *COUNTS,
    *MONEY,
    *FLAGS,
    "credit_code",
    "county_code",
    "township_code",
    "founded_on",
    "industry",
    "scale",
    "high_tech_valid_until",
    "tech_sme_year",
    "specialized",
    "liaison_id",
    "tags",
)
REQUIRED = ("name", "credit_code", "county_code")
TAG_LENGTH, TAG_COUNT = 20, 10
FIRST_TECH_SME_YEAR = 2017  # the tech-SME register opened in 2017


def check_text(field: str, text: str, limit: int, errors: FieldErrors) -> None:
    if len(text) > limit:
        errors.add(field, _("At most %(n)d characters.", n=limit))
    if not is_clean(text):
        errors.add(field, _("Contains characters that cannot be stored."))


def _check_texts(values: dict[str, Any], errors: FieldErrors) -> None:
    for field, limit in TEXTS.items():
        if field in values:
            values[field] = collapse(values[field])
            check_text(field, values[field], limit, errors)
    if "name" in values and not values["name"]:
        errors.add("name", _("Enter the enterprise's name."))


def _check_numbers(values: dict[str, Any], current: Enterprise | None, errors: FieldErrors) -> None:
    for field, limit in COUNTS.items():
        number = values.get(field)
        if number is not None and not 0 <= number <= limit:
            errors.add(field, _("Enter a whole number from 0 to %(n)d.", n=limit))
    for field in MONEY:
        amount = values.get(field)
        if amount is None:
            continue
        amount = Decimal(amount)
        if not amount.is_finite() or not Decimal(0) <= amount < MAX_MONEY:
            errors.add(field, _("Enter an amount from 0 to 100,000,000 (10k yuan)."))
        else:
            values[field] = amount.quantize(Decimal("0.01"))
    if "staff" not in values and "tech_staff" not in values:
        return
    # A change of one of the two (an API PATCH sends only what changes) is held to the other.
    staff = values["staff"] if "staff" in values else getattr(current, "staff", None)
    tech = values["tech_staff"] if "tech_staff" in values else getattr(current, "tech_staff", None)
    if staff is not None and tech is not None and tech > staff:
        field = "tech_staff" if "tech_staff" in values else "staff"
        errors.add(field, _("Technical staff cannot outnumber the staff."))


def _check_dates(values: dict[str, Any], errors: FieldErrors) -> None:
    founded = values.get("founded_on")
    if founded is not None and not date(1900, 1, 1) <= founded <= local_today():
        errors.add("founded_on", _("The founding date must lie between 1900 and today."))
    valid_until, latest = values.get("high_tech_valid_until"), local_today().year + 4
    if valid_until is not None and not 2000 <= valid_until.year <= latest:
        message = _("Enter a date from %(first)d to %(last)d.", first=2000, last=latest)
        errors.add("high_tech_valid_until", message)
    year, last = values.get("tech_sme_year"), local_today().year + 1
    if year is not None and not FIRST_TECH_SME_YEAR <= year <= last:
        message = _(
            "Enter a year from %(first)d to %(last)d.", first=FIRST_TECH_SME_YEAR, last=last
        )
        errors.add("tech_sme_year", message)


def _check_choices(values: dict[str, Any], errors: FieldErrors) -> None:
    industry = values.get("industry")
    if industry and not industries.is_valid(industry):
        errors.add("industry", _("Choose an industry of GB/T 4754-2017."))
    for field, kind in (("scale", Scale), ("specialized", SpecializedLevel)):
        if values.get(field):
            try:
                values[field] = kind(values[field])
            except ValueError:
                errors.add(field, _("Not a valid choice."))
    if "tags" in values:
        _check_tags(values, errors)


# What separates tags where they are typed in one box (the form): no tag may hold one, or the
# next save of the form would split it in two.
TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")


def _check_tags(values: dict[str, Any], errors: FieldErrors) -> None:
    """At most TAG_COUNT tags of TAG_LENGTH characters, repeats dropped; nothing cut short."""
    tags = list(dict.fromkeys(tag for tag in map(collapse, values["tags"] or []) if tag))
    if any(TAG_SEPARATORS.search(tag) for tag in tags):
        errors.add("tags", _("A tag holds no comma, 、, semicolon or space."))
    elif any(len(tag) > TAG_LENGTH for tag in tags):
        errors.add("tags", _("A tag has at most %(n)d characters.", n=TAG_LENGTH))
    elif len(tags) > TAG_COUNT:
        errors.add("tags", _("At most %(n)d tags.", n=TAG_COUNT))
    elif not all(is_clean(tag) for tag in tags):
        errors.add("tags", _("Contains characters that cannot be stored."))
    values["tags"] = tags


def _drop_stale_township(
    values: dict[str, Any], current: Enterprise | None, county_code: str | None
) -> None:
    """Moved to another county: the old township cannot stay (a PATCH may not resend it)."""
    if current is None or "township_code" in values or not current.township_code:
        return
    if regions()[current.township_code].parent_code != county_code:
        values["township_code"] = None


def _check_regions(
    actor: User | None, values: dict[str, Any], current: Enterprise | None, errors: FieldErrors
) -> None:
    county_code = values.get("county_code", current.county_code if current else None)
    if "county_code" in values:
        county = regions().get(county_code) if county_code else None
        if county is None or county.level != RegionLevel.COUNTY:
            errors.add("county_code", _("Choose the county or district."))
        elif actor is not None and not in_scope(actor, county_code):
            errors.add("county_code", _("Only enterprises of the counties you cover."))
    _drop_stale_township(values, current, county_code)
    if values.get("township_code") == "":
        values["township_code"] = None  # none chosen (an API's empty string as the form's)
    township_code = values.get("township_code")
    if township_code:
        township = regions().get(township_code)
        if township is None or township.parent_code != county_code:
            errors.add("township_code", _("Choose a township of the chosen county."))


def _check_liaison(values: dict[str, Any], current: Enterprise | None, errors: FieldErrors) -> None:
    if "liaison_id" in values:
        liaison_id = values["liaison_id"] = values["liaison_id"] or None
    elif current is not None and values.get("county_code", current.county_code) != (
        current.county_code
    ):  # moved: its liaison must cover the new county
        liaison_id = current.liaison_id
    else:
        return
    if liaison_id is None:
        return
    county_code = values.get("county_code", current.county_code if current else None)
    liaison = db.session.get(User, liaison_id)
    usable = (
        liaison is not None
        and liaison.active
        and liaison.role in (Role.OFFICER, Role.CHIEF)
        and county_code is not None
        and in_scope(liaison, county_code)
    )
    if not usable:
        errors.add("liaison_id", _("Choose an active officer who covers this county."))


def _check_credit_code(
    values: dict[str, Any],
    current: Enterprise | None,
    confirmed: bool,
    confirmable: bool,
    errors: FieldErrors,
) -> None:
    if "credit_code" not in values:
        return
    code = credit_code.normalize(values["credit_code"] or "")
    values["credit_code"] = code
    found = credit_code.status(code)
    values["credit_code_unverified"] = found is credit_code.CodeStatus.CHECK_MISMATCH
    if current is not None and code == current.credit_code and current.credit_code_unverified:
        confirmed = True  # confirmed once already; an edit of other fields need not repeat it
    if not code:
        errors.add("credit_code", _("Enter the unified social credit code."))
    elif found is credit_code.CodeStatus.MALFORMED:
        errors.add(
            "credit_code",
            _("A credit code has 18 digits or capital letters (never I, O, S, V or Z)."),
        )
    elif found is credit_code.CodeStatus.CHECK_MISMATCH and not confirmed:
        message = (
            _(
                "The check character of the credit code is wrong. If it matches the business "
                "licence, tick the confirmation."
            )
            if confirmable
            else _("The check character of the credit code is wrong.")
        )
        errors.add("credit_code", message)


def clean_values(
    actor: User | None,
    values: dict[str, Any],
    current: Enterprise | None = None,
    *,
    confirmed: bool = False,
    confirmable: bool = True,
) -> dict[str, Any]:
    """The enterprise fields of `values`, checked and normalised; ValidationFailed otherwise."""
    cleaned = {field: values[field] for field in EDITABLE if field in values}
    errors = FieldErrors()
    if current is None:
        for field in REQUIRED:
            cleaned.setdefault(field, None)
    _check_texts(cleaned, errors)
    _check_credit_code(cleaned, current, confirmed, confirmable, errors)
    _check_numbers(cleaned, current, errors)
    _check_dates(cleaned, errors)
    _check_choices(cleaned, errors)
    _check_regions(actor, cleaned, current, errors)
    _check_liaison(cleaned, current, errors)
    errors.raise_any()
    return cleaned


def clean_contact(values: dict[str, Any]) -> dict[str, Any]:
    errors = FieldErrors()
    cleaned = {field: collapse(values.get(field)) for field in ("name", "title")}
    cleaned["phone"] = phone_text(values.get("phone"))
    cleaned["primary"] = bool(values.get("primary"))
    if not cleaned["name"]:
        errors.add("name", _("Enter the contact's name."))
    for field in ("name", "title"):
        check_text(field, cleaned[field], 50, errors)
    if cleaned["phone"] and not is_phone(cleaned["phone"]):
        errors.add("phone", _("Enter a phone number, e.g. 13800000000 or 0379-12345678."))
    errors.raise_any()
    return cleaned
