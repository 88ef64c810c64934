"""``FromCache`` keys include the result's shape, and a statement's tables
include everything its SQL reads: relationship joins' targets, secondary
tables, subqueries, CTEs and aliases."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from caching import CacheableMixin, FromCache
from tests.conftest import fresh_session
from tests.models import db

rd_parent_tag = Table(
    "rd_parent_tag",
    db.metadata,
    Column("parent_id", ForeignKey("rd_parent.id"), primary_key=True),
    Column("tag_id", ForeignKey("rd_tag.id"), primary_key=True),
)


class RdParent(CacheableMixin, db.Model):
    __tablename__ = "rd_parent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    children = relationship("RdChild", back_populates="parent")
    tags = relationship("RdTag", secondary=rd_parent_tag)


class RdChild(CacheableMixin, db.Model):
    __tablename__ = "rd_child"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("rd_parent.id"))
    parent = relationship(RdParent, back_populates="children")


class RdTag(CacheableMixin, db.Model):
    __tablename__ = "rd_tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def family(app: Any) -> None:
    """Parent 1 has a child and tag 1; parent 2 has neither."""
    db.session.add_all([RdParent(id=1, name="one"), RdParent(id=2, name="two")])
    db.session.add_all([RdTag(id=1, name="t1"), RdTag(id=2, name="t2")])
    db.session.flush()
    db.session.add(RdChild(id=1, parent_id=1))
    db.session.execute(insert(rd_parent_tag).values(parent_id=1, tag_id=1))
    db.session.commit()
    fresh_session()


def test_entities_and_columns_of_the_same_sql_do_not_share_an_entry(family, sql):
    entities = select(RdTag).order_by(RdTag.id).options(FromCache())
    columns = select(RdTag.id, RdTag.name).order_by(RdTag.id).options(FromCache())
    assert [t.name for t in db.session.scalars(entities)] == ["t1", "t2"]
    fresh_session()

    rows = db.session.execute(columns).all()

    assert rows == [(1, "t1"), (2, "t2")]
    assert all(isinstance(r, Row) and not isinstance(r[0], RdTag) for r in rows)
    assert len(sql) == 2  # each ran its own SQL once
    fresh_session()
    assert [t.name for t in db.session.scalars(entities)] == ["t1", "t2"]
    assert db.session.execute(columns).all() == [(1, "t1"), (2, "t2")]
    assert len(sql) == 2


def test_an_explicit_key_given_to_two_shapes_serves_neither_the_others_rows(family, sql):
    entities = select(RdTag).order_by(RdTag.id).options(FromCache("default", "rd_tags"))
    columns = select(RdTag.id, RdTag.name).order_by(RdTag.id).options(FromCache("default", "rd_tags"))
    db.session.scalars(entities).all()
    fresh_session()

    assert db.session.execute(columns).all() == [(1, "t1"), (2, "t2")]
    fresh_session()
    assert [t.name for t in db.session.scalars(entities)] == ["t1", "t2"]
    assert len(sql) == 3  # each read of the other shape is a miss


def add_child_to_parent_2() -> None:
    db.session.add(RdChild(id=2, parent_id=2))


def tag_parent_2() -> None:
    db.session.execute(insert(rd_parent_tag).values(parent_id=2, tag_id=2))


def parents_with_children() -> Any:
    return select(RdParent.id).join(RdParent.children).distinct()


def aliased_parents_with_children() -> Any:
    parent = aliased(RdParent)
    return select(parent.id).join(parent.children).distinct()


def parents_with_children_in_a_subquery() -> Any:
    inner = select(RdParent.id).join(RdParent.children).subquery()
    return select(inner.c.id).distinct()


def parents_with_children_in_a_cte() -> Any:
    inner = select(RdParent.id).join(RdParent.children).cte("with_children")
    return select(inner.c.id).distinct()


def tagged_parents() -> Any:
    return select(RdParent.id).join(RdParent.tags).distinct()


@pytest.mark.parametrize(
    ("statement", "write"),
    [
        (parents_with_children, add_child_to_parent_2),
        (aliased_parents_with_children, add_child_to_parent_2),
        (parents_with_children_in_a_subquery, add_child_to_parent_2),
        (parents_with_children_in_a_cte, add_child_to_parent_2),
        (tagged_parents, tag_parent_2),
    ],
    ids=["relationship join", "aliased entity", "subquery", "cte", "secondary table"],
)
def test_a_commit_to_a_table_only_the_sql_names_invalidates_the_statement(
    family, statement: Callable[[], Any], write: Callable[[], None]
):
    def cached_ids() -> list[int]:
        fresh_session()
        return sorted(db.session.scalars(statement().options(FromCache())))

    assert cached_ids() == [1]
    write()
    db.session.commit()

    assert cached_ids() == [1, 2]
