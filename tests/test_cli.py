"""``flask cache ...``: the commands ``init_dashboard`` registers on the app it mounts on."""

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, inspect
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, Caching
from dashboard.admin import init_dashboard
from dashboard.browse import count_matching
from dashboard.extensions import caching, db
from dashboard.log import current_log
from dashboard.models import User
from tests.dashboard_helpers import log_in

fresh_db = SQLAlchemy()
PASSWORD = "a password long enough"


class Ticket(CacheableMixin, fresh_db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(80))


@pytest.fixture
def fresh_app(database_url):
    """A host app whose database has no tables yet."""
    app = Flask("fresh")
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="fresh-secret", TESTING=True)
    fresh_db.init_app(app)
    Caching().init_app(app, fresh_db)
    init_dashboard(app, fresh_db)
    yield app
    with app.app_context():
        fresh_db.drop_all()
        fresh_db.engine.dispose()


def warm(app):
    with app.app_context():
        User.cache.get(1)
        User.cache.filter(views=3)
        db.session.remove()


def test_create_admin_creates_only_its_own_tables_and_the_admin_can_log_in(fresh_app):
    result = fresh_app.test_cli_runner().invoke(
        args=["cache", "create-admin", "root"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Admin 'root' can log in." in result.output
    with fresh_app.app_context():
        tables = sorted(inspect(fresh_db.engine).get_table_names())
    assert tables == ["dashboard_admin_session", "dashboard_admin_user"]
    assert log_in(fresh_app.test_client(), "root", PASSWORD).location == "/admin/"


def test_create_admin_refuses_a_short_password(fresh_app):
    result = fresh_app.test_cli_runner().invoke(
        args=["cache", "create-admin", "root"], input="short\nshort\n"
    )
    assert result.exit_code == 2
    assert "use at least 8 characters" in result.output


@pytest.mark.backends  # a region flush is SCAN + UNLINK on Redis
def test_flush_empties_one_region_and_logs_it(dashboard):
    warm(dashboard)
    with dashboard.app_context():
        stored = count_matching(caching.state(), "default")
    assert stored > 0
    result = dashboard.test_cli_runner().invoke(args=["cache", "flush", "default"])
    assert result.exit_code == 0, result.output
    assert result.output == f"Flushed {stored} keys of region 'default'.\n"
    with dashboard.app_context():
        assert count_matching(caching.state(), "default") == 0
        [entry] = current_log().entries(operation="manual")
    assert {"user.id[1]", "user.views=3[all]"} <= set(entry["keys"])


def test_flush_names_the_regions_when_the_region_is_unknown(dashboard):
    result = dashboard.test_cli_runner().invoke(args=["cache", "flush", "nowhere"])
    assert result.exit_code == 2
    assert "no region 'nowhere' (regions: default)" in result.output


@pytest.mark.backends  # key counts and stats read from Redis
def test_stats_prints_a_line_per_region_with_the_stats_pages_figures(dashboard):
    warm(dashboard)
    warm(dashboard)  # hits
    result = dashboard.test_cli_runner().invoke(args=["cache", "stats"])
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()
    assert header.split() == [
        "region", "backend", "keys", "hits", "misses", "ratio", "sets", "deletes", "errors", "invalidated"
    ]  # fmt: skip
    with dashboard.app_context():
        figures = caching.state().region("default").stats.snapshot()
        stored = count_matching(caching.state(), "default")
    assert figures["hits"] > 0 and figures["misses"] > 0
    expected = [str(stored), str(figures["hits"]), str(figures["misses"]), f"{figures['ratio']:.1%}"]
    label, backend, *shown = line.split()
    assert (label, shown[:4]) == ("default", expected)
    assert backend.endswith("Backend")


def test_the_demo_keeps_its_own_commands(dashboard):
    commands = dashboard.cli.list_commands(None)
    assert {"init-db", "seed", "create-admin", "run", "cache"} <= set(commands)
    result = dashboard.test_cli_runner().invoke(
        args=["create-admin", "second"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert log_in(dashboard.test_client(), "second", PASSWORD).status_code == 302


def test_the_dashboard_needs_a_prefix_of_its_own():
    other = Flask("root")
    other.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x")
    other_db = SQLAlchemy(other)
    Caching().init_app(other, other_db)
    with pytest.raises(ValueError, match="prefix"):
        init_dashboard(other, other_db, url="/")
