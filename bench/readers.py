"""The implementations compared on reads: this library, no cache, and three rivals.

Every reader answers the same two questions, ``GET`` ("user ``pk``") and
``LISTING`` ("the users with ``views == v`` in primary key order"), on
``db.session``, and can forget its cached answer so that the next read is a
miss. The benchmarks are built from this interface alone, so every
implementation is measured by the same code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy
from dogpile.cache import make_region
from dogpile.cache.api import NO_VALUE
from dogpile.cache.region import CacheRegion
from flask import Flask
from flask_caching import Cache
from sqlalchemy import Select, select

from dashboard.extensions import db
from dashboard.models import User

from .setups import EXPIRATION, Setup

GET, LISTING = "get by pk", "listing of 50"  # the questions, named as the report groups them
STATEMENTS: dict[str, Callable[[int], Select[Any]]] = {
    GET: lambda pk: select(User).where(User.id == pk),
    LISTING: lambda views: select(User).where(User.views == views).order_by(User.id),
}
KEYS = {GET: "user.id[{}]", LISTING: "user.views={}[all]"}  # the library's logical keys


def load_user(pk: int) -> Any:
    return db.session.get(User, pk)


def load_listing(views: int) -> list[Any]:
    return list(db.session.scalars(STATEMENTS[LISTING](views)))


LOADS: dict[str, Callable[[int], Any]] = {GET: load_user, LISTING: load_listing}


def _region(setup: Setup, **arguments: Any) -> CacheRegion:
    """A region of a rival's own, on the same backend as the library's."""
    return make_region(**arguments).configure(**setup.region())


class PlainReader:
    """No cache: ``db.session.get`` and a plain select, the baseline of every ratio.

    Every reader is built from the app and the setup, whether it needs them or not.
    """

    name = "no cache"
    caches = False

    def __init__(self, app: Flask, setup: Setup) -> None:
        pass

    def read(self, question: str, arg: int) -> Any:
        return LOADS[question](arg)

    def forget(self, question: str, arg: int) -> None:
        return None


class LibraryReader(PlainReader):
    """This library; forgetting deletes the value *and* its guard, as a commit does: a real miss."""

    name = "caching"
    caches = True

    def read(self, question: str, arg: int) -> Any:
        return User.cache.get(arg) if question == GET else User.cache.filter(views=arg)

    def forget(self, question: str, arg: int) -> None:
        key = KEYS[question].format(arg)
        User.cache.flush(key, f"gen:{key}")


class GistReader(PlainReader):
    """The 2014 gist: pickle the instances, unpickle and ``merge(load=False)`` on a hit.

    An unpickled instance keeps its identity key and has no session: it is
    detached, as ``merge(load=False)`` requires. Nothing invalidates these
    entries: the gist expected callers to.
    """

    name = "gist (pickle + merge)"
    caches = True

    def __init__(self, app: Flask, setup: Setup) -> None:
        self.region = _region(setup, serializer=pickle.dumps, deserializer=pickle.loads)

    def read(self, question: str, arg: int) -> Any:
        key = f"gist:{KEYS[question].format(arg)}"
        cached = self.region.get(key)
        if cached is NO_VALUE:
            value = LOADS[question](arg)
            self.region.set(key, value)
            return value
        if isinstance(cached, list):
            return [db.session.merge(obj, load=False) for obj in cached]
        return db.session.merge(cached, load=False)

    def forget(self, question: str, arg: int) -> None:
        self.region.delete(f"gist:{KEYS[question].format(arg)}")


class MemoizeReader(PlainReader):
    """Flask-Caching's ``memoize``: what a Flask app reaches for first.

    A hit returns an unpickled, detached copy that is *not* in
    ``db.session`` (less work than attaching it, and changes to it are not
    tracked), and each call first reads the function's version key.
    """

    name = "Flask-Caching memoize"
    caches = True

    def __init__(self, app: Flask, setup: Setup) -> None:
        config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": EXPIRATION, "CACHE_KEY_PREFIX": "memoize:"}
        if setup.redis_url:
            config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=setup.redis_url)
        else:
            config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=10_000)
        self.cache = Cache()
        self.cache.init_app(app, config=config)
        self.memoized = {q: self.cache.memoize(timeout=EXPIRATION)(load) for q, load in LOADS.items()}

    def read(self, question: str, arg: int) -> Any:
        return self.memoized[question](arg)

    def forget(self, question: str, arg: int) -> None:
        self.cache.delete_memoized(self.memoized[question], arg)


EXAMPLE = Path("examples", "dogpile_caching", "caching_query.py")


def example_module(version: str = sqlalchemy.__version__) -> ModuleType:
    """SQLAlchemy's ``examples/dogpile_caching/caching_query.py``, from the installed version's sdist.

    The example is not installed with SQLAlchemy, and a copy here would
    drift from the version compared, so the sdist is downloaded once with
    pip into a cache directory outside the repository.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    root = Path(os.environ.get("BENCH_CACHE_DIR") or Path(cache, "caching-bench")) / f"sqlalchemy-{version}"
    path = root / f"sqlalchemy-{version}" / EXAMPLE
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps"]
        subprocess.run([*pip, f"sqlalchemy=={version}", "--dest", str(root)], check=True)
        with tarfile.open(root / f"sqlalchemy-{version}.tar.gz") as tar:
            tar.extract(f"sqlalchemy-{version}/{EXAMPLE.as_posix()}", root, filter="data")
    spec = importlib.util.spec_from_file_location("sqlalchemy_example_caching_query", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ExampleReader(PlainReader):
    """SQLAlchemy's example: its ``FromCache`` option on ``db.session``, invalidation by hand.

    An ``ORMCache`` listens on the session's ``do_orm_execute``; a hit is a
    stored ``FrozenResult`` merged into the session (``load=False``).
    """

    name = "SQLAlchemy example"
    caches = True

    def __init__(self, app: Flask, setup: Setup) -> None:
        example = example_module()
        md5 = lambda key: hashlib.md5(key.encode("ascii")).hexdigest()  # noqa: E731 - the example's mangler
        self.option = example.FromCache("default")
        self.orm_cache = example.ORMCache({"default": _region(setup, key_mangler=md5)})
        self.orm_cache.listen_on_session(db.session)

    def read(self, question: str, arg: int) -> Any:
        result = db.session.execute(STATEMENTS[question](arg).options(self.option)).scalars()
        return result.one_or_none() if question == GET else list(result)

    def forget(self, question: str, arg: int) -> None:
        self.orm_cache.invalidate(STATEMENTS[question](arg).options(self.option), {}, self.option)
