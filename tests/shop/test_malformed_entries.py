"""Item 10: a well-formed entry of the wrong shape reads as a miss.

Entries are written with the region directly, tagged with the current
guard tokens so that only their shape is wrong: an object key that does
not hold a row's values, a listing that does not hold primary keys, a
``FromCache`` payload that is not a result. Each must read as a miss: no
exception, and the answer the database gives.
"""

import pytest
from sqlalchemy import select

from caching.scan import iter_keys
from tests.shop.compare import assert_matches_database, get, listing, statement
from tests.shop.models import Customer, Tag, caching

OBJECT = get(Customer, 1)
LISTING = listing(Customer, city="Oslo")
STATEMENT = statement(select(Tag.id, Tag.name).order_by(Tag.id), "FromCache: tag ids and names")
RESULT = {"keys": ["id", "name"], "single": False, "filtered": False}

CASES = [
    *(
        (OBJECT, bad)
        for bad in ("ann", 42, {"id": 1, "name": "ann"}, [[1, "ann"]], [1, "ann", "Oslo", 1, None, 9])
    ),
    *((LISTING, bad) for bad in ("12", 7, {"1": 1}, [[1]], [{"id": 1}])),
    *(
        (STATEMENT, bad)
        for bad in (
            "rows",
            [1, 2],
            {"keys": ["id", "name"]},
            {**RESULT, "rows": "ab"},
            {**RESULT, "rows": [[1]]},
            {**RESULT, "keys": "id", "rows": [[1, "red"]]},
        )
    ),
]


def logical_key(read):
    """The key ``read`` stores its value under."""
    if read is OBJECT:
        return Customer.cache.info.object_key(1)
    if read is LISTING:
        return Customer.cache.info.listing_key({"city": "Oslo"})
    [stored] = iter_keys(caching.regions["default"], "caching:sql:*")
    return stored.removeprefix("caching:")


@pytest.mark.parametrize(("read", "bad"), CASES, ids=[f"{r.name.split('(')[0]}-{b!r}" for r, b in CASES])
def test_entry_of_the_wrong_shape_reads_as_a_miss(stock, read, bad):
    assert_matches_database(read)
    region = caching.regions["default"]
    key = logical_key(read)
    tokens, _ = region.get(key)

    region.set(key, [tokens, bad])

    assert_matches_database(read)
