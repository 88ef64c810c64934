"""The one flush path: keys deleted from a region, counted, then announced.

After a commit (:func:`flush_committed`, called by :mod:`caching.invalidation`),
by hand (:func:`flush`, from ``Model.cache.flush`` or an operator's tool) and
for a whole table whose written rows are unknown, keys go with their guards in
one backend call per region, the region's stats count them, and
``cache_invalidated`` tells whoever listens (a log, a user's own receiver).
A manual flush and an automatic one leave the same traces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import keys as keygrammar
from .changes import Change
from .signals import cache_invalidated

if TYPE_CHECKING:
    from .context import CachingState

log = logging.getLogger("caching")


def flush(
    state: CachingState,
    label: str,
    keys: Iterable[str] = (),
    *,
    patterns: Iterable[str] = (),
    model: type | None = None,
    pk: Any = None,
    operation: str = "manual",
    announce: bool = True,
) -> list[str]:
    """Delete ``keys`` and every key matching the logical ``patterns``; the keys flushed."""
    region = state.region(label)
    patterns = tuple(patterns)
    flushed = list(dict.fromkeys(keys))
    region.store.delete(keygrammar.with_guards(flushed))
    for pattern in patterns:
        for batch in region.keys_matching(pattern):
            if region.store.delete(keygrammar.with_guards(batch)):
                flushed.extend(batch)
    if announce:
        region.stats.add(invalidated_manual=len(flushed))
        _announce(state, Change(model, label, pk, operation, set(), dict.fromkeys(flushed)), patterns)
    return flushed


def flush_committed(
    state: CachingState,
    changes: Iterable[Change],
    tables: Iterable[str],
    whole_tables: Iterable[str],
    announce: bool = True,
) -> None:
    """After a commit: delete what it made stale, one call per region, then announce it
    (unless it was announced already, when the same commit is delivered twice)."""
    changes = list(changes)
    doomed: dict[str, dict[str, None]] = {label: {} for label in state.regions}
    for change in changes:
        state.region(change.label)  # an unknown region is an error, not a silent skip
        doomed[change.label].update(dict.fromkeys(change.keys))
    # statement results depend on table generations, whatever their region
    table_guards = [keygrammar.table_guard_key(t) for t in sorted(set(tables))]
    for label, region_keys in doomed.items():
        region = state.regions[label]
        region.store.delete(keygrammar.with_guards(region_keys) + table_guards)
        if announce:
            region.stats.add(invalidated_auto=len(region_keys))
    for change in changes if announce else ():
        _announce(state, change)
    for table in sorted(set(whole_tables)):
        model = state.model_for_table(table)
        label = state.label_for(model)
        # guards too: a reader may hold a token whose value is not cached
        patterns = (f"{table}.*", f"{keygrammar.GUARD_PREFIX}{table}.*")
        try:
            flush(state, label, patterns=patterns, model=model, operation="bulk", announce=announce)
        except Exception:  # the keys could not even be listed: flush everything once back
            state.regions[label].store.flush_namespace_when_back()


def _announce(state: CachingState, change: Change, patterns: tuple[str, ...] = ()) -> None:
    """Send ``cache_invalidated``; a failing receiver must not fail the commit."""
    try:
        cache_invalidated.send(
            state.app,
            model=change.model,
            pk=change.pk,
            operation=change.operation,
            columns=tuple(sorted(change.columns)),
            keys=tuple(change.keys),
            region=change.label,
            patterns=patterns,
        )
    except Exception:
        log.exception("a cache_invalidated receiver failed for %s", list(change.keys)[:10])
