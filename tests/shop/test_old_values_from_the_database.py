"""Item 3: the listing of the value a row really had is flushed.

Request A loads a customer in Oslo; request B moves it to Bergen and
commits; a reader caches the Bergen listing; then A, still holding its Oslo
copy, moves the customer to Paris (or deletes it) and commits. The row was
in Bergen when A wrote it, so the Bergen listing must not keep it.
"""

from tests.shop.compare import assert_matches_database, count, listing
from tests.shop.models import Customer, Tier, db

BERGEN = (listing(Customer, city="Bergen"), count(Customer, city="Bergen"))
BERGEN_GOLD = (
    listing(Customer, city="Bergen", tier=Tier.GOLD),
    count(Customer, city="Bergen", tier=Tier.GOLD),
)


def moved_by_another_request(shop, **values):
    """Request B: change customer 1 and commit, while request A holds its old copy."""
    with shop.app_context():
        customer = db.session.get(Customer, 1)
        for column, value in values.items():
            setattr(customer, column, value)
        db.session.commit()


def test_row_moved_away_from_where_another_request_put_it_leaves_that_listing(shop, stock):
    customer = db.session.get(Customer, 1)  # request A: Oslo
    moved_by_another_request(shop, city="Bergen")
    assert_matches_database(*BERGEN)

    customer.city = "Paris"
    db.session.commit()

    assert_matches_database(*BERGEN)


def test_row_deleted_after_another_request_moved_it_leaves_that_count(shop, stock):
    customer = db.session.get(Customer, 1)
    moved_by_another_request(shop, city="Bergen")
    assert_matches_database(*BERGEN)

    db.session.delete(customer)
    db.session.commit()

    assert_matches_database(*BERGEN)


def test_declared_column_set_listing_of_the_real_old_values_is_flushed(shop, stock):
    customer = db.session.get(Customer, 1)  # request A: Oslo, basic
    moved_by_another_request(shop, city="Bergen", tier=Tier.GOLD)
    assert_matches_database(*BERGEN_GOLD)

    customer.tier = Tier.PLATINUM
    db.session.commit()

    assert_matches_database(*BERGEN_GOLD)
