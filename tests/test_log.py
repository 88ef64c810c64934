"""The invalidation log: newest first, searchable, bounded."""

import pytest
from flask import current_app

from dashboard.log import enable_log
from tests.models import User, db

pytestmark = pytest.mark.backends  # the log lives in Redis when the region does


def test_each_commit_and_manual_flush_is_an_entry_newest_first(users):
    log = enable_log(current_app)
    user = User.cache.get(4)
    user.views = 4
    db.session.commit()
    User.cache.flush("user.id[all]")

    manual, update = log.entries()
    assert (update["model"], update["pk"], update["operation"], update["who"]) == ("User", 4, "update", "app")
    assert update["columns"] == ["views"]
    assert set(update["keys"]) == {
        "user.id[4]",
        "user.id[all]",
        "user.views=3[all]",
        "user.views=4[all]",
        "user.username=user4[all]",
        "user.email=user4@example.org[all]",
    }
    assert (manual["operation"], manual["keys"]) == ("manual", ["user.id[all]"])
    assert log.find(update["id"]) == update


def test_search_by_model_pk_key_and_operation(users):
    log = enable_log(current_app)
    User.cache.get(4).views = 8
    User.cache.get(5).email = "five@example.org"
    db.session.commit()
    assert [e["pk"] for e in log.entries(pk="5")] == [5]
    assert [e["pk"] for e in log.entries(key="user.views=8*")] == [4]
    assert log.entries(operation="delete") == []
    assert len(log.entries(model="User")) == 2
    assert log.entries(model="Address") == []


def test_who_is_asked_at_record_time(users):
    log = enable_log(current_app)
    log.who = lambda: "alice"
    User.cache.flush("user.id[1]")
    assert log.entries()[0]["who"] == "alice"


def test_the_log_keeps_the_newest_entries_only(users):
    log = enable_log(current_app, size=3)
    for pk in range(1, 6):
        User.cache.flush(f"user.id[{pk}]")
    assert [e["keys"] for e in log.entries()] == [["user.id[5]"], ["user.id[4]"], ["user.id[3]"]]
