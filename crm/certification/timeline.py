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
    # Plain rows of the columns shown, each stage with its case's, as for visits.
    cases = scoped(sa.select(CertificationCase.id), user).where(
        CertificationCase.enterprise_id == enterprise.id
    )
    stmt = (
        sa.select(
            StageEvent.at,
            StageEvent.to_stage,
            StageEvent.actor_name,
            StageEvent.note,
            CertificationCase.id,
            CertificationCase.programme,
            CertificationCase.year,
        )
        .join(StageEvent.case)
        .where(StageEvent.case_id.in_(cases.scalar_subquery()))
        .order_by(StageEvent.at.desc(), StageEvent.id.desc())
        .limit(SHOWN)
    )
    for at, stage, actor, note, case_id, programme, year in db.session.execute(stmt):
        yield TimelineEvent(
            at,
            "award",
            _("%(programme)s: %(stage)s", programme=programme.label, stage=stage.label),
            f"{year} · {actor}" + (f" · {note}" if note else ""),
            ("certification.show", {"case_id": case_id}),
        )
