"""Visits on the enterprise page's timeline."""

from collections.abc import Iterable

import sqlalchemy as sa

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.i18n import gettext as _
from crm.visits.models import Visit
from crm.visits.queries import counts

SHOWN = 50


@timeline_source
def visits(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    # Plain rows of the few columns shown, not Visit objects: up to 50 per source are read and
    # the timeline keeps 50 of all of them.
    policies, problems = counts()
    stmt = (
        scoped(sa.select(Visit.id, Visit.visit_date, Visit.mode, Visit.summary), user)
        .where(Visit.enterprise_id == enterprise.id)
        .join(User, User.id == Visit.lead_id)  # after scoped(): the lead's own region is no filter
        .add_columns(User.display_name, policies, problems)
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(SHOWN)
    )
    for visit_id, day, mode, summary, lead, policy_count, problem_count in db.session.execute(stmt):
        parts = [summary[:80]]
        if policy_count:
            parts.append(_("%(n)d policies explained", n=policy_count))
        if problem_count:
            parts.append(_("%(n)d problems raised", n=problem_count))
        yield TimelineEvent(
            day,
            "person-walking",
            _("%(mode)s by %(name)s", mode=mode.label, name=lead),
            " · ".join(parts),
            ("visits.show", {"visit_id": visit_id}),
        )
