"""Links: the top bar's (those a user's role may follow, and which of them the page belongs to),
and links to many records of one kind at once."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, g, request, url_for
from flask_babel.speaklater import LazyString
from flask_login import current_user

from crm import MAX_RECORD_ID
from crm.auth.models import Role
from crm.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class Link:
    endpoint: str
    icon: str  # a Bootstrap icon's name, without "bi-"
    label: LazyString
    also: tuple[str, ...] = ()  # other blueprints whose pages are this link's, beside its own
    roles: frozenset[Role] | None = None  # who sees it; everyone when None

    def is_active(self, section: str) -> bool:
        return section == self.endpoint.partition(".")[0] or section in self.also


LINKS = (
    Link("dashboard.index", "house", _l("Home")),
    Link("enterprises.index", "buildings", _l("Enterprises"), also=("imports",)),
    Link("visits.index", "person-walking", _l("Visits")),
    Link("problems.index", "exclamation-diamond", _l("Problems")),
    Link("followups.mine", "check2-square", _l("My tasks"),
         roles=frozenset({Role.OFFICER, Role.CHIEF})),
    Link("certification.index", "award", _l("Certification pipeline")),
    Link("policies.index", "journal-bookmark", _l("Policies")),
    Link("reports.index", "file-earmark-spreadsheet", _l("Reports"),
         roles=frozenset({Role.ADMIN, Role.CHIEF, Role.VIEWER})),
)  # fmt: skip


def main_links() -> list[tuple[str, str, str, bool]]:
    """The signed-in user's links as (url, icon, label, active), in the bar's order: written by
    one loop in the template, where a macro per link cost some 40 µs each on every page."""
    section = (request.endpoint or "").partition(".")[0]
    return [
        (url_for(link.endpoint), link.icon, str(link.label), link.is_active(section))
        for link in LINKS
        if link.roles is None or current_user.role in link.roles
    ]


def record_url(endpoint: str, key: str, **values: object) -> Callable[[int], str]:
    """url_for(endpoint, **{key: record_id}, **values) for any record_id, built by werkzeug once:
    a list of 200 tasks links each three times, and each url_for costs some 10 µs."""
    marker = str(MAX_RECORD_ID)
    head, found, tail = url_for(endpoint, **{key: MAX_RECORD_ID}, **values).partition(marker)
    if not found or marker in tail:
        raise ValueError(f"{endpoint}: {key} is not a single path segment")
    return lambda record_id: f"{head}{int(record_id)}{tail}"


def record_link(endpoint: str, key: str, record_id: int) -> str:
    """url_for(endpoint, **{key: record_id}), through the request's record_url of the endpoint:
    a timeline links 50 records of a few kinds."""
    patterns = g.setdefault("record_urls", {})
    if (endpoint, key) not in patterns:
        patterns[endpoint, key] = record_url(endpoint, key)
    return patterns[endpoint, key](record_id)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(main_links=main_links, record_url=record_url)
