"""Rebuild instances from cached column values, attached without SQL.

A fresh instance gets its column values as committed state, is made
detached (it has an identity key but no session) and added to the session,
which makes it persistent exactly as if a query had loaded it: later
changes are tracked with correct history, and relationships lazy-load as
usual. When the identity map already holds the object, that object is
returned, with any expired column refreshed from the cached values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, make_transient_to_detached
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
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def refresh_expired(obj: Any, values: Mapping[str, Any]) -> None:
    """Fill the expired column attributes of ``obj`` from cached values."""
    expired = instance_state(obj).expired_attributes
    for key in expired.intersection(values):
        set_committed_value(obj, key, values[key])


def row_values(info: ModelInfo, row: Any) -> dict[str, Any]:
    """Column values of a row selected with ``info.attributes``."""
    return dict(zip(info.keys, row))
