"""``FromCache``: load any ORM statement's result through a cache region.

The option is read by a ``do_orm_execute`` hook, as in SQLAlchemy's
``examples/dogpile_caching``. Without an explicit ``cache_key`` the key is
a hash of the SQL and its parameters. The cached result carries the
generation of every table the statement reads, so any commit writing one
of them invalidates it, in every process sharing the backend. Rows are
stored as plain data, mapped instances as their column values; they are
rebuilt and attached to the session without SQL. Relationships that the
statement eager-loaded are not cached: they load lazily from a hit.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, event
from sqlalchemy.engine import IteratorResult, Row
from sqlalchemy.engine.result import Result, SimpleResultMetaData
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.interfaces import UserDefinedOption
from sqlalchemy.sql import visitors
from sqlalchemy.util import LRUCache

from . import keys
from .attach import attach
from .invalidation import written_tables
from .mapping import info_for
from .serialize import EntityRef
from .store import MISS

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .extension import CachingState

_statement_strings: LRUCache[Any, str] = LRUCache(1000)
_installed: set[int] = set()


class FromCache(UserDefinedOption):
    """Load the statement's result from region ``region``, under ``cache_key``
    if given, else under a hash of its SQL and parameters."""

    propagate_to_loaders = False

    def __init__(self, region: str = "default", cache_key: str | None = None) -> None:
        super().__init__((region, cache_key))
        self.region = region
        self.cache_key = cache_key

    def _gen_cache_key(self, anon_map: Any, bindparams: Any) -> None:
        """Keep statements using this option in SQLAlchemy's compiled cache."""
        return None


def install(db: SQLAlchemy) -> None:
    if id(db) not in _installed:
        _installed.add(id(db))
        event.listen(db.session, "do_orm_execute", _load_from_cache)


def statement_tables(statement: Any) -> set[str]:
    """Names of the tables a statement reads."""
    return {e.fullname for e in visitors.iterate(statement) if isinstance(e, Table)}


def statement_key(statement: Any, parameters: Any) -> str:
    """``sql:<hash>`` of the statement's SQL and parameter values."""
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        text = f"{statement} {sorted((parameters or {}).items())!r}"
    else:
        text = cache_key.to_offline_string(_statement_strings, statement, parameters or {})
    return keys.STATEMENT_PREFIX + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _load_from_cache(orm_context: ORMExecuteState) -> Result[Any] | None:
    from .extension import state_or_none

    if not orm_context.is_select:
        return None
    option = next((o for o in orm_context.user_defined_options if isinstance(o, FromCache)), None)
    state = state_or_none()
    if option is None or state is None or not state.enabled:
        return None
    session = orm_context.session
    statement = orm_context.statement
    tables = statement_tables(statement)
    if tables & written_tables(session) or session.new or session.dirty or session.deleted:
        return None  # the session sees uncommitted data: neither serve nor store
    key = option.cache_key or statement_key(statement, orm_context.parameters)

    def use(payload: Any) -> Any:
        result = _rebuild(state, session, payload)
        return MISS if result is None else result

    def load() -> tuple[dict[str, Any], Result[Any]]:
        # values written to the cache must be the database's, not stale identity-map ones
        frozen = orm_context.invoke_statement(execution_options={"populate_existing": True}).freeze()
        attributes = frozen._attributes
        payload = {
            "keys": list(frozen.metadata.keys),
            "single": bool(attributes.get("is_single_entity")),
            "filtered": bool(attributes.get("filtered")),
            "rows": [list(r) if isinstance(r, Row) else [r] for r in frozen.data],
        }
        return payload, frozen()

    guards = [keys.table_guard_key(t) for t in sorted(tables)]
    return state.store(option.region).read_through(key, guards, load, use)


def _rebuild(state: CachingState, session: Session, payload: Any) -> Result[Any] | None:
    """A result from cached rows, or None if they no longer fit the models."""
    try:
        rows = [tuple(_cell(state, session, cell) for cell in row) for row in payload["rows"]]
        result_keys = payload["keys"]
        attributes = {"is_single_entity": payload["single"], "filtered": payload["filtered"]}
    except (KeyError, TypeError, _OutdatedEntryError):
        return None
    result = IteratorResult(SimpleResultMetaData(result_keys), iter(rows))
    result._attributes = result._attributes.union(attributes)
    return result


class _OutdatedEntryError(Exception):
    """A cached instance whose model changed shape since it was stored."""


def _cell(state: CachingState, session: Session, cell: Any) -> Any:
    if not isinstance(cell, EntityRef):
        return cell
    model = state.model_by_path(cell.class_path)
    if model is None:
        raise _OutdatedEntryError(cell.class_path)
    info = info_for(model)
    if info.fingerprint != cell.fingerprint:
        raise _OutdatedEntryError(cell.class_path)
    return attach(session, info, cell.values)
