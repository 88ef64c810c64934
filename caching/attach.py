"""Rebuild instances from cached column values, attached without SQL.

A fresh instance gets its column values as committed state and its identity
key, and joins the session's identity map, which makes it persistent exactly
as if a query had loaded it: later changes are tracked with correct history,
relationships lazy-load as usual, columns the cache did not hold are expired
(they load on access). This is what ``make_transient_to_detached`` followed
by ``Session.add`` does, minus the save-update cascade, which finds nothing
on a fresh instance and cost a third of a cache hit; it uses the session's
``_update_impl``, the step ``add`` ends with (SQLAlchemy is pinned).

When the identity map already holds the object, that object is returned,
with any expired column refreshed from the cached values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from .mapping import ModelInfo


def attach(session: Session, info: ModelInfo, values: Mapping[str, Any]) -> Any:
    """The session's object for ``values``, added to the session if new."""
    identity = info.mapper.identity_key_from_primary_key(
        [values[info.keys[i]] for i in info.identity_indexes]
    )
    existing = session.identity_map.get(identity)
    if existing is not None:
        refresh_expired(existing, values)
        return existing
    obj = info.mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(values)
    state.key = identity
    state.identity_token = identity[2]
    session._update_impl(state)
    if len(values) < len(info.keys):
        session.expire(obj, [k for k in info.keys if k not in values])
    return obj


def refresh_expired(obj: Any, values: Mapping[str, Any]) -> None:
    """Fill the expired column attributes of ``obj`` from cached values."""
    expired = instance_state(obj).expired_attributes
    for key in expired.intersection(values):
        set_committed_value(obj, key, values[key])
