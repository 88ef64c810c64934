"""Item 2: values the database computes are read back, never guessed.

``post.views = Post.views + 1`` (the atomic counter), a Python ``onupdate``,
a SQL ``onupdate=func.now()`` and a trigger announced by ``server_onupdate``
all leave the new value unknown to the session until it is read back, and
the old value may be expired by then. The listings of both real values must
be flushed, and no flushed key may be rendered from a placeholder.
"""

import re

import pytest
from sqlalchemy import select

from tests.shop.compare import assert_matches_database, count, get, listing
from tests.shop.models import Post, db

# what SQLAlchemy's markers and expressions look like once rendered into a key
PLACEHOLDER = re.compile(
    r"NO_VALUE|NEVER_SET|PASSIVE_|LoaderCallableStatus|symbol\(| object at 0x|:[A-Za-z]\w*_\d+"
)


def count_a_view(post):
    post.views = Post.views + 1


def edit_title(post):
    post.title = "hello again"


WRITES = [count_a_view, edit_title]


def stored(column):
    """The column's value for post 1 as the database has it now."""
    return db.session.scalar(select(column).where(Post.id == 1))


def test_counter_incremented_in_sql_leaves_no_stale_listing(stock):
    reads = (get(Post, 1), listing(Post, views=0), listing(Post, views=1), count(Post, views=0))
    assert_matches_database(*reads)

    count_a_view(db.session.get(Post, 1))
    db.session.commit()

    assert_matches_database(*reads)


def test_python_onupdate_stamp_leaves_no_stale_listing(stock):
    """``edited_at`` goes from None to ``utcnow()`` with any edit."""
    reads = (listing(Post, edited_at=None), count(Post, edited_at=None))
    assert_matches_database(*reads)

    edit_title(db.session.get(Post, 1))
    db.session.commit()

    assert_matches_database(*reads)


def test_sql_onupdate_stamp_leaves_no_stale_listing(stock):
    """``touched_at`` is set by ``now()`` in the UPDATE itself."""
    reads = (
        listing(Post, touched_at=stored(Post.touched_at)),
        count(Post, touched_at=stored(Post.touched_at)),
    )
    assert_matches_database(*reads)

    edit_title(db.session.get(Post, 1))
    db.session.commit()

    assert_matches_database(*reads)


def test_server_onupdate_revision_leaves_no_stale_listing(stock):
    """``revision`` is bumped by a trigger the model only announces."""
    reads = (listing(Post, revision=0), listing(Post, revision=1), count(Post, revision=0))
    assert_matches_database(*reads)

    edit_title(db.session.get(Post, 1))
    db.session.commit()

    assert_matches_database(*reads)


@pytest.mark.parametrize("write", WRITES)
def test_no_flushed_key_is_rendered_from_a_placeholder(stock, flushed_keys, write):
    old_touched_at = stored(Post.touched_at)
    db.session.remove()

    write(db.session.get(Post, 1))
    db.session.commit()

    assert flushed_keys, "the commit flushed nothing"
    assert [key for key in flushed_keys if PLACEHOLDER.search(key)] == []
    assert "shop_post.revision=0[all]" in flushed_keys
    assert "shop_post.revision=1[all]" in flushed_keys
    info = Post.cache.info
    assert info.listing_key({"touched_at": info.coerce("touched_at", old_touched_at)}) in flushed_keys
