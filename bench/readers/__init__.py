"""The implementations compared on reads: this library, no cache, and three rivals.

Every reader answers the same two questions, "user ``pk``" and "the users
with ``views == v`` in primary key order", on ``db.session``, and can
forget its cached answer so that the next read is a miss. Benchmarks are
built from this interface alone (see :mod:`bench.cases`), so every
implementation is measured by the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from dogpile.cache import make_region
from dogpile.cache.region import CacheRegion
from sqlalchemy import Select, select

from dashboard.models import User

from ..environment import Setup


class Reader(Protocol):
    """A way to read users; ``caches`` is False for the no-cache baseline."""

    name: str
    kind: str
    caches: bool
    regions: Sequence[CacheRegion]

    def get(self, pk: int) -> Any: ...

    def forget(self, pk: int) -> None: ...

    def listing(self, views: int) -> list[Any]: ...

    def forget_listing(self, views: int) -> None: ...

    def close(self) -> None: ...


def get_statement(pk: int) -> Select[Any]:
    return select(User).where(User.id == pk)


def listing_statement(views: int) -> Select[Any]:
    return select(User).where(User.views == views).order_by(User.id)


def rival_region(setup: Setup, **region_arguments: Any) -> CacheRegion:
    """A region of its own for a rival, on the same backend as the library's in ``setup``."""
    config = setup.region_config()
    return make_region(**region_arguments).configure(
        config["backend"],
        expiration_time=config["expiration_time"],
        arguments=config.get("arguments", {}),
    )
