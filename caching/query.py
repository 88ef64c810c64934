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
the session without SQL, with the relationships the statement loaded
(:mod:`caching.eager`); those it did not load lazy-load from a hit.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import inspect
from sqlalchemy.engine import Dialect, IteratorResult, Row
from sqlalchemy.engine.result import Result, SimpleResultMetaData
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlalchemy.orm.interfaces import UserDefinedOption
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.sql.selectable import TableClause
from sqlalchemy.util import LRUCache

from . import entries, keys
from .attach import attach_all
from .eager import eager_tables, entity_ref
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
    """The tables ``statement`` reads (with those its relationship loads read: see
    :mod:`caching.eager`) and its result's shape, computed once per statement form."""
    memo = None if cache_key is None else (dialect.name, cache_key.key)
    reads = None if memo is None else _statement_reads.get(memo)
    if reads is None:
        tables = statement_tables(statement, dialect) | eager_tables(statement)
        reads = Reads(frozenset(tables), result_shape(statement))
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
    if option is None or orm_context.is_relationship_load:
        return None  # a selectinload's own SELECT: part of its statement's load, stored in its entry
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
        # populate_existing also resets relationships the query does not load: those left are its own
        frozen = orm_context.invoke_statement(execution_options={"populate_existing": True}).freeze()
        attributes = frozen._attributes
        stored: set[tuple[int, str]] = set()
        payload = {
            "shape": reads.shape,
            "keys": list(frozen.metadata._keys),  # with None for an unnamed column
            "single": bool(attributes.get("is_single_entity")),
            "filtered": bool(attributes.get("filtered")),
            "rows": [
                [_stored(cell, reads.tables, stored) for cell in (r if isinstance(r, Row) else (r,))]
                for r in frozen.data
            ],
        }
        return payload, frozen()

    guards = [keys.table_guard_key(t) for t in sorted(reads.tables)]
    return state.region(option.region).store.read_through(key, guards, load, use)


def _stored(cell: Any, tables: frozenset[str], stored: set[tuple[int, str]]) -> Any:
    """A result's cell as its entry stores it: a mapped instance as an :class:`EntityRef`."""
    if isinstance(inspect(cell, raiseerr=False), InstanceState):
        return entity_ref(cell, tables, stored)
    return cell


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
    """A cached instance whose model and values fit: attached once the whole entry fits.
    ``related``: ``(relationship key, uselist, instances)`` for each relationship its query loaded."""

    info: ModelInfo
    values: list[Any] | dict[str, Any]
    related: tuple[tuple[str, bool, list[_Instance]], ...] = ()


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
                cell = _instance(state, cell, models)
                if cell is None:
                    return None
            cells.append(cell)
        checked.append(cells)
    return checked


def _instance(state: CachingState, ref: EntityRef, models: Models) -> _Instance | None:
    """A stored instance and the instances its relationships loaded, or None if any does not
    fit: an unknown model or relationship, a list for a single object, a target of another class."""
    info = _model_of(state, ref, models)
    if info is None or not entries.entity_values(info, ref.values):
        return None
    if ref.related is None:
        return _Instance(info, ref.values)
    if type(ref.related) is not dict:
        return None
    related = []
    relationships = info.mapper.relationships
    for key, stored in ref.related.items():
        relationship = relationships.get(key) if type(key) is str else None
        if relationship is None:
            return None
        targets = stored if relationship.uselist else ([] if stored is None else [stored])
        if type(targets) is not list:
            return None
        instances = []
        target_mapper = relationship.mapper
        for target in targets:
            instance = _instance(state, target, models) if type(target) is EntityRef else None
            if instance is None:
                return None
            mapper = instance.info.mapper
            if mapper is not target_mapper and not mapper.isa(target_mapper):
                return None
            instances.append(instance)
        related.append((key, relationship.uselist, instances))
    return _Instance(info, ref.values, tuple(related))


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
    loaded: list[tuple[Any, _Instance]] = []  # objects whose query loaded relationships, and their instances
    for cells in columns:
        at = [i for i, cell in enumerate(cells) if isinstance(cell, _Instance)]
        for i, obj in zip(at, _attach_instances(session, [cells[i] for i in at])):
            if cells[i].related:
                loaded.append((obj, cells[i]))
            cells[i] = obj
    while loaded:  # one level of relationships at a time, every target of a model in one attach_all
        wanted = [
            (owner, key, uselist, targets)
            for owner, instance in loaded
            for key, uselist, targets in instance.related
            if key not in instance_dict(owner)  # loaded already: kept, as a query keeps it
        ]
        objects = iter(_attach_instances(session, [t for *_, targets in wanted for t in targets]))
        loaded = []
        for owner, key, uselist, targets in wanted:
            found = [next(objects) for _ in targets]
            set_committed_value(owner, key, found if uselist else (found[0] if found else None))
            loaded.extend((obj, t) for obj, t in zip(found, targets) if t.related)
    return list(zip(*columns))


def _attach_instances(session: Session, instances: list[_Instance]) -> list[Any]:
    """The objects of ``instances``, in order: those of one model in one :func:`attach_all` (its
    per-call work once per page, not per row), and remembered as read together (a lazy load
    on one of them loads it on all)."""
    by_model: dict[int, list[int]] = {}
    for i, instance in enumerate(instances):
        by_model.setdefault(id(instance.info), []).append(i)
    objects: list[Any] = [None] * len(instances)
    for indexes in by_model.values():
        for i, obj in zip(
            indexes, attach_all(session, instances[indexes[0]].info, [instances[i].values for i in indexes])
        ):
            objects[i] = obj
    remember(session, objects)
    return objects
