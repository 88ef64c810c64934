"""``CacheableMixin`` and ``Model.cache``: read-through get and filter.

``User.cache.get(4)`` reads the object key ``user.id[4]``;
``User.cache.filter(views=3)`` reads the listing ``user.views=3[all]``, whose
value holds the rows themselves (their column values, in primary key order),
so a warm listing is one backend call for one value and its guard, as
cacheops stores a queryset. A page of it, ``filter(views=3, offset=20,
limit=20)``, is an entry of its own, ``user.views=3[all][20:40]``, and
``count(views=3)`` is ``user.views=3[all][count]``: all are guarded by the
listing's guard, so a write flushes every window of a listing with one key,
and no read or write moves more than the window it serves. A miss runs the
same query with ``LIMIT``/``OFFSET`` (or ``COUNT``) and stores its result.
Objects come back attached to the session, exactly as a query would return
them.

While the session's transaction has written a model's table, its reads
bypass the cache: the cache holds committed data only, and the session
must see its own writes.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from . import entries, keys
from .attach import attach, attach_all
from .canonical import ZONED_DIALECTS
from .context import CachingState, current_state
from .invalidation import writes_any
from .mapping import ModelInfo, info_for, register
from .pagination import CachePagination
from .query import FromCache
from .relationships import remember
from .statements import COUNT, OBJECTS, ROWS, Statements
from .store import MISS

ORDERS = ("asc", "desc")


class Cache:
    """The cache of one model: ``User.cache``."""

    def __init__(self, model: type) -> None:
        self.model = model

    @cached_property
    def info(self) -> ModelInfo:
        return info_for(self.model)

    @cached_property
    def statements(self) -> Statements:
        return Statements(self.info)

    @property
    def label(self) -> str:
        return self.model.cache_label

    # -- reads ------------------------------------------------------------

    def get(self, pk: Any) -> Any:
        """The object whose ``cache_pk`` is ``pk``, or None; no SQL on a hit."""
        info = self.info
        pk = info.criterion(info.require_pk(), pk)
        if not info.representable(info.pk, pk):
            return None
        state, session = self._begin()
        if info.pk_is_identity:
            existing = session.identity_map.get(info.identity_key_for_pk(pk))
            if existing is not None and _fully_loaded(info, existing):
                return existing
        if self._bypass(state, session):
            return session.scalars(*self.statements.one(OBJECTS, pk)).first()

        def use(data: Any) -> Any:
            if data is None:
                return None
            row = entries.object_row(info, data)
            return MISS if row is None else attach(session, info, row)

        def load() -> tuple[list[Any] | None, Any]:
            row = session.execute(*self.statements.one(ROWS, pk)).first()
            if row is None:
                return None, None
            values = list(row)
            return values, attach(session, info, values)

        key = info.object_key(pk)
        return state.region(self.label).store.read_through(key, [keys.guard_key(key)], load, use)

    def filter(
        self,
        order_by: str = "asc",
        offset: int | None = None,
        limit: int | None = None,
        **criteria: Any,
    ) -> list[Any]:
        """Objects matching ``column=value`` criteria, in primary key order.

        One column may be any column but the primary key; several columns
        must be declared in ``cache_filters``. ``order_by`` is ``"asc"`` or
        ``"desc"``; ``offset`` and ``limit`` page through the result.
        """
        return self._listing(order_by, offset, limit, criteria, counted=False)[0]

    def window(
        self,
        offset: int = 0,
        limit: int | None = None,
        order_by: str = "asc",
        **criteria: Any,
    ) -> tuple[list[Any], int]:
        """``filter(offset=, limit=, order_by=, **criteria)`` and ``count(**criteria)`` in one
        backend call when warm, and under one herd lock when not: what a list page and its
        pager need (both are guarded by the listing's guard)."""
        objects, total = self._listing(order_by, offset, limit, criteria, counted=True)
        assert total is not None
        return objects, total

    def paginate(
        self,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = 100,
        error_out: bool = True,
        count: bool = True,
        order_by: str = "asc",
        **criteria: Any,
    ) -> CachePagination:
        """Flask-SQLAlchemy's :class:`~flask_sqlalchemy.pagination.Pagination` of
        ``filter(order_by=, **criteria)``, read as :meth:`window`; ``page`` and ``per_page``
        default to the request's query arguments, as ``db.paginate`` does."""
        return CachePagination(
            page, per_page, max_per_page, error_out, count, cache=self, order_by=order_by, criteria=criteria
        )

    def count(self, **criteria: Any) -> int:
        """How many objects ``filter(**criteria)`` lists: one cached number, guarded with the listing."""
        state, session = self._begin()
        criteria = self._criteria(criteria, session)
        if not self._representable(criteria):
            return 0
        if self._bypass(state, session):
            return self._number(session, criteria)
        listing = self.info.listing_key(criteria)
        key = keys.count_key(listing)
        return state.region(self.label).store.read_through(
            key, [keys.guard_key(listing)], lambda: _counted(self._number(session, criteria)), _count
        )

    # -- flush and FromCache ----------------------------------------------

    def flush(self, *logical_keys: str) -> list[str]:
        """Delete keys by hand, through the same path as automatic invalidation."""
        return current_state().flush(self.label, list(logical_keys), model=self.model)

    def from_cache(self, cache_key: str | None = None) -> FromCache:
        """A ``FromCache`` option on this model's region."""
        return FromCache(self.label, cache_key)

    # -- helpers ------------------------------------------------------------

    def _begin(self) -> tuple[CachingState, Session]:
        state = current_state()
        session = state.db.session()
        if session.autoflush and not session._is_clean():
            session.flush()  # as before any query; asked first: flush() costs a clean session's read a call
        return state, session

    def _listing(
        self, order_by: str, offset: int | None, limit: int | None, criteria: dict[str, Any], counted: bool
    ) -> tuple[list[Any], int | None]:
        """A window of a listing, with the listing's count when ``counted``."""
        info = self.info
        if order_by not in ORDERS:
            raise ValueError(f"{info.name}.cache.filter: order_by must be 'asc' or 'desc', got {order_by!r}")
        start = _non_negative(info, "offset", offset) or 0
        count = _non_negative(info, "limit", limit)
        state, session = self._begin()
        criteria = self._criteria(criteria, session)
        if not self._representable(criteria):
            return [], 0 if counted else None

        def statement(what: str) -> tuple[Any, dict[str, Any]]:
            return self.statements.listing(what, criteria, order_by == "desc", start, count)

        if self._bypass(state, session):
            objects = list(session.scalars(*statement(OBJECTS)))
            return objects, self._number(session, criteria) if counted else None
        listing = info.listing_key(criteria)
        stop = None if count is None else start + count
        key = keys.window_key(listing, start, stop, descending=order_by == "desc")
        guards = [keys.guard_key(listing)]

        def attached(rows: list[list[Any]]) -> list[Any]:
            objects = attach_all(session, info, rows)
            remember(session, objects)  # a lazy load on one of them loads it on all
            return objects

        def use(data: Any) -> Any:
            rows = entries.rows(info, data)
            return MISS if rows is None else attached(rows)

        def load() -> tuple[list[list[Any]], list[Any]]:
            rows = [list(row) for row in session.execute(*statement(ROWS))]
            return rows, attached(rows)

        store = state.region(self.label).store
        if not counted:
            return store.read_through(key, guards, load, use), None
        total = keys.count_key(listing)

        def load_missing(missing: list[str]) -> dict[str, tuple[Any, Any]]:
            loaded = {key: load()} if key in missing else {}
            if total in missing:
                loaded[total] = _counted(self._number(session, criteria))
            return loaded

        values = store.read_together([(key, guards, use), (total, guards, _count)], load_missing)
        return values[key], values[total]

    def _number(self, session: Session, criteria: dict[str, Any]) -> int:
        """How many objects the listing of ``criteria`` holds, counted by the database."""
        return session.scalar(*self.statements.listing(COUNT, criteria))

    def _bypass(self, state: CachingState, session: Session) -> bool:
        return not state.enabled or writes_any(session, (self.info.table,))

    def _representable(self, criteria: dict[str, Any]) -> bool:
        """False if a value cannot be in its column: then no row matches."""
        return all(self.info.representable(column, value) for column, value in criteria.items())

    def _criteria(self, criteria: dict[str, Any], session: Session) -> dict[str, Any]:
        info = self.info
        info.require_pk()
        for column in criteria:
            info.require_column(column)
        if info.pk in criteria:
            raise ValueError(f"{info.name}.cache.filter: use {info.name}.cache.get() to look up by {info.pk}")
        if len(criteria) > 1 and frozenset(criteria) not in info.filter_sets:
            declared = ", ".join(str(tuple(sorted(s))) for s in info.filter_sets) or "none"
            raise ValueError(
                f"{info.name}.cache.filter: columns {tuple(sorted(criteria))} are not declared in "
                f"{info.name}.cache_filters (declared: {declared})"
            )
        # the bind is asked only for a zoned column: no other criterion depends on it, and asking costs a read
        zones = not info.zoned.isdisjoint(criteria) and (
            session.get_bind(mapper=info.mapper).dialect.name in ZONED_DIALECTS
        )
        return {column: info.criterion(column, value, zones) for column, value in criteria.items()}


def _count(data: Any) -> Any:
    return data if type(data) is int and data >= 0 else MISS


def _counted(number: int) -> tuple[int, int]:
    return number, number


def _fully_loaded(info: ModelInfo, obj: Any) -> bool:
    return instance_state(obj).expired_attributes.isdisjoint(info.names)


def _non_negative(info: ModelInfo, name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{info.name}.cache.filter: {name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{info.name}.cache.filter: {name} must be >= 0, got {value}")
    return value


class _CacheDescriptor:
    """``Model.cache``: one :class:`Cache` per model class, made on first use."""

    def __get__(self, obj: Any, owner: type) -> Cache:
        cache = owner.__dict__.get("_cache_instance")
        if cache is None:
            cache = Cache(owner)
            type.__setattr__(owner, "_cache_instance", cache)
        return cache


class CacheableMixin:
    """Opt a model into the cache: ``class User(CacheableMixin, db.Model)``.

    Class attributes: ``cache_label`` (region, default ``"default"``),
    ``cache_pk`` (the unique column naming objects in keys, default the
    primary key) and ``cache_filters`` (column sets allowed together in
    ``filter``, e.g. ``[("user_id", "email")]``).
    """

    cache_label: ClassVar[str] = "default"
    cache: ClassVar[_CacheDescriptor] = _CacheDescriptor()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register(cls)
