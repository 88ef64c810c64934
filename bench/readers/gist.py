"""The 2014 gist's approach: pickle the instance, unpickle and ``merge(load=False)`` on a hit.

An unpickled instance keeps its identity key and has no session, i.e. it
is already detached, which is what ``Session.merge(obj, load=False)``
requires (a transient one would need ``make_transient_to_detached``).
Nothing invalidates these entries: the gist expected callers to.
"""

from __future__ import annotations

import pickle
from typing import Any

from dogpile.cache.api import NO_VALUE

from dashboard.extensions import db
from dashboard.models import User

from ..environment import Setup
from . import listing_statement, rival_region


class GistReader:
    """Instances pickled in a dogpile region of their own, merged into ``db.session`` on a hit."""

    name = "gist (pickle + merge)"
    kind = "rival"
    caches = True

    def __init__(self, setup: Setup) -> None:
        self.region = rival_region(setup, serializer=pickle.dumps, deserializer=pickle.loads)
        self.regions = [self.region]

    def get(self, pk: int) -> Any:
        key = f"gist:user:{pk}"
        cached = self.region.get(key)
        if cached is NO_VALUE:
            obj = db.session.get(User, pk)
            self.region.set(key, obj)
            return obj
        return db.session.merge(cached, load=False)

    def forget(self, pk: int) -> None:
        self.region.delete(f"gist:user:{pk}")

    def listing(self, views: int) -> list[Any]:
        key = f"gist:user.views={views}"
        cached = self.region.get(key)
        if cached is NO_VALUE:
            objs = list(db.session.scalars(listing_statement(views)))
            self.region.set(key, objs)
            return objs
        return [db.session.merge(obj, load=False) for obj in cached]

    def forget_listing(self, views: int) -> None:
        self.region.delete(f"gist:user.views={views}")

    def close(self) -> None:
        return None
