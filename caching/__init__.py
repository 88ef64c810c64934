"""Flask-SQLAlchemy model cache with automatic invalidation.

Models opt in with :class:`CacheableMixin`; ``Model.cache.get`` and
``Model.cache.filter`` read through dogpile.cache regions, any statement can
load :class:`FromCache`, and every committed insert, update and delete
flushes the keys it made stale.

The names below are the public API: what an app, the dashboard or a user's
own tooling may use. ``caching.keys`` (the key grammar) is public too; every
other module is internal.
"""

from . import keys, signals
from .changes import Change, change_for
from .context import CachingState, current_state
from .extension import Caching
from .mapping import ModelInfo, info_for
from .model import Cache, CacheableMixin
from .query import FromCache
from .regions import Region, Stored
from .scan import matcher
from .serialize import EntityRef
from .signals import cache_invalidated
from .stats import uncounted
from .store import MISS, Store

__all__ = [
    "MISS",
    "Cache",
    "CacheableMixin",
    "Caching",
    "CachingState",
    "Change",
    "EntityRef",
    "FromCache",
    "ModelInfo",
    "Region",
    "Store",
    "Stored",
    "cache_invalidated",
    "change_for",
    "current_state",
    "info_for",
    "keys",
    "matcher",
    "signals",
    "uncounted",
]
