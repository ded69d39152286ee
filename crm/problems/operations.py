"""Every write to problems. Nothing here commits."""

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.audit.labels import register_labels
from crm.audit.operations import record_audit
from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.problems.models import Problem, ProblemCategory, ProblemStatus

register_labels(
    {"problem.raise": _l("Recorded a problem")},
    {
        "category": _l("Category"),
        "title": _l("Title"),
        "description": _l("Description"),
        "raised_on": _l("Raised on"),
        "status": _l("Status"),
    },
    {"problems": _l("Problem")},
    {
        "category": lambda value: ProblemCategory(value).label,
        "status": lambda value: ProblemStatus(value).label,
    },
)


def raise_problem(
    actor: User | None,
    enterprise: Enterprise,
    cleaned: dict[str, Any],
    raised_on: date,
    visit_id: int | None = None,
) -> Problem:
    """Put a checked problem (crm.problems.rules.clean_problem) on the ledger, waiting for 交办."""
    problem = Problem(
        **cleaned,
        enterprise=enterprise,
        county_code=enterprise.county_code,
        visit_id=visit_id,
        raised_on=raised_on,
        status=ProblemStatus.NEW,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(problem)
    db.session.flush()
    record_audit(
        "problem.raise",
        problem,
        actor=actor,
        region_code=enterprise.county_code,
        changes={
            "category": [None, problem.category.value],
            "title": [None, problem.title],
            "raised_on": [None, raised_on.isoformat()],
        },
    )
    return problem
