"""Every Python block of README.md runs as written.

The first block is a program (``myapp.py``); each later block continues it, as
the README presents them, in a fresh interpreter. Only the database and Redis
URLs are the test environment's. A probe appended to each run prints what a
user would see as JSON.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
README_DATABASE = '"sqlite:///app.db"'
README_REDIS = '"redis://127.0.0.1:6379/0"'
TABLES = ("staff", "address", "user", "dashboard_admin_session", "dashboard_admin_user")

PROBES = [
    # the cache example: the user it wrote reads back; the Redis region holds a listing
    """
import redis
with app.app_context():
    found = Address.cache.filter(user_id=4, email="a@b.org")
    client = redis.Redis.from_url(app.config["CACHE_REGIONS"]["shared"]["arguments"]["url"])
    print(json.dumps({
        "user": User.cache.get(4).username,
        "addresses": [a.email for a in found],
        "in_redis": any(b"address.email=a@b.org&user_id=4[all]" in k for k in client.keys()),
    }))
""",
    # init_dashboard(app, db): its own login, a first admin from the CLI
    """
from tests.dashboard_helpers import log_in
created = app.test_cli_runner().invoke(
    args=["cache", "create-admin", "ada"], input="a long password\\na long password\\n"
)
client = app.test_client()
anonymous = client.get("/admin/").location
print(json.dumps({
    "anonymous": anonymous,
    "created": created.exit_code,
    "login": log_in(client, "ada", "a long password").location,
    "listing": "ada@example.org" in client.get("/admin/user/").get_data(as_text=True),
}))
""",
    # the app's own LoginManager and can_access
    """
from flask_login import FlaskLoginClient
from sqlalchemy import inspect
app.test_client_class = FlaskLoginClient
with app.app_context():
    staff = db.session.merge(Staff(id=1, email="ops@example.org", is_staff=True))
    guest = db.session.merge(Staff(id=2, email="guest@example.org", is_staff=False))
    db.session.commit()
    clients = {"anonymous": app.test_client(), "staff": app.test_client(user=staff),
               "guest": app.test_client(user=guest)}
    admin_table = any(name.startswith("dashboard_admin") for name in inspect(db.engine).get_table_names())
seen = {name: client.get("/ops/cache/user/").status_code for name, client in clients.items()}
print(json.dumps({**seen, "admin_table": admin_table}))
""",
]
EXPECTED = [
    {"user": "ada", "addresses": ["a@b.org"], "in_redis": True},
    {"anonymous": "/admin/login?next=%2Fadmin%2F", "created": 0, "login": "/admin/", "listing": True},
    {"anonymous": 401, "staff": 200, "guest": 403, "admin_table": False},
]


def python_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


@pytest.fixture
def readme_database(database_url):
    """The test database server, or None on SQLite (the README's own file); left without its tables."""
    url = None if sa.make_url(database_url).get_backend_name() == "sqlite" else database_url
    yield url
    if url:
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        metadata.reflect(engine, only=lambda name, _: name in TABLES)
        metadata.drop_all(engine)
        engine.dispose()


def test_every_python_block_is_run():
    assert len(python_blocks()) == len(PROBES) == len(EXPECTED)


@pytest.mark.slow  # each block in a fresh interpreter
@pytest.mark.parametrize("index", range(len(PROBES)))
def test_the_readme_block_runs_as_written(index, tmp_path, redis_url, readme_database):
    first, *later = python_blocks()
    assert README_DATABASE in first and README_REDIS in first
    program = first.replace(README_REDIS, json.dumps(redis_url))
    if readme_database:
        program = program.replace(README_DATABASE, json.dumps(readme_database))
    blocks = [program, *later[index - 1 : index]] if index else [program]
    (tmp_path / "myapp.py").write_text("\n".join([*blocks, "import json", PROBES[index]]))
    run = subprocess.run(
        [sys.executable, "myapp.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == EXPECTED[index]
