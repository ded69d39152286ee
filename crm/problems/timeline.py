"""Problems on the enterprise page's timeline: when each was raised, and where it stands."""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.i18n import gettext as _
from crm.problems.models import Problem

SHOWN = 50


@timeline_source
def problems(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    stmt = (
        scoped(sa.select(Problem), user)
        .where(Problem.enterprise_id == enterprise.id)
        .order_by(Problem.raised_on.desc(), Problem.id.desc())
        .limit(SHOWN)
        .options(load_only(Problem.raised_on, Problem.title, Problem.category, Problem.status))
    )
    for problem in db.session.scalars(stmt):
        yield TimelineEvent(
            problem.raised_on,
            "exclamation-diamond",
            _("Problem: %(title)s", title=problem.title),
            f"{problem.category.label} · {problem.status.label}",
            ("problems.show", {"problem_id": problem.id}),
        )
