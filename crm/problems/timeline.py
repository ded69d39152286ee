"""Problems on the enterprise page's timeline: when each was raised, and where it stands."""

from collections.abc import Iterable

import sqlalchemy as sa

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
    # Plain rows of the columns shown, as for visits (crm.visits.timeline).
    stmt = (
        scoped(sa.select(Problem.id, Problem.raised_on, Problem.title), user)
        .add_columns(Problem.category, Problem.status)
        .where(Problem.enterprise_id == enterprise.id)
        .order_by(Problem.raised_on.desc(), Problem.id.desc())
        .limit(SHOWN)
    )
    for problem_id, raised_on, title, category, status in db.session.execute(stmt):
        yield TimelineEvent(
            raised_on,
            "exclamation-diamond",
            _("Problem: %(title)s", title=title),
            f"{category.label} · {status.label}",
            ("problems.show", {"problem_id": problem_id}),
        )
