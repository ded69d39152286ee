"""Every write to certification cases: opening one, each stage move (with its certificate), and
the watch that opens re-certification cases. Each writes its StageEvent and audit entry; nothing
here commits. A move names the version its author saw; a stale one is refused (409)."""

import calendar
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.labels import register_labels
from crm.audit.operations import plain_value, record_audit
from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.certification.models import (
    PROGRAMME_LABELS,
    STAGE_LABELS,
    CertificationCase,
    Programme,
    Stage,
    StageEvent,
)
from crm.certification.workflow import CASE_ROLES, OPEN, may_move, moves
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, FieldErrors, Forbidden, ValidationFailed
from crm.extensions import db
from crm.followups.models import NotificationKind
from crm.followups.notifications import link_to, notify
from crm.i18n import date_filter, local_date, local_today
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.text import collapse, is_clean

NUMBER_MAX = 32
BATCH_MAX = 32
NOTE_MAX = 2000
CERTIFICATE_YEARS = 3

register_labels(
    {
        "certification.open": _l("Opened a certification case"),
        "certification.move": _l("Moved a certification case"),
    },
    {
        "programme": _l("Programme"),
        "year": _l("Year"),
        "batch": _l("Batch"),
        "stage": _l("Stage"),
        "owner": _l("Officer in charge"),
        "certificate_no": _l("Certificate or registration number"),
        "valid_until": _l("Valid until"),
    },
    {"certification_cases": _l("Certification case")},
    {
        "programme": lambda value: PROGRAMME_LABELS[Programme(value)],
        "stage": lambda value: STAGE_LABELS[Stage(value)],
    },
)


def certificate_valid_until(certified_on: date) -> date:
    """A high-tech certificate runs three years: to the day before the same date three years
    later (certified on 29 February: to the last day of February)."""
    year = certified_on.year + CERTIFICATE_YEARS
    if certified_on.month == 2 and certified_on.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return certified_on.replace(year=year) - timedelta(days=1)


def _text(values: dict[str, Any], field: str, limit: int, errors: FieldErrors) -> str:
    """A one-line text (a batch, a number) or, above BATCH_MAX characters, a note."""
    multiline = limit > BATCH_MAX
    text = str(values.get(field) or "").strip() if multiline else collapse(values.get(field))
    if len(text) > limit or not is_clean(text, multiline=multiline):
        errors.add(field, _("At most %(n)d ordinary characters.", n=limit))
    return text


def _owner(actor: User, raw: Any, county_code: str, errors: FieldErrors) -> User | None:
    if raw in (None, "") or str(raw) == str(actor.id):
        return actor
    try:
        user = db.session.get(User, int(raw)) if 0 < int(raw) < 2**31 else None
    except (TypeError, ValueError):
        user = None
    usable = (
        user is not None
        and actor.role == Role.CHIEF
        and user.active
        and user.role in CASE_ROLES
        and in_scope(user, county_code)
        and in_scope(actor, user.region_code)
    )
    if not usable:
        errors.add("owner_id", _("Choose an officer of the enterprise's region."))
        return None
    return user


def open_case(actor: User, enterprise: Enterprise, values: dict[str, Any]) -> CertificationCase:
    """A new case in the pipeline (储备), owned by the actor or, a chief's choice, an officer of the
    enterprise's region. One open case per enterprise and programme."""
    if actor.role not in CASE_ROLES:
        raise Forbidden(_("Only officers and chiefs open certification cases."))
    errors = FieldErrors()
    try:
        programme = Programme(values.get("programme"))
    except ValueError:
        errors.add("programme", _("Choose the programme."))
        programme = None
    year = values.get("year") or local_today().year
    last = local_today().year + 1
    try:
        year = int(year)
    except (TypeError, ValueError):
        errors.add("year", _("Enter the year of the application."))
    else:
        if not 2000 <= year <= last:
            errors.add("year", _("The year must lie between 2000 and %(last)d.", last=last))
    batch = _text(values, "batch", BATCH_MAX, errors)
    notes = _text(values, "notes", NOTE_MAX, errors)
    owner = _owner(actor, values.get("owner_id"), enterprise.county_code, errors)
    if programme is not None and open_case_of(enterprise, programme) is not None:
        errors.add("programme", _("This enterprise already has an open case in this programme."))
    figures = dict(values.get("figures") or {})
    errors.raise_any()
    case = CertificationCase(
        enterprise=enterprise,
        county_code=enterprise.county_code,
        programme=programme,
        year=year,
        batch=batch,
        owner=owner,
        figures=figures,
        notes=notes,
        renews_id=values.get("renews_id"),
    )
    db.session.add(case)
    db.session.flush()
    case.events.append(_event(actor, case, None, note=notes))
    record_audit(
        "certification.open",
        case,
        actor=actor,
        region_code=case.county_code,
        changes={
            "programme": [None, programme.value],
            "year": [None, year],
            "stage": [None, case.stage.value],
            "owner": [None, owner.display_name if owner else None],
            **({"batch": [None, batch]} if batch else {}),
        },
    )
    if owner is not None and owner.id != actor.id:
        _tell_owner(
            case,
            _l(
                "%(who)s gave you a certification case: %(name)s (%(programme)s)",
                who=actor.display_name,
                name=enterprise.name,
                programme=programme.label,
            ),
            f"certification:{case.id}:owner",
        )
    return case


def open_case_of(enterprise: Enterprise, programme: Programme) -> CertificationCase | None:
    """The enterprise's case of the programme still in the pipeline, if it has one."""
    return db.session.scalars(
        sa.select(CertificationCase).where(
            CertificationCase.enterprise_id == enterprise.id,
            CertificationCase.programme == programme,
            CertificationCase.stage.in_(OPEN),
        )
    ).first()


def _event(actor: User | None, case: CertificationCase, before: Stage | None, note: str = ""):
    return StageEvent(
        from_stage=before,
        to_stage=case.stage,
        actor_id=actor.id if actor else None,
        actor_name=actor.display_name if actor else "",
        note=note,
        version=case.version,
    )


def _day(values: dict[str, Any], field: str, errors: FieldErrors, required: bool) -> date | None:
    day = values.get(field)
    if day in (None, ""):
        if required:
            errors.add(field, _("Enter the date."))
        return None
    if not isinstance(day, date):
        errors.add(field, _("Enter a date."))
        return None
    if day > local_today():
        errors.add(field, _("The date cannot be later than today."))
        return None
    if day.year < 2000:
        errors.add(field, _("The date must lie between 2000 and today."))
        return None
    return day


def _earliest_result(case: CertificationCase) -> date:
    """A result comes after the case's submission, and within or after the case's year."""
    return max(case.submitted_on or date.min, date(case.year, 1, 1))


def _needs(case: CertificationCase, to: Stage, values: dict[str, Any]) -> dict[str, Any]:
    """What the move needs, checked: dates, the certificate or registration number, a reason."""
    errors = FieldErrors()
    note = _text(values, "note", NOTE_MAX, errors)
    cleaned: dict[str, Any] = {"note": note}
    if to == Stage.SUBMITTED:
        cleaned["submitted_on"] = _day(values, "on", errors, required=False) or local_today()
    elif to in (Stage.CERTIFIED, Stage.REGISTERED):
        number = _text(values, "certificate_no", NUMBER_MAX, errors)
        if not number and "certificate_no" not in errors.fields:
            errors.add("certificate_no", _("Enter the certificate or registration number."))
        cleaned["certificate_no"] = number
        cleaned["on"] = _day(values, "on", errors, required=True)
        if cleaned["on"] is not None and cleaned["on"] < (earliest := _earliest_result(case)):
            errors.add(
                "on", _("The result cannot come before %(date)s.", date=date_filter(earliest))
            )
    elif to in (Stage.REJECTED, Stage.WITHDRAWN) and not note and "note" not in errors.fields:
        errors.add("note", _("Give the reason."))
    errors.raise_any()
    return cleaned


def move_case(
    actor: User, case: CertificationCase, to: Any, version: Any, values: dict[str, Any]
) -> StageEvent:
    """Move the case to stage `to`, if `version` is still current and the actor may."""
    if str(version) != str(case.version):
        raise _stale()
    try:
        target = Stage(to)
    except ValueError:
        target = None
    if target is None or target not in moves(case):
        message = _(
            "This case is at “%(stage)s”; it cannot be moved there.", stage=case.stage.label
        )
        raise ValidationFailed(message, {"to": [message]})
    if not may_move(actor, case, target):
        raise Forbidden(
            _("Officers move their own cases up to “submitted”; chiefs record the results.")
        )
    cleaned = _needs(case, target, values)
    before = case.stage
    changes: dict[str, list] = {"stage": [before.value, target.value]}
    case.stage, case.stage_since = target, utcnow()
    if target == Stage.SUBMITTED:
        case.submitted_on = cleaned["submitted_on"]
    if target in (Stage.CERTIFIED, Stage.REGISTERED, Stage.REJECTED):
        case.result_on = cleaned.get("on") or local_today()
    if target in (Stage.CERTIFIED, Stage.REGISTERED):
        _record_certificate(case, cleaned["certificate_no"], cleaned["on"])
        changes["certificate_no"] = [None, case.certificate_no]
        changes["valid_until"] = [None, plain_value(case.valid_until)]
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise _stale() from error
    event = _event(actor, case, before, cleaned["note"])
    case.events.append(event)
    record_audit("certification.move", case, actor=actor, changes=changes)
    if case.owner is not None and case.owner_id != actor.id:
        _tell_owner(
            case,
            _l(
                "%(who)s moved %(name)s to “%(stage)s”",
                who=actor.display_name,
                name=case.enterprise.name,
                stage=target.label,
            ),
            f"certification:{case.id}:v{case.version}",
        )
    return event


def withdraw_cases_of(actor: User, enterprise: Enterprise, reason: str) -> int:
    """Withdraw the open cases of an enterprise that is being deleted (each with its stage
    history and audit entry), so that no board or funnel counts them."""
    cases = db.session.scalars(
        sa.select(CertificationCase).where(
            CertificationCase.enterprise_id == enterprise.id, CertificationCase.stage.in_(OPEN)
        )
    ).all()
    for case in cases:
        before = case.stage
        case.stage, case.stage_since = Stage.WITHDRAWN, utcnow()
        db.session.flush()  # the version moves on; the event carries the new one
        case.events.append(_event(actor, case, before, reason))
        changes = {"stage": [before.value, Stage.WITHDRAWN.value]}
        record_audit("certification.move", case, actor=actor, changes=changes)
    return len(cases)


def _stale() -> Conflict:
    message = _(
        "This case moved after you opened it (by someone else, or by you on another page). "
        "Nothing was saved; reload it and try again."
    )
    return Conflict(message, {"version": [message]})


def _record_certificate(case: CertificationCase, number: str, on: date) -> None:
    """The certificate and its validity, on the case and on the enterprise's flags."""
    enterprise = case.enterprise
    case.certificate_no, case.valid_from = number, on
    today = local_today()
    if case.programme == Programme.HIGH_TECH:
        case.valid_until = certificate_valid_until(on)
        held = enterprise.high_tech_valid_until if enterprise.high_tech else None
        if case.valid_until >= max(today, held or today):  # not an old one recorded late
            enterprise.high_tech = True
            enterprise.high_tech_certificate = number
            enterprise.high_tech_valid_until = case.valid_until
    else:
        case.valid_until = date(case.year, 12, 31)
        held_year = enterprise.tech_sme_year if enterprise.tech_sme else None
        if case.valid_until >= today and case.year >= (held_year or case.year):
            enterprise.tech_sme = True
            enterprise.tech_sme_number = number
            enterprise.tech_sme_year = case.year


def _tell_owner(case: CertificationCase, message: Any, key: str) -> bool:
    return (
        notify(
            case.owner,
            NotificationKind.CERTIFICATION,
            message,
            link_to("certification.show", case_id=case.id),
            key=key,
        )
        is not None
    )


def watch_certificates(now: datetime) -> int:
    """The scheduler's certification watch (daily): a re-certification case for each high-tech
    certificate running out within RECERTIFY_MONTHS_AHEAD months (once: a case renews one
    certificate), and reminders: tech-SME registrations run out with their year (December),
    and a high-tech enterprise's annual report is due by the end of May."""
    today = local_date(now)
    ahead = _months_later(today, current_app.config["RECERTIFY_MONTHS_AHEAD"])
    renewal = aliased(CertificationCase)
    expiring = db.session.scalars(
        sa.select(CertificationCase)
        .where(
            CertificationCase.programme == Programme.HIGH_TECH,
            CertificationCase.stage == Stage.CERTIFIED,
            CertificationCase.valid_until.between(today, ahead),
            ~sa.exists().where(renewal.renews_id == CertificationCase.id),
        )
        .order_by(CertificationCase.id)
    ).all()
    opened = 0
    for case in expiring:
        if case.enterprise.deleted_at is not None:
            continue
        owner = case.owner if case.owner and case.owner.active else None
        if owner is not None and not in_scope(owner, case.county_code):
            owner = None  # moved elsewhere: the county's chiefs assign the renewal
        if (already := open_case_of(case.enterprise, Programme.HIGH_TECH)) is not None:
            already.renews_id = case.id  # the enterprise's open case is the renewal
            db.session.flush()
            continue
        new = CertificationCase(
            enterprise=case.enterprise,
            county_code=case.county_code,
            programme=Programme.HIGH_TECH,
            year=case.valid_until.year,
            owner=owner,
            notes=_(
                "Re-certification: certificate %(no)s runs out on %(date)s.",
                no=case.certificate_no,
                date=case.valid_until.isoformat(),
            ),
            renews_id=case.id,
        )
        db.session.add(new)
        db.session.flush()
        new.events.append(_event(None, new, None, new.notes))
        record_audit(
            "certification.open",
            new,
            region_code=new.county_code,
            changes={"programme": [None, "high_tech"], "stage": [None, "prospect"]},
        )
        _tell_owner(
            new,
            _l(
                "Re-certification due: %(name)s's certificate runs out on %(date)s",
                name=case.enterprise.name,
                date=case.valid_until.isoformat(),
            ),
            f"certification:{case.id}:renewal",
        )
        opened += 1
    return opened + _remind(today)


def _remind(today: date) -> int:
    """Once a year each: register again (科小, in December), file the annual report (高企, May)."""
    told = 0
    if today.month == 12:
        stmt = sa.select(CertificationCase).where(
            CertificationCase.programme == Programme.TECH_SME,
            CertificationCase.stage == Stage.REGISTERED,
            CertificationCase.year == today.year,
        )
        for case in db.session.scalars(stmt):
            message = _l(
                "%(name)s's tech-SME registration runs out at the end of %(year)d: help it "
                "register again",
                name=case.enterprise.name,
                year=case.year,
            )
            told += _tell_owner(case, message, f"certification:{case.id}:register_again")
    if today.month == 5:
        stmt = sa.select(CertificationCase).where(
            CertificationCase.programme == Programme.HIGH_TECH,
            CertificationCase.stage == Stage.CERTIFIED,
            CertificationCase.valid_until >= today,
        )
        for case in db.session.scalars(stmt):
            message = _l(
                "%(name)s's high-tech annual report is due by 31 May", name=case.enterprise.name
            )
            key = f"certification:{case.id}:annual_report:{today.year}"
            told += _tell_owner(case, message, key)
    return told


def _months_later(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
