"""The region-scope helper: one way to read scoped records, for every feature."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.exceptions import NotFound

from crm.auth.models import User
from crm.auth.scope import get_scoped_or_404, in_scope, scoped
from crm.db import utcnow
from crm.extensions import db
from tests.conftest import CITY, MENGJIN, YIYANG


class ProbeBase(DeclarativeBase):
    pass


class Probe(ProbeBase):
    """Stands in for a scoped, soft-deleted model (enterprises, visits, … come later)."""

    __tablename__ = "scope_probes"
    __scope_column__ = "county_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(sa.String(12))
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


@pytest.fixture
def probes(app):
    """Rows in 宜阳县 (one deleted), a 宜阳县 township, 孟津区 and the city itself."""
    with app.app_context():
        ProbeBase.metadata.create_all(db.engine)
        rows = [
            Probe(id=1, county_code=YIYANG),
            Probe(id=2, county_code=YIYANG, deleted_at=utcnow()),
            Probe(id=3, county_code="410327001"),
            Probe(id=4, county_code=MENGJIN),
            Probe(id=5, county_code=CITY),
        ]
        db.session.add_all(rows)
        db.session.commit()
    yield
    with app.app_context():
        db.session.remove()
        ProbeBase.metadata.drop_all(db.engine)


def visible_ids(app, user_info):
    with app.app_context():
        user = db.session.get(User, user_info.id)
        return sorted(db.session.scalars(scoped(sa.select(Probe.id), user)))


def test_city_user_sees_every_live_row(app, probes, create_user):
    assert visible_ids(app, create_user("chief", CITY)) == [1, 3, 4, 5]


def test_county_user_sees_only_their_county_and_its_townships(app, probes, create_user):
    assert visible_ids(app, create_user("officer", YIYANG)) == [1, 3]
    assert visible_ids(app, create_user("viewer", MENGJIN)) == [4]


def test_scope_combines_with_other_conditions(app, probes, create_user):
    user_info = create_user("officer", YIYANG)
    with app.app_context():
        user = db.session.get(User, user_info.id)
        stmt = scoped(sa.select(Probe).where(Probe.id > 1), user)
        assert [row.id for row in db.session.scalars(stmt)] == [3]


def test_loader_answers_404_outside_the_scope_and_for_deleted_rows(app, probes, create_user):
    user_info = create_user("officer", YIYANG)
    with app.test_request_context(), app.app_context():
        user = db.session.get(User, user_info.id)
        assert get_scoped_or_404(Probe, 1, user).id == 1
        for other in (2, 4, 5, 999):
            with pytest.raises(NotFound):
                get_scoped_or_404(Probe, other, user)


def test_in_scope_predicate(app, create_user):
    county, city = create_user("officer", YIYANG), create_user("chief", CITY)
    with app.app_context():
        county_user, city_user = db.session.get(User, county.id), db.session.get(User, city.id)
        assert in_scope(county_user, YIYANG) and in_scope(county_user, "410327001")
        assert not in_scope(county_user, MENGJIN) and not in_scope(county_user, CITY)
        assert not in_scope(county_user, None)
        assert in_scope(city_user, MENGJIN) and in_scope(city_user, CITY)


def test_scoped_read_needs_a_user(app, probes):
    from flask_login import AnonymousUserMixin

    with app.app_context(), pytest.raises(PermissionError):
        scoped(sa.select(Probe), AnonymousUserMixin())


def test_every_scoped_model_of_a_join_is_filtered(app, probes, create_user):
    user_info = create_user("officer", YIYANG)
    other = sa.orm.aliased(Probe)
    with app.app_context():
        user = db.session.get(User, user_info.id)
        pairs = scoped(sa.select(Probe.id, other.id).join(other, sa.true()), user)
        assert sorted(db.session.execute(pairs).all()) == [(1, 1), (1, 3), (3, 1), (3, 3)]
        only_joined = sa.select(User.id).join(Probe, sa.true()).where(User.id == user.id)
        rows = db.session.scalars(scoped(only_joined, user, joined=(Probe,))).all()
        assert len(rows) == 2  # the two 宜阳县 probes, not all four live ones


def test_scoped_refuses_a_select_of_nothing_scoped(app, create_user):
    user_info = create_user("officer", YIYANG)
    with app.app_context(), pytest.raises(TypeError):
        scoped(sa.select(sa.literal(1)), db.session.get(User, user_info.id))


def test_the_region_tree_answers_above_and_below_once(app):
    from crm.regions.tree import codes_above, codes_below

    with app.app_context():
        assert codes_above(YIYANG) == [YIYANG, CITY]
        assert codes_above(CITY) == [CITY]
        below = codes_below(YIYANG)
        assert YIYANG in below and len(below) > 1 and CITY not in below
        assert below <= codes_below(CITY) and MENGJIN not in below
        assert codes_below(YIYANG) is below  # worked out once per region
