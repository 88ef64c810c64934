"""A cache hit gives the object a query gives: load events fire, mutable JSON
is tracked, reconstructors run, and what the cache cannot hold (expressions,
deferred columns) loads from the database on access, never reads None."""

from typing import Any

import pytest
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, event, func, select
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import Mapped, column_property, deferred, mapped_column, reconstructor

from caching import CacheableMixin, FromCache
from tests.conftest import fresh_session
from tests.models import db


class RdNote(db.Model):
    __tablename__ = "rd_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("rd_doc.id"))


class RdDoc(CacheableMixin, db.Model):
    __tablename__ = "rd_doc"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(40))
    data = mapped_column(MutableDict.as_mutable(JSON), default=dict)
    tags = mapped_column(MutableList.as_mutable(JSON), default=list)
    body = deferred(mapped_column(Text))
    title_length = column_property(func.length(title))
    note_count = column_property(
        select(func.count(RdNote.id)).where(RdNote.doc_id == id).correlate_except(RdNote).scalar_subquery()
    )

    @reconstructor
    def _on_load(self) -> None:
        self.loaded_title = f"loaded {self.title}"


@pytest.fixture
def docs(app: Any) -> None:
    db.session.add_all(
        [
            RdDoc(id=1, title="first", data={"a": 1}, tags=["x"], body="long text one"),
            RdDoc(id=2, title="second", data={}, tags=[], body="long text two"),
        ]
    )
    db.session.add(RdNote(doc_id=1))
    db.session.commit()
    fresh_session()


def cached_doc(sql: Any) -> RdDoc:
    """Doc 1 as a cache hit in a fresh session, checked to have run no SQL."""
    RdDoc.cache.get(1)
    fresh_session()
    sql.reset()
    doc = RdDoc.cache.get(1)
    assert len(sql) == 0
    return doc


def stored_doc(pk: int) -> tuple[Any, Any]:
    """``data`` and ``tags`` as the database holds them, read in a fresh session without the cache."""
    fresh_session()
    return db.session.execute(select(RdDoc.data, RdDoc.tags).where(RdDoc.id == pk)).one()


def test_a_hit_runs_the_reconstructor_and_fires_load_events(docs, sql):
    loads: list[int] = []
    persisted: list[int] = []

    def on_load(target: RdDoc, context: Any) -> None:
        loads.append(target.id)

    def on_persistent(session: Any, instance: RdDoc) -> None:
        persisted.append(instance.id)

    event.listen(RdDoc, "load", on_load)
    event.listen(db.session, "loaded_as_persistent", on_persistent)
    try:
        doc = cached_doc(sql)
    finally:
        event.remove(RdDoc, "load", on_load)
        event.remove(db.session, "loaded_as_persistent", on_persistent)
    assert doc.loaded_title == "loaded first"
    assert loads[-1] == 1
    assert persisted[-1] == 1


def test_an_in_place_change_to_mutable_json_from_a_hit_is_saved(docs, sql):
    doc = cached_doc(sql)
    doc.data["b"] = 2
    doc.tags.append("y")
    db.session.commit()

    assert stored_doc(1) == ({"a": 1, "b": 2}, ["x", "y"])
    fresh_session()
    assert (RdDoc.cache.get(1).data, RdDoc.cache.get(1).tags) == ({"a": 1, "b": 2}, ["x", "y"])


def test_mutable_json_of_an_expired_object_refreshed_from_the_cache_is_tracked(docs, sql):
    doc = RdDoc.cache.get(1)
    db.session.commit()  # expires the object: the next get refreshes it from the cache
    sql.reset()
    assert RdDoc.cache.get(1) is doc
    assert len(sql) == 0
    doc.data["c"] = 3
    db.session.commit()
    assert stored_doc(1).data == {"a": 1, "c": 3}


def test_listing_and_statement_hits_are_loaded_objects_too(docs, sql):
    RdDoc.cache.filter()
    statement = select(RdDoc).order_by(RdDoc.id).options(FromCache())
    db.session.scalars(statement).all()
    fresh_session()
    sql.reset()
    listed = RdDoc.cache.filter()
    fresh_session()
    selected = db.session.scalars(statement).all()
    assert len(sql) == 0
    for docs_hit in (listed, selected):
        assert [d.loaded_title for d in docs_hit] == ["loaded first", "loaded second"]
        assert all(isinstance(d.data, MutableDict) for d in docs_hit)
    selected[1].tags.append("z")
    db.session.commit()
    assert stored_doc(2).tags == ["z"]


def test_expressions_are_loaded_from_the_database_on_access(docs, sql):
    db.session.add(RdNote(doc_id=1))  # the count changes, the cached doc does not
    db.session.commit()
    fresh_session()
    doc = cached_doc(sql)

    assert (doc.title_length, doc.note_count) == (5, 2)
    assert len(sql) == 1  # one SELECT of the expired expressions


def test_deferred_columns_are_not_cached_and_load_on_access(docs, sql, region):
    doc = cached_doc(sql)
    _tokens, values = region.get("rd_doc.id[1]")
    assert "long text one" not in values
    assert "body" not in RdDoc.cache.info.names

    assert doc.body == "long text one"
    assert len(sql) == 1
    assert "body" in sql.statements[0] and "title" not in sql.statements[0].split("FROM")[0]
