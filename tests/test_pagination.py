"""Keys-first pagination: the same pages, in the same order, as LIMIT/OFFSET over whole rows."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.db import paginate
from crm.extensions import db
from crm.regions.models import Region, RegionLevel


def townships() -> sa.Select:
    # Ordered by a column that is not the key, with ties, so the order is the statement's own.
    return (
        sa.select(Region)
        .where(Region.level == RegionLevel.TOWNSHIP)
        .order_by(Region.parent_code.desc(), Region.name, Region.code)
    )


def test_pages_follow_the_statements_order_and_filter(app):
    with app.app_context():
        everything = list(db.session.scalars(townships()))
        assert len(everything) > 20
        seen = []
        for number in range(1, 5):
            page = paginate(db.session, townships(), page=number, per_page=7)
            assert page.total == len(everything)
            assert page.items == everything[(number - 1) * 7 : number * 7]
            seen += page.items
        assert len(set(seen)) == len(seen) == min(28, len(everything))


def test_loader_options_apply_to_the_page(app):
    with app.app_context():
        stmt = townships().options(selectinload(Region.parent))
        page = paginate(db.session, stmt, page=1, per_page=5)
        db.session.expunge_all()  # a lazy load now would fail: the parents are loaded already
        assert all(region.parent.level == RegionLevel.COUNTY for region in page.items)


def test_a_page_past_the_end_is_empty(app):
    with app.app_context():
        page = paginate(db.session, townships(), page=500, per_page=10)
        assert page.items == []
        assert page.total > 0


def test_the_count_stops_at_its_limit(app):
    """Past the count limit a list says there are more; its pages are the same."""
    with app.app_context():
        everything = list(db.session.scalars(townships()))
        page = paginate(db.session, townships(), page=2, per_page=3, count_limit=5)
        assert (page.total, page.more, page.pages) == (5, True, 2)
        assert page.items == everything[3:6]
        exact = paginate(db.session, townships(), page=1, per_page=3, count_limit=len(everything))
        assert (exact.total, exact.more) == (len(everything), False)


def test_a_list_past_the_count_limit_says_so(client, login, create_enterprise, monkeypatch):
    import crm.db

    login("officer")
    for _ in range(4):
        create_enterprise()
    assert "共 4 家企业" in client.get("/enterprises/").text
    monkeypatch.setattr(crm.db, "COUNT_LIMIT", 3)
    page = client.get("/enterprises/").text
    assert "符合条件的超过 3 条；缩小筛选范围可得到确切数目。" in page and "共 4 家企业" not in page


def test_a_page_that_is_not_full_tells_the_count_itself(app):
    """The last page (and a list of one page) counts its rows without a statement more."""
    sent = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    with app.app_context():
        everything = list(db.session.scalars(townships()))
        size = 7 if len(everything) % 7 else 8
        last = (len(everything) - 1) // size + 1
        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            page = paginate(db.session, townships(), page=last, per_page=size)
            assert page.total == len(everything) and not page.more
            assert page.items == everything[(last - 1) * size :]
            assert len(sent) == 2, sent  # the keys, then their rows: no count
            full = paginate(db.session, townships(), page=1, per_page=size)
            assert full.total == len(everything) and len(sent) == 5  # keys, rows, count
            capped = paginate(db.session, townships(), page=last, per_page=size, count_limit=3)
            assert (capped.total, capped.more) == (3, True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)


def test_the_api_counts_every_row(client, login, create_enterprise, monkeypatch):
    """The API's envelope promises the total: it is not cut at the pages' count limit."""
    import crm.db

    login("officer")
    for _ in range(4):
        create_enterprise()
    monkeypatch.setattr(crm.db, "COUNT_LIMIT", 3)
    first = client.get("/api/v1/enterprises?per_page=2").json
    assert first["total"] == 4 and len(first["items"]) == 2
    assert client.get("/api/v1/enterprises?per_page=2&page=2").json["total"] == 4
