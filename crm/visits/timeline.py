"""Visits on the enterprise page's timeline."""

from collections.abc import Iterable

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.visits.models import Visit

SHOWN = 50


@timeline_source
def visits(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    stmt = (
        scoped(sa.select(Visit), user)
        .where(Visit.enterprise_id == enterprise.id)
        .options(joinedload(Visit.lead), selectinload(Visit.policies), selectinload(Visit.problems))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(SHOWN)
    )
    for visit in db.session.scalars(stmt):
        parts = [visit.summary[:80]]
        if visit.policies:
            parts.append(_("%(n)d policies explained", n=len(visit.policies)))
        if visit.problems:
            parts.append(_("%(n)d problems raised", n=len(visit.problems)))
        yield TimelineEvent(
            visit.visit_date,
            "person-walking",
            _("%(mode)s by %(name)s", mode=visit.mode.label, name=visit.lead.display_name),
            " · ".join(parts),
            url_for("visits.show", visit_id=visit.id),
        )
