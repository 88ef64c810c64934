"""Which keys would saving a change flush? For edit forms, before the save."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caching import ModelInfo, change_for, info_for


def keys_for_insert(model: type, values: Mapping[str, Any]) -> list[str]:
    """Keys a commit inserting an object with ``values`` would flush (its primary key,
    unknown before the insert, shows as ``new``)."""
    info = info_for(model)
    change = change_for(info, model.cache_label, None, _coerced(info, dict.fromkeys(info.names), values))
    assert change is not None  # an insert always flushes its listings
    unknown = info.object_key(None)
    return [info.object_key("new") if key == unknown else key for key in change.keys]


def keys_for_update(obj: Any, values: Mapping[str, Any]) -> list[str]:
    """Keys a commit setting ``values`` on ``obj`` would flush; [] if nothing changes.

    Values that do not convert to their column's type are left out, as the
    form would refuse them anyway.
    """
    info = info_for(type(obj))
    old = {k: getattr(obj, k) for k in info.names}
    change = change_for(info, obj.cache_label, old, _coerced(info, old, values))
    return list(change.keys) if change else []


def _coerced(info: ModelInfo, base: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the ``values`` of its columns that convert to their column's type."""
    new = dict(base)
    for key, value in values.items():
        if key in info.index:
            try:
                new[key] = info.coerce(key, value)
            except TypeError:
                continue
    return new
