"""The front page in a real browser after a scripted half hour of cache traffic.

The workload of ``test_stats_page`` is played once a minute for thirty
minutes of the stats' clock (the stats module's clock alone is moved), with
a cold read and more warm reads as the half hour goes on, so the charts have a
line to draw.
With ``SAVE_SCREENSHOTS=1`` the screenshot becomes ``docs/dashboard.png``.
"""

from __future__ import annotations

import os
import shutil
import time
from types import SimpleNamespace

import pytest

from caching import stats as stats_module
from dashboard.extensions import db
from dashboard.models import User
from tests import test_browser
from tests.dashboard_helpers import ADMIN
from tests.test_stats_page import EXPECTED, workload

pytestmark = pytest.mark.slow  # chromium driving a served dashboard

MINUTES = 30
browser, server = test_browser.browser, test_browser.server  # the fixtures: chromium, a served dashboard


def half_hour_of_traffic(app, monkeypatch):
    """The workload, then each minute one miss (a user that does not exist) and ever more hits."""
    start_wall, start_mono = time.time() - MINUTES * 60, time.monotonic()
    for minute in range(MINUTES):
        clock = SimpleNamespace(
            time=lambda m=minute: start_wall + 60 * m,
            monotonic=lambda m=minute: start_mono + 60 * m + 1,
            perf_counter=time.perf_counter,
        )
        monkeypatch.setattr(stats_module, "time", clock)
        if minute == 0:
            workload(app)  # resets the stats first: its counts are the table's, below
            continue
        with app.app_context():
            User.cache.get(100 + minute)
            for _ in range(minute // 3):
                User.cache.get(2)  # cached by the workload, and left valid
                db.session.remove()
    monkeypatch.setattr(stats_module, "time", time)


def test_the_front_page_shows_charts_and_the_per_model_table(
    browser, server, dashboard, monkeypatch, tmp_path
):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/admin/")
    page.fill("#username", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("#submit")
    page.wait_for_url(server + "/admin/")

    half_hour_of_traffic(dashboard, monkeypatch)
    page.goto(server + "/admin/")

    object_row = page.locator("#model-stats tr[data-table=user][data-kind=object]")
    hits, misses = EXPECTED["user", "object"][:2]
    assert object_row.locator("td.hits").inner_text() == str(hits + sum(m // 3 for m in range(MINUTES)))
    assert object_row.locator("td.misses").inner_text() == str(misses + MINUTES - 1)
    statement_row = page.locator("#model-stats tr[data-kind=statement]")
    assert statement_row.locator("td.hits").inner_text() == str(EXPECTED["", "statement"][0])
    assert "FromCache" in statement_row.inner_text()

    assert page.locator("svg.chart").count() == 2
    ratio_chart = page.locator("svg.chart").first
    assert ratio_chart.locator(".y-tick").all_text_contents() == ["0%", "25%", "50%", "75%", "100%"]
    assert len(ratio_chart.locator(".x-tick").all_text_contents()) >= 5
    # a line through the minutes with reads: one run, with a dot per minute
    assert ratio_chart.locator("polyline").count() >= 1
    assert ratio_chart.locator("circle").count() >= MINUTES - 1
    traffic = page.locator("svg.chart").nth(1)
    assert [s.get_attribute("data-series") for s in traffic.locator("g.series").all()] == [
        "hits",
        "misses",
        "invalidations",
    ]

    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    if os.environ.get("SAVE_SCREENSHOTS"):
        shutil.copy(tmp_path / "dashboard.png", test_browser.DOCS / "dashboard.png")
