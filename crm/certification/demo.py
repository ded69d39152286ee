"""Demo certification cases: last year's and this year's, at every stage of both programmes,
with the history that led there; some high-tech certificates run out within months, so that the
watch has re-certifications to open."""

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from crm.auth.models import User
from crm.certification.models import CertificationCase, Programme, Stage, StageEvent
from crm.certification.operations import certificate_valid_until
from crm.certification.workflow import FLOWS, SUCCESS
from crm.db import bulk_insert, claim_ids, first_free_id
from crm.enterprises.models import Enterprise
from crm.extensions import db

SHARE = 0.2  # of the enterprises with a demo officer
MOVED_AT = time(2, tzinfo=UTC)  # 10:00 in Luoyang


def has_cases() -> bool:
    return db.session.scalar(sa.select(CertificationCase.id).limit(1)) is not None


def _path(rng: random.Random, programme: Programme, year: int, today: date) -> list[Stage]:
    """The stages a case passed, by how far its year has gone."""
    flow = list(FLOWS[programme])
    if year < today.year:  # last year's: decided
        end = rng.choices(["success", "rejected", "withdrawn"], weights=(6, 3, 1))[0]
        if end == "success":
            return flow
        stop = flow.index(Stage.SUBMITTED) if end == "rejected" else rng.randrange(1, 3)
        return [*flow[: stop + 1], Stage.REJECTED if end == "rejected" else Stage.WITHDRAWN]
    reach = rng.randrange(len(flow))  # this year's: anywhere on the way, a few done already
    return flow[: reach + 1]


def load_demo_cases(staff: dict[str, list[int]], seed: int, today: date) -> int:
    """Cases for about SHARE of the enterprises whose county has demo officers (`staff`:
    county → officer ids). Nothing when cases exist already. Inserted in bulk, with their ids
    given up front: through the session, twenty thousand cases took fifty seconds."""
    if has_cases():
        return 0
    rng = random.Random(f"{seed}/certification")
    enterprises = db.session.execute(
        sa.select(Enterprise.id, Enterprise.county_code)
        .where(Enterprise.deleted_at.is_(None), Enterprise.county_code.in_(list(staff)))
        .order_by(Enterprise.id)
    ).all()
    officers = [officer for county in staff.values() for officer in county]
    names = dict(
        db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(officers))).all()
    )
    first_case = first_free_id(db.session, CertificationCase)
    cases: list[dict] = []
    events: list[dict] = []
    certified: dict[Programme, list[dict]] = {programme: [] for programme in Programme}
    for enterprise_id, county in enterprises:
        if rng.random() >= SHARE:
            continue
        programme = rng.choice((Programme.HIGH_TECH, Programme.HIGH_TECH, Programme.TECH_SME))
        year = rng.choice((today.year - 1, today.year))
        stages = _path(rng, programme, year, today)
        owner = rng.choice(staff[county])
        start = date(year, 3, 1) + timedelta(days=rng.randrange(60))
        days = [start + timedelta(days=40 * i + rng.randrange(20)) for i in range(len(stages))]
        days = [min(day, today - timedelta(days=len(days) - i)) for i, day in enumerate(days)]
        case = {
            "id": first_case + len(cases),
            "enterprise_id": enterprise_id,
            "county_code": county,
            "programme": programme,
            "year": year,
            "batch": f"{year}年第{rng.choice('一二')}批",
            "stage": stages[-1],
            "stage_since": datetime.combine(days[-1], MOVED_AT),
            "owner_id": owner,
            "created_at": datetime.combine(days[0], MOVED_AT),
            "submitted_on": None,
            "result_on": None,
            "certificate_no": "",
            "valid_from": None,
            "valid_until": None,
        }
        if Stage.SUBMITTED in stages:
            case["submitted_on"] = days[stages.index(Stage.SUBMITTED)]
        if stages[-1] in (SUCCESS[programme], Stage.REJECTED):
            case["result_on"] = days[-1]
        if stages[-1] == SUCCESS[programme]:
            certified[programme].append(_certificate(rng, case, days[-1], today))
        cases.append(case)
        events += [
            {
                "case_id": case["id"],
                "from_stage": before,
                "to_stage": stage,
                "actor_id": owner,
                "actor_name": names[owner],
                "at": datetime.combine(day, MOVED_AT),
                "version": 1,
            }
            for before, stage, day in zip([None, *stages[:-1]], stages, days, strict=True)
        ]
    bulk_insert(db.session, CertificationCase, cases)
    bulk_insert(db.session, StageEvent, events)
    if cases:
        claim_ids(db.session, CertificationCase, cases[-1]["id"])
    _store_certificates(certified)
    return len(cases)


def _certificate(rng: random.Random, case: dict, on: date, today: date) -> dict:
    """Gives the case its certificate; returns what the enterprise's record gets of it."""
    number = f"GR{case['year']}41{rng.randrange(10**6):06d}"
    if case["programme"] == Programme.HIGH_TECH:
        if rng.random() < 0.3:  # an older certificate, running out within months
            on = today - timedelta(days=3 * 365 - rng.randrange(30, 200))
        until = certificate_valid_until(on)
    else:
        until = date(case["year"], 12, 31)
    case.update(certificate_no=number, valid_from=on, valid_until=until)
    return {
        "enterprise": case["enterprise_id"],
        "number": number,
        "until": until,
        "year": case["year"],
    }


def _store_certificates(certified: dict[Programme, list[dict]]) -> None:
    """The certificates on the enterprises' records, one statement per programme."""
    table = Enterprise.__table__
    statements = {
        Programme.HIGH_TECH: sa.update(table).values(
            high_tech=True,
            high_tech_certificate=sa.bindparam("number"),
            high_tech_valid_until=sa.bindparam("until"),
        ),
        Programme.TECH_SME: sa.update(table).values(
            tech_sme=True,
            tech_sme_number=sa.bindparam("number"),
            tech_sme_year=sa.bindparam("year"),
        ),
    }
    for programme, statement in statements.items():
        if certified[programme]:
            where = table.c.id == sa.bindparam("enterprise")
            db.session.execute(statement.where(where), certified[programme])
