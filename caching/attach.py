"""Rebuild instances from cached column values, attached without SQL.

A cache hit must give the object a query gives. So a fresh instance is
built the way the ORM's loader builds one (``loading._instance``): its
column values become committed state, it gets its identity key and joins
the session's identity map directly, and then the mapper's ``load`` event
and the session's ``loaded_as_persistent`` event fire. That is what runs
``@reconstructor`` methods and makes ``MutableDict``/``MutableList`` values
the tracked wrappers, so an in-place change is flushed. Attributes a query
loads but the cache does not hold (``ModelInfo.unloaded``) and columns the
entry lacks are expired: reading them loads them from the database.
Relationships lazy-load as usual. (SQLAlchemy is pinned: the identity map
call is the loader's own.)

When the identity map already holds the object, that object is returned,
with any expired column refreshed from the cached values and the ``refresh``
event fired for them, as a query refreshing it would.
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
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, identity)
    unloaded = info.unloaded
    if len(values) < len(info.keys):
        unloaded += tuple(k for k in info.keys if k not in values)
    if unloaded:
        state._expire_attributes(state.dict, unloaded)
    if state.manager.dispatch.load:
        state.manager.dispatch.load(state, None)
    if session.dispatch.loaded_as_persistent:
        session.dispatch.loaded_as_persistent(session, state)
    return obj


def refresh_expired(obj: Any, values: Mapping[str, Any]) -> None:
    """Fill the expired column attributes of ``obj`` from cached values."""
    state = instance_state(obj)
    refreshed = state.expired_attributes.intersection(values)
    if not refreshed:
        return
    for key in refreshed:
        set_committed_value(obj, key, values[key])
    if state.manager.dispatch.refresh:
        state.manager.dispatch.refresh(state, None, refreshed)
