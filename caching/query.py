"""``FromCache``: load any ORM statement's result through a cache region.

The option is read by a ``do_orm_execute`` hook, as in SQLAlchemy's
``examples/dogpile_caching``. Without an explicit ``cache_key`` the key is
a hash of the SQL, its parameters and the result's shape (``select(Tag)``
and ``select(Tag.id, Tag.name)`` run the same SQL but return entities and
rows); the shape is stored with the result too, so an explicit key shared
by two shapes reads as a miss rather than as the other's rows. The cached
result carries the generation of every table the statement reads, found in
the compiled statement (relationship joins, secondary tables, subqueries,
CTEs, aliases of a table), so any commit writing one of them invalidates
it, in every process sharing the backend. Rows are stored as plain data,
mapped instances as their column values; they are rebuilt and attached to
the session without SQL. Relationships that the statement eager-loaded are
not cached: they load lazily from a hit.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.engine import Dialect, IteratorResult, Row
from sqlalchemy.engine.result import Result, SimpleResultMetaData
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.interfaces import UserDefinedOption
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.sql.selectable import TableClause
from sqlalchemy.util import LRUCache

from . import entries, keys
from .attach import attach_all
from .invalidation import writes_any
from .mapping import ModelInfo, info_for
from .relationships import remember
from .serialize import EntityRef
from .store import MISS

if TYPE_CHECKING:
    from .context import CachingState

_statement_strings: LRUCache[Any, str] = LRUCache(1000)
_statement_reads: LRUCache[Any, Reads] = LRUCache(1000)
_recorders: dict[type, type] = {}


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


class Reads(NamedTuple):
    """What a statement's result depends on: the tables it reads and its shape."""

    tables: frozenset[str]
    shape: str


def statement_reads(statement: Any, cache_key: CacheKey | None, dialect: Dialect) -> Reads:
    """The tables ``statement`` reads and its result's shape, computed once per statement form."""
    memo = None if cache_key is None else (dialect.name, cache_key.key)
    reads = None if memo is None else _statement_reads.get(memo)
    if reads is None:
        reads = Reads(frozenset(statement_tables(statement, dialect)), result_shape(statement))
        if memo is not None:
            _statement_reads[memo] = reads
    return reads


def statement_tables(statement: Any, dialect: Dialect) -> set[str]:
    """Names of the tables the statement's SQL reads: every table its compiled form renders.

    Compiling finds what the ORM statement only implies (relationship joins'
    targets and secondary tables, also inside subqueries and CTEs) and names
    an alias by its table.
    """
    compiler = dialect.statement_compiler
    recorder = _recorders.get(compiler)
    if recorder is None:
        recorder = _recorders[compiler] = type(
            f"TableRecording{compiler.__name__}", (_TableRecorder, compiler), {}
        )
    return recorder(dialect, statement).tables


class _TableRecorder:
    """A statement compiler mixin that records the tables it renders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tables: set[str] = set()
        super().__init__(*args, **kwargs)  # compiles the statement

    def visit_table(self, table: TableClause, **kwargs: Any) -> str:
        self.tables.add(table.fullname)  # schema-qualified, as the write side names tables
        return super().visit_table(table, **kwargs)  # type: ignore[misc]


def result_shape(statement: Any) -> str:
    """The entities and columns a statement returns, by name and type."""
    descriptions = getattr(statement, "column_descriptions", None)
    if descriptions is None:  # a Core compound select: columns only
        return "|".join(f"{c.key}:{c.type!r}" for c in statement.selected_columns)
    return "|".join(f"{d['name']}:{_type_name(d['type'])}" for d in descriptions)


def _type_name(kind: Any) -> str:
    return f"{kind.__module__}.{kind.__qualname__}" if isinstance(kind, type) else repr(kind)


def statement_key(statement: Any, cache_key: CacheKey | None, parameters: Any, shape: str) -> str:
    """``sql:<hash>`` of the statement's SQL, parameter values and result shape."""
    if cache_key is None:
        text = f"{statement} {sorted((parameters or {}).items())!r}"
    else:
        text = cache_key.to_offline_string(_statement_strings, statement, parameters or {})
    text = f"{text} -> {shape}"
    return keys.STATEMENT_PREFIX + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def load_from_cache(state: CachingState, orm_context: ORMExecuteState) -> Result[Any] | None:
    """The result of a ``FromCache`` SELECT through the cache, or None for one without the option
    (or whose session sees uncommitted writes to the tables it reads): then SQL answers."""
    option = next((o for o in orm_context.user_defined_options if isinstance(o, FromCache)), None)
    if option is None:
        return None
    session = orm_context.session
    statement = orm_context.statement
    cache_key = statement._generate_cache_key()
    reads = statement_reads(statement, cache_key, session.get_bind(**orm_context.bind_arguments).dialect)
    if writes_any(session, reads.tables) or session.new or session.dirty or session.deleted:
        return None  # the session sees uncommitted data: neither serve nor store
    key = option.cache_key or statement_key(statement, cache_key, orm_context.parameters, reads.shape)

    def use(payload: Any) -> Any:
        result = _rebuild(state, session, payload, reads.shape)
        return MISS if result is None else result

    def load() -> tuple[dict[str, Any], Result[Any]]:
        # values written to the cache must be the database's, not stale identity-map ones
        frozen = orm_context.invoke_statement(execution_options={"populate_existing": True}).freeze()
        attributes = frozen._attributes
        payload = {
            "shape": reads.shape,
            "keys": list(frozen.metadata._keys),  # with None for an unnamed column
            "single": bool(attributes.get("is_single_entity")),
            "filtered": bool(attributes.get("filtered")),
            "rows": [list(r) if isinstance(r, Row) else [r] for r in frozen.data],
        }
        return payload, frozen()

    guards = [keys.table_guard_key(t) for t in sorted(reads.tables)]
    return state.region(option.region).store.read_through(key, guards, load, use)


def _rebuild(state: CachingState, session: Session, payload: Any, shape: str) -> Result[Any] | None:
    """A result from cached rows, or None if the entry does not fit: another result
    shape, a model that changed since, or a malformed entry. Nothing is attached
    to the session before the whole entry is known to fit."""
    if type(payload) is not dict or payload.get("shape") != shape:
        return None
    result_keys, rows = payload.get("keys"), payload.get("rows")
    attributes = {"is_single_entity": payload.get("single"), "filtered": payload.get("filtered")}
    if not (
        type(result_keys) is list
        and all(k is None or type(k) is str for k in result_keys)
        and type(rows) is list
        and all(type(flag) is bool for flag in attributes.values())
    ):
        return None
    checked = _checked_rows(state, rows, len(result_keys))
    if checked is None:
        return None
    built = _attached(session, checked, len(result_keys))
    result = IteratorResult(SimpleResultMetaData(result_keys), iter(built))
    result._attributes = result._attributes.union(attributes)
    return result


class _Instance(NamedTuple):
    """A cached instance whose model and values fit: attached once the whole entry fits."""

    info: ModelInfo
    values: list[Any] | dict[str, Any]


Models = dict[tuple[str, str], "ModelInfo | None"]
"""A result's stored classes, by class path and fingerprint, and their models if they fit."""


def _checked_rows(state: CachingState, rows: list[Any], width: int) -> list[list[Any]] | None:
    """Each row's cells, instances resolved to their model, or None if any does not fit.
    One loop over the result (no call per row), each class's model found once."""
    models: Models = {}
    checked = []
    for row in rows:
        if type(row) is not list or len(row) != width:
            return None
        cells = []
        for cell in row:
            if isinstance(cell, EntityRef):
                info = _model_of(state, cell, models)
                if info is None or not entries.entity_values(info, cell.values):
                    return None
                cell = _Instance(info, cell.values)
            cells.append(cell)
        checked.append(cells)
    return checked


def _model_of(state: CachingState, ref: EntityRef, models: Models) -> ModelInfo | None:
    """The model of a stored instance, if its class is mapped and its schema unchanged; found
    once per class and fingerprint in ``models`` (a result's rows name one or two)."""
    if type(ref.class_path) is not str or type(ref.fingerprint) is not str:
        return None
    named = (ref.class_path, ref.fingerprint)
    if named not in models:
        model = state.model_by_path(ref.class_path)
        info = None if model is None else info_for(model)
        models[named] = info if info is not None and info.fingerprint == ref.fingerprint else None
    return models[named]


def _attached(session: Session, rows: list[list[Any]], width: int) -> list[tuple[Any, ...]]:
    """``rows`` with each cached instance attached: a column's instances of one model in one
    :func:`attach_all` (its per-call work once per page, not per row), and remembered as
    read together (a lazy load on one of them loads it on all)."""
    columns = [[row[c] for row in rows] for c in range(width)]
    for cells in columns:
        by_model: dict[int, list[int]] = {}
        for i, cell in enumerate(cells):
            if isinstance(cell, _Instance):
                by_model.setdefault(id(cell.info), []).append(i)
        for indexes in by_model.values():
            objects = attach_all(session, cells[indexes[0]].info, [cells[i].values for i in indexes])
            for i, obj in zip(indexes, objects):
                cells[i] = obj
        remember(session, [cells[i] for indexes in by_model.values() for i in indexes])
    return list(zip(*columns))
