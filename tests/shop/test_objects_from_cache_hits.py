"""Item 5: an object from a cache hit is the object a query returns.

A hit rebuilds the object from cached column values. It must still be
what the app wrote its model for: ``MutableDict`` tracks in-place changes
(else they are silently not saved), ``@reconstructor`` methods have run,
``column_property`` expressions hold what SQL computes (or load on access,
never ``None``) and enum columns hold enum members. Checked for the three
ways a hit happens: ``get``, ``filter`` and a ``FromCache`` statement.
"""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caching import FromCache
from tests.shop.models import Customer, Kind, Order, OrderLine, Post, Status, db


def by_get(model, pk):
    return model.cache.get(pk)


def by_filter(model, pk):
    return next(obj for obj in model.cache.filter() if obj.id == pk)


def by_from_cache(model, pk):
    return db.session.scalars(select(model).where(model.id == pk).options(FromCache("default"))).one()


HITS = [by_get, by_filter, by_from_cache]


@pytest.fixture(params=HITS)
def hit(request, shop, stock, sql):
    """Load an object through the cache once in another request, then again from the hit (no SQL)."""
    how = request.param

    def load(model, pk):
        with shop.app_context():
            how(model, pk)
        sql.clear()
        obj = how(model, pk)
        assert sql == [], f"{how.__name__}({model.__name__}, {pk}) was not a cache hit"
        return obj

    return load


def database_value(column, pk):
    with Session(db.engine) as session:
        return session.scalar(select(column).where(column.class_.id == pk))


def test_in_place_change_to_a_mutable_json_column_is_saved(hit):
    post = hit(Post, 1)

    post.meta["color"] = "red"
    db.session.commit()

    assert database_value(Post.meta, 1) == {"lang": "en", "color": "red"}


def test_reconstructor_has_run(hit):
    assert hit(Customer, 1).badge == "ann (Oslo)"


def test_column_property_holds_what_sql_computes(hit):
    order = hit(Order, 1)
    line = hit(OrderLine, 1)

    assert order.line_count == database_value(Order.line_count, 1) == 2
    assert line.subtotal == database_value(OrderLine.subtotal, 1)
    assert line.subtotal is not None


def test_enum_columns_hold_enum_members(hit):
    assert hit(Order, 1).status is Status.ACTIVE
    assert hit(Post, 1).kind is Kind.ARTICLE
