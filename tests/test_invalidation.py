"""Every committed insert, update and delete flushes exactly the keys it made stale."""

import pytest
from dogpile.cache.api import NO_VALUE
from sqlalchemy import delete, insert, update

from tests.conftest import fresh_session
from tests.models import Address, User, db


def present(region, key):
    return region.get(key) is not NO_VALUE


def warm(*calls):
    for call in calls:
        call()
    fresh_session()


def test_update_flushes_the_object_and_every_listing_it_is_in_before_and_after(users, region, invalidations):
    warm(
        lambda: User.cache.get(4),
        lambda: User.cache.get(5),
        lambda: User.cache.filter(views=3),
        lambda: User.cache.filter(views=4),
        lambda: User.cache.filter(),
        lambda: User.cache.filter(username="user4"),
        lambda: User.cache.filter(username="user5"),
    )

    user = User.cache.get(4)
    user.views = 4
    db.session.commit()

    for key in ("user.id[4]", "user.views=3[all]", "user.views=4[all]", "user.id[all]"):
        assert not present(region, key), key
    assert not present(region, "user.username=user4[all]")  # unchanged column: its rows hold views
    assert present(region, "user.username=user5[all]")  # user 4 is in neither version of it
    assert present(region, "user.id[5]")
    fresh_session()
    assert [u.views for u in User.cache.filter(username="user4")] == [4]
    [signal] = invalidations
    assert signal["model"] is User
    assert signal["pk"] == 4
    assert signal["operation"] == "update"
    assert signal["columns"] == ("views",)
    assert set(signal["keys"]) == {
        "user.id[4]",
        "user.id[all]",
        "user.views=3[all]",
        "user.views=4[all]",
        "user.username=user4[all]",
        "user.email=user4@example.org[all]",
    }
    assert signal["region"] == "default"


def test_listings_are_correct_after_an_update(users):
    warm(lambda: User.cache.filter(views=3), lambda: User.cache.filter(views=4))
    User.cache.get(4).views = 4
    db.session.commit()
    fresh_session()
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 5]
    assert [u.id for u in User.cache.filter(views=4)] == [4, 6, 7, 8, 9, 10]
    assert User.cache.get(4).views == 4


def test_delete_flushes_every_value_listing_of_the_object(users, region, invalidations):
    """The gist flushed none of them: get_history reports nothing changed on delete."""
    warm(
        lambda: User.cache.get(3),
        lambda: User.cache.filter(views=3),
        lambda: User.cache.filter(username="user3"),
        lambda: User.cache.filter(email="user3@example.org"),
    )

    db.session.delete(User.cache.get(3))
    db.session.commit()
    fresh_session()

    for key in (
        "user.id[3]",
        "user.id[all]",
        "user.views=3[all]",
        "user.username=user3[all]",
        "user.email=user3@example.org[all]",
    ):
        assert not present(region, key), key
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 4, 5]
    assert User.cache.get(3) is None
    [signal] = invalidations
    assert (signal["operation"], signal["pk"]) == ("delete", 3)


def test_insert_flushes_the_new_object_key_not_none(users, region, invalidations):
    """The gist flushed ``user.id[None]``: the pk is unknown before the INSERT."""
    assert User.cache.get(11) is None  # a cached miss
    warm(lambda: User.cache.filter(views=3), lambda: User.cache.filter())

    db.session.add(User(username="new", email="new@example.org", views=3))
    db.session.commit()
    fresh_session()

    assert not present(region, "user.id[11]")
    assert not present(region, "user.id[None]")
    assert User.cache.get(11).username == "new"
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 4, 5, 11]
    assert len(User.cache.filter()) == 11
    [signal] = invalidations
    assert (signal["operation"], signal["pk"]) == ("insert", 11)
    assert {"user.id[11]", "user.id[all]", "user.views=3[all]", "user.username=new[all]"} <= set(
        signal["keys"]
    )


def test_keys_are_deleted_after_commit_not_at_flush(users, region):
    warm(lambda: User.cache.get(4))
    User.cache.get(4).views = 9
    db.session.flush()
    assert present(region, "user.id[4]")
    db.session.commit()
    assert not present(region, "user.id[4]")


def test_rollback_flushes_nothing(users, region, invalidations):
    warm(lambda: User.cache.get(4), lambda: User.cache.filter(views=3))
    User.cache.get(4).views = 9
    db.session.flush()
    db.session.rollback()
    assert present(region, "user.id[4]")
    assert present(region, "user.views=3[all]")
    assert invalidations == []


def test_savepoint_rollback_flushes_nothing_of_the_savepoint(users, region, invalidations):
    warm(lambda: User.cache.get(4), lambda: User.cache.get(5))
    User.cache.get(5).views = 8
    savepoint = db.session.begin_nested()
    User.cache.get(4).views = 9
    db.session.flush()
    savepoint.rollback()
    db.session.commit()

    assert present(region, "user.id[4]")
    assert not present(region, "user.id[5]")
    assert [s["pk"] for s in invalidations] == [5]


def test_released_savepoint_is_flushed_at_the_outer_commit(users, region, invalidations):
    warm(lambda: User.cache.get(4))
    with db.session.begin_nested():
        User.cache.get(4).views = 9
    assert present(region, "user.id[4]")  # released, not yet committed
    db.session.commit()
    assert not present(region, "user.id[4]")
    assert [s["pk"] for s in invalidations] == [4]


@pytest.mark.backends  # UNLINK split per slot on a cluster
def test_a_commit_deletes_in_one_backend_call_per_region(users, counter):
    for pk in (1, 2, 3):
        User.cache.get(pk).views += 10
    db.session.add(User(username="x", email="x@example.org"))
    counter.reset()
    db.session.commit()
    assert counter.calls == {"delete_multi": 1}


def test_two_flushes_of_one_object_are_one_signal_with_all_keys(users, invalidations):
    user = User.cache.get(4)
    user.views = 7
    db.session.flush()
    user.email = "new@example.org"
    db.session.commit()
    [signal] = invalidations
    assert set(signal["columns"]) == {"views", "email"}
    assert {
        "user.views=3[all]",
        "user.views=7[all]",
        "user.email=user4@example.org[all]",
        "user.email=new@example.org[all]",
    } <= set(signal["keys"])


def test_update_of_a_value_never_loaded_still_flushes_its_old_listing(users, region):
    warm(lambda: User.cache.filter(views=3))
    user = User.cache.get(4)
    db.session.commit()
    db.session.expire(user)
    user.views = 10  # the ORM does not load the old value for this
    db.session.commit()
    assert not present(region, "user.views=3[all]")
    fresh_session()
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 5]


def test_delete_of_an_expired_object_flushes_its_listings(users, region):
    warm(lambda: User.cache.filter(views=3))
    user = User.cache.get(2)
    db.session.commit()
    db.session.expire(user)
    db.session.delete(user)
    db.session.commit()
    fresh_session()
    assert [u.id for u in User.cache.filter(views=3)] == [1, 3, 4, 5]


def test_value_assigned_as_string_flushes_the_typed_listing(users, region):
    warm(lambda: User.cache.filter(views=5))
    User.cache.get(4).views = "5"
    db.session.commit()
    fresh_session()
    assert [u.id for u in User.cache.filter(views=5)] == [4]


def test_moving_an_address_flushes_old_and_new_owner_listings(users, region, invalidations):
    warm(
        lambda: Address.cache.filter(user_id=4),
        lambda: Address.cache.filter(user_id=5),
        lambda: Address.cache.filter(user_id=4, email="a@b.org"),
    )
    address = Address.cache.filter(user_id=4)[0]
    address.user = User.cache.get(5)  # through the relationship, not the column
    db.session.commit()
    fresh_session()

    assert [a.email for a in Address.cache.filter(user_id=4)] == ["c@d.org"]
    assert [a.email for a in Address.cache.filter(user_id=5)] == ["a@b.org"]
    assert Address.cache.filter(user_id=4, email="a@b.org") == []
    assert {
        "address.user_id=4[all]",
        "address.user_id=5[all]",
        "address.email=a@b.org&user_id=4[all]",
        "address.email=a@b.org&user_id=5[all]",
    } <= set(invalidations[0]["keys"])


def test_deleting_a_user_cascades_to_its_address_listings(users, region):
    warm(lambda: Address.cache.filter(user_id=4), lambda: Address.cache.filter())
    db.session.delete(User.cache.get(4))
    db.session.commit()
    fresh_session()
    assert Address.cache.filter(user_id=4) == []
    assert Address.cache.filter() == []


def test_update_statement_flushes_exactly_the_rows_it_changed(users, region, invalidations):
    warm(lambda: User.cache.get(4), lambda: User.cache.filter(views=3), lambda: User.cache.filter(views=4))
    db.session.execute(update(User).where(User.id < 3).values(views=4))
    db.session.commit()
    fresh_session()

    assert present(region, "user.id[4]")  # not written: still cached
    assert [u.id for u in User.cache.filter(views=3)] == [3, 4, 5]
    assert [u.id for u in User.cache.filter(views=4)] == [1, 2, 6, 7, 8, 9, 10]
    assert User.cache.get(1).views == 4
    assert [(s["model"], s["pk"], s["operation"]) for s in invalidations] == [
        (User, 1, "update"),
        (User, 2, "update"),
    ]
    flushed = {"user.id[1]", "user.id[all]", "user.views=3[all]", "user.views=4[all]"}
    flushed |= {"user.username=user1[all]", "user.email=user1@example.org[all]"}
    assert set(invalidations[0]["keys"]) == flushed


@pytest.mark.backends  # the whole table's keys go by SCAN on Redis
def test_update_statement_over_many_rows_flushes_the_table(users, region, invalidations, monkeypatch):
    monkeypatch.setattr("caching.rows.MAX_ROWS", 3)
    warm(lambda: User.cache.get(9), lambda: User.cache.filter(views=4))
    db.session.execute(update(User).where(User.id < 6).values(views=4))
    db.session.commit()
    fresh_session()

    assert not present(region, "user.id[9]")
    assert [u.id for u in User.cache.filter(views=4)] == list(range(1, 11))
    [signal] = invalidations
    assert (signal["model"], signal["operation"]) == (User, "bulk")
    assert {"user.id[9]", "user.views=4[all]"} <= set(signal["keys"])


@pytest.mark.backends  # the whole table's keys go by SCAN on Redis
def test_bulk_delete_and_insert_statements_flush_the_table(users, region):
    warm(lambda: User.cache.get(1), lambda: User.cache.filter())
    db.session.execute(delete(User).where(User.id == 1))
    db.session.execute(insert(User).values(username="bulk", email="bulk@example.org", views=0))
    db.session.commit()
    fresh_session()
    assert User.cache.get(1) is None
    assert [u.username for u in User.cache.filter()][-1] == "bulk"


def test_bulk_statement_rolled_back_flushes_nothing(users, region):
    warm(lambda: User.cache.get(1))
    db.session.execute(update(User).values(views=0))
    db.session.rollback()
    assert present(region, "user.id[1]")


def test_reads_inside_a_writing_transaction_see_its_writes_and_store_nothing(users, region):
    warm(lambda: User.cache.filter(views=3))
    db.session.add(User(username="pending", email="p@example.org", views=3))
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 4, 5, 11]  # autoflushed, uncommitted
    assert User.cache.get(11).username == "pending"
    cached = region.get("user.views=3[all]")[1]
    assert [row[0] for row in cached] == [1, 2, 3, 4, 5]  # the cache holds committed data only
    db.session.rollback()
    fresh_session()
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 4, 5]
    assert User.cache.get(11) is None


def test_manual_flush_deletes_the_key_and_sends_the_same_signal(users, region, invalidations):
    warm(lambda: User.cache.get(4))
    assert User.cache.flush("user.id[4]") == ["user.id[4]"]
    assert not present(region, "user.id[4]")
    assert invalidations == [
        {
            "model": User,
            "pk": None,
            "operation": "manual",
            "columns": (),
            "keys": ("user.id[4]",),
            "region": "default",
            "patterns": (),
        }
    ]


@pytest.mark.parametrize("column", ["username", "email"])
def test_unchanged_update_sends_nothing(users, invalidations, column):
    user = User.cache.get(4)
    setattr(user, column, getattr(user, column))
    db.session.commit()
    assert invalidations == []
