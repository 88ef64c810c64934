"""Lazy loads through the cache: ``user.addresses`` reads the listing ``address.user_id=4[all]``,
``address.user`` the object key ``user.id[4]``, batched over the objects read together."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caching import FromCache, relationships
from tests.conftest import fresh_session
from tests.models import Address, User, db

pytestmark = pytest.mark.backends  # batched loads read many keys in one call, split per slot on a cluster


@pytest.fixture
def people(app):
    """Six users; user i has i % 3 addresses."""
    for i in range(1, 7):
        user = User(username=f"user{i}", email=f"user{i}@example.org", views=i)
        user.addresses = [Address(email=f"{i}.{j}@example.org") for j in range(i % 3)]
        db.session.add(user)
    db.session.commit()
    fresh_session()


def reads(counter):
    return sum(n for call, n in counter.calls.items() if call.startswith("get"))


def page(users):
    return [(u.username, [a.email for a in u.addresses]) for u in users]


EXPECTED = [
    ("user1", ["1.0@example.org"]),
    ("user2", ["2.0@example.org", "2.1@example.org"]),
    ("user3", []),
    ("user4", ["4.0@example.org"]),
    ("user5", ["5.0@example.org", "5.1@example.org"]),
    ("user6", []),
]


def test_users_with_their_addresses_cold_is_two_statements_whatever_the_number_of_users(people, sql):
    assert page(User.cache.filter()) == EXPECTED
    assert len(sql) == 2
    assert "WHERE address.user_id IN" in sql.statements[1]
    assert len(sql.parameters[1]) == 6  # every user's addresses in one statement


def test_users_with_their_addresses_warm_is_no_sql_and_two_backend_calls(people, sql, counter):
    page(User.cache.filter())
    fresh_session()
    sql.reset()
    counter.reset()

    assert page(User.cache.filter()) == EXPECTED
    assert len(sql) == 0
    assert counter.total() == 2  # the listing, then every user's address listing at once


def test_addresses_are_the_listing_filter_reads(people, sql, region):
    User.cache.get(2).addresses  # noqa: B018 - the lazy load stores the listing
    emails = [row[2] for row in region.get("address.user_id=2[all]")[1]]
    assert emails == ["2.0@example.org", "2.1@example.org"]
    fresh_session()
    sql.reset()
    assert [a.email for a in Address.cache.filter(user_id=2)] == ["2.0@example.org", "2.1@example.org"]
    assert len(sql) == 0


def test_the_owner_of_each_address_is_read_by_its_object_key_in_one_call(people, sql, counter):
    addresses = Address.cache.filter()
    User.cache.get(1)  # already cached: served like the others
    fresh_session()
    sql.reset()
    counter.reset()

    addresses = Address.cache.filter()
    assert [(a.email, a.user.username) for a in addresses] == [
        ("1.0@example.org", "user1"),
        ("2.0@example.org", "user2"),
        ("2.1@example.org", "user2"),
        ("4.0@example.org", "user4"),
        ("5.0@example.org", "user5"),
        ("5.1@example.org", "user5"),
    ]
    assert len(sql) == 1  # the users not yet cached, in one statement
    assert "WHERE user.id IN" in sql.statements[0]
    assert reads(counter) == 2  # the listing, then every owner at once
    fresh_session()
    sql.reset()
    owners = [a.user.username for a in Address.cache.filter()]
    assert owners == ["user1", "user2", "user2", "user4", "user5", "user5"]
    assert len(sql) == 0


def test_a_from_cache_result_is_a_group_too(people, sql):
    stmt = select(User).where(User.views > 3).order_by(User.id).options(FromCache())
    db.session.scalars(stmt).all()
    fresh_session()
    sql.reset()

    users = db.session.scalars(stmt).all()
    assert page(users) == EXPECTED[3:]
    assert len(sql) == 1  # one IN for the three users' addresses
    fresh_session()
    sql.reset()
    assert page(db.session.scalars(stmt).all()) == EXPECTED[3:]
    assert len(sql) == 0


def test_a_new_address_shows_in_its_users_addresses_after_commit(people):
    page(User.cache.filter())
    fresh_session()
    db.session.add(Address(user_id=3, email="3.new@example.org"))
    db.session.commit()
    fresh_session()
    assert [a.email for a in User.cache.get(3).addresses] == ["3.new@example.org"]


def test_an_address_moved_to_another_user_leaves_one_list_and_joins_the_other(people):
    page(User.cache.filter())
    fresh_session()
    address = Address.cache.filter(user_id=2)[0]
    address.user = User.cache.get(1)
    db.session.commit()
    fresh_session()
    assert page(User.cache.filter())[:2] == [
        ("user1", ["1.0@example.org", "2.0@example.org"]),
        ("user2", ["2.1@example.org"]),
    ]


def test_an_orphan_removed_from_the_collection_is_gone_from_it(people):
    page(User.cache.filter())
    fresh_session()
    user = User.cache.get(5)
    user.addresses.remove(user.addresses[0])  # delete-orphan
    db.session.commit()
    fresh_session()
    assert [a.email for a in User.cache.get(5).addresses] == ["5.1@example.org"]
    assert Address.cache.filter(email="5.0@example.org") == []


def test_a_core_update_moves_addresses_for_every_reader(people):
    page(User.cache.filter())
    fresh_session()
    db.session.execute(update(Address).where(Address.user_id == 5).values(user_id=6))
    db.session.commit()
    fresh_session()
    assert page(User.cache.filter())[4:] == [("user5", []), ("user6", ["5.0@example.org", "5.1@example.org"])]


def test_a_renamed_owner_is_read_fresh_through_an_address(people):
    [a.user for a in Address.cache.filter()]
    fresh_session()
    User.cache.get(2).username = "renamed"
    db.session.commit()
    fresh_session()
    assert {a.user.username for a in Address.cache.filter(user_id=2)} == {"renamed"}


def test_the_session_sees_its_own_uncommitted_addresses(people, sql):
    page(User.cache.filter())
    fresh_session()
    db.session.add(Address(user_id=3, email="3.pending@example.org"))
    db.session.flush()
    sql.reset()
    assert [a.email for a in User.cache.get(3).addresses] == ["3.pending@example.org"]
    assert any("FROM address" in s for s in sql.statements)  # read by SQL, not from the cache
    db.session.rollback()
    fresh_session()
    assert User.cache.get(3).addresses == []


def test_an_address_list_loaded_before_a_commit_is_never_stored_after_it(people, monkeypatch):
    """The guards are armed before the database read: a commit between that read and
    the store leaves an entry no reader will serve."""
    select_rows = relationships.Batch._select

    def select_then_commit_elsewhere(self, values):
        rows = select_rows(self, values)
        with Session(db.engine) as other:  # another request adds an address meanwhile
            other.add(Address(user_id=1, email="1.late@example.org"))
            other.commit()
        return rows

    monkeypatch.setattr(relationships.Batch, "_select", select_then_commit_elsewhere)
    assert [a.email for a in User.cache.get(1).addresses] == ["1.0@example.org"]
    monkeypatch.undo()
    fresh_session()
    assert [a.email for a in User.cache.get(1).addresses] == ["1.0@example.org", "1.late@example.org"]


def test_loads_go_to_the_database_when_the_cache_is_off(people, app, sql):
    app.extensions["caching"].enabled = False
    try:
        users = User.cache.filter()
        sql.reset()
        assert page(users) == EXPECTED
        assert len(sql) == 6  # SQLAlchemy's own lazy loads, one per user
    finally:
        app.extensions["caching"].enabled = True


def test_a_relationship_can_opt_out(people, sql, monkeypatch):
    monkeypatch.setitem(User.addresses.property.info, "cache", False)
    monkeypatch.setattr(relationships, "_plans", {})
    users = User.cache.filter()
    sql.reset()
    assert page(users) == EXPECTED
    assert len(sql) == 6


def test_a_batch_leaves_collections_already_loaded_alone(people, sql):
    users = User.cache.filter()
    mine = users[1].addresses
    sql.reset()
    assert [a.email for a in users[0].addresses] == ["1.0@example.org"]  # batch-loads the others
    assert users[1].addresses is mine
    assert len(sql) == 0


def test_objects_read_by_plain_queries_load_their_relationships_through_the_cache_one_by_one(people, sql):
    page(User.cache.filter())
    fresh_session()
    users = db.session.scalars(select(User).order_by(User.id)).all()
    sql.reset()
    assert page(users) == EXPECTED
    assert len(sql) == 0


def test_a_batch_of_relationship_misses_is_timed_for_the_stats(people, app):
    """What a hit saves: the batch's one statement, shared by the listings it loaded."""
    stats = app.extensions["caching"].region("default").stats
    stats.reset()
    page(User.cache.filter())
    shapes = {(row["table"], row["kind"]): row for row in stats.snapshot()["shapes"]}
    addresses = shapes["address", "listing"]
    assert (addresses["misses"], addresses["loads"]) == (6, 6)
    assert addresses["load_s"] > 0


def test_a_null_joins_no_row_and_leaves_the_listing_of_null_alone(app, sql):
    """``team.members`` joins on a nullable code: a team without one has no members, though
    members without a code exist, and ``Member.cache.filter(team_code=None)`` lists those."""
    from tests.models import Member, Team

    db.session.add_all([Team(code="a"), Team(code=None), Member(team_code="a", name="ann")])
    db.session.add(Member(team_code=None, name="bob"))
    db.session.commit()
    fresh_session()
    teams = Team.cache.filter()
    assert [m.name for m in teams[0].members] == ["ann"]  # batch-loads the other team too
    assert teams[1].members == []
    fresh_session()
    assert [t.members for t in Team.cache.filter()][1] == []
    assert [m.name for m in Member.cache.filter(team_code=None)] == ["bob"]
