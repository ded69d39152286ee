"""Follow-up tasks on the enterprise page's timeline: when each is due, and whether it is done."""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only

from crm.auth.models import User, names_only
from crm.auth.scope import scoped
from crm.enterprises.models import Enterprise
from crm.enterprises.timeline import TimelineEvent, timeline_source
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.i18n import gettext as _

SHOWN = 50


@timeline_source
def followups(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    stmt = (
        scoped(sa.select(FollowUp), user)
        .where(FollowUp.enterprise_id == enterprise.id)
        .order_by(FollowUp.due_on.desc(), FollowUp.id.desc())
        .limit(SHOWN)
        .options(
            load_only(FollowUp.due_on, FollowUp.title, FollowUp.status),
            names_only(joinedload(FollowUp.assignee, innerjoin=True)),
        )
    )
    for task in db.session.scalars(stmt):
        done = task.status != FollowUpStatus.TODO
        yield TimelineEvent(
            task.due_on,
            "check2-square" if done else "alarm",
            _("Task: %(title)s", title=task.title),
            f"{task.status.label} · {task.assignee.display_name}",
            ("followups.show", {"followup_id": task.id}),
        )
