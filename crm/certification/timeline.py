"""Certification cases on the enterprise page's timeline: each stage a case reached."""

from collections.abc import Iterable

import sqlalchemy as sa

from crm.auth.models import User
from crm.auth.scope import scoped
from crm.certification.models import CertificationCase, StageEvent
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.i18n import gettext as _

SHOWN = 50


@timeline_source
def certification(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    cases = scoped(sa.select(CertificationCase.id), user).where(
        CertificationCase.enterprise_id == enterprise.id
    )
    stmt = (
        sa.select(StageEvent)
        .where(StageEvent.case_id.in_(cases.scalar_subquery()))
        .order_by(StageEvent.at.desc(), StageEvent.id.desc())
        .limit(SHOWN)
    )
    for event in db.session.scalars(stmt):
        case = event.case
        yield TimelineEvent(
            event.at,
            "award",
            _(
                "%(programme)s: %(stage)s",
                programme=case.programme.label,
                stage=event.to_stage.label,
            ),
            f"{case.year} · {event.actor_name}" + (f" · {event.note}" if event.note else ""),
            ("certification.show", {"case_id": case.id}),
        )
