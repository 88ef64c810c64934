"""The dashboard as an operator uses it: edit, see what was invalidated, browse keys, flush."""

import html
import re

import pytest

from dashboard.browse import browse
from dashboard.extensions import caching, db
from dashboard.models import User
from tests.dashboard_helpers import ADMIN, csrf_token, log_in, post


def warm_cache(app):
    with app.app_context():
        User.cache.get(4)
        User.cache.get(5)
        User.cache.filter(views=3)
        User.cache.filter(views=4)
        User.cache.filter()
        db.session.remove()


def page(response):
    return html.unescape(response.get_data(as_text=True))


def edit_user(admin, pk, **values):
    form = {"username": f"user{pk}", "email": f"user{pk}@example.org", "views": "3", **values}
    return post(admin, f"/admin/user/edit/?id={pk}", form, follow_redirects=True)


def test_login_with_wrong_password_is_refused(client):
    response = log_in(client, ADMIN[0], "wrong")
    assert response.status_code == 401
    assert "Wrong username or password." in page(response)
    assert client.get("/admin/").status_code == 302


def test_login_follows_next_within_the_site_only(client):
    token = csrf_token(client)
    form = {"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
    response = client.post("/admin/login?next=/admin/keys/", data=form)
    assert response.location == "/admin/keys/"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/keys/")})
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        token = csrf_token(client)
        response = client.post(f"/admin/login?next={evil}", data={**form, "csrf_token": token})
        assert response.location == "/admin/", evil
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/keys/")})


def test_logout_is_a_post(admin):
    assert admin.get("/admin/logout").status_code == 405
    assert post(admin, "/admin/logout").status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_passwords_are_stored_hashed(dashboard):
    from dashboard.auth import admin_user_model

    with dashboard.app_context():
        user = db.session.scalars(db.select(admin_user_model(db))).one()
        assert ADMIN[1] not in user.password_hash
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.backends  # the log lives in Redis when the region does
def test_editing_views_flashes_the_invalidated_keys_with_a_link_to_the_log(dashboard, admin):
    warm_cache(dashboard)
    response = edit_user(admin, 4, views="4")

    text = page(response)
    for key in ("user.id[4]", "user.views=3[all]", "user.views=4[all]", "user.id[all]"):
        assert f"<code>{key}</code>" in text
    [link] = re.findall(r'href="(/admin/log/\?id=[0-9a-f]+)">log entry', text)
    entry = page(admin.get(link))
    assert "admin" in entry and "update" in entry and "views" in entry
    assert "user.views=3[all]" in entry
    with dashboard.app_context():
        assert User.cache.get(4).views == 4


def test_the_edit_form_previews_what_saving_will_invalidate(admin):
    form = page(admin.get("/admin/user/edit/?id=4"))
    assert "Saving will invalidate:" in form
    preview = admin.get("/admin/user/preview/?id=4&views=9&username=user4").get_json()
    assert set(preview["keys"]) == {
        "user.id[4]",
        "user.id[all]",
        "user.views=3[all]",
        "user.views=9[all]",
        "user.username=user4[all]",
        "user.email=user4@example.org[all]",
    }
    assert admin.get("/admin/user/preview/?id=4&views=3").get_json() == {"keys": []}


@pytest.mark.backends  # keys listed by SCAN on Redis
def test_key_browser_shows_keys_and_deletes_one(dashboard, admin):
    warm_cache(dashboard)
    listing = page(admin.get("/admin/keys/?pattern=user.*"))
    assert "user.id[4]" in listing and "user.views=3[all]" in listing
    assert "id=4, username='user4'" in listing
    assert '<td class="key">gen:user.id[4]</td>' not in listing  # named as user.id[4]'s guard only
    assert '<td class="key">gen:user.id[4]</td>' in page(admin.get("/admin/keys/?pattern=gen:*&guards=1"))

    response = post(
        admin, "/admin/keys/delete", {"region": "default", "key": "user.id[4]", "pattern": "user.*"}
    )
    assert response.status_code == 302
    after = page(admin.get("/admin/keys/?pattern=user.*"))
    flashed = "Manual flush of region <code>default</code> invalidated 1 key: <code>user.id[4]</code>"
    assert flashed in after
    assert '<td class="key">user.id[4]</td>' not in after
    assert '<td class="key">user.id[5]</td>' in after and '<td class="key">user.id[all]</td>' in after


@pytest.mark.backends  # keys listed by SCAN on Redis
def test_partial_refresh_returns_only_the_table(dashboard, admin):
    warm_cache(dashboard)
    fragment = page(admin.get("/admin/keys/?pattern=user.*&partial=1"))
    assert fragment.lstrip().startswith("<table") and "user.id[4]" in fragment
    assert "<html" not in fragment


@pytest.mark.backends  # a flush by pattern is SCAN + UNLINK on Redis
def test_deleting_matching_keys_confirms_the_count_first(dashboard, admin):
    warm_cache(dashboard)
    confirm = page(admin.get("/admin/keys/flush?region=default&pattern=user.views=*"))
    assert "2 keys of region <strong>default</strong>" in confirm
    assert "user.views=3[all]" in page(admin.get("/admin/keys/?pattern=user.views=*"))  # nothing deleted yet

    post(admin, "/admin/keys/flush", {"region": "default", "pattern": "user.views=*"})
    assert "No key matches" in page(admin.get("/admin/keys/?pattern=user.views=*"))
    log = page(admin.get("/admin/log/?operation=manual"))
    assert "user.views=3[all]" in log and "user.views=4[all]" in log


@pytest.mark.backends  # a region flush is SCAN + UNLINK on Redis
def test_flushing_a_region_empties_it_and_logs_a_manual_entry(dashboard, admin):
    warm_cache(dashboard)
    before = page(admin.get("/admin/"))
    assert int(re.search(r'class="text-right region-keys">(\d+)<', before).group(1)) > 0
    post(admin, "/admin/regions/default/flush")
    after = page(admin.get("/admin/"))
    # all that is left is the session of the admin viewing the page, read again: it and its guard
    assert re.search(r'class="text-right region-keys">2<', after)
    with dashboard.app_context():
        left = [e.key for e in browse(caching.state(), "default", "*", guards=True)[0]]
    assert [k.removeprefix("gen:").partition(":")[0] for k in left] == ["dashboard_session"] * 2
    assert "manual" in page(admin.get("/admin/log/?operation=manual"))


@pytest.mark.backends  # stats shared through Redis
def test_stats_count_hits_and_misses(dashboard, admin):
    warm_cache(dashboard)
    warm_cache(dashboard)
    with dashboard.app_context():
        figures = caching.state().region("default").stats.snapshot()
    assert figures["hits"] > 0 and figures["misses"] > 0
    text = page(admin.get("/admin/"))
    assert f"{figures['ratio'] * 100:.1f}%" in text
    assert "<circle" in text


@pytest.mark.backends  # the log lives in Redis when the region does
def test_history_lists_each_change_of_one_object(dashboard, admin):
    edit_user(admin, 2, views="5")
    edit_user(admin, 2, views="6", email="two@example.org")
    history = page(admin.get("/admin/log/history/User/2"))
    rows = re.findall(r'class="log-entry">(.*?)</tr>', history, re.S)
    assert [("admin" in r, "update" in r) for r in rows[:2]] == [(True, True), (True, True)]
    assert "insert" in rows[2] and "app" in rows[2]  # the fixture created it, outside a request
    assert "user.email=two@example.org[all]" in history
    assert "history/User/2" in page(admin.get("/admin/user/"))


@pytest.mark.backends  # the log lives in Redis when the region does
def test_log_filters_by_model_pk_key_and_operation(dashboard, admin):
    edit_user(admin, 1, views="7")
    edit_user(admin, 2, views="8")
    assert page(admin.get("/admin/log/?pk=2&operation=update")).count('class="log-entry"') == 1
    assert page(admin.get("/admin/log/?pk=2")).count('class="log-entry"') == 2  # with its insert
    assert page(admin.get("/admin/log/?key=user.views=7*")).count('class="log-entry"') == 1
    assert page(admin.get("/admin/log/?model=Address")).count('class="log-entry"') == 0
    assert page(admin.get("/admin/log/?operation=update")).count('class="log-entry"') == 2


@pytest.mark.backends  # the log lives in Redis when the region does
def test_delete_and_bulk_delete_go_through_the_orm(dashboard, admin):
    warm_cache(dashboard)
    post(admin, "/admin/user/delete/", {"id": "1", "url": "/admin/user/"})
    post(admin, "/admin/user/action/", {"action": "delete", "rowid": ["2", "3"], "url": "/admin/user/"})
    deletes = page(admin.get("/admin/log/?operation=delete"))
    assert deletes.count('class="log-entry"') == 3
    assert "user.views=3[all]" in deletes
    with dashboard.app_context():
        assert [u.id for u in User.cache.filter(views=3)] == [4, 5]


def test_create_flushes_the_listings_of_the_new_user(dashboard, admin):
    warm_cache(dashboard)
    form = {"username": "newbie", "email": "new@example.org", "views": "3"}
    text = page(post(admin, "/admin/user/new/", form, follow_redirects=True))
    assert "(insert) invalidated" in text and "<code>user.views=3[all]</code>" in text
    with dashboard.app_context():
        assert [u.username for u in User.cache.filter(views=3)][-1] == "newbie"


def test_csv_export(admin):
    response = admin.get("/admin/user/export/csv/")
    assert response.status_code == 200
    assert "user4@example.org" in response.get_data(as_text=True)


def test_output_is_escaped_everywhere(dashboard, admin):
    evil = "<script>alert(1)</script>"
    with dashboard.app_context():
        db.session.add(User(username=evil, email="e@example.org", views=1))
        db.session.commit()
        User.cache.get(6)
        User.cache.filter()
    for path in (
        "/admin/user/",
        "/admin/keys/?pattern=user.id[6]",
        "/demo/",
        "/demo/users/6/",
        "/admin/log/",
    ):
        raw = admin.get(path).get_data(as_text=True)
        assert evil not in raw, path
    assert "&lt;script&gt;" in admin.get("/demo/").get_data(as_text=True)


def test_demo_pages_read_through_the_cache_and_update_flushes(dashboard, admin):
    assert "user4" in page(admin.get("/demo/"))
    assert "user4" in page(admin.get("/demo/views/3/"))
    post(admin, "/demo/users/4/update")
    assert "views: 4" in page(admin.get("/demo/users/4/"))
    assert "user4" in page(admin.get("/demo/views/4/"))
    assert "user4" not in page(admin.get("/demo/views/3/"))


def test_the_chart_breaks_its_line_where_there_were_no_reads():
    from dashboard.charts import LEFT, TOP, line_chart

    drawn = line_chart(
        "Hit ratio", "%", [0, 60, 120, 180, 240], [("ratio", "red", [100, 50, None, 0, None])], 100
    )
    [series] = drawn.series
    left, top, step, height = float(LEFT), float(TOP), drawn.plot_width / 4, drawn.plot_height
    assert series.dots == [(left, top), (left + step, top + height / 2), (left + 3 * step, top + height)]
    assert series.lines == [f"{left},{top} {left + step},{top + height / 2}"]


def test_the_default_list_page_reads_through_the_cache(dashboard, admin):
    from sqlalchemy import event

    admin.get("/admin/user/")  # warm
    statements = []
    with dashboard.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    text = page(admin.get("/admin/user/"))
    assert all(f"user{i}@example.org" in text for i in range(1, 6))
    assert [s for s in statements if "FROM user" in s.replace('"', "")] == []
    searched = page(admin.get("/admin/user/?search=user3"))
    assert "user3@example.org" in searched and "user4@example.org" not in searched
