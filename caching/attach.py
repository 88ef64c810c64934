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
calls are the loader's own, and a listing looks objects up in the map's
``_dict`` directly.)

When the identity map already holds the object, that object is returned,
with any expired column refreshed from the cached values and the ``refresh``
event fired for them, as a query refreshing it would.

A listing attaches many rows at once (:func:`attach_all`): what does not
change from row to row (the mapper, the identity map, whether anything
listens to the events) is looked up once per call, not once per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from .mapping import ModelInfo


def attach(session: Session, info: ModelInfo, values: Mapping[str, Any] | list[Any]) -> Any:
    """The session's object for ``values`` (a row, as :func:`attach_all` takes), added to the
    session if new."""
    return attach_all(session, info, (values,))[0]


def attach_all(session: Session, info: ModelInfo, rows: Iterable[Mapping[str, Any] | list[Any]]) -> list[Any]:
    """The session's objects for ``rows``, in order, each as :func:`attach`.

    A row is column values by name, or the list of all of them in
    ``info.names`` order (a cached listing's row, checked by
    :func:`caching.entries.rows`), which fills the instance with no dict built.
    """
    identity_map = session.identity_map
    states = identity_map._dict  # the identity map's own dict: its get() is a Python call per row
    mapper = info.mapper
    # built as the loader builds them: the identity key a tuple (no mapper call per row), the
    # instance's dict through the class manager's getter (no InstanceState.dict property per row)
    identity_class, new_instance = mapper._identity_class, mapper.class_manager.new_instance
    instance_dict = mapper.class_manager.dict_getter()
    load = mapper.class_manager.dispatch.load or None
    loaded_as_persistent = session.dispatch.loaded_as_persistent or None
    names, unloaded, hash_key = info.names, info.unloaded, session.hash_key
    by_index, by_name = info.identity_by_index, info.identity_by_name
    single = len(info.identity_indexes) == 1
    out = []
    for values in rows:
        whole = type(values) is list
        pk = by_index(values) if whole else by_name(values)
        identity = (identity_class, (pk,) if single else pk, None)
        known = states.get(identity)
        existing = None if known is None else known.obj()
        if existing is not None:
            refresh_expired(existing, dict(zip(names, values)) if whole else values)
            out.append(existing)
            continue
        obj = new_instance()
        state = instance_state(obj)
        state_dict = instance_dict(obj)
        state_dict.update(zip(names, values) if whole else values)
        state.key = identity
        state.identity_token = identity[2]
        state.session_id = hash_key
        identity_map._add_unpresent(state, identity)
        expired = unloaded
        if not whole and len(values) < len(names):
            expired += tuple(k for k in names if k not in values)
        if expired:
            state._expire_attributes(state_dict, expired)
        if load is not None:
            load(state, None)
        if loaded_as_persistent is not None:
            loaded_as_persistent(session, state)
        out.append(obj)
    return out


def refresh_expired(obj: Any, values: Mapping[str, Any]) -> None:
    """Fill the expired column attributes of ``obj`` from cached values."""
    state = instance_state(obj)
    if not state.expired_attributes:
        return
    refreshed = state.expired_attributes.intersection(values)
    if not refreshed:
        return
    for key in refreshed:
        set_committed_value(obj, key, values[key])
    if state.manager.dispatch.refresh:
        state.manager.dispatch.refresh(state, None, refreshed)
