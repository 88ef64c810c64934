"""Models named by a unique column (``cache_pk``), server defaults and JSON values."""

import datetime

from dogpile.cache.api import NO_VALUE

from tests.conftest import fresh_session
from tests.models import Account, db


def make_accounts():
    db.session.add_all(
        [
            Account(login="bob", plan="pro", settings={"theme": "dark", "tags": ["a", "b"]}),
            Account(login="eve", plan="pro"),
            Account(login="joe", plan=None, active=False),
        ]
    )
    db.session.commit()
    fresh_session()


def test_objects_are_keyed_by_cache_pk(app, region, sql):
    make_accounts()
    bob = Account.cache.get("bob")
    assert (bob.login, bob.plan, bob.settings) == ("bob", "pro", {"theme": "dark", "tags": ["a", "b"]})
    assert isinstance(bob.created, datetime.datetime)
    fresh_session()
    sql.reset()
    assert Account.cache.get("bob").settings["tags"] == ["a", "b"]
    assert len(sql) == 0
    assert region.get("account.login[bob]") is not NO_VALUE
    assert [a.login for a in Account.cache.filter(plan="pro")] == ["bob", "eve"]
    assert [row[1] for row in region.get("account.plan=pro[all]")[1]] == ["bob", "eve"]


def test_renaming_flushes_the_old_and_the_new_name(app, region, invalidations):
    make_accounts()
    assert Account.cache.get("robert") is None
    Account.cache.get("bob").login = "robert"
    db.session.commit()
    fresh_session()
    assert Account.cache.get("bob") is None
    assert Account.cache.get("robert").plan == "pro"
    assert {"account.login[bob]", "account.login[robert]"} <= set(invalidations[-1]["keys"])


def test_none_and_the_string_none_are_different_listings(app):
    make_accounts()
    db.session.add(Account(login="str", plan="None"))
    db.session.commit()
    fresh_session()
    assert [a.login for a in Account.cache.filter(plan=None)] == ["joe"]
    assert [a.login for a in Account.cache.filter(plan="None")] == ["str"]


def test_insert_flushes_listings_of_values_the_database_filled_in(app, invalidations):
    make_accounts()
    [created_keys] = [
        [k for k in signal["keys"] if k.startswith("account.created=")]
        for signal in invalidations
        if signal["pk"] == "bob"
    ]
    assert len(created_keys) == 1
    assert "None" not in created_keys[0]


def test_declared_boolean_set(app):
    make_accounts()
    assert [a.login for a in Account.cache.filter(plan="pro", active=True)] == ["bob", "eve"]
    Account.cache.get("eve").active = False
    db.session.commit()
    fresh_session()
    assert [a.login for a in Account.cache.filter(active=True, plan="pro")] == ["bob"]
