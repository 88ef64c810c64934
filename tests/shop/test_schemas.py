"""Item 8: ``a.item`` and ``b.item`` are two tables, with keys of their own.

Two models on the same table name in two schemas must neither read each
other's cached values nor miss each other's invalidations.
"""

from tests.shop.compare import assert_matches_database, count, get, listing
from tests.shop.models import ItemA, ItemB, db

READS = (
    get(ItemA, 1),
    get(ItemB, 1),
    listing(ItemA),
    listing(ItemB),
    count(ItemA, qty=1),
    count(ItemB, qty=2),
)


def test_each_schema_reads_its_own_rows(stock):
    assert_matches_database(*READS)
    assert_matches_database(*READS)  # from the cache


def test_write_to_the_second_schema_invalidates_its_reads(stock):
    """Read only ``b.item``, so no entry of ``a.item`` is in the way."""
    reads = (get(ItemB, 1), listing(ItemB), count(ItemB, qty=1))
    assert_matches_database(*reads)

    item = db.session.get(ItemB, 1)
    item.qty = 1
    db.session.commit()

    assert_matches_database(*reads)
