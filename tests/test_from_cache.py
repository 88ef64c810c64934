"""``FromCache``: any ORM statement's result through a region."""

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from caching import FromCache
from caching.context import mapped_class
from caching.mapping import info_for
from caching.scan import iter_keys
from tests.conftest import fresh_session
from tests.models import Address, User, db

pytestmark = pytest.mark.backends  # statement results stored in the backend


def views_3():
    return db.session.scalars(select(User).where(User.views == 3).options(FromCache("default"))).all()


def test_result_is_cached_under_a_hash_of_sql_and_parameters(users, sql, region):
    assert [u.id for u in views_3()] == [1, 2, 3, 4, 5]
    assert len(sql) == 1
    fresh_session()
    sql.reset()

    cached = views_3()

    assert [(u.id, u.username, u.views) for u in cached] == [(i, f"user{i}", 3) for i in range(1, 6)]
    assert all(u in db.session for u in cached)
    assert len(sql) == 0
    [key] = iter_keys(region, "caching:sql:*")
    assert len(key) == len("caching:sql:") + 32


def test_other_parameters_are_another_key(users, sql):
    views_3()
    sql.reset()
    stmt = select(User).where(User.views == 4).options(FromCache("default"))
    assert [u.id for u in db.session.scalars(stmt)] == [6, 7, 8, 9, 10]
    assert len(sql) == 1


def test_legacy_query_with_an_explicit_key_and_manual_flush(users, sql, region):
    top = User.query.options(User.cache.from_cache("top_users")).order_by(User.id.desc()).limit(3).all()
    assert [u.id for u in top] == [10, 9, 8]
    fresh_session()
    sql.reset()
    assert [u.id for u in User.query.options(User.cache.from_cache("top_users")).limit(3).all()] == [10, 9, 8]
    assert len(sql) == 0
    assert region.get("top_users")[1]["keys"] == ["User"]

    User.cache.flush("top_users")
    User.query.options(User.cache.from_cache("top_users")).all()
    assert len(sql) == 1


def test_a_commit_to_a_table_the_statement_reads_invalidates_it(users, sql):
    views_3()
    User.cache.get(6).views = 3
    db.session.commit()
    fresh_session()
    sql.reset()
    assert [u.id for u in views_3()] == [1, 2, 3, 4, 5, 6]
    assert len(sql) == 1


def test_a_commit_to_a_joined_table_invalidates_it(users, sql):
    stmt = select(User).join(User.addresses).where(Address.email == "a@b.org").options(FromCache())
    assert [u.id for u in db.session.scalars(stmt)] == [4]
    address = Address.cache.filter(user_id=4, email="a@b.org")[0]
    address.email = "moved@b.org"
    db.session.commit()
    fresh_session()
    assert db.session.scalars(stmt).all() == []


def test_column_rows_and_mixed_rows(users, sql):
    stmt = select(User.username, User.views).where(User.id < 3).order_by(User.id).options(FromCache())
    assert db.session.execute(stmt).all() == [("user1", 3), ("user2", 3)]
    fresh_session()
    sql.reset()
    rows = db.session.execute(stmt).all()
    assert [tuple(r) for r in rows] == [("user1", 3), ("user2", 3)]
    assert rows[0].username == "user1"
    assert len(sql) == 0

    mixed = select(User, Address.email).join(User.addresses).order_by(Address.id).options(FromCache())
    db.session.execute(mixed).all()
    fresh_session()
    sql.reset()
    assert [(u.id, email) for u, email in db.session.execute(mixed)] == [(4, "a@b.org"), (4, "c@d.org")]
    assert len(sql) == 0


def test_a_row_of_two_models_warm_is_the_rows_objects_of_the_query(users, sql):
    """Each column's instances are attached together; a repeated object is one object."""
    stmt = select(Address, User).join(Address.user).order_by(Address.id)
    expected = [(a.id, a.email, u.id, u.username) for a, u in db.session.execute(stmt)]
    db.session.execute(stmt.options(FromCache())).all()
    fresh_session()
    sql.reset()

    rows = db.session.execute(stmt.options(FromCache())).all()

    assert (
        [(a.id, a.email, u.id, u.username) for a, u in rows]
        == expected
        == [
            (1, "a@b.org", 4, "user4"),
            (2, "c@d.org", 4, "user4"),
        ]
    )
    assert rows[0][1] is rows[1][1] is db.session.get(User, 4)
    assert [a.user for a, _ in rows] == [rows[0][1]] * 2
    assert len(sql) == 0


def test_a_cached_instance_can_be_changed_and_committed(users, invalidations):
    views_3()
    fresh_session()
    user = views_3()[0]
    user.views = 30
    db.session.commit()
    assert invalidations[0]["columns"] == ("views",)
    fresh_session()
    assert db.session.get(User, 1).views == 30


def test_inside_a_writing_transaction_the_statement_reads_the_database(users, sql):
    views_3()
    db.session.add(User(username="new", email="n@example.org", views=3))
    assert [u.id for u in views_3()][-1] == 11
    db.session.rollback()
    fresh_session()
    assert [u.id for u in views_3()] == [1, 2, 3, 4, 5]


def test_entries_of_an_older_model_shape_are_misses(users, sql, monkeypatch):
    views_3()
    fresh_session()
    sql.reset()
    monkeypatch.setattr(info_for(User), "fingerprint", "0ld5hape")
    assert [u.id for u in views_3()] == [1, 2, 3, 4, 5]
    assert len(sql) == 1


def test_unknown_region_is_a_clear_error(users):
    with pytest.raises(ValueError, match=r"unknown cache region 'nowhere'; configured: default"):
        db.session.scalars(select(User).options(FromCache("nowhere"))).all()


def test_a_legacy_count_query_with_an_unnamed_column_is_served_from_the_cache(users, sql):
    """Flask-Admin counts with ``session.query(func.count("*"))``: a result column without a name."""

    def count_views_3():
        query = db.session.query(func.count("*")).select_from(User).filter(User.views == 3)
        return query.options(FromCache("default")).scalar()

    assert count_views_3() == 5
    fresh_session()
    sql.reset()
    assert count_views_3() == 5
    assert len(sql) == 0


class OtherBase(DeclarativeBase):
    """A second declarative base, as apps with a legacy or shared schema have: not ``db.Model``."""


class Note(OtherBase):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def notes(app):
    OtherBase.metadata.create_all(db.engine)
    db.session.add_all([Note(id=1, text="a"), Note(id=2, text="b")])
    db.session.commit()
    yield
    db.session.remove()
    OtherBase.metadata.drop_all(db.engine)


def test_instances_of_a_model_on_another_declarative_base_are_served_and_invalidated(notes, sql):
    stmt = select(Note).order_by(Note.id).options(FromCache("default"))
    assert [n.text for n in db.session.scalars(stmt)] == ["a", "b"]
    fresh_session()
    sql.reset()

    assert [(n.id, n.text) for n in db.session.scalars(stmt)] == [(1, "a"), (2, "b")]
    assert len(sql) == 0

    db.session.get(Note, 1).text = "z"
    db.session.commit()
    fresh_session()
    assert [n.text for n in db.session.scalars(stmt)] == ["z", "b"]


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "caching.context.CachingState",
        "tests.models",
        "no.such.module.User",
        "tests.models.User.id",
    ],
)
def test_a_stored_class_path_resolves_only_to_a_mapped_class_of_an_imported_module(path):
    assert mapped_class("tests.models.User") is User
    assert mapped_class("tests.test_from_cache.Note") is Note
    assert mapped_class(path) is None
