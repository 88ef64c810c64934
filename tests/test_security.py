"""Headers on the dashboard's pages only, the demo pages behind the login, and the CSV export."""

import csv
import io

from flask import Blueprint

from dashboard.extensions import db
from dashboard.models import User
from tests.dashboard_helpers import log_in

DASHBOARD_PAGES = ["/admin/", "/admin/user/", "/admin/keys/", "/admin/log/", "/admin/login", "/demo/"]


def test_dashboard_pages_send_security_headers(admin):
    for path in DASHBOARD_PAGES:
        headers = admin.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path


def test_the_host_apps_own_pages_get_no_dashboard_headers(dashboard):
    host = Blueprint("host", __name__)
    host.add_url_rule("/host-page", "page", lambda: "the host's")
    dashboard.register_blueprint(host)
    headers = dashboard.test_client().get("/host-page").headers
    assert "Content-Security-Policy" not in headers and "X-Frame-Options" not in headers


def test_demo_pages_need_a_login_unless_opened(dashboard, client):
    for path in ("/demo/", "/demo/users/1/", "/demo/views/3/"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/admin/login"), path
        assert "user1@example.org" not in response.get_data(as_text=True)
    log_in(client)
    assert "user1@example.org" in client.get("/demo/").get_data(as_text=True)
    dashboard.config["DEMO_PUBLIC"] = True
    anonymous = dashboard.test_client()
    assert "user1@example.org" in anonymous.get("/demo/").get_data(as_text=True)
    assert anonymous.post("/demo/users/1/update").status_code in (302, 400)  # login or CSRF, never done
    with dashboard.app_context():
        assert User.cache.get(1).views == 3


def export(admin, query=""):
    response = admin.get(f"/admin/user/export/csv/{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_writes_every_row(dashboard, admin):
    with dashboard.app_context():
        db.session.add_all(User(username=f"more{i}", email=f"m{i}@example.org", views=1) for i in range(45))
        db.session.commit()
    rows = export(admin)
    assert len(rows) == 1 + 50
    assert [r[0] for r in rows[1:]] == [f"user{i}" for i in range(1, 6)] + [f"more{i}" for i in range(45)]
    assert len(export(admin, "?sort=0")) == 1 + 50


def test_the_csv_export_neutralises_formulas(dashboard, admin):
    dangerous = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]
    with dashboard.app_context():
        db.session.add_all(User(username=name, email="x@example.org", views=0) for name in dangerous)
        db.session.commit()
    names = [r[0] for r in export(admin)[6:]]
    assert names == ["'" + name for name in dangerous]
