"""Browsing keys: patterns, pages, previews, and flushing by pattern or region."""

import pytest
from sqlalchemy import select

from caching import FromCache
from dashboard.browse import BadPattern, browse, count_matching
from tests.models import Address, User, caching, db

pytestmark = pytest.mark.backends  # keys are listed and flushed by SCAN on Redis, per node on a cluster


def state():
    return caching.state()


def warm():
    User.cache.filter(views=3)
    for pk in range(1, 6):
        User.cache.get(pk)
    Address.cache.filter(user_id=4)
    db.session.scalars(select(User).where(User.id < 3).options(FromCache())).all()
    User.cache.get(99)


def test_keys_match_a_pattern_with_literal_brackets(users):
    warm()
    entries, cursor = browse(state(), "default", "user.id[?]")
    assert [e.key for e in entries] == [f"user.id[{i}]" for i in range(1, 6)]
    assert cursor is None
    assert [e.key for e in browse(state(), "default", "user.views=*")[0]] == ["user.views=3[all]"]


def test_previews_decode_objects_listings_statements_and_misses(users):
    warm()
    entries = {e.key: e for e in browse(state(), "default", "*", count=100, guards=True)[0]}
    assert entries["user.id[4]"].preview == "id=4, username='user4', email='user4@example.org', views=3"
    assert entries["user.id[4]"].kind == "object"
    assert entries["user.views=3[all]"].preview.startswith("5 rows: id=1, username='user1'")
    assert entries["user.views=3[all]"].kind == "listing"
    assert entries["user.id[99]"].preview == "no such row (a cached miss)"
    assert entries["gen:user.id[4]"].kind == "guard"
    [statement] = [e for e in entries.values() if e.kind == "statement"]
    assert statement.preview.startswith("2 rows of User: User(id=1, username='user1'")
    assert all(e.size > 0 and 0 <= e.age < 60 for e in entries.values())
    assert 240 < entries["user.id[4]"].expires_in <= 300


def test_pages_cover_every_key_once(users):
    warm()
    seen, cursor, pages = [], "0", 0
    while cursor is not None:
        entries, cursor = browse(state(), "default", "*", cursor=cursor, count=3)
        seen.extend(e.key for e in entries)
        pages += 1
    assert pages > 1
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) == count_matching(state(), "default", "*", guards=False)


def test_previews_are_text_not_markup(users):
    db.session.add(User(username="<script>alert(1)</script>", email="x", views=0))
    db.session.commit()
    User.cache.get(11)
    [entry] = browse(state(), "default", "user.id[11]")[0]
    assert "<script>" in entry.preview  # escaped by the template, never rendered as HTML


@pytest.mark.parametrize("pattern", ["", "x" * 201, "bad\npattern"])
def test_bad_patterns_are_clear_errors(users, pattern):
    with pytest.raises(BadPattern, match="printable characters"):
        browse(state(), "default", pattern)


def test_bad_cursor_is_a_clear_error(users):
    with pytest.raises(BadPattern, match="cursor"):
        browse(state(), "default", "*", cursor="abc")


def test_flush_by_pattern_deletes_matches_and_their_guards(users, invalidations):
    warm()
    assert count_matching(state(), "default", "user.id[?]", guards=False) == 5
    flushed = state().flush("default", patterns=["user.id[?]"])
    assert sorted(flushed) == [f"user.id[{i}]" for i in range(1, 6)]
    assert browse(state(), "default", "user.id[?]")[0] == []
    assert browse(state(), "default", "gen:user.id[?]", guards=True)[0] == []
    assert browse(state(), "default", "user.views=3[all]")[0] != []
    assert invalidations[-1]["operation"] == "manual"


def test_flushing_the_region_leaves_no_key(users):
    warm()
    assert count_matching(state(), "default") > 10
    state().flush("default", patterns=["*"])
    assert count_matching(state(), "default") == 0
