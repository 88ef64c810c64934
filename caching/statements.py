"""A model's statements (an object by key, a listing, a count), built once per shape and run
with bound values.

Building ``select(...).filter_by(...).order_by(...).offset(...).limit(...)``
and its ``COUNT`` costs 0.1-0.3 ms, as much as SQLite takes to run them. A
statement depends only on the listing's shape: which columns are compared,
which of them to NULL (``IS NULL``, as ``filter_by(column=None)`` reads), the
order and whether it has a ``LIMIT``. So each shape is built once per model,
its values bound as parameters, and a miss (or a read that bypasses the
cache) only runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from .mapping import ModelInfo

OFFSET, LIMIT, PK = "window_offset", "window_limit", "pk"  # criteria's parameters are numbered: no clash
ROWS, OBJECTS, COUNT = "rows", "objects", "count"  # what it selects: column values, instances, a count


class Statements:
    """One model's statements, by shape."""

    def __init__(self, info: ModelInfo) -> None:
        self._model = info.mapper.class_
        self._info = info
        self._built: dict[tuple[Any, ...], Select[Any]] = {}

    def listing(
        self,
        what: str,
        criteria: Mapping[str, Any],
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[Select[Any], dict[str, Any]]:
        """The statement selecting ``what`` (:data:`ROWS`, :data:`OBJECTS` or :data:`COUNT`) of
        the listing of ``criteria``, ordered by primary key, and the parameters to run it with."""
        names = sorted(criteria)
        nulls = frozenset(name for name in names if criteria[name] is None)
        shape = (what, tuple(names), nulls, descending, limit is not None)
        statement = self._get(shape, lambda: self._build(*shape))
        params = {f"criterion_{i}": criteria[name] for i, name in enumerate(names) if name not in nulls}
        if what != COUNT:
            params[OFFSET] = offset
            if limit is not None:
                params[LIMIT] = limit
        return statement, params

    def one(self, what: str, pk: Any) -> tuple[Select[Any], dict[str, Any]]:
        """The statement selecting ``what`` (:data:`ROWS` or :data:`OBJECTS`) of the object whose
        ``cache_pk`` is ``pk``, and its parameters."""
        return self._get((what, PK), lambda: self._build_one(what)), {PK: pk}

    def _build_one(self, what: str) -> Select[Any]:
        info = self._info
        entities = info.attributes if what == ROWS else (self._model,)
        return select(*entities).where(info.attributes[info.pk_index] == bindparam(PK))

    def _get(self, shape: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
        statement = self._built.get(shape)
        if statement is None:
            statement = self._built[shape] = build()
        return statement

    def _build(
        self, what: str, names: tuple[str, ...], nulls: frozenset[str], descending: bool, limited: bool
    ) -> Select[Any]:
        info = self._info
        attribute = {name: info.attributes[info.index[name]] for name in names}
        where = [
            attribute[name].is_(None) if name in nulls else attribute[name] == bindparam(f"criterion_{i}")
            for i, name in enumerate(names)
        ]
        if what == COUNT:
            return select(func.count()).select_from(self._model).where(*where)
        pk = info.attributes[info.pk_index]
        entities = info.attributes if what == ROWS else (self._model,)
        statement = select(*entities).where(*where).order_by(pk.desc() if descending else pk.asc())
        statement = statement.offset(bindparam(OFFSET))
        return statement.limit(bindparam(LIMIT)) if limited else statement
