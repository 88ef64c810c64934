"""The shapes of cached entries, checked where they are used.

An entry's guard tokens say it is current, not that it is well formed: a
foreign or buggy writer on a shared backend, or a codec change, can leave a
value of another shape under a key. Such an entry must read as a miss (and
be loaded and stored again), never crash a read nor be served as data. The
checks are cheap: types and lengths, no per-value validation of columns.
"""

from __future__ import annotations

from typing import Any

from .mapping import ModelInfo

_NOT_KEYS = frozenset({type(None), list, dict})  # what msgpack decodes that cannot name an object


def object_row(info: ModelInfo, data: Any) -> list[Any] | None:
    """An object entry's column values in ``info.names`` order, or None if it is not one.

    (A cached "no such object" is ``None`` itself: callers test that first.)
    """
    found = rows(info, [data])
    return None if found is None else found[0]


def object_values(info: ModelInfo, data: Any) -> dict[str, Any] | None:
    """An object entry's column values by name, or None if it is not one."""
    row = object_row(info, data)
    return None if row is None else dict(zip(info.names, row))


def entity_values(info: ModelInfo, values: Any) -> bool:
    """Whether ``values`` can name and fill an instance: the list of all its column values
    (as :func:`rows` checks a row) or a dict of some of its columns, with a primary key."""
    if type(values) is list:
        if len(values) != len(info.names):
            return False
        return all(type(values[i]) not in _NOT_KEYS for i in info.identity_indexes)
    if type(values) is not dict or not values.keys() <= info.index.keys():
        return False
    names = info.names  # no call per key value: this runs once per instance of a result
    return all(type(values.get(names[i])) not in _NOT_KEYS for i in info.identity_indexes)


def rows(info: ModelInfo, data: Any) -> list[list[Any]] | None:
    """A listing entry's rows, each the list of all column values in ``info.names`` order
    (what :func:`caching.attach.attach_all` takes without building a dict), or None if it
    is not one. One loop, no call per row: a warm listing of 50 checks 50 rows."""
    if type(data) is not list:
        return None
    width, identity = len(info.names), info.identity_indexes
    for row in data:
        if type(row) is not list or len(row) != width:
            return None
        for i in identity:
            if type(row[i]) in _NOT_KEYS:
                return None
    return data
