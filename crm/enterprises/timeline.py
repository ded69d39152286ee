"""The enterprise page's timeline: each feature adds its own events through a source.

A source is a function (enterprise, user) → events; visits, problems, follow-ups and
certification cases register theirs when those features arrive.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.i18n import lazy_gettext as _l
from crm.navigation import record_link


@dataclass(frozen=True)
class TimelineEvent:
    when: datetime | date
    icon: str  # a Bootstrap Icons name
    title: str
    detail: str = ""
    # The record the event links to, as an endpoint and its one value (the record's id): the URL
    # is built only for the events shown (each source gives up to 50; the timeline keeps 50).
    link: tuple[str, dict[str, int]] | None = None

    @property
    def url(self) -> str | None:
        if self.link is None:
            return None
        endpoint, values = self.link
        ((key, record_id),) = values.items()
        return record_link(endpoint, key, record_id)

    @property
    def sort_key(self) -> datetime:
        if isinstance(self.when, datetime):
            return self.when.replace(tzinfo=None)
        return datetime.combine(self.when, datetime.min.time())


Source = Callable[[Enterprise, User], Iterable[TimelineEvent]]
SOURCES: list[Source] = []


def timeline_source(source: Source) -> Source:
    """Register a source of timeline events (used as a decorator)."""
    SOURCES.append(source)
    return source


def timeline(enterprise: Enterprise, user: User, limit: int = 50) -> list[TimelineEvent]:
    """The newest events of every source, newest first."""
    events = [event for source in SOURCES for event in source(enterprise, user)]
    return sorted(events, key=lambda event: event.sort_key, reverse=True)[:limit]


@timeline_source
def registration(enterprise: Enterprise, user: User) -> Iterable[TimelineEvent]:
    yield TimelineEvent(enterprise.created_at, "building-add", str(_l("Registered in the system")))
