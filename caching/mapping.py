"""What the cache needs to know about a mapped class, computed once.

A :class:`ModelInfo` lists the column attributes whose values are cached (in
mapper order), the column that names objects in keys (``cache_pk``), the
column sets declared for several-column filters, and a fingerprint of the
columns that namespaces the model's keys, so entries written by an older
shape of the model are never read.

Only plain table columns that queries load are cached. Deferred columns are
left to their loader, as a query leaves them; attributes a query loads but
the cache cannot hold (``column_property`` expressions, whose value depends
on other rows) are listed in ``unloaded``: a cached object has them expired,
so reading them runs SQL rather than answering None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Column, Enum, Integer, SmallInteger, inspect
from sqlalchemy.orm import ColumnProperty, Mapper
from sqlalchemy.orm.base import LoaderCallableStatus

from . import keys
from .canonical import Canonical, canonical_for
from .serialize import register_enum

# the widest integer each column type promises to hold (SQL's SMALLINT, INTEGER, BIGINT)
_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


class ModelInfo:
    """Column layout and key naming for one mapped class."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        cls = mapper.class_
        self.mapper = mapper
        self.model = cls
        self.name = cls.__name__
        self.class_path = f"{cls.__module__}.{cls.__qualname__}"
        self.table = mapper.local_table.fullname  # schema-qualified: a.item and b.item differ
        loaded = [p for p in mapper.column_attrs if _loaded_by_queries(p)]
        props = [p for p in loaded if isinstance(p.columns[0], Column)]
        self.names: tuple[str, ...] = tuple(p.key for p in props)  # attribute names, in mapper order
        self.unloaded: tuple[str, ...] = tuple(p.key for p in loaded if p not in props)
        self.attributes = tuple(getattr(cls, k) for k in self.names)
        self.columns: dict[str, Column[Any]] = {p.key: p.columns[0] for p in props}
        self.index = {k: i for i, k in enumerate(self.names)}
        self._canonical: dict[str, Canonical] = {
            k: canonical_for(f"{self.name}.{k}", c) for k, c in self.columns.items()
        }
        # the columns a criterion on which means something else where the database keeps zones
        self.zoned = frozenset(k for k, c in self._canonical.items() if c.zoned)
        for column in self.columns.values():
            if isinstance(column.type, Enum) and column.type.enum_class is not None:
                register_enum(column.type.enum_class)  # cached as members, read back as members
        primary = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        self.identity_indexes = tuple(self.index[k] for k in primary)
        # a row's primary key picked in C (a comprehension per row is a call per row): from a list of
        # values or from values by name; one column gives its value, several a tuple
        self.identity_by_index = itemgetter(*self.identity_indexes)
        self.identity_by_name = itemgetter(*primary)
        self.pk = getattr(cls, "cache_pk", None) or (primary[0] if len(primary) == 1 else None)
        if self.pk is not None and self.pk not in self.index:
            raise TypeError(f"{self.name}.cache_pk names {self.pk!r}, which is not a column")
        self.pk_index = self.index.get(self.pk) if self.pk else None
        self.pk_is_identity = [self.pk] == primary
        self.filter_sets = self._declared_filter_sets(getattr(cls, "cache_filters", ()))
        self._integer_limits = {k: _integer_limit(c) for k, c in self.columns.items() if _integer_limit(c)}
        self.fingerprint = self._fingerprint()

    def _declared_filter_sets(self, declared: Sequence[Sequence[str]]) -> tuple[frozenset[str], ...]:
        sets = []
        for columns in declared:
            columns = (columns,) if isinstance(columns, str) else tuple(columns)
            for column in columns:
                self.require_column(column)
            if len(columns) > 1:
                sets.append(frozenset(columns))
        return tuple(sets)

    def _fingerprint(self) -> str:
        shape = "|".join(f"{k}:{self.columns[k].name}:{self.columns[k].type!r}" for k in self.names)
        return hashlib.blake2b(f"{self.table}|{shape}".encode(), digest_size=4).hexdigest()

    # -- validation -------------------------------------------------------

    def require_pk(self) -> str:
        if self.pk is None:
            raise TypeError(f"{self.name} has a composite primary key; set cache_pk to a unique column")
        return self.pk

    def require_column(self, column: str) -> Column[Any]:
        try:
            return self.columns[column]
        except KeyError:
            raise TypeError(
                f"{self.name} has no column {column!r}; columns: {', '.join(self.names)}"
            ) from None

    def coerce(self, column: str, value: Any) -> Any:
        """``value`` in the column's canonical form, so written values and criteria share keys."""
        return None if value is None else self._canonical_of(column).coerce(value)

    def criterion(self, column: str, value: Any, zones: bool = True) -> Any:
        """A filter's value in canonical form; refuses one the database would compare otherwise
        (``zones``: whether the database keeps datetimes' zones)."""
        return None if value is None else self._canonical_of(column).criterion(value, zones)

    def _canonical_of(self, column: str) -> Canonical:
        try:
            return self._canonical[column]
        except KeyError:
            self.require_column(column)  # raises the error naming the columns
            raise

    def representable(self, column: str, value: Any) -> bool:
        """Can the column hold ``value``? An id beyond an INTEGER's range names no row,
        and asking the database about it is an error (PostgreSQL) or an overflow (SQLite)."""
        limit = self._integer_limits.get(column)
        return limit is None or not isinstance(value, int) or -limit <= value < limit

    # -- keys -------------------------------------------------------------

    def object_key(self, pk: Any) -> str:
        return keys.object_key(self.table, self.require_pk(), pk)

    def all_key(self) -> str:
        return keys.all_key(self.table, self.require_pk())

    def listing_key(self, criteria: Mapping[str, Any]) -> str:
        return keys.listing_key(self.table, criteria) if criteria else self.all_key()

    # -- values -----------------------------------------------------------

    def identity(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """The primary key values of a row of column values, in the table's order."""
        return tuple(values[i] for i in self.identity_indexes)

    def identity_key(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return self.mapper.identity_key_from_primary_key([values[i] for i in self.identity_indexes])

    def identity_key_for_pk(self, pk: Any) -> tuple[Any, ...]:
        return self.mapper.identity_key_from_primary_key([pk])


def _loaded_by_queries(prop: ColumnProperty[Any]) -> bool:
    """A column attribute a plain query loads: not deferred, not a ``query_expression``."""
    return ("deferred", False) in prop.strategy_key


def _integer_limit(column: Column[Any]) -> int | None:
    for kind, bits in _INTEGER_BITS:
        if isinstance(column.type, kind):
            return 2 ** (bits - 1)
    return None


def is_unknown(value: Any) -> bool:
    """True for the ORM's markers of a value it has not loaded."""
    return isinstance(value, LoaderCallableStatus)


_infos: dict[type, ModelInfo] = {}


def info_for(cls: type) -> ModelInfo:
    """The (memoized) :class:`ModelInfo` of a mapped class."""
    info = _infos.get(cls)
    if info is None:
        info = _infos[cls] = ModelInfo(inspect(cls))
    return info


_cacheable: dict[type, None] = {}  # an ordered set


def register(cls: type) -> None:
    """Record a class that opted in with ``CacheableMixin``."""
    _cacheable[cls] = None


def cacheable(cls: type) -> bool:
    """Whether ``cls`` opted in with ``CacheableMixin``."""
    return cls in _cacheable


def cacheable_models() -> tuple[type, ...]:
    """Every class that opted in, in every app of the process, oldest first."""
    return tuple(_cacheable)


def registered() -> int:
    """How many classes opted in so far: an index built from them is current while this holds."""
    return len(_cacheable)
