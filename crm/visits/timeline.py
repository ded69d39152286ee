"""Visits on the enterprise page's timeline."""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only

from crm.auth.models import User, names_only
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.i18n import gettext as _
from crm.visits.models import Visit
from crm.visits.queries import with_counts

SHOWN = 50


@timeline_source
def visits(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    stmt = (
        scoped(sa.select(Visit), user)
        .where(Visit.enterprise_id == enterprise.id)
        .options(
            load_only(Visit.visit_date, Visit.mode, Visit.summary),
            names_only(joinedload(Visit.lead, innerjoin=True)),
            *with_counts(),
        )
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(SHOWN)
    )
    for visit in db.session.scalars(stmt):
        parts = [visit.summary[:80]]
        if visit.policy_count:
            parts.append(_("%(n)d policies explained", n=visit.policy_count))
        if visit.problem_count:
            parts.append(_("%(n)d problems raised", n=visit.problem_count))
        yield TimelineEvent(
            visit.visit_date,
            "person-walking",
            _("%(mode)s by %(name)s", mode=visit.mode.label, name=visit.lead.display_name),
            " · ".join(parts),
            ("visits.show", {"visit_id": visit.id}),
        )
