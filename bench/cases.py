"""The benchmark cases of one setup: reads for every reader, updates, and the floors.

Every read starts from an empty identity map (``expunge_all`` in the
untimed reset), so no implementation is served by the session: the
session and its transaction are kept, as within one request, which is the
hardest baseline to beat for a cache (no connection checkout or ``BEGIN``
is counted against the database). A miss also forgets the cached entry in
its reset. The floors are the pieces no cached read can avoid, timed alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import redis
from sqlalchemy.orm import Session

from caching.attach import attach
from dashboard.extensions import caching, db
from dashboard.models import User

from .environment import GET_PK, LIST_VIEWS, UPDATE_PK, UPDATE_VIEWS, Setup
from .harness import Case
from .readers import Reader
from .readers.library import LibraryReader
from .stats_off import has_stats, stats_off

GET = "get by pk"
LISTING = "listing of 50"
UPDATE = "update + commit"
GROUPS = (GET, LISTING, UPDATE)


def _empty_identity_map() -> None:
    db.session.expunge_all()


def _then(first: Callable[[], Any], second: Callable[[], Any]) -> Callable[[], None]:
    def both() -> None:
        first()
        second()

    return both


def read_cases(readers: Sequence[Reader]) -> Iterator[Case]:
    """Get and listing, hit and miss (warm and cold) for each reader that caches."""
    for reader in readers:
        reads = [
            (GET, partial(reader.get, GET_PK), partial(reader.forget, GET_PK), ("hit", "miss")),
            (
                LISTING,
                partial(reader.listing, LIST_VIEWS),
                partial(reader.forget_listing, LIST_VIEWS),
                ("warm", "cold"),
            ),
        ]
        for group, op, forget, (warm, cold) in reads:
            common = {
                "group": group,
                "impl": reader.name,
                "kind": reader.kind,
                "op": op,
                "regions": reader.regions,
            }
            if not reader.caches:
                yield Case(variant="", reset=_empty_identity_map, **common)
                continue
            yield Case(variant=warm, reset=_empty_identity_map, **common)
            yield Case(variant=cold, reset=_then(_empty_identity_map, forget), **common)


STATS_OFF = "hit, stats off"


def with_stats_off(setup_cases: list[Case], library: LibraryReader) -> list[Case]:
    """The cases, and right after the library's hit the same hit without its stats proxy.

    Neighbours in the round-robin, their repeats pair up: the price of the stats.
    """
    if not has_stats(library.region):
        return setup_cases
    out = []
    for case in setup_cases:
        out.append(case)
        if case.kind == library.kind and case.group == GET and case.variant == "hit":
            out.append(replace(case, variant=STATS_OFF, scope=partial(stats_off, library.region)))
    return out


class _Update:
    """Loads the row untimed, then times changing ``views`` and committing.

    ``views`` flips between two values, from the value just loaded (two
    sessions write the row), so every commit really changes a column with
    listings: the object key, the ``all`` listing and two ``views``
    listings are invalidated, and the row stays out of the benchmarked
    listing.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.user: Any = None

    def load(self) -> None:
        self.user = self.session.get(User, UPDATE_PK)

    def commit(self) -> None:
        low, high = UPDATE_VIEWS
        self.user.views = high if self.user.views == low else low
        self.session.commit()


def update_cases(plain_session: Session) -> Iterator[Case]:
    """The library's commit (invalidation included) against ``plain_session``.

    ``plain_session`` is a bare SQLAlchemy session on the same engine: the
    library's session events listen on ``db.session`` only, so its commits
    cost what they would without the cache.
    """
    library = _Update(db.session)
    yield Case(UPDATE, "caching", "", "library", library.commit, library.load, [caching.regions["default"]])
    plain = _Update(plain_session)
    yield Case(UPDATE, "no cache", "", "rival", plain.commit, plain.load)


class _Attach:
    """The attach floor: cached values already decoded, attached to an empty session.

    The session is looked up in the reset, not in the timed op, so the
    floor is ``attach`` alone.
    """

    def __init__(self, values: Sequence[dict[str, Any]]) -> None:
        self.info = User.cache.info
        self.values = values
        self.session: Session = db.session()

    def reset(self) -> None:
        self.session = db.session()
        self.session.expunge_all()

    def first(self) -> Any:
        return attach(self.session, self.info, self.values[0])

    def all(self) -> list[Any]:
        return [attach(self.session, self.info, v) for v in self.values]


def floor_cases(setup: Setup) -> Iterator[Case]:
    """The cost of reading the cached value, of attaching it, and of the Redis command alone."""
    region = caching.regions["default"]
    info = User.cache.info
    User.cache.get(GET_PK)  # make sure both entries are stored
    User.cache.filter(views=LIST_VIEWS)
    key = info.object_key(GET_PK)
    listing_key = info.listing_key({"views": LIST_VIEWS})
    one = _Attach([dict(zip(info.names, region.get(key)[1]))])
    many = _Attach([dict(zip(info.names, row)) for row in region.get(listing_key)[1]])

    yield Case(GET, "floor: dogpile region.get", "", "floor", partial(region.get, key), regions=[region])
    yield Case(GET, "floor: attach", "", "floor", one.first, one.reset)
    yield Case(
        LISTING,
        "floor: dogpile region.get of the listing",
        "",
        "floor",
        partial(region.get, listing_key),
        regions=[region],
    )
    yield Case(LISTING, "floor: attach x50", "", "floor", many.all, many.reset)
    if setup.redis_url:
        client = redis.Redis.from_url(setup.redis_url)
        mangle = region.key_mangler
        yield Case(GET, "floor: Redis GET", "", "floor", partial(client.get, mangle(key)))
        read_listing = partial(client.get, mangle(listing_key))
        yield Case(LISTING, "floor: Redis GET of the listing", "", "floor", read_listing)
