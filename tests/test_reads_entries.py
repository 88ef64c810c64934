"""An entry that carries the current guard tokens but has the wrong shape reads
as a miss: never a crash, never served as data, and stored again afterwards."""

from typing import Any

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, FromCache
from caching.mapping import info_for
from caching.serialize import EntityRef
from tests.conftest import fresh_session
from tests.models import db


class RdBox(CacheableMixin, db.Model):
    __tablename__ = "rd_box"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)


@pytest.fixture
def boxes(app: Any) -> None:
    db.session.add_all([RdBox(id=1, label="a", size=3), RdBox(id=2, label="b", size=3)])
    db.session.commit()
    fresh_session()


def replace_data(region: Any, key: str, data: Any) -> None:
    """Keep the entry's current tokens, swap its data."""
    tokens, _ = region.get(key)
    region.set(key, [tokens, data])


def read_boxes() -> list[tuple[int, str, int]]:
    fresh_session()
    return [(b.id, b.label, b.size) for b in RdBox.cache.filter(size=3)]


MALFORMED_OBJECTS = [7, "a", {"id": 1}, [1, "a"], [1, "a", 3, 4], [None, "a", 3], [[1], "a", 3]]


@pytest.mark.parametrize("data", MALFORMED_OBJECTS, ids=repr)
def test_a_malformed_object_entry_is_a_miss_on_get(boxes, region, sql, data):
    RdBox.cache.get(1)
    replace_data(region, "rd_box.id[1]", data)
    fresh_session()
    sql.reset()

    box = RdBox.cache.get(1)

    assert (box.id, box.label, box.size) == (1, "a", 3)
    assert len(sql) == 1
    assert region.get("rd_box.id[1]")[1] == [1, "a", 3]


@pytest.mark.parametrize("data", MALFORMED_OBJECTS, ids=repr)
def test_a_malformed_row_makes_its_listing_a_miss(boxes, region, sql, data):
    assert read_boxes() == [(1, "a", 3), (2, "b", 3)]
    replace_data(region, "rd_box.size=3[all]", [data, [2, "b", 3]])
    sql.reset()

    assert read_boxes() == [(1, "a", 3), (2, "b", 3)]
    assert len(sql) == 1  # the listing, read again
    assert region.get("rd_box.size=3[all]")[1] == [[1, "a", 3], [2, "b", 3]]


@pytest.mark.parametrize("data", [5, "12", {"1": 1}, [[1], [2]], [1, None], [{"id": 1}]], ids=repr)
def test_a_malformed_listing_is_a_miss(boxes, region, sql, data):
    read_boxes()
    replace_data(region, "rd_box.size=3[all]", data)
    sql.reset()

    assert read_boxes() == [(1, "a", 3), (2, "b", 3)]
    assert len(sql) == 1
    assert region.get("rd_box.size=3[all]")[1] == [[1, "a", 3], [2, "b", 3]]


@pytest.mark.parametrize("data", ["2", -1, [2], None, True], ids=repr)
def test_a_malformed_count_is_a_miss(boxes, region, sql, data):
    assert RdBox.cache.count(size=3) == 2
    replace_data(region, "rd_box.size=3[all][count]", data)
    fresh_session()
    sql.reset()

    assert RdBox.cache.count(size=3) == 2
    assert len(sql) == 1
    assert region.get("rd_box.size=3[all][count]")[1] == 2


def _ref(*row: Any, **values: Any) -> EntityRef:
    """A stored RdBox instance holding ``values``: a whole row (``_ref(1, "a", 3)``, in
    column order) or some columns by name (``_ref(id=1)``)."""
    info = info_for(RdBox)
    return EntityRef(info.class_path, info.fingerprint, list(row) if row else values)


PAYLOAD_DAMAGE = {
    "no shape": lambda p: {k: v for k, v in p.items() if k != "shape"},
    "another shape": lambda p: {**p, "shape": "id:Integer()"},
    "rows not a list": lambda p: {**p, "rows": "rows"},
    "a row too short": lambda p: {**p, "rows": [[]]},
    "keys not strings": lambda p: {**p, "keys": [1]},
    "single not a flag": lambda p: {**p, "single": "yes"},
    "an instance with a null primary key": lambda p: {**p, "rows": [[_ref(id=None, label="x", size=3)]]},
    "an instance with an unknown column": lambda p: {**p, "rows": [[_ref(id=1, bogus=2)]]},
    "a whole instance too short": lambda p: {**p, "rows": [[_ref(1, "a")]]},
    "a whole instance too long": lambda p: {**p, "rows": [[_ref(1, "a", 3, 4)]]},
    "a whole instance with a null primary key": lambda p: {**p, "rows": [[_ref(None, "a", 3)]]},
    "a whole instance keyed by a list": lambda p: {**p, "rows": [[_ref([1], "a", 3)]]},
}


@pytest.mark.parametrize("damage", PAYLOAD_DAMAGE.values(), ids=PAYLOAD_DAMAGE.keys())
def test_a_malformed_statement_payload_is_a_miss(boxes, region, sql, damage):
    statement = select(RdBox).order_by(RdBox.id).options(FromCache("default", "rd_boxes"))
    db.session.scalars(statement).all()
    tokens, payload = region.get("rd_boxes")
    region.set("rd_boxes", [tokens, damage(payload)])
    fresh_session()
    sql.reset()

    assert [(b.id, b.label) for b in db.session.scalars(statement)] == [(1, "a"), (2, "b")]
    assert len(sql) == 1
    fresh_session()
    assert [b.id for b in db.session.scalars(statement)] == [1, 2]
    assert len(sql) == 1  # stored again, well formed
