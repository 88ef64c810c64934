"""Flask-SQLAlchemy model cache with automatic invalidation.

Models opt in with :class:`CacheableMixin`; ``Model.cache.get`` and
``Model.cache.filter`` read through dogpile.cache regions, any statement can
load :class:`FromCache`, and every committed insert, update and delete
flushes the keys it made stale.
"""

from . import signals
from .extension import Caching
from .model import Cache, CacheableMixin
from .query import FromCache
from .signals import cache_invalidated

__all__ = ["Cache", "CacheableMixin", "Caching", "FromCache", "cache_invalidated", "signals"]
