"""Which keys would saving a change flush? For edit forms, before the save."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .changes import change_for
from .mapping import info_for


def keys_for_update(obj: Any, values: Mapping[str, Any]) -> list[str]:
    """Keys a commit setting ``values`` on ``obj`` would flush; [] if nothing changes.

    Values that do not convert to their column's type are left out, as the
    form would refuse them anyway.
    """
    info = info_for(type(obj))
    old = {k: getattr(obj, k) for k in info.keys}
    new = dict(old)
    for key, value in values.items():
        if key in info.index:
            try:
                new[key] = info.coerce(key, value)
            except TypeError:
                continue
    change = change_for(info, obj.cache_label, old, new)
    return list(change.keys) if change else []
