"""What the cache needs to know about a mapped class, computed once.

A :class:`ModelInfo` lists the column attributes whose values are cached (in
mapper order), the column that names objects in keys (``cache_pk``), the
column sets declared for several-column filters, and a fingerprint of the
columns that namespaces the model's keys, so entries written by an older
shape of the model are never read.
"""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.base import LoaderCallableStatus

from . import keys

_CONVERTIBLE = (int, float, decimal.Decimal, str)
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
        self.table = mapper.local_table.name
        props = [p for p in mapper.column_attrs if isinstance(p.columns[0], Column)]
        self.keys: tuple[str, ...] = tuple(p.key for p in props)
        self.attributes = tuple(getattr(cls, k) for k in self.keys)
        self.columns: dict[str, Column[Any]] = {p.key: p.columns[0] for p in props}
        self.index = {k: i for i, k in enumerate(self.keys)}
        primary = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        self.identity_indexes = tuple(self.index[k] for k in primary)
        self.pk = getattr(cls, "cache_pk", None) or (primary[0] if len(primary) == 1 else None)
        if self.pk is not None and self.pk not in self.index:
            raise TypeError(f"{self.name}.cache_pk names {self.pk!r}, which is not a column")
        self.pk_index = self.index.get(self.pk) if self.pk else None
        self.pk_is_identity = [self.pk] == primary
        self.filter_sets = self._declared_filter_sets(getattr(cls, "cache_filters", ()))
        self._integer_limits = {k: _integer_limit(c) for k, c in self.columns.items() if _integer_limit(c)}
        self._value_types = tuple(_value_type(self.columns[k]) for k in self.keys)
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
        shape = "|".join(f"{k}:{self.columns[k].name}:{self.columns[k].type!r}" for k in self.keys)
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
                f"{self.name} has no column {column!r}; columns: {', '.join(self.keys)}"
            ) from None

    def coerce(self, column: str, value: Any) -> Any:
        """Convert ``value`` to the column's Python type so keys match on write."""
        if value is None:
            return None
        try:
            python_type = self.require_column(column).type.python_type
        except NotImplementedError:
            return value
        if isinstance(value, python_type) and not (python_type is int and isinstance(value, bool)):
            return value
        converted = _convert(python_type, value)
        if converted is None:
            raise TypeError(
                f"{self.name}.{column} expects {python_type.__name__}, got {type(value).__name__} {value!r}"
            )
        return converted

    def representable(self, column: str, value: Any) -> bool:
        """Can the column hold ``value``? An id beyond an INTEGER's range names no row,
        and asking the database about it is an error (PostgreSQL) or an overflow (SQLite)."""
        limit = self._integer_limits.get(column)
        return limit is None or not isinstance(value, int) or -limit <= value < limit

    def valid_row(self, data: Any) -> bool:
        """Is ``data`` the cached column values of one object (a list in ``keys`` order,
        each None or of its column's type)? Anything else in the backend is not ours."""
        if not isinstance(data, list) or len(data) != len(self.keys):
            return False
        return all(
            value is None or kind is None or isinstance(value, kind)
            for value, kind in zip(data, self._value_types)
        )

    def valid_listing(self, data: Any) -> bool:
        """Is ``data`` a cached listing: a list of ``cache_pk`` values?"""
        kind = self._value_types[self.index[self.require_pk()]] or (int, str)
        return isinstance(data, list) and all(isinstance(pk, kind) for pk in data)

    # -- keys -------------------------------------------------------------

    def object_key(self, pk: Any) -> str:
        return keys.object_key(self.table, self.require_pk(), pk)

    def all_key(self) -> str:
        return keys.all_key(self.table, self.require_pk())

    def listing_key(self, criteria: Mapping[str, Any]) -> str:
        return keys.listing_key(self.table, criteria) if criteria else self.all_key()

    # -- values -----------------------------------------------------------

    def identity_key(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return self.mapper.identity_key_from_primary_key([values[i] for i in self.identity_indexes])

    def identity_key_for_pk(self, pk: Any) -> tuple[Any, ...]:
        return self.mapper.identity_key_from_primary_key([pk])


def _convert(python_type: type, value: Any) -> Any:
    """Lossless conversion between numbers and strings, else None."""
    if python_type is bool:
        return bool(value) if isinstance(value, int) and value in (0, 1) else None
    if python_type not in _CONVERTIBLE or not isinstance(value, _CONVERTIBLE) or isinstance(value, bool):
        return None
    try:
        converted = python_type(value)
    except (ValueError, TypeError, ArithmeticError):
        return None
    if python_type is not str and not isinstance(value, str) and converted != value:
        return None  # int(3.5) would truncate
    return converted


def _integer_limit(column: Column[Any]) -> int | None:
    for kind, bits in _INTEGER_BITS:
        if isinstance(column.type, kind):
            return 2 ** (bits - 1)
    return None


def _value_type(column: Column[Any]) -> type | tuple[type, ...] | None:
    """What a cached value of ``column`` must be an instance of (None: not checked)."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    if python_type is float:
        return (float, int)
    if python_type in (int, str, bool, bytes, decimal.Decimal) or python_type.__module__ == "datetime":
        return python_type
    return None  # JSON, pickles, enums...: whatever the database returned


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


_cacheable: list[type] = []
_by_table: dict[str, type] = {}


def register(cls: type) -> None:
    """Record a class that opted in with ``CacheableMixin``."""
    _cacheable.append(cls)
    _by_table.clear()


def model_for_table(table: str) -> type | None:
    """The cacheable model stored in ``table``, if any."""
    if not _by_table and _cacheable:
        for cls in _cacheable:
            name = getattr(getattr(cls, "__table__", None), "name", None)
            if name is not None:
                _by_table.setdefault(name, cls)
    return _by_table.get(table)
