"""Column values in the one form the database compares them in.

A key names a value, so two values the database finds equal must give the
same key, whether they come from a filter's criteria or from a write. Each
column gets a :class:`Canonical` converter from its type:

- ``Enum(Status)`` columns hold members: a member or a persisted string
  (the name, or what ``values_callable`` returns) becomes the member; any
  other string is refused, since SQL would compare it and find nothing.
- Other columns hold plain values: a ``str``/``int`` Enum mixin becomes the
  string or int the driver sends (``Status.ACTIVE`` is ``"active"``), and a
  plain Enum, which no driver sends as such, is refused.
- ``Numeric``: a float becomes the Decimal of its shortest repr
  (``0.1`` is ``Decimal("0.1")``, as the database compares it) and is rounded
  to the column's scale, as the database stores it.
- ``DateTime(timezone=True)``: values are instants, kept in UTC; a naive value
  is taken as UTC (SQLite reads them back naive). A filter on such a column
  needs an aware value where the database keeps zones (a naive one would be
  read in the session's zone), and on SQLite, which keeps the wall-clock time
  and drops the offset, a naive or UTC one.

:meth:`Canonical.coerce` is the form a stored value has, used for written
values and criteria alike; it raises TypeError only (the write side keeps
a value that will not coerce as it is). :meth:`Canonical.criterion` also
refuses, with ValueError, what the database would compare otherwise than it
stores: more decimal places than the column's scale, and datetimes whose
zone the database would guess (naive on a ``timezone=True`` column, aware on
a naive one).
"""

from __future__ import annotations

import datetime
import decimal
import enum
from typing import Any

from sqlalchemy import Column, DateTime, Enum, Numeric

_CONVERTIBLE = (int, float, decimal.Decimal, str)
ZONED_DIALECTS = frozenset({"postgresql", "oracle", "mssql"})
"""Where ``DateTime(timezone=True)`` keeps the zone; others (SQLite, MySQL) keep wall-clock times."""


class Canonical:
    """The canonical form of one column's values."""

    zoned = False  # does criterion() depend on whether the database keeps zones?

    def __init__(self, name: str, column: Column[Any]) -> None:
        self.name = name
        self.type = column.type
        try:
            self.python_type: type | None = column.type.python_type
        except NotImplementedError:
            self.python_type = None

    def coerce(self, value: Any) -> Any:
        """``value`` as the database stores it; TypeError for a value of another kind."""
        if value is None or type(value) is self.python_type:
            return value
        return self._convert(value)

    def criterion(self, value: Any, zones: bool = True) -> Any:
        """``value`` as a filter compares it; ValueError where the database would compare otherwise.

        ``zones``: whether the database keeps a datetime's zone (PostgreSQL's
        ``timestamptz``) or only its wall-clock time (SQLite).
        """
        return self.coerce(value)

    def _convert(self, value: Any) -> Any:
        expected = self.python_type
        if isinstance(value, enum.Enum):
            value = self._unwrap(value)
        if expected is None or (isinstance(value, expected) and not _is_bool_for_number(expected, value)):
            return value
        converted = _convert(expected, value)
        if converted is None:
            raise self._wrong_kind(value)
        return converted

    def _unwrap(self, member: enum.Enum) -> Any:
        """The plain value a driver sends for an Enum member: its str/int mixin's content."""
        if isinstance(member, str):
            return str.__str__(member)
        if isinstance(member, int):
            return int.__int__(member)
        raise TypeError(
            f"{self.name} is not an Enum column: give {member!r}'s value, not the member "
            f"(no driver sends a plain Enum member as the value)"
        )

    def _wrong_kind(self, value: Any) -> TypeError:
        expected = self.python_type.__name__ if self.python_type else type(self.type).__name__
        return TypeError(f"{self.name} expects {expected}, got {type(value).__name__} {value!r}")


class _EnumColumn(Canonical):
    """``Enum(SomeEnum)``: members; persisted strings name them."""

    def __init__(self, name: str, column: Column[Any]) -> None:
        super().__init__(name, column)
        self.members = {db_value: self.type._object_value_for_elem(db_value) for db_value in self.type.enums}

    def _convert(self, value: Any) -> Any:
        if isinstance(value, self.python_type):
            return value
        try:
            return self.members[value]
        except (KeyError, TypeError):
            allowed = ", ".join(self.members)
            raise TypeError(
                f"{self.name}: {value!r} is not a {self.python_type.__name__} member "
                f"nor one of its stored values ({allowed})"
            ) from None


class _NumericColumn(Canonical):
    """``Numeric(precision, scale)`` returning Decimals."""

    def __init__(self, name: str, column: Column[Any]) -> None:
        super().__init__(name, column)
        scale = self.type.scale
        self.quantum = None if scale is None else decimal.Decimal(1).scaleb(-scale)

    def coerce(self, value: Any) -> Any:
        value = self._decimal(value)
        if self.quantum is None or value is None or not value.is_finite():
            return value
        try:
            return value.quantize(self.quantum, rounding=decimal.ROUND_HALF_UP)
        except decimal.InvalidOperation:  # more digits than any precision: the database refuses it
            return value

    def criterion(self, value: Any, zones: bool = True) -> Any:
        exact = self._decimal(value)
        stored = self.coerce(exact)
        if exact is not None and exact.is_finite() and stored != exact:
            raise ValueError(
                f"{self.name} keeps {-self.quantum.as_tuple().exponent} decimal places: {value!r} "
                f"is stored as {stored} and compares equal to no stored value; round it first"
            )
        return stored

    def _decimal(self, value: Any) -> decimal.Decimal | None:
        if value is None or type(value) is decimal.Decimal:
            return value
        if isinstance(value, float) and not isinstance(value, enum.Enum):
            return decimal.Decimal(repr(value))  # the shortest repr: 0.1, not 0.1000000000000000055...
        return super()._convert(value)


class _DateTimeColumn(Canonical):
    """``DateTime``: instants in UTC when the column keeps a zone, wall-clock times when not."""

    def __init__(self, name: str, column: Column[Any]) -> None:
        super().__init__(name, column)
        self.timezone = self.zoned = bool(self.type.timezone)

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, datetime.datetime):
            return super().coerce(value)
        if not self.timezone:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)

    def criterion(self, value: Any, zones: bool = True) -> Any:
        if isinstance(value, datetime.datetime) and self.timezone and not zones:
            # the database keeps the wall-clock time and drops the offset: only UTC compares as stored
            if value.utcoffset() not in (None, datetime.timedelta(0)):
                raise ValueError(
                    f"{self.name}: this database keeps a datetime's wall-clock time and drops its zone, "
                    f"so {value.isoformat()} compares as {value.replace(tzinfo=None).isoformat()}; "
                    "give the time in UTC"
                )
            return self.coerce(value)
        if isinstance(value, datetime.datetime) and (value.tzinfo is None) == self.timezone:
            given, column, wanted = (
                ("a naive", "DateTime(timezone=True)", "an aware")
                if self.timezone
                else ("an aware", "DateTime", "a naive")
            )
            raise ValueError(
                f"{self.name} is a {column} column: {given} datetime ({value.isoformat()}) would be "
                f"read in the database session's time zone; give {wanted} datetime"
            )
        return self.coerce(value)


def canonical_for(name: str, column: Column[Any]) -> Canonical:
    """The converter for ``column``, named ``Model.column`` in its errors."""
    column_type = column.type
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return _EnumColumn(name, column)
    if isinstance(column_type, Numeric) and column_type.asdecimal:
        return _NumericColumn(name, column)
    if isinstance(column_type, DateTime):
        return _DateTimeColumn(name, column)
    return Canonical(name, column)


def _is_bool_for_number(expected: type, value: Any) -> bool:
    return isinstance(value, bool) and expected is not bool


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
