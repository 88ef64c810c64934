"""``CacheableMixin`` and ``Model.cache``: read-through get and filter.

``User.cache.get(4)`` reads the object key ``user.id[4]``;
``User.cache.filter(views=3)`` reads the listing ``user.views=3[all]`` (the
primary keys) and then every object key in one ``get_multi``. Misses are
loaded with one SQL statement per call (the primary keys, then one ``IN``
for all missing objects) and stored with one ``set_multi``. Objects come
back attached to the session, exactly as a query would return them.

While the session's transaction has written a model's table, its reads
bypass the cache: the cache holds committed data only, and the session
must see its own writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from . import keys
from .attach import attach
from .extension import CachingState, current_state
from .invalidation import listen_mapper_events, written_tables
from .mapping import ModelInfo, info_for, register
from .query import FromCache
from .store import MISS, Lookup

IN_CHUNK = 500
ORDERS = ("asc", "desc")


class Cache:
    """The cache of one model: ``User.cache``."""

    def __init__(self, model: type) -> None:
        self.model = model

    @cached_property
    def info(self) -> ModelInfo:
        return info_for(self.model)

    @property
    def label(self) -> str:
        return self.model.cache_label

    # -- reads ------------------------------------------------------------

    def get(self, pk: Any) -> Any:
        """The object whose ``cache_pk`` is ``pk``, or None; no SQL on a hit."""
        info = self.info
        pk = info.coerce(info.require_pk(), pk)
        if not info.representable(info.pk, pk):
            return None
        state, session = self._begin()
        if info.pk_is_identity:
            existing = session.identity_map.get(info.identity_key_for_pk(pk))
            if existing is not None and _fully_loaded(info, existing):
                return existing
        pk_attribute = info.attributes[info.pk_index]
        if self._bypass(state, session):
            return session.scalars(select(self.model).where(pk_attribute == pk)).first()

        def use(values: list[Any] | None) -> Any:
            if values is None:
                return None
            if not self._valid(state, info.valid_row, values):
                return MISS
            return attach(session, info, dict(zip(info.keys, values)))

        def load() -> tuple[list[Any] | None, Any]:
            row = session.execute(select(*info.attributes).where(pk_attribute == pk)).first()
            values = None if row is None else list(row)
            return values, use(values)

        key = info.object_key(pk)
        return state.store(self.label).read_through(key, [keys.guard_key(key)], load, use)

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
        info = self.info
        if order_by not in ORDERS:
            raise ValueError(f"{info.name}.cache.filter: order_by must be 'asc' or 'desc', got {order_by!r}")
        start = _non_negative(info, "offset", offset) or 0
        count = _non_negative(info, "limit", limit)
        criteria = self._criteria(criteria)
        if not self._representable(criteria):
            return []
        state, session = self._begin()
        if self._bypass(state, session):
            pk_attribute = info.attributes[info.pk_index]
            order = pk_attribute.desc() if order_by == "desc" else pk_attribute.asc()
            stmt = select(self.model).filter_by(**criteria).order_by(order).offset(start).limit(count)
            return list(session.scalars(stmt))
        pks = self._pks(state, session, criteria)
        if order_by == "desc":
            pks = pks[::-1]
        pks = pks[start : None if count is None else start + count]
        objects = self._objects(state, session, pks)
        return [objects[p] for p in pks if p in objects]

    def count(self, **criteria: Any) -> int:
        """How many objects ``filter(**criteria)`` lists, from the cached listing alone."""
        criteria = self._criteria(criteria)
        if not self._representable(criteria):
            return 0
        state, session = self._begin()
        if self._bypass(state, session):
            return session.scalar(select(func.count()).select_from(self.model).filter_by(**criteria))
        return len(self._pks(state, session, criteria))

    def _pks(self, state: CachingState, session: Session, criteria: dict[str, Any]) -> list[Any]:
        """The listing: the ``cache_pk`` values matching ``criteria``, in ascending order."""
        pk_attribute = self.info.attributes[self.info.pk_index]

        def load() -> tuple[list[Any], list[Any]]:
            stmt = select(pk_attribute).filter_by(**criteria).order_by(pk_attribute)
            pks = list(session.scalars(stmt))
            return pks, pks

        def use(pks: Any) -> Any:
            return pks if self._valid(state, self.info.valid_listing, pks) else MISS

        key = self.info.listing_key(criteria)
        return state.store(self.label).read_through(key, [keys.guard_key(key)], load, use)

    def _objects(self, state: CachingState, session: Session, pks: Sequence[Any]) -> dict[Any, Any]:
        """Objects by pk: from the identity map, then the cache, then one IN query."""
        info = self.info
        store = state.store(self.label)
        found: dict[Any, Any] = {}
        wanted = []
        look_up = info.pk_is_identity and len(session.identity_map) > 0
        for pk in pks:
            existing = session.identity_map.get(info.identity_key_for_pk(pk)) if look_up else None
            if existing is not None and _fully_loaded(info, existing):
                found[pk] = existing
            else:
                wanted.append(pk)
        requests = [(k, [keys.guard_key(k)]) for k in map(info.object_key, wanted)]
        lookups = store.fetch(requests) if requests else []
        misses: list[tuple[Any, Lookup]] = []
        for pk, lookup in zip(wanted, lookups):
            if not lookup.hit or (
                lookup.data is not None and not self._valid(state, info.valid_row, lookup.data)
            ):
                misses.append((pk, lookup))
            elif lookup.data is not None:
                found[pk] = attach(session, info, dict(zip(info.keys, lookup.data)))
        if not misses:
            return found
        store.arm([lookup for _, lookup in misses])
        rows = self._rows_by_pk(session, [pk for pk, _ in misses])
        entries: dict[str, Any] = {}
        for pk, lookup in misses:
            values = rows.get(pk)
            entries.update(store.entry(lookup, values))
            if values is not None:
                found[pk] = attach(session, info, dict(zip(info.keys, values)))
        store.save(entries)
        return found

    def _rows_by_pk(self, session: Session, pks: list[Any]) -> dict[Any, list[Any]]:
        """Column values of the given objects: one IN query per 500 of them."""
        info = self.info
        pk_attribute = info.attributes[info.pk_index]
        rows = {}
        for i in range(0, len(pks), IN_CHUNK):
            stmt = select(*info.attributes).where(pk_attribute.in_(pks[i : i + IN_CHUNK]))
            rows.update((row[info.pk_index], list(row)) for row in session.execute(stmt))
        return rows

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
        if session.autoflush:
            session.flush()  # a no-op when clean, as before any query
        return state, session

    def _bypass(self, state: CachingState, session: Session) -> bool:
        return not state.enabled or self.info.table in written_tables(session)

    def _valid(self, state: CachingState, check: Any, data: Any) -> bool:
        """Is cached ``data`` of the shape this cache writes? Anything else (written by
        hand, or by another program) is read as a miss, counted as an error, and
        overwritten by the next load."""
        if check(data):
            return True
        state.stats[self.label].add(errors=1)
        return False

    def _representable(self, criteria: dict[str, Any]) -> bool:
        """False if a value cannot be in its column: then no row matches."""
        return all(self.info.representable(column, value) for column, value in criteria.items())

    def _criteria(self, criteria: dict[str, Any]) -> dict[str, Any]:
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
        return {column: info.coerce(column, value) for column, value in criteria.items()}


def _fully_loaded(info: ModelInfo, obj: Any) -> bool:
    return instance_state(obj).expired_attributes.isdisjoint(info.keys)


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


listen_mapper_events(CacheableMixin)
