"""Follow-up tasks on the enterprise page's timeline: when each is due, and whether it is done."""

from collections.abc import Iterable

import sqlalchemy as sa

from crm.auth.models import User
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
        scoped(sa.select(FollowUp.id, FollowUp.due_on, FollowUp.title, FollowUp.status), user)
        .where(FollowUp.enterprise_id == enterprise.id)
        .join(User, User.id == FollowUp.assignee_id)  # after scoped(): the assignee is no filter
        .add_columns(User.display_name)
        .order_by(FollowUp.due_on.desc(), FollowUp.id.desc())
        .limit(SHOWN)
    )
    for task_id, due_on, title, status, assignee in db.session.execute(stmt):
        done = status != FollowUpStatus.TODO
        yield TimelineEvent(
            due_on,
            "check2-square" if done else "alarm",
            _("Task: %(title)s", title=title),
            f"{status.label} · {assignee}",
            ("followups.show", {"followup_id": task_id}),
        )
