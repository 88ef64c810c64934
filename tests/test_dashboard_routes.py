"""Every route: anonymous users go to the login page, POSTs need a CSRF token, no 500s."""

import re

import pytest

from tests.dashboard_helpers import csrf_token, post

PUBLIC = {"/admin/login", "/admin/favicon.ico", "/favicon.ico", "/demo/", "/"}
PUBLIC |= {"/demo/views/<int:views>/", "/demo/users/<int:user_id>/"}
SAMPLE_ARGS = {
    "export_type": "csv",
    "model": "User",
    "pk": "1",
    "label": "default",
    "views": "3",
    "user_id": "1",
    "entry_id": "0123456789ab",
}


def rules(app, method):
    for rule in app.url_map.iter_rules():
        if method in rule.methods and not rule.endpoint.endswith("static") and rule.rule not in PUBLIC:
            yield rule


def url(rule):
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE_ARGS[m.group(1)], rule.rule)


def test_every_page_redirects_anonymous_users_to_the_login(dashboard, client):
    pages = list(rules(dashboard, "GET"))
    assert len(pages) > 20
    for rule in pages:
        response = client.get(url(rule))
        assert response.status_code == 302, rule.rule
        assert response.location.startswith("/admin/login?next="), rule.rule


def test_every_post_redirects_anonymous_users_to_the_login(dashboard, client):
    token = csrf_token(client)
    posts = [r for r in rules(dashboard, "POST") if r.rule != "/admin/logout"]
    assert len(posts) > 10
    for rule in posts:
        response = client.post(url(rule), data={"csrf_token": token})
        assert response.status_code == 302, rule.rule
        assert response.location.startswith("/admin/login"), rule.rule


def test_every_post_without_a_csrf_token_is_rejected(dashboard, admin):
    for rule in list(rules(dashboard, "POST")) + [
        r for r in dashboard.url_map.iter_rules() if r.rule in PUBLIC
    ]:
        if "POST" not in rule.methods:
            continue
        response = admin.post(url(rule), data={"key": "user.id[1]", "region": "default", "pattern": "*"})
        assert response.status_code == 400, rule.rule
        assert "CSRF token" in response.get_data(as_text=True), rule.rule


BAD_KEY_BROWSER_INPUT = [
    ("/admin/keys/?cursor=abc", 400),
    ("/admin/keys/?cursor=²", 400),
    ("/admin/keys/?cursor=18446744073709551616", 400),
    ("/admin/keys/?cursor=" + "9" * 40, 400),
    ("/admin/keys/?pattern=" + "x" * 300, 400),
    ("/admin/keys/?region=nowhere&pattern=user.*", 200),
    ("/admin/keys/flush?pattern=", 302),
]
BAD_INPUT = [
    ("/admin/user/edit/?id=abc", 302),
    ("/admin/user/edit/?id=999", 302),
    ("/admin/user/details/?id=1.5", 302),
    ("/admin/user/?page=abc", 200),
    ("/admin/user/?page=-3&sort=99", 200),
    ("/admin/user/preview/?id=abc", 404),
    ("/admin/user/edit/?id=99999999999999999999", 302),
    ("/admin/user/edit/?id=2147483648", 302),
    ("/admin/user/?page=99999999999999999999&sort=1", 200),
    ("/demo/users/99999999999999999999/", 404),
    ("/demo/users/2147483648/", 404),
    ("/admin/log/?key=" + "y" * 300, 400),
    ("/admin/log/?pk=abc&operation=nonsense", 200),
    ("/admin/log/history/User/abc", 200),
    ("/demo/users/abc/", 404),
    ("/demo/users/999/", 404),
]


def assert_answers(admin, path, status):
    response = admin.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]


@pytest.mark.backends  # cursors and patterns reach SCAN on Redis
@pytest.mark.parametrize(("path", "status"), BAD_KEY_BROWSER_INPUT)
def test_bad_key_browser_input_is_a_clear_answer_never_a_500(admin, path, status):
    assert_answers(admin, path, status)


@pytest.mark.parametrize(("path", "status"), BAD_INPUT)
def test_bad_input_is_a_clear_answer_never_a_500(admin, path, status):
    assert_answers(admin, path, status)


def test_bad_input_in_posts_is_never_a_500(admin):
    assert post(admin, "/admin/regions/nowhere/flush").status_code == 404
    assert post(admin, "/admin/keys/delete", {"region": "nowhere"}).status_code == 302
    assert post(admin, "/admin/keys/flush", {"pattern": "\x00"}).status_code == 400  # NUL: refused outright
    assert post(admin, "/admin/user/delete/", {"id": "abc"}).status_code == 302
    assert post(admin, "/demo/users/999/update").status_code == 404
