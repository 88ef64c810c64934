"""The front page and ``/metrics`` after a scripted workload: per model and kind of key, exact counts."""

from __future__ import annotations

import html
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from caching import FromCache, scan
from dashboard import keycount
from dashboard.extensions import caching, db
from dashboard.models import User

TOKEN = "s3cret-scraper-token"
# (table, kind): hits, misses, sets, invalidations; what the workload below does
EXPECTED = {
    ("user", "object"): (2, 2, 2, 1),
    ("user", "listing"): (1, 2, 2, 5),
    ("user", "page"): (1, 1, 1, 0),
    ("user", "count"): (0, 1, 1, 0),
    ("", "statement"): (1, 1, 1, 0),
}


def workload(app):
    """Two objects, listings, a page, a count and a ``FromCache`` statement, read cold then
    warm; then one update. Each ``remove()`` ends a request (an empty identity map)."""
    statement = select(User).where(User.views > 2).options(FromCache("default"))
    with app.app_context():
        caching.state().region("default").stats.reset()
        for _ in range(2):
            User.cache.get(1)  # object: miss, hit
            User.cache.filter(views=3)  # listing: miss, hit
            User.cache.filter(views=3, limit=2)  # page: miss, hit
            db.session.scalars(statement).all()  # statement: miss, hit
            db.session.remove()
        User.cache.get(2)  # object: miss
        User.cache.get(2)  # object: hit (the second in the same request reads the cache again)
        User.cache.count(views=3)  # count: miss
        User.cache.filter()  # listing user.id[all]: miss
        db.session.remove()
        # deletes user.id[1], user.id[all], user.views=3[all], user.views=9[all] and the listings of
        # its username and email (not cached, deleted all the same); pages, counts and statements
        # go with their guards
        db.session.get(User, 1).views = 9
        db.session.commit()
        db.session.remove()


def table_rows(text):
    rows = {}
    for table, kind, body in re.findall(
        r'<tr data-region="default" data-table="([^"]*)" data-kind="(\w+)">(.*?)</tr>', text, re.S
    ):
        cells = {
            name: int(re.search(rf'class="text-right {name}">(\d+)<', body).group(1))
            for name in ("hits", "misses", "sets", "invalidations", "avoided")
        }
        rows[table, kind] = cells
    return rows


def metric_samples(text):
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.mark.backends  # key counts and stats read from Redis
def test_the_front_page_and_metrics_show_the_workloads_counts(dashboard, admin):
    dashboard.config["CACHE_METRICS_TOKEN"] = TOKEN
    workload(dashboard)
    page = html.unescape(admin.get("/admin/").get_data(as_text=True))
    rows = table_rows(page)
    assert {
        shape: (r["hits"], r["misses"], r["sets"], r["invalidations"]) for shape, r in rows.items()
    } == EXPECTED
    assert {shape: r["avoided"] for shape, r in rows.items()} == {s: e[0] for s, e in EXPECTED.items()}
    assert "User <small" in page  # the model's name beside its table

    response = dashboard.test_client().get("/admin/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = metric_samples(response.get_data(as_text=True))
    for (table, kind), counts in EXPECTED.items():
        labels = (("kind", kind), ("region", "default"), ("table", table))
        for name, expected in zip(("hits", "misses", "sets", "invalidations"), counts):
            assert samples[f"cache_{name}_total", labels] == expected, (name, table, kind)
        assert samples["cache_loads_total", labels] == counts[1]  # every miss loaded once
        assert samples["cache_db_load_seconds_total", labels] > 0
    region = (("region", "default"),)
    assert samples["cache_invalidated_keys_total", (*region, ("trigger", "auto"))] == 6
    reads = sum(c[0] + c[1] for c in EXPECTED.values())
    # one backend read per cache read, the herd lock's second look aside (not counted)
    assert samples["cache_read_latency_seconds_count", region] == reads
    assert samples["cache_read_latency_seconds_bucket", (("le", "+Inf"), *region)] == reads


def test_metrics_need_the_dashboards_login_or_the_token(dashboard, client):
    assert client.get("/admin/metrics").status_code == 302  # no token configured: the login page
    dashboard.config["CACHE_METRICS_TOKEN"] = TOKEN
    for header in ("Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", ""):
        assert client.get("/admin/metrics", headers={"Authorization": header}).status_code == 302, header
    assert client.get("/admin/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 302
    assert client.get("/admin/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_for_an_admin(admin):
    response = admin.get("/admin/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    assert "cache_keys" in response.get_data(as_text=True)


@pytest.mark.backends  # Redis key counts are sampled
def test_the_front_page_never_walks_a_large_namespace(dashboard, admin, monkeypatch):
    """Beyond ``EXACT_LIMIT`` keys the count is a ``DBSIZE`` and a sample: no ``SCAN``, marked ≈."""
    with dashboard.app_context():
        User.cache.filter()
        for pk in range(1, 6):
            User.cache.get(pk)
        exact = keycount.key_count(caching.state(), "default")
        client = caching.state().region("default").client
        size = client.dbsize() if client is not None else None
        db.session.remove()
    assert exact.exact and exact.keys >= 12  # six entries, six guards, the admin's session
    walks = []
    real_walk = scan.walk
    monkeypatch.setattr(scan, "walk", lambda *a, **k: walks.append(a) or real_walk(*a, **k))
    monkeypatch.setattr(keycount, "EXACT_LIMIT", 3)
    text = html.unescape(admin.get("/admin/").get_data(as_text=True))
    assert walks == []
    shown = re.search(r'title="(\w+)" class="text-right region-keys">([^<]+)<', text)
    if shown.group(1) == "counted":  # the memory backend: the dict's length, exact at no cost
        assert shown.group(2) == str(exact.keys)
    else:  # Redis: a share of the database's size, as sampled
        assert shown.group(1) == "sampled" and shown.group(2).startswith("≈")
        assert 0 < int(shown.group(2)[1:]) <= size


def test_the_charts_have_axes_units_and_time_labels(dashboard, admin):
    workload(dashboard)
    text = html.unescape(admin.get("/admin/").get_data(as_text=True))
    assert text.count('<svg class="chart"') == 2
    assert "Hit ratio" in text and "% of reads, per minute" in text and "keys per minute" in text
    y_labels = re.findall(r'class="y-tick"[^>]*>([^<]+)<', text)
    assert y_labels[:5] == ["0%", "25%", "50%", "75%", "100%"]
    x_labels = re.findall(r'class="x-tick"[^>]*>([^<]+)<', text)
    assert len(x_labels) >= 10 and all(re.fullmatch(r"\d\d:\d0", label) for label in x_labels)
    for series in ("hits", "misses", "invalidations"):
        assert f'data-series="{series}"' in text


@pytest.mark.parametrize(
    "value, ceiling", [(0, 4), (3, 4), (7, 10), (11, 20), (31, 40), (41, 50), (120, 200)]
)
def test_the_y_axis_ends_on_a_round_number(value, ceiling):
    from dashboard.charts import nice_ceiling

    assert nice_ceiling(value) == ceiling
