"""Cached reads against the same query without the cache, compared by value.

A :class:`Read` pairs a cached read (``Model.cache.get``, ``filter``,
``count``, a ``FromCache`` statement) with the plain SQLAlchemy query that
must give the same answer. Answers are compared as column values (mapped
instances become their class name and table-column values, rows their
cells, results their keys and rows), never by object identity, and with
each value's type, so ``Decimal("1.10")`` is not ``1.1``, ``True`` is not ``1``
and ``Status.ACTIVE`` is not ``"active"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Column, Select, func, inspect, select
from sqlalchemy.engine import Result, Row
from sqlalchemy.orm import Session

from caching import FromCache
from tests.shop.models import db

# the uncached side reads the database even where the session holds the object already
FRESH = {"populate_existing": True}


@dataclass(frozen=True)
class Read:
    """One cached read (run in the request's session) and its uncached twin."""

    name: str
    cached: Callable[[], Any]
    direct: Callable[[Session], Any]


def get(model: type, pk: Any) -> Read:
    """``model.cache.get(pk)`` against a SELECT by the ``cache_pk`` column."""
    column = getattr(model, model.cache.info.pk)
    return Read(
        f"{model.__name__}.cache.get({pk!r})",
        lambda: snapshot(model.cache.get(pk)),
        lambda session: snapshot(
            session.scalars(select(model).where(column == pk), execution_options=FRESH).first()
        ),
    )


def listing(
    model: type, order_by: str = "asc", offset: int | None = None, limit: int | None = None, **criteria: Any
) -> Read:
    """``model.cache.filter(...)`` against the same SELECT, in ``cache_pk`` order."""
    column = getattr(model, model.cache.info.pk)
    order = column.desc() if order_by == "desc" else column.asc()
    stmt = select(model).filter_by(**criteria).order_by(order).offset(offset).limit(limit)
    paging = {"order_by": order_by, "offset": offset, "limit": limit}
    arguments = _arguments({**criteria, **{k: v for k, v in paging.items() if v not in (None, "asc")}})
    return Read(
        f"{model.__name__}.cache.filter({arguments})",
        lambda: snapshot(model.cache.filter(order_by=order_by, offset=offset, limit=limit, **criteria)),
        lambda session: snapshot(session.scalars(stmt, execution_options=FRESH).all()),
    )


def count(model: type, **criteria: Any) -> Read:
    """``model.cache.count(...)`` against ``SELECT count(*)``."""
    stmt = select(func.count()).select_from(model).filter_by(**criteria)
    return Read(
        f"{model.__name__}.cache.count({_arguments(criteria)})",
        lambda: model.cache.count(**criteria),
        lambda session: session.scalar(stmt),
    )


def window(model: type, offset: int = 0, limit: int | None = None, **criteria: Any) -> Read:
    """``model.cache.window(...)`` against the page's SELECT and ``SELECT count(*)``."""
    column = getattr(model, model.cache.info.pk)
    page = select(model).filter_by(**criteria).order_by(column).offset(offset).limit(limit)
    total = select(func.count()).select_from(model).filter_by(**criteria)

    def cached() -> Any:
        objects, number = model.cache.window(offset, limit, **criteria)
        return snapshot(objects), number

    def uncached(session: Session) -> Any:
        return snapshot(session.scalars(page, execution_options=FRESH).all()), session.scalar(total)

    arguments = _arguments({"offset": offset, "limit": limit, **criteria})
    return Read(f"{model.__name__}.cache.window({arguments})", cached, uncached)


def related(model: type, attribute: str) -> Read:
    """``attribute`` of every object ``model.cache.filter()`` lists (lazy loads through the
    cache, batched) against the same lazy loads in a plain session. A relationship with no
    ``order_by`` has no order: both sides are compared in primary key order."""
    pk = getattr(model, model.cache.info.pk)
    ordered = bool(getattr(model, attribute).property.order_by)

    def values(objects: Sequence[Any]) -> list[Any]:
        out = []
        for obj in objects:
            value = getattr(obj, attribute)
            if isinstance(value, list) and not ordered:
                value = sorted(value, key=lambda o: inspect(o).identity)
            out.append(snapshot(value))
        return out

    return Read(
        f"{model.__name__}.{attribute} of every {model.__name__}",
        lambda: values(model.cache.filter()),
        lambda session: values(session.scalars(select(model).order_by(pk), execution_options=FRESH).all()),
    )


def statement(stmt: Select[Any], name: str | None = None) -> Read:
    """``session.execute(stmt)`` with and without ``FromCache``: keys and rows."""
    return Read(
        name or f"FromCache: {' '.join(str(stmt).split())}",
        lambda: snapshot(db.session.execute(stmt.options(FromCache("default")))),
        lambda session: snapshot(session.execute(stmt, execution_options=FRESH)),
    )


def eager(stmt: Select[Any], name: str) -> Read:
    """A ``FromCache`` statement with loader options: each entity with every relationship its
    options loaded (as far as they go), against the same statement without the cache."""

    def view(objects: Sequence[Any]) -> list[Any]:
        return [loaded_tree(obj) for obj in objects]

    return Read(
        f"FromCache: {name}",
        lambda: view(db.session.scalars(stmt.options(FromCache("default"))).unique().all()),
        lambda session: view(session.scalars(stmt, execution_options=FRESH).unique().all()),
    )


def loaded_tree(obj: Any, seen: frozenset[int] = frozenset()) -> Any:
    """``obj``'s snapshot and, for each relationship loaded on it, what it holds (collections
    without an ``order_by`` in primary key order), down the tree; an object met again on its
    own path is not followed back."""
    state = inspect(obj)
    tree = {}
    for relationship in state.mapper.relationships:
        if relationship.key not in state.dict or id(obj) in seen:
            continue
        value = state.dict[relationship.key]
        if relationship.uselist:
            members = list(value)
            if not relationship.order_by:
                members.sort(key=lambda o: inspect(o).identity)
            tree[relationship.key] = [loaded_tree(m, seen | {id(obj)}) for m in members]
        else:
            tree[relationship.key] = None if value is None else loaded_tree(value, seen | {id(obj)})
    return snapshot(obj), tree


def differences_from_database(reads: Sequence[Read]) -> list[str]:
    """Each read that differs: cached in a request of its own vs one fresh plain session."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with Session(db.engine) as session:
        expected = [read.direct(session) for read in reads]
    out = []
    for read, want in zip(reads, expected):
        with app.app_context():  # another request: an empty session, the cache only
            actual = read.cached()
        if actual != want:
            out.append(f"{read.name}:\n    cached   {actual!r}\n    database {want!r}")
    return out


def differences_in_session(reads: Sequence[Read]) -> list[str]:
    """Each read that differs, both sides in this request's session and transaction."""
    out = []
    for read in reads:
        actual = read.cached()
        expected = read.direct(db.session())
        if actual != expected:
            out.append(
                f"{read.name} (in the transaction):\n    cached   {actual!r}\n    session  {expected!r}"
            )
    return out


def assert_matches_database(*reads: Read) -> None:
    """After a commit: every cached read answers what the database answers."""
    wrong = differences_from_database(reads)
    if wrong:
        raise AssertionError("cached reads differ from the database:\n" + "\n".join(wrong))


def assert_matches_session(*reads: Read) -> None:
    """Inside a transaction: every cached read sees the transaction's own writes."""
    wrong = differences_in_session(reads)
    if wrong:
        raise AssertionError("cached reads differ from the session's own queries:\n" + "\n".join(wrong))


def snapshot(value: Any) -> Any:
    """A comparable copy of a read's answer: values with their types, no identities."""
    if isinstance(value, Result):
        return tuple(value.keys()), [snapshot(row) for row in value]
    if isinstance(value, Row):
        return tuple(snapshot(cell) for cell in value)
    if isinstance(value, list | tuple):
        return [snapshot(item) for item in value]
    if isinstance(value, Mapping):
        return {key: snapshot(item) for key, item in value.items()}
    mapper = getattr(inspect(value, raiseerr=False), "mapper", None)
    if mapper is not None:
        return type(value).__name__, {key: snapshot(getattr(value, key)) for key in table_columns(mapper)}
    return value if type(value) in _PLAIN else (type(value).__name__, value)


_PLAIN = (int, str, type(None))  # shown bare; any other type is shown with its value


def table_columns(mapper: Any) -> list[str]:
    """The attributes mapped to table columns (not SQL expressions)."""
    return [p.key for p in mapper.column_attrs if all(isinstance(c, Column) for c in p.columns)]


def _arguments(criteria: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in criteria.items())
