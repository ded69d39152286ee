"""Reads of enterprises: the filtered, sorted list and the type-ahead, always in scope."""

from datetime import timedelta

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from wtforms import SelectChoice, StringField
from wtforms.validators import Length, Optional

from crm.auth.models import User
from crm.auth.permissions import can_edit_enterprise
from crm.auth.scope import get_scoped_or_404, scoped
from crm.enterprises import credit_code, industries, search
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.forms import CrmForm, SelectField, searchable
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.regions.models import RegionLevel

SORTS = {
    # Chinese users expect names in pinyin order, not in code-point order.
    "name": (_l("Enterprise name"), (Enterprise.name_pinyin, Enterprise.name, Enterprise.id)),
    "-revenue": (
        _l("Revenue, highest first"),
        (Enterprise.revenue.desc().nulls_last(), Enterprise.id),
    ),
    "last_visited": (
        _l("Longest without a visit"),
        (Enterprise.last_visited_on.asc().nulls_first(), Enterprise.id),
    ),
    "-created": (_l("Newest first"), (Enterprise.id.desc(),)),
}
FLAGS = {
    "high_tech": (_l("High-tech enterprise"), Enterprise.high_tech.is_(True)),
    "tech_sme": (_l("Tech-based SME"), Enterprise.tech_sme.is_(True)),
    "specialized": (_l("Specialised SME"), Enterprise.specialized.is_not(None)),
    "above_scale": (_l("Above designated size"), Enterprise.above_scale.is_(True)),
}
NOT_VISITED_DAYS = (30, 90, 180, 365)
TYPEAHEAD_LIMIT = 10
# One character is too broad to be useful while typing (and costly to rank).
TYPEAHEAD_MIN_LENGTH = 2


class EnterpriseFilterForm(CrmForm):
    class Meta:
        csrf = False

    q = StringField(
        _l("Name, pinyin or code"), validators=[Optional(), Length(max=100)], filters=[searchable]
    )
    county = SelectField(_l("County/district"), default="")
    township = SelectField(_l("Township/street"), default="")
    industry = SelectField(
        _l("Industry"),
        choices=[
            SelectChoice("", _l("All industries")),
            *(SelectChoice(code, f"{code} {name}") for code, name in industries.SECTIONS.items()),
        ],
        default="",
    )
    flag = SelectField(
        _l("Qualifications"),
        choices=[SelectChoice("", _l("All")), *(SelectChoice(k, v[0]) for k, v in FLAGS.items())],
        default="",
    )
    liaison = SelectField(_l("Liaison officer"), default="")
    not_visited = SelectField(
        _l("Not visited for"),
        choices=[
            SelectChoice("", _l("Any time")),
            *(
                SelectChoice(str(days), _l("More than %(n)d days", n=days))
                for days in NOT_VISITED_DAYS
            ),
        ],
        default="",
    )
    sort = SelectField(
        _l("Sort by"),
        choices=[SelectChoice(key, label) for key, (label, _order) in SORTS.items()],
        default="name",
    )


def _where(stmt: sa.Select, form: EnterpriseFilterForm) -> sa.Select:
    if form.county.data:
        stmt = stmt.where(Enterprise.county_code == form.county.data)
    if form.township.data:
        stmt = stmt.where(Enterprise.township_code == form.township.data)
    if form.industry.data:
        stmt = stmt.where(Enterprise.industry.startswith(form.industry.data))
    if form.flag.data in FLAGS:
        stmt = stmt.where(FLAGS[form.flag.data][1])
    if form.liaison.data:
        stmt = stmt.where(Enterprise.liaison_id == int(form.liaison.data))
    if form.not_visited.data:
        since = local_today() - timedelta(days=int(form.not_visited.data))
        stmt = stmt.where(
            sa.or_(Enterprise.last_visited_on.is_(None), Enterprise.last_visited_on < since)
        )
    return stmt


def searched(stmt: sa.Select, query: str) -> sa.Select | None:
    """`stmt` narrowed to the matches of `query`, best first (list page and API alike);
    None when the query is empty."""
    condition = search.match(query)
    if condition is None:
        return None
    return stmt.where(condition).order_by(search.rank(query), Enterprise.name_pinyin, Enterprise.id)


def filtered_enterprises(form: EnterpriseFilterForm, user: User) -> sa.Select:
    """The enterprises the user may see, filtered and sorted as the form says."""
    stmt = _where(scoped(sa.select(Enterprise), user), form)
    found = searched(stmt, form.q.data or "")
    if found is None:
        return stmt.order_by(*SORTS.get(form.sort.data, SORTS["name"])[1])
    if form.sort.data == "name":
        return found
    return found.order_by(None).order_by(*SORTS[form.sort.data][1])


def editable_or_403(enterprise_id: int) -> Enterprise:
    """An enterprise in the caller's scope (404 otherwise) that the caller may change (403)."""
    enterprise = get_scoped_or_404(Enterprise, enterprise_id)
    if not can_edit_enterprise(current_user, enterprise):
        abort(403)
    return enterprise


def typeahead(query: str, user: User) -> list[Enterprise]:
    """The best few matches: the exact code, then names (or codes) starting with the query,
    then those containing it. Each step is one indexed query that stops at the limit."""
    text = search.normalize_query(query)
    if len(text) < TYPEAHEAD_MIN_LENGTH:
        return []
    base = scoped(sa.select(Enterprise), user)
    county = user.region_code if user.region.level == RegionLevel.COUNTY else None
    steps = [base.where(Enterprise.credit_code == credit_code.normalize(text))]
    if (codes := search.code_prefix(text)) is not None:
        steps.append(base.where(codes))
    steps += [
        search.restrict(base, text, prefix=True, county=county),
        search.restrict(base, text, county=county),
    ]
    found: list[Enterprise] = []
    for stmt in steps:
        if len(found) >= TYPEAHEAD_LIMIT:
            break
        if found:
            stmt = stmt.where(Enterprise.id.not_in([enterprise.id for enterprise in found]))
        batch = db.session.scalars(stmt.limit(TYPEAHEAD_LIMIT - len(found))).all()
        found.extend(sorted(batch, key=lambda enterprise: enterprise.name_pinyin))
    return found
