"""The library against its rivals and its floors, timed by pyperf.

    python -m bench.library -o library.json [--fast | --rigorous]   # any pyperf option

One benchmark per setup and case, named ``setup | group | implementation
(variant)``. pyperf calibrates the loops, warms up, spreads the values over
worker processes (each builds only the setup it times) and records the
machine's metadata; ``python -m pyperf compare_to old.json new.json``
compares two runs. Each loop first runs the case's reset, untimed: the
identity map is emptied (``expunge_all``, keeping the session and its
transaction, as within one request: the hardest baseline for a cache) and
a miss forgets the cached answer; an update loads its row. The floors are
what no cached read can avoid: putting the same objects in the identity
map as SQLAlchemy's loader does and, on Redis, one ``MGET`` of the very keys
the warm read fetched, plus that.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyperf
import redis
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from dashboard.extensions import caching, db
from dashboard.models import Address, User

from . import paired
from .counts import per_operation, recorded
from .profile import shares
from .readers import GET, LISTING, ExampleReader, GistReader, LibraryReader, MemoizeReader, PlainReader
from .setups import Op, Setup, all_setups, empty_cache, grow_users, loop_seconds, make_app

UPDATE = "update + commit"
USERS, GET_PK, LIST_VIEWS = 1000, 4, 3  # views = id % 20: the listing of views 3 holds 50 users
ARGS = {GET: GET_PK, LISTING: LIST_VIEWS}
UPDATE_PK, UPDATE_VIEWS = USERS + 1, (100, 101)  # a row outside the listings read, toggled
MOVED = "caching (an Address moved to another user)"  # counted, not timed: the keys it flushes
MOVED_PK, MOVED_USERS = 1, (1, 2)
READERS = (PlainReader, LibraryReader, ExampleReader, GistReader, MemoizeReader)  # the baseline first
VARIANTS = {GET: ("hit", "miss"), LISTING: ("warm", "cold")}
ATTACH, MGET = "floor: attach", "floor: Redis MGET + attach"
PROFILED = {"memory": (GET, "hit"), "Redis": (LISTING, "warm")}  # the reads held to their floors
PARTS = {  # what a warm read does, by the functions doing it; the floor does the first only
    "attaching": (("caching/attach.py", "attach_all", 1),),
    "the backend call": (
        ("dogpile/cache/api.py", "get_serialized_multi", 1),  # the memory backend's
        ("dogpile/cache/backends/redis.py", "get_serialized_multi", 1),
    ),
    "decoding": (("caching/serialize.py", "payloads", 1),),
    "checking the guards": (("caching/store.py", "_lookups", 1),),
    "counting the stats": (("caching/stats.py", "_count_reads", 1),),
    "the session's autoflush check": (("caching/model.py", "_begin", 1),),
}
SEPARATOR = " | "


@dataclass(frozen=True)
class Case:
    """One operation of one implementation in one group; ``variant`` tells a hit from a miss."""

    setup: str
    group: str
    impl: str
    variant: str = ""

    @property
    def label(self) -> str:
        return f"{self.impl} ({self.variant})" if self.variant else self.impl

    @property
    def name(self) -> str:
        return SEPARATOR.join((self.setup, self.group, self.label))


def plan(setup: Setup) -> Iterator[Case]:
    """Every case of a setup, in the report's order; known without building the setup."""
    for group in (GET, LISTING):
        for reader in READERS:
            for variant in VARIANTS[group] if reader.caches else ("",):
                yield Case(setup.label, group, reader.name, variant)
        yield Case(setup.label, group, ATTACH)
        if setup.redis_url:
            yield Case(setup.label, group, MGET)
    yield Case(setup.label, UPDATE, LibraryReader.name)
    yield Case(setup.label, UPDATE, PlainReader.name)


class World:
    """One setup, seeded, with its readers and the callables of every case; in its app's context."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.app = make_app(setup)
        with self.app.app_context():
            empty_cache(setup)
            grow_users(USERS + 1)
            if db.session.get(Address, MOVED_PK) is None:
                db.session.add(Address(id=MOVED_PK, user_id=MOVED_USERS[0], email="moved@example.org"))
                db.session.commit()
            self.readers = {r.name: r(self.app, setup) for r in READERS}
            self.rows = {
                GET: table_rows(User, User.id == GET_PK),
                LISTING: table_rows(User, User.views == LIST_VIEWS),
            }
            library = self.readers[LibraryReader.name]
            self.keys = {q: self._keys(functools.partial(library.read, q, arg)) for q, arg in ARGS.items()}
        self.plain_session = Session(create_engine(setup.database_url))  # an engine the library never saw

    @staticmethod
    def _keys(read: Op) -> list[str]:
        """The stored keys a warm ``read`` fetches."""
        read()
        db.session.expunge_all()
        return recorded(caching.regions["default"], read).read

    def callables(self, case: Case) -> tuple[Op, Op]:
        """(the timed operation, its untimed reset)."""
        expunge = db.session.expunge_all
        if case.group == UPDATE:
            session = db.session if case.impl == LibraryReader.name else self.plain_session
            return _update(session)
        rows = self.rows[case.group]
        if case.impl == ATTACH:
            return functools.partial(attach_floor, rows), expunge
        if case.impl == MGET:
            client, keys = redis.Redis.from_url(self.setup.redis_url or ""), self.keys[case.group]
            return lambda: (client.mget(keys), attach_floor(rows)), expunge
        reader, arg = self.readers[case.impl], ARGS[case.group]
        read = functools.partial(reader.read, case.group, arg)
        if case.variant in ("miss", "cold"):
            return read, lambda: (expunge(), reader.forget(case.group, arg))
        return read, expunge

    def profile(self) -> dict[str, Any]:
        """Where the library's read held to a floor on this setup spends its time (:data:`PARTS`)."""
        group, variant = PROFILED[self.setup.backend]
        with self.app.app_context():
            op, reset = self.callables(Case(self.setup.label, group, LibraryReader.name, variant))
            return {"read": f"{group} ({variant})", "shares": shares(op, PARTS, 3000, reset)}

    def pairs(self, wanted: Iterable[tuple[str, tuple[str, str], tuple[str, str]]]) -> dict[str, Any]:
        """Each wanted ratio, ``(setups' names end with, numerator, denominator)`` as ``(group,
        label)``, on this setup, timed in pairs (:mod:`bench.paired`); keyed by :func:`pair_name`."""
        cases = {(case.group, case.label): case for case in plan(self.setup)}
        found = {}
        with self.app.app_context():
            for suffix, top, bottom in wanted:
                if self.setup.label.endswith(suffix) and top in cases and bottom in cases:
                    sides = self.callables(cases[top]), self.callables(cases[bottom])
                    found[pair_name(top, bottom)] = paired.ratio(*sides)
        return found

    def counts(self) -> dict[str, dict[str, int]]:
        """Every case's exact counts, by group and label, the library's region counted."""
        counts: dict[str, dict[str, int]] = {}
        for case in plan(self.setup):
            plain_update = case.group == UPDATE and case.impl == PlainReader.name
            with self.app.app_context():
                engine = self.plain_session.get_bind() if plain_update else db.engine
                op, reset = self.callables(case)
                found = per_operation(op, engine, [caching.regions["default"]], reset)
            counts[f"{case.group}{SEPARATOR}{case.label}"] = vars(found)
        with self.app.app_context():
            move, load = _update(db.session, Address, MOVED_PK, ("user_id", MOVED_USERS))
            counts[f"{UPDATE}{SEPARATOR}{MOVED}"] = vars(per_operation(move, db.engine, reset=load))
        return counts


def pair_name(top: tuple[str, ...], bottom: tuple[str, ...]) -> str:
    """A paired ratio's name: its numerator's and its denominator's parts."""
    return f"{SEPARATOR.join(top)} ÷ {SEPARATOR.join(bottom)}"


def table_rows(model: type, *criteria: Any) -> list[dict[str, Any]]:
    """The rows of ``model``'s table matching ``criteria``, in primary key order: what
    :func:`attach_floor` takes."""
    table = inspect(model).local_table
    statement = select(table).where(*criteria).order_by(*table.primary_key)
    return [dict(r) for r in db.session.execute(statement).mappings()]


def attach_floor(rows: list[dict[str, Any]], model: type = User) -> list[Any]:
    """The floor of a cached read: the same objects put in the identity map as the ORM's loader does.

    Built from SQLAlchemy's own primitives (pinned below 2.2, as the library
    is), with none of the library's bookkeeping: no events, no expiry.
    """
    session, mapper = db.session(), inspect(model)
    objects = []
    for row in rows:
        obj = mapper.class_manager.new_instance()
        state = instance_state(obj)
        state.dict.update(row)
        state.key = mapper.identity_key_from_primary_key([row["id"]])
        state.session_id = session.hash_key
        session.identity_map._add_unpresent(state, state.key)
        objects.append(obj)
    return objects


def _update(
    session: Any,
    model: type = User,
    pk: int = UPDATE_PK,
    toggled: tuple[str, tuple[Any, Any]] = ("views", UPDATE_VIEWS),
) -> tuple[Op, Op]:
    """Change a column and commit (timed), after loading the row (untimed).

    The column flips between two values from the value just loaded, so every
    commit really changes a column with listings.
    """
    name, (first, second) = toggled
    loaded: list[Any] = []

    def load() -> None:
        loaded[:] = [session.get(model, pk)]

    def commit() -> None:
        setattr(loaded[0], name, second if getattr(loaded[0], name) == first else first)
        session.commit()

    return commit, load


@functools.cache
def world(setup: Setup) -> World:
    """The setup, built once per process: a pyperf worker builds only the one it times."""
    return World(setup)


def _timed(loops: int, setup: Setup, case: Case) -> float:
    """Seconds spent in the operation over ``loops`` loops, the resets left out."""
    built = world(setup)
    return loop_seconds(loops, built.app, *built.callables(case))


def main() -> None:
    runner = pyperf.Runner(processes=3, values=3, program_args=("-m", "bench.library"))
    runner.argparser.set_defaults(copy_env=True)  # the workers need the servers' URLs
    runner.metadata["description"] = "caching vs rivals and floors; see bench/library.py"
    for setup in all_setups():
        for case in plan(setup):
            runner.bench_time_func(case.name, _timed, setup, case)


if __name__ == "__main__":
    main()
