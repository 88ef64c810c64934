"""The operator's console at scale: key pages back and forth, the log in pages, model forms.

Through the test client on every backend; the same screens in a real browser are in
``test_browser.py``.
"""

from __future__ import annotations

import html
import re

import pytest

from dashboard.browse import browse, natural_key
from dashboard.extensions import caching, db
from dashboard.log import InvalidationLog, current_log
from dashboard.models import Address, User
from dashboard.views.log import KEYS_PAGE, KEYS_SHOWN, PAGE_SIZE
from dashboard.views.models import object_label
from tests.dashboard_helpers import post

MISSING = range(1, 121)  # cached "no such row" entries (and the 5 real users among them)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def keys_on(page: str) -> list[str]:
    return re.findall(r'<td class="key">([^<]*)</td>', page)


def link(page: str, name: str) -> str | None:
    found = re.search(rf'id="{name}"\s+href="([^"]+)"', page)
    return found and found.group(1)


def warm_objects(app) -> None:
    with app.app_context():
        for pk in MISSING:
            User.cache.get(pk)
        db.session.remove()


@pytest.mark.backends  # pages are SCAN cursors on Redis
def test_key_pages_go_forward_and_back_in_natural_order(dashboard, admin):
    warm_objects(dashboard)
    url, forward = "/admin/keys/?pattern=user.id[*]", []
    while url:
        response = admin.get(url)
        assert response.status_code == 200
        page = text(response)
        forward.append((url, keys_on(page)))
        url = link(page, "next-page")
    assert len(forward) > 1
    seen = [key for _, keys in forward for key in keys]
    assert sorted(seen) == sorted(f"user.id[{pk}]" for pk in MISSING)  # each key once
    for _, keys in forward:
        assert keys == sorted(keys, key=natural_key)
    back = link(page, "previous-page")
    for url, keys in reversed(forward[:-1]):
        page = text(admin.get(back))
        assert keys_on(page) == keys, f"going back from {url}"
        back = link(page, "previous-page")
    assert back is None  # the first page has no previous one


def test_natural_order_puts_2_before_10():
    keys = ["user.id[10]", "user.id[2]", "user.id[all]", "gen:user.id[1]", "user.views=10[all][20:40]"]
    keys.append("user.views=10[all][3:20]")
    assert sorted(keys, key=natural_key) == [
        "gen:user.id[1]",
        "user.id[2]",
        "user.id[10]",
        "user.id[all]",
        "user.views=10[all][3:20]",
        "user.views=10[all][20:40]",
    ]


@pytest.mark.backends  # pages are SCAN cursors on Redis
def test_a_bad_previous_cursor_is_a_400(dashboard, admin):
    assert admin.get("/admin/keys/?cursor=0&prev=0,abc").status_code == 400
    assert admin.get("/admin/keys/?cursor=0&prev=0," + "9" * 30).status_code == 400


@pytest.mark.backends  # keys listed by SCAN on Redis
def test_each_key_shows_its_guard_and_token(dashboard, admin):
    with dashboard.app_context():
        User.cache.get(4)
        User.cache.filter(views=3, offset=0, limit=2)
        state = caching.state()
        token = state.regions["default"].dogpile.get("gen:user.id[4]")
        [entry] = browse(state, "default", "user.id[4]")[0]
        assert [(g.key, g.stored, g.holds) for g in entry.guards] == [("gen:user.id[4]", token, True)]
        [window] = browse(state, "default", "user.views=3[all][*")[0]
        assert [g.key for g in window.guards] == ["gen:user.views=3[all]"]  # a page shares its listing's
        state.regions["default"].dogpile.delete("gen:user.id[4]")
        [entry] = browse(state, "default", "user.id[4]")[0]
        assert [(g.stored, g.holds) for g in entry.guards] == [(token, False)]
    page = text(admin.get("/admin/keys/?pattern=user.id[4]"))
    assert f'<code class="guard-token">{token}</code> (stale)' in page


def record(log: InvalidationLog, count: int, keys: int = 1, **fields) -> None:
    for i in range(count):
        payload = {"model": User, "pk": i, "operation": "update", "columns": ("views",), "region": "default"}
        log.record(**{**payload, **fields, "keys": tuple(f"user.id[{i}]:{k}" for k in range(keys))})


@pytest.mark.backends  # the log lives in Redis when the region does
def test_the_log_pages_back_and_forth_and_each_page_stays_small(dashboard, admin):
    with dashboard.app_context():
        log = current_log()
        log.clear()
        record(log, 2 * PAGE_SIZE + 20, keys=500)
    first = text(admin.get("/admin/log/"))
    assert first.count('class="log-entry"') == PAGE_SIZE
    assert len(first) < 150_000  # 50 entries of 500 keys each, 8 keys shown per entry
    assert 'id="previous-page"' not in first
    second = text(admin.get(link(first, "next-page")))
    third = text(admin.get(link(second, "next-page")))
    assert third.count('class="log-entry"') == 20 and link(third, "next-page") is None
    assert entry_ids(text(admin.get(link(third, "previous-page")))) == entry_ids(second)
    assert entry_ids(text(admin.get(link(second, "previous-page")))) == entry_ids(first)
    assert len(set(entry_ids(first) + entry_ids(second) + entry_ids(third))) == 2 * PAGE_SIZE + 20


@pytest.mark.backends  # the log lives in Redis when the region does
def test_an_entry_shows_a_few_keys_and_links_to_all_of_them_paged(dashboard, admin):
    with dashboard.app_context():
        log = current_log()
        log.clear()
        record(log, 1, keys=KEYS_PAGE + 30)
        [entry] = log.entries()
    page = text(admin.get("/admin/log/"))
    assert page.count('class="key"') == KEYS_SHOWN
    all_keys = link_to(page, "all-keys")
    assert f"all {KEYS_PAGE + 30} keys" in page
    keys = text(admin.get(all_keys))
    listed = entry_keys(keys) + entry_keys(text(admin.get(link(keys, "next-page"))))
    assert listed == entry["keys"]
    assert admin.get("/admin/log/entry/nosuchentry/").status_code == 404


def entry_ids(page: str) -> list[str]:
    return re.findall(r'<tr id="(entry-\w+)"', page)


def entry_keys(page: str) -> list[str]:
    """The keys listed on an entry's page of keys."""
    listing = re.search(r'id="entry-keys">(.*?)</ul>', page, re.S).group(1)
    return re.findall(r'<a class="key"[^>]*>([^<]*)</a>', listing)


def link_to(page: str, css_class: str) -> str:
    return re.search(rf'class="{css_class}[^"]*" href="([^"]+)"', page).group(1)


@pytest.mark.backends  # the log lives in Redis when the region does
def test_the_active_filter_is_shown_with_a_way_to_clear_it(dashboard, admin):
    with dashboard.app_context():
        log = current_log()
        log.clear()
        record(log, 3)
        record(log, 2, operation="delete")
    page = text(admin.get("/admin/log/?operation=delete&model=User"))
    assert page.count('class="log-entry"') == 2
    assert re.findall(
        r'class="badge badge-primary mr-2 filter-term">(\w+) = <code class="text-white">(\w+)<', page
    ) == [
        ("model", "User"),
        ("operation", "delete"),
    ]
    cleared = text(admin.get(link_to(page, "ml-auto clear-filter")))
    assert 'id="active-filter"' not in cleared and cleared.count('class="log-entry"') == 5
    assert 'id="active-filter"' not in text(admin.get("/admin/log/"))


@pytest.mark.backends  # a flush by pattern is SCAN + UNLINK on Redis
def test_a_manual_flush_names_its_region_and_pattern_and_folds_guards(dashboard, admin):
    with dashboard.app_context():
        User.cache.get(4)
        db.session.remove()
    response = post(admin, "/admin/keys/flush", {"region": "default", "pattern": "*user.id[4]"})
    assert response.status_code == 302
    page = text(admin.get("/admin/log/?operation=manual"))
    assert "region <code>default</code>" in page and '<code class="flush-pattern">*user.id[4]</code>' in page
    assert re.findall(r'<a class="key"[^>]*>([^<]*)</a>', page) == ["user.id[4]"]  # gen:user.id[4] folded
    assert 'title="and its guard gen:user.id[4]">+ guard</span>' in page
    assert (
        "Manual flush of region <code>default</code> by <code>*user.id[4]</code> invalidated 2 keys" in page
    )
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">just now|\d+ s ago</time>', page)


def test_lists_show_ids_and_readable_related_objects(dashboard, admin):
    with dashboard.app_context():
        db.session.add(Address(user_id=3, email="three@example.org"))
        db.session.commit()
    addresses = text(admin.get("/admin/address/"))
    assert "user3" in addresses and "<User" not in addresses
    assert re.search(r'<td class="col-id">\s*1\s*</td>', addresses)
    assert re.findall(r'<th class="column-header col-(\w+)">', addresses) == ["id", "user", "email"]
    form = text(admin.get("/admin/user/edit/?id=3"))
    assert "three@example.org" in form and "<Address" not in form
    fields = re.findall(r'<(?:input|select)[^>]* id="(username|email|views|addresses)"', form)
    assert fields == ["username", "email", "views", "addresses"]


def test_related_objects_read_by_their_str_or_class_and_id():
    from tests.models import Account  # defines no __str__: its repr is for developers

    assert object_label(User(username="ada")) == "ada"
    assert object_label(Account(login="x")) == "Account (new)"


def test_the_create_form_previews_its_keys_unless_validation_refuses_it(dashboard, admin):
    create = text(admin.get("/admin/user/new/"))
    assert "invalidation-preview" in create and 'data-url="/admin/user/preview/"' in create
    assert re.search(r'class="nav-link active"[^>]*>\s*Create', create)
    keys = admin.get("/admin/user/preview/?username=ada&email=ada@example.org&views=7").get_json()["keys"]
    assert set(keys) == {
        "user.id[new]",
        "user.id[all]",
        "user.username=ada[all]",
        "user.email=ada@example.org[all]",
        "user.views=7[all]",
    }
    refused = admin.get("/admin/user/preview/?username=ada&email=ada@example.org&views=seven").get_json()
    assert refused["keys"] == [] and "views" in refused["errors"]
    refused = admin.get("/admin/user/preview/?id=4&username=user4&email=user4@example.org&views=x").get_json()
    assert refused["keys"] == [] and list(refused["errors"]) == ["views"]
    assert admin.get("/admin/user/preview/?id=999&views=3").status_code == 404


def test_favicon_and_login_with_a_trailing_slash(client):
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert client.get("/admin/login/").status_code == 200
    assert "Log in" in text(client.get("/admin/login/")) or "password" in text(client.get("/admin/login/"))
