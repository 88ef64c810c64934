"""The operator's three jobs in a real browser (Playwright driving Debian's chromium).

Log in, edit a user's views from 3 to 4 and see the four keys that edit
invalidated in the flash and in the log, see them gone from the key browser,
then flush the region by hand and see its key count drop to 0 and a manual
entry in the log. Then page through keys and the log, back and forth, and clear
a log filter. With ``SAVE_SCREENSHOTS=1`` the screenshots are copied to
``docs/`` for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dashboard.browse import natural_key
from dashboard.extensions import db
from dashboard.models import Address, User
from dashboard.views.log import PAGE_SIZE
from tests.conftest import IN_CI
from tests.dashboard_helpers import ADMIN

pytestmark = pytest.mark.slow  # chromium driving a served dashboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
EDITED = 3  # user3 has views 3
OTHER = 2  # a user the edit leaves alone


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(dashboard):
    """The dashboard served on a free loopback port."""
    http = make_server("127.0.0.1", 0, dashboard, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


def log_in(page, server: str) -> None:
    page.goto(server + "/admin/")
    assert "/admin/login" in page.url
    page.fill("#username", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("#submit")
    page.wait_for_url(server + "/admin/")


def turn(page, link: str, landing: str) -> None:
    """Follow a pager link and wait for the page it leads to (reads do not wait)."""
    page.click(link)
    page.locator("#page-number", has_text=landing).wait_for()


def entry_ids(page) -> list[str]:
    return [row.get_attribute("id") for row in page.locator("tr.log-entry").all()]


def save(tmp_path: Path, *names: str) -> None:
    for name in names:
        assert (tmp_path / name).stat().st_size > 10_000
        if os.environ.get("SAVE_SCREENSHOTS"):
            shutil.copy(tmp_path / name, DOCS / name)


def test_edit_inspect_and_flush_in_a_browser(browser, server, dashboard, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())

    # generate cache traffic through the demo pages, opened to visitors
    dashboard.config["DEMO_PUBLIC"] = True
    demo = ("/demo/", "/demo/views/3/", "/demo/views/4/", f"/demo/users/{EDITED}/", f"/demo/users/{OTHER}/")
    for path in demo:
        assert page.goto(server + path).status == 200

    log_in(page, server)

    page.goto(f"{server}/admin/user/edit/?id={EDITED}")
    page.fill("#views", "4")
    # a locator, not wait_for_function: the page's CSP forbids the eval that would need
    page.locator("#preview-keys", has_text="user.views=4[all]").wait_for()
    # stay on the form: the list page the plain Save returns to would cache the listings again
    page.click("input[name=_continue_editing]")
    page.wait_for_selector(".alert-info")
    flash = page.inner_text(".alert-info")
    expected = [f"user.id[{EDITED}]", "user.views=3[all]", "user.views=4[all]", "user.id[all]"]
    for key in expected:
        assert key in flash

    page.click(".alert-info >> text=log entry")
    entry = page.inner_text("#log")
    for key in expected:
        assert key in entry
    assert "admin" in entry and "update" in entry

    page.goto(server + "/admin/keys/?pattern=user.*")
    keys = page.locator("#keys td.key").all_inner_texts()
    assert f"user.id[{OTHER}]" in keys, "the other user's key, which the edit does not touch, stays"
    # the form the save returned to read the edited user through the cache again: its key is back
    assert not set(expected[1:]) & set(keys)

    page.goto(server + "/admin/")
    assert int(page.inner_text("tr[data-region=default] .region-keys")) > 0
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    page.click("tr[data-region=default] button:has-text('Flush region')")
    page.wait_for_selector(".alert-info")
    # left: the viewer's own session, read again to show the page (its entry and its guard)
    assert page.inner_text("tr[data-region=default] .region-keys") == "2"

    page.goto(server + "/admin/log/?operation=manual")
    manual = page.locator("tr.log-entry").all_inner_texts()
    assert len(manual) == 1 and "manual" in manual[0] and "admin" in manual[0]

    with dashboard.app_context():
        assert db.session.get(User, EDITED).views == 4
    save(tmp_path, "dashboard.png")
    assert re.search(r"/admin/log/\?operation=manual$", page.url)


def test_page_keys_and_log_back_and_forth_in_a_browser(browser, server, dashboard, tmp_path):
    with dashboard.app_context():
        for pk in range(1, 121):  # cached "no such row" entries, and the five users
            User.cache.get(pk)
        User.cache.filter(views=3)
        db.session.add(Address(user_id=3, email="three@example.org"))
        db.session.commit()
        for pk in range(1, 6):  # updates: more than a page of log entries
            for views in range(PAGE_SIZE // 5 + 3):
                db.session.get(User, pk).views = views
                db.session.commit()
        db.session.remove()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, server)

    with dashboard.app_context():
        for pk in range(1, 6):  # cached again after their updates
            User.cache.get(pk)
        db.session.remove()
    page.goto(server + "/admin/keys/?pattern=user.id[1*]")  # one page: ordered as a whole
    expected = [1, *range(10, 20), *range(100, 121)]
    assert page.locator("#keys td.key").all_inner_texts() == [f"user.id[{pk}]" for pk in expected]

    page.goto(server + "/admin/keys/?pattern=user.id[*]")
    first = page.locator("#keys td.key").all_inner_texts()
    assert first == sorted(first, key=natural_key)
    assert page.locator("#keys td.guards").first.inner_text().startswith("gen:user.id[")
    page.screenshot(path=tmp_path / "keys.png", full_page=True)
    turn(page, "#next-page", "Page 2")
    second = page.locator("#keys td.key").all_inner_texts()
    assert second and not set(first) & set(second)
    turn(page, "#previous-page", "Page 1")
    assert page.locator("#keys td.key").all_inner_texts() == first

    page.goto(server + "/admin/log/?model=User")
    assert page.locator(".filter-term").all_inner_texts() == ["model = User"]
    newest = entry_ids(page)
    assert len(newest) == PAGE_SIZE
    page.screenshot(path=tmp_path / "log.png", full_page=True)
    turn(page, "#next-page", "Page 2")
    older = entry_ids(page)
    assert older and not set(newest) & set(older)
    turn(page, "#previous-page", "Page 1")
    assert entry_ids(page) == newest
    page.click(".clear-filter")
    page.wait_for_url(server + "/admin/log/")
    assert page.locator("#active-filter").count() == 0
    assert "model=" not in page.url

    page.goto(server + "/admin/address/")
    assert "user3" in page.inner_text("table.model-list")
    page.screenshot(path=tmp_path / "models.png", full_page=True)
    page.goto(server + "/admin/user/new/")
    page.fill("#username", "ada")
    page.fill("#email", "ada@example.org")
    page.fill("#views", "7")
    page.locator("#preview-keys", has_text="user.views=7[all]").wait_for()
    page.fill("#username", "")
    page.locator("#preview-keys", has_text="the form would be refused (username").wait_for()
    page.fill("#username", "ada")
    page.locator("#preview-keys", has_text="user.id[new]").wait_for()
    page.screenshot(path=tmp_path / "edit.png", full_page=True)
    save(tmp_path, "keys.png", "log.png", "models.png", "edit.png")
