"""Fixtures: an app on SQLite with the tests' own models (tests/models.py), on a cache backend.

Tests run on the memory backend; a test marked ``backends`` (its subject is
the backend: keys listed or flushed by SCAN, the herd lock, races, outages,
the log and stats kept in Redis, batched reads split per cluster slot) runs
on it, on a real Redis and on a 3-node Redis Cluster: the ones named by
``CACHE_TEST_REDIS_URL`` and ``CACHE_TEST_REDIS_CLUSTER_URL``, or servers the
session starts on free loopback ports. Without them, Redis tests skip locally
and fail in CI (``CI=true``).

``CACHE_TEST_DATABASE_URL`` points the tests at another database (e.g.
PostgreSQL) instead of a temporary SQLite file, through the ``database_url``
fixture only: a test that does not use it is marked ``database_independent``
(it does the same on any database), and the PostgreSQL run of CI deselects
those.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import event, text

from caching.testing import CountingProxy
from tests.models import Address, User, caching, db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(port: int, *options: str) -> subprocess.Popen[bytes]:
    """A ``redis-server`` on a loopback port, answering pings when this returns."""
    executable = shutil.which("redis-server")
    if executable is None:
        _unavailable("redis-server is not installed and no CACHE_TEST_REDIS*_URL is set")
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *options],
        stdout=subprocess.DEVNULL,
    )
    _wait_for_redis(f"redis://127.0.0.1:{port}/0")
    return process


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("CACHE_TEST_REDIS_URL")
    process = None
    if not url:
        port = _free_port()
        process = start_redis_server(port, "--appendonly", "no")
        url = f"redis://127.0.0.1:{port}/0"
    _wait_for_redis(url)
    yield url
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-node Redis Cluster: ``CACHE_TEST_REDIS_CLUSTER_URL``, or one started here."""
    url = os.environ.get("CACHE_TEST_REDIS_CLUSTER_URL")
    if url:
        yield url
        return
    cli = shutil.which("redis-cli")
    if cli is None:
        _unavailable("redis-cli is not installed and CACHE_TEST_REDIS_CLUSTER_URL is not set")
    directory = tmp_path_factory.mktemp("cluster")
    ports = _cluster_ports(3)
    processes = []
    try:
        for port in ports:
            cluster_options = ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
            processes.append(
                start_redis_server(port, "--appendonly", "no", "--dir", str(directory), *cluster_options)
            )
        nodes = [f"127.0.0.1:{port}" for port in ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=ports[0])
        for _ in range(100):
            if b"cluster_state:ok" in client.execute_command("CLUSTER INFO"):
                break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster bus ports (port + 10000) are free and valid too."""
    import random

    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 30000)
        if port not in ports and all(_port_is_free(p) for p in (port, port + 10000)):
            ports.append(port)
    return ports


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    _unavailable(f"no Redis answers at {url}")


def flush_cluster(url: str) -> None:
    from redis.cluster import RedisCluster

    RedisCluster.from_url(url).flushall(target_nodes=RedisCluster.PRIMARIES)


BACKENDS = ("memory", "redis", "redis_cluster")


def parametrize_backends(metafunc: pytest.Metafunc, fixture: str, backends: tuple[str, ...]) -> None:
    """Run a test using ``fixture`` on every one of ``backends`` if it is marked ``backends``,
    else on the first; a test that parametrizes the fixture itself keeps its choice."""
    if fixture not in metafunc.fixturenames or any(
        fixture in _argnames(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")
    ):
        return
    marked = metafunc.definition.get_closest_marker("backends") is not None
    metafunc.parametrize(fixture, backends if marked else backends[:1], indirect=True)


def _argnames(argnames: str | list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(argnames, str):
        return [name.strip() for name in argnames.split(",")]
    return list(argnames)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc, "backend", BACKENDS)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "database_url" not in getattr(item, "fixturenames", ()):
            item.add_marker("database_independent")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A region configuration for the backend the test runs on (see ``parametrize_backends``)."""
    if request.param == "memory":
        return {"backend": "dogpile.cache.memory", "expiration_time": 300}
    if request.param == "redis_cluster":
        url = request.getfixturevalue("redis_cluster_url")
        flush_cluster(url)
        return {"backend": "dogpile.cache.redis_cluster", "expiration_time": 300, "arguments": {"url": url}}
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return {"backend": "dogpile.cache.redis", "expiration_time": 300, "arguments": {"url": url}}


@pytest.fixture
def counter() -> CountingProxy:
    return CountingProxy()


def make_app(database_url: str, regions: dict[str, Any]) -> Flask:
    app = Flask("tests")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="tests-secret",
        CACHE_REGIONS=regions,
    )
    db.init_app(app)
    caching.init_app(app, db)
    return app


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return os.environ.get("CACHE_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app(backend: dict[str, Any], database_url: str, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The tests' models on ``backend``; wrapped in the ``counter`` proxy only for a test that
    asks for it (a region wrapped by the app misses through dogpile's API, not the Redis claims)."""
    wrap = [request.getfixturevalue("counter")] if "counter" in request.fixturenames else []
    app = make_app(database_url, {"default": {**backend, "wrap": wrap}})
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def region(app: Flask) -> Any:
    return caching.regions["default"]


class SQLCounter:
    """The SQL statements the engine ran (identifier quotes removed) and their parameters."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []

    def __len__(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()
        self.parameters.clear()


@pytest.fixture
def sql(app: Flask) -> Iterator[SQLCounter]:
    counter = SQLCounter()

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        counter.statements.append(statement.replace('"', ""))
        counter.parameters.append(parameters)

    event.listen(db.engine, "before_cursor_execute", record)
    yield counter
    event.remove(db.engine, "before_cursor_execute", record)


def fresh_session() -> None:
    """End the request: the next read starts with an empty identity map."""
    db.session.remove()


@pytest.fixture
def users(app: Flask) -> list[int]:
    """Ten users: views 3 for ids 1-5, 4 for ids 6-10; two addresses for user 4."""
    for i in range(1, 11):
        db.session.add(User(username=f"user{i}", email=f"user{i}@example.org", views=3 if i <= 5 else 4))
    db.session.add_all([Address(user_id=4, email="a@b.org"), Address(user_id=4, email="c@d.org")])
    db.session.commit()
    fresh_session()
    return list(range(1, 11))


@pytest.fixture
def invalidations(app: Flask) -> Iterator[list[dict[str, Any]]]:
    """Every ``cache_invalidated`` signal sent during the test."""
    from caching.signals import cache_invalidated

    received: list[dict[str, Any]] = []

    def receive(sender: Any, **payload: Any) -> None:
        received.append(payload)

    cache_invalidated.connect(receive, weak=False)
    yield received
    cache_invalidated.disconnect(receive)


def execute_sql(statement: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement))


@pytest.fixture
def dashboard(backend: dict[str, Any], database_url: str) -> Iterator[Flask]:
    """The demo app, with its dashboard, on each backend, with one admin."""
    from dashboard import create_app
    from dashboard.auth import create_admin
    from dashboard.extensions import db as demo_db
    from dashboard.models import User as DemoUser
    from tests.dashboard_helpers import ADMIN

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "tests-secret",
            "CACHE_REGIONS": {"default": backend},
            "TESTING": True,
        }
    )
    with app.app_context():
        demo_db.drop_all()
        demo_db.create_all()
        create_admin(demo_db, *ADMIN)
        for i in range(1, 6):
            demo_db.session.add(DemoUser(username=f"user{i}", email=f"user{i}@example.org", views=3))
        demo_db.session.commit()
        demo_db.session.remove()
    yield app
    with app.app_context():
        demo_db.session.remove()
        demo_db.drop_all()
        demo_db.engine.dispose()


@pytest.fixture
def client(dashboard: Flask) -> Any:
    return dashboard.test_client()


@pytest.fixture
def admin(client: Any) -> Any:
    """A test client logged in as the admin."""
    from tests.dashboard_helpers import log_in

    assert log_in(client).status_code == 302
    return client
