"""Item 9: only an outage holds back the deletes of a commit.

A value the codec cannot encode, or a herd lock that expired under a slow
loader, is not an outage: once ``commit()`` has returned, another process
sharing the backend must read the new value, not the cached old one.
"""

import pytest
import redis
from sqlalchemy import event

from tests.shop.models import Customer, Post, db


def cached_name(app):
    with app.app_context():
        return Customer.cache.get(1).name


def rename_customer():
    customer = db.session.get(Customer, 1)
    customer.name = "anna"
    db.session.commit()


@pytest.mark.backends  # only shared backends encode on write
def test_value_the_codec_cannot_encode_does_not_delay_the_next_commits_deletes(
    stock, other_process, start_process
):
    unsigned = start_process(secret_key=None)
    assert cached_name(other_process) == "ann"

    with unsigned.app_context():
        try:
            Post.cache.get(1)  # its plain Enum needs a signed pickle, and there is no SECRET_KEY
        except TypeError as exc:  # refusing clearly is allowed
            assert "SECRET_KEY" in str(exc)
        rename_customer()

    assert cached_name(other_process) == "anna"


@pytest.mark.parametrize("shop_region", ["redis"], indirect=True)
def test_herd_lock_lost_under_a_slow_loader_does_not_delay_the_next_commits_deletes(
    stock, other_process, redis_url
):
    assert cached_name(other_process) == "ann"
    client = redis.Redis.from_url(redis_url)

    def lose_the_lock(*args):  # as if the load outlived the lock's timeout
        for key in client.scan_iter("_lock*"):
            client.delete(key)

    event.listen(db.engine, "before_cursor_execute", lose_the_lock)
    Post.cache.get(1)
    event.remove(db.engine, "before_cursor_execute", lose_the_lock)
    rename_customer()

    assert cached_name(other_process) == "anna"
