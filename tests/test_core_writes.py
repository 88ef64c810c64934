"""Writes seen at the engine: Core statements on any connection, savepoints, autocommit.

Every INSERT, UPDATE and DELETE on the app's engine is turned into the keys
it makes stale, whichever connection ran it; the keys go after the commit
that makes the write final, and never for a write rolled back.
"""

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from caching import scan
from caching.testing import CountingProxy
from tests.conftest import fresh_session
from tests.models import User, db
from tests.test_invalidation import present, warm

users_table = User.__table__


def test_core_update_on_an_engine_connection_is_flushed_when_it_commits(users, region, invalidations):
    warm(lambda: User.cache.get(4), lambda: User.cache.filter(views=3))
    with db.engine.begin() as conn:
        conn.execute(update(users_table).where(users_table.c.id == 4).values(views=9))
    assert not present(region, "user.id[4]")
    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 5]
    assert User.cache.get(4).views == 9
    # delivered at the commit and again when the connection went back to the pool: announced once
    assert [(s["pk"], s["operation"]) for s in invalidations] == [(4, "update")]


def test_core_write_rolled_back_flushes_nothing(users, region, invalidations):
    warm(lambda: User.cache.get(5))
    with db.engine.connect() as conn:
        conn.execute(delete(users_table).where(users_table.c.id == 5))
        conn.rollback()
    assert present(region, "user.id[5]")
    assert invalidations == []


def test_connection_kept_open_after_commit_delivers_before_its_next_transaction(users, region):
    warm(lambda: User.cache.get(4))
    with db.engine.connect() as conn:
        conn.execute(update(users_table).where(users_table.c.id == 4).values(views=7))
        conn.commit()
        warm(lambda: User.cache.get(4))  # a reader between the commit and the next use
        conn.execute(update(users_table).where(users_table.c.id == 5).values(views=7))
        assert not present(region, "user.id[4]")  # the second delivery, at the next begin
        conn.commit()
    assert User.cache.get(4).views == 7


def test_core_statements_on_the_session_connection_follow_the_session(users, region):
    warm(lambda: User.cache.filter(views=3))
    db.session.connection().execute(insert(users_table).values(username="core", email="c@x.org", views=3))
    assert [u.username for u in User.cache.filter(views=3)][-1] == "core"  # bypassed: own write
    assert [row[0] for row in region.get("user.views=3[all]")[1]] == [1, 2, 3, 4, 5]  # kept until commit
    db.session.commit()
    assert not present(region, "user.views=3[all]")
    fresh_session()
    assert [u.username for u in User.cache.filter(views=3)][-1] == "core"


def test_writes_in_a_rolled_back_savepoint_flush_nothing_released_ones_do(users, region, invalidations):
    warm(lambda: User.cache.get(1), lambda: User.cache.get(2))
    with db.session.begin_nested() as savepoint:
        User.cache.get(1).views = 8
        db.session.flush()
        savepoint.rollback()
    with db.session.begin_nested():
        db.session.execute(update(User).where(User.id == 2).values(views=8))
    db.session.commit()
    assert present(region, "user.id[1]")
    assert not present(region, "user.id[2]")
    assert [(s["pk"], s["operation"]) for s in invalidations] == [(2, "update")]


def test_plain_sessions_on_the_engine_are_seen_too(users, region):
    warm(lambda: User.cache.get(3))
    with Session(db.engine) as other:
        other.get(User, 3).username = "renamed"
        other.commit()
    assert not present(region, "user.id[3]")
    assert User.cache.get(3).username == "renamed"


def test_autocommit_connections_flush_after_each_statement(users, region):
    warm(lambda: User.cache.get(6))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(update(users_table).where(users_table.c.id == 6).values(views=1))
        assert not present(region, "user.id[6]")
    assert User.cache.get(6).views == 1


@pytest.mark.backends  # the whole table's keys go by SCAN on Redis
def test_bulk_insert_without_returned_keys_flushes_the_table(users, region, invalidations):
    warm(lambda: User.cache.get(11), lambda: User.cache.filter(views=0))  # 11 does not exist yet: cached miss
    db.session.bulk_insert_mappings(User, [{"username": "b1", "email": "b1@x", "views": 0}] * 2)
    db.session.commit()
    assert not present(region, "user.id[11]")
    fresh_session()
    assert [u.username for u in User.cache.filter(views=0)] == ["b1", "b1"]
    assert User.cache.get(11).username == "b1"
    assert [s["operation"] for s in invalidations] == ["bulk"]


@pytest.mark.backends  # whether the backend can list its keys
def test_unknown_rows_are_refused_on_a_backend_that_cannot_list_keys(users, region, monkeypatch):
    monkeypatch.setattr(scan, "can_scan", lambda region: False)
    with pytest.raises(scan.UnsupportedBackendError, match="cannot list its keys"):
        db.session.bulk_insert_mappings(User, [{"username": "b1", "email": "b1@x", "views": 0}] * 2)
    db.session.rollback()
    assert User.cache.count(views=0) == 0


@pytest.mark.backends  # the whole table's keys go by SCAN on Redis
def test_update_that_changes_a_primary_key_flushes_the_table(users, region, invalidations):
    warm(lambda: User.cache.get(50), lambda: User.cache.get(5))
    db.session.execute(update(User).where(User.id == 5).values(id=50))
    db.session.commit()
    assert not present(region, "user.id[50]")  # the cached miss of the new key
    assert User.cache.get(50).username == "user5"
    assert User.cache.get(5) is None


def test_each_update_reads_old_and_new_rows_in_one_statement_each(users, sql):
    objects = [User.cache.get(pk) for pk in (1, 2, 3)]
    for user in objects:
        user.username += "!"
    sql.reset()
    db.session.commit()
    selects = [s for s in sql.statements if s.startswith("SELECT")]
    updates = [s for s in sql.statements if s.startswith("UPDATE")]
    assert len(updates) == 1  # the unit of work's executemany
    assert len(selects) == 2  # rows before (locked), rows after: one IN each
    assert all(" IN " in s for s in selects)


# -- only outages are outages ---------------------------------------------------------


def test_a_value_the_codec_cannot_encode_does_not_hold_back_deletes(app, users, region, caplog):
    from caching import current_state

    store = current_state().region("default").store
    store.save({"user.id[4]": [[1], lambda: None]})  # not msgpack, not picklable: the write is skipped
    assert "write skipped" in caplog.text
    warm(lambda: User.cache.get(4))
    User.cache.get(4).views = 5
    db.session.commit()
    assert not present(region, "user.id[4]")  # delivered at once: the region was not put to rest


@pytest.mark.backends  # which backend errors are outages
def test_a_failing_delete_that_is_not_an_outage_is_raised(app, users, monkeypatch):
    class Refusing(CountingProxy):
        def delete_multi(self, keys):
            raise ValueError("refused")

    from caching import current_state

    store = current_state().region("default").store
    monkeypatch.setattr(store.region, "backend", Refusing().wrap(store.region.backend))
    User.cache.get(4).views = 5
    with pytest.raises(ValueError, match="refused"):
        db.session.commit()
