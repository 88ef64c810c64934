"""The key grammar: human-readable cache keys.

- ``user.id[4]``: the object whose ``id`` is 4;
- ``user.id[all]``: the listing of all users (their rows, by primary key);
- ``user.views=3[all]``: the listing of users with ``views == 3``;
- ``address.email=a@b.org&user_id=4[all]``: several columns, sorted by name;
- ``user.views=3[all][20:40]``, ``[0:20:desc]``: a page of a listing;
- ``user.views=3[all][count]``: its length.

Values are rendered canonically (``Decimal('3.50')`` and ``Decimal('3.5')``
give the same key, as do ``Status.ACTIVE`` and ``"active"`` for a ``str``
Enum mixin; :mod:`caching.canonical` converts values to their column's form
first) and the characters that carry meaning in a key
(``%&=[]`` and white space) are percent-encoded, so two different filters
never share a key. Guard keys (``gen:...``) hold the generation token that
every cached value is tagged with; see :mod:`caching.store`.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

GUARD_PREFIX = "gen:"
STATEMENT_PREFIX = "sql:"
_SAFE = "@.:-_+!*'(),;/~$^|{}<>?#\"`"
_RESERVED = {"None": "%4Eone", "all": "%61ll"}


def render(value: Any) -> str:
    """Render a column value the same way wherever it comes from."""
    if type(value) is int:
        return str(value)  # the common primary key: nothing to quote
    if isinstance(value, decimal.Decimal):
        text = format(value.normalize(), "f") if value.is_finite() else str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        text = value.isoformat()
    elif isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
    elif isinstance(value, enum.Enum):
        text = _enum_text(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).hex()
    elif isinstance(value, uuid.UUID):
        text = str(value)
    elif value is None:
        return "None"
    else:
        text = str(value)
    text = quote(text, safe=_SAFE)
    # the string "None" is not None, and a value "all" must not name a listing
    return _RESERVED.get(text, text)


def _enum_text(member: enum.Enum) -> str:
    """A str/int mixin is compared by its content (``Status.ACTIVE`` is "active"), others by name."""
    if isinstance(member, str):
        return str.__str__(member)
    if isinstance(member, int):
        return str(int.__int__(member))
    return member.name


def object_key(table: str, pk_column: str, pk: Any) -> str:
    """``user.id[4]``."""
    return f"{table}.{pk_column}[{render(pk)}]"


def all_key(table: str, pk_column: str) -> str:
    """``user.id[all]``: the listing of every primary key."""
    return f"{table}.{pk_column}[all]"


def listing_key(table: str, criteria: Mapping[str, Any]) -> str:
    """``user.views=3[all]`` or ``address.email=a@b.org&user_id=4[all]``."""
    if len(criteria) == 1:  # a relationship's listing, per parent: nothing to sort
        ((column, value),) = criteria.items()
        return f"{table}.{column}={render(value)}[all]"
    terms = "&".join(f"{column}={render(criteria[column])}" for column in sorted(criteria))
    return f"{table}.{terms}[all]"


def table_of(key: str) -> str | None:
    """The table a model key names: ``user`` for ``user.views=3[all]``, ``a.item`` for ``a.item.id[4]``.

    The table is what precedes the last dot before the first ``=`` or ``[``
    (a schema-qualified table has a dot of its own); None for other keys.
    """
    end = len(key)
    for mark in "=[":
        position = key.find(mark)
        if position != -1:
            end = min(end, position)
    table, dot, _ = key[:end].rpartition(".")
    return table if dot else None


def window_key(listing: str, start: int, stop: int | None, descending: bool = False) -> str:
    """A page of a listing: ``user.views=3[all][20:40]``, ``[0:20:desc]``; the whole listing ascending is
    the listing's own key."""
    if start == 0 and stop is None and not descending:
        return listing
    return f"{listing}[{start}:{'' if stop is None else stop}{':desc' if descending else ''}]"


def count_key(listing: str) -> str:
    """The length of a listing: ``user.views=3[all][count]``."""
    return f"{listing}[count]"


def guard_key(key: str) -> str:
    """The key holding the generation token of ``key``."""
    return GUARD_PREFIX + key


def table_guard_key(table: str) -> str:
    """The generation of a whole table, which statement results depend on."""
    return GUARD_PREFIX + table


def with_guards(keys: Iterable[str]) -> list[str]:
    """Every key followed by its guard: what a flush deletes."""
    out: list[str] = []
    for key in keys:
        out.append(key)
        out.append(guard_key(key))
    return out
