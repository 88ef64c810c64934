"""Which keys a change to one object makes stale.

A listing holds the rows themselves, so any change to an object changes
every listing it is (or was) in: the ``all`` listing, the listing of each of
its column values and of each declared column set, under the old values and
under the new ones; and the object key. Each listing key's guard also
guards the listing's pages and count, so one key flushes them all. Values
are coerced to the column's canonical form before they are rendered, so
``user.views = "4"`` flushes ``user.views=4[all]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .mapping import ModelInfo


@dataclass
class Change:
    """Keys one committed change (or manual flush) invalidates."""

    model: type | None
    label: str
    pk: Any
    operation: str
    columns: set[str] = field(default_factory=set)
    keys: dict[str, None] = field(default_factory=dict)  # ordered set

    def merge(self, other: Change) -> None:
        """Fold a later change of the same object into this one."""
        if other.operation == "delete" or self.operation != "insert":
            self.operation = other.operation
        self.columns |= other.columns
        self.keys.update(other.keys)


def change_for(
    info: ModelInfo,
    label: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
) -> Change | None:
    """The keys to flush for an insert (no ``old``), delete (no ``new``) or update."""
    pk = info.require_pk()
    versions = [canonical(info, v) for v in (old, new) if v is not None]
    if old is not None and new is not None:
        operation = "update"
        changed = [k for k in info.names if versions[0][k] != versions[1][k]]
        if not changed:
            return None
    else:
        operation = "insert" if old is None else "delete"
        changed = list(info.names)
    keys: dict[str, None] = {}
    for values in versions:
        keys[info.object_key(values[pk])] = None
    keys[info.all_key()] = None
    # listings hold the rows themselves: every listing the object is in, before and after, is stale
    for column in info.names:
        if column != pk:
            for values in versions:
                keys[info.listing_key({column: values[column]})] = None
    for column_set in info.filter_sets:
        for values in versions:
            keys[info.listing_key({c: values[c] for c in column_set})] = None
    return Change(info.model, label, versions[-1][pk], operation, set(changed), keys)


def canonical(info: ModelInfo, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values coerced to their columns' types; a value that won't coerce stays as is."""
    out = {}
    for key in info.names:
        try:
            out[key] = info.coerce(key, values[key])
        except TypeError:
            out[key] = values[key]
    return out
