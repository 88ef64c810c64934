"""This library: ``User.cache.get`` and ``User.cache.filter``."""

from __future__ import annotations

from typing import Any

from caching import keys
from dashboard.extensions import caching
from dashboard.models import User


class LibraryReader:
    """Forgetting deletes values *and* guards, as a commit does: the miss is the real one."""

    name = "caching"
    kind = "library"
    caches = True

    def __init__(self) -> None:
        self.region = caching.regions["default"]
        self.regions = [self.region]
        self.info = User.cache.info

    def get(self, pk: int) -> Any:
        return User.cache.get(pk)

    def forget(self, pk: int) -> None:
        self.region.delete_multi(keys.with_guards([self.info.object_key(pk)]))

    def listing(self, views: int) -> list[Any]:
        return User.cache.filter(views=views)

    def forget_listing(self, views: int) -> None:
        self.region.delete_multi(keys.with_guards([self.info.listing_key({"views": views})]))

    def close(self) -> None:
        return None
