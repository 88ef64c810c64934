"""Lazy loads of relationships through the cache, batched.

Touching ``address.user`` or ``user.addresses`` on an object that has not
loaded it makes SQLAlchemy's lazy loader run a SELECT. A ``do_orm_execute``
hook answers that SELECT from the cache when the relationship is one the
cache holds exactly, reading the entries ``Model.cache`` reads:

- many-to-one to a cacheable model by its primary key (``address.user``):
  the object key ``user.id[4]``, as ``User.cache.get(4)``;
- one-to-many to a cacheable model by one column, in primary key order
  (``user.addresses``): the listing ``address.user_id=4[all]``, as
  ``Address.cache.filter(user_id=4)``.

So their invalidation is the write side's, unchanged: a write to an address
flushes its listings under its old and new ``user_id``. Anything else (a
``secondary`` table, an extra join condition, another order, inheritance,
loader options on the parent) is left to SQL, as are loads while the
session holds uncommitted writes. ``relationship(..., info={"cache": False})``
opts one out.

Unlike SQLAlchemy's ``RelationshipCache`` example, loads are batched, as
``selectinload`` batches them but only on access: objects read together (a
cached listing, a ``FromCache`` result, one batch of this module) form a
group, and the first lazy load of a relationship on one member loads it on
every member that has not: all their keys in one backend call, every miss
in one SQL statement (``IN``), stored in one more call. A page listing 50
users and their addresses makes two backend calls, not 100.
"""

from __future__ import annotations

import weakref
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Column, Select, select
from sqlalchemy.engine import IteratorResult
from sqlalchemy.engine.result import Result, SimpleResultMetaData
from sqlalchemy.orm import ORMExecuteState, RelationshipProperty, Session
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from . import entries, keys
from .attach import attach_all
from .canonical import ZONED_DIALECTS
from .invalidation import writes_any
from .mapping import ModelInfo, cacheable, info_for
from .store import MISS

if TYPE_CHECKING:
    from .context import CachingState

GROUPS = "caching.groups"
RECENT_GROUPS = 16  # groups a session remembers: a page's listings, not a script's history
MAX_BATCH = 1000  # members loaded at once: one IN list, one backend call


_PLAIN = (int, str)  # value types whose naming a plan keeps (not bool: True == 1)
NAMES_KEPT = 10_000  # namings a plan keeps (then it starts over)


class Naming(NamedTuple):
    """What a value names through a plan: its canonical form, its key and the key's guards."""

    canonical: Any
    key: str
    guards: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """How one relationship reads through the cache.

    ``kind`` is ``"object"`` (many-to-one: the target's object key),
    ``"listing"`` (one-to-many: the target's listing of ``remote``) or
    ``"link"`` (many-to-many: the targets linked to the parent through the
    ``secondary`` table, guarded by both tables' generations).
    """

    prop: RelationshipProperty[Any]
    target: ModelInfo
    local: str  # the parent's attribute holding the value that names the targets
    remote: str  # the target's column: its primary key, or the listing's column
    kind: str
    link: Column[Any] | None = None  # many-to-many: the secondary's column naming the parent
    linked: Column[Any] | None = None  # many-to-many: the secondary's column naming the target
    # naming() of plain values: a page's lazy loads name the same parents' values every time
    _names: dict[tuple[type, Any, bool], Naming] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def tables(self) -> frozenset[str]:
        """The tables its loads read: written in the session's transaction, SQL answers.
        (Asked by every lazy load; a plan does not change.)"""
        if self.link is None:
            return frozenset({self.target.table})
        return frozenset({self.target.table, self.link.table.fullname})  # type: ignore[attr-defined]

    def key(self, value: Any) -> str:
        if self.kind == "object":
            return self.target.object_key(value)
        if self.kind == "listing":
            return self.target.listing_key({self.remote: value})
        return keys.listing_key(self.link.table.fullname, {self.link.name: value})  # type: ignore[union-attr]

    def guards(self, key: str) -> list[str]:
        if self.kind != "link":
            return [keys.guard_key(key)]
        tables = (self.link.table.fullname, self.target.table)  # type: ignore[union-attr]
        return [keys.table_guard_key(table) for table in tables]

    def canonical(self, value: Any, zones: bool) -> Any:
        """``value`` as keys render it; ValueError if the cache cannot name it exactly.

        A NULL joins no row (``NULL = x`` is never true), while the listing of
        ``None`` holds the rows whose column IS NULL: it is left to SQL."""
        if value is None:
            raise ValueError("a NULL joins no row")
        if self.kind == "link":
            if type(value) not in (int, str):  # the secondary's column: plain keys only
                raise ValueError(f"{value!r} is not a plain key")
            return value
        canonical = self.target.criterion(self.remote, value, zones)
        if not self.target.representable(self.remote, canonical):
            raise ValueError(f"{value!r} is out of the range of {self.target.name}.{self.remote}")
        return canonical

    def naming(self, value: Any, zones: bool) -> Naming:
        """``value`` as :meth:`canonical` renders it (its errors too), the key that names its
        targets and that key's guards: worked out once per plain value (an int or str key,
        whose equal values name the same key) and kept, not once per parent and read."""
        plain = type(value) in _PLAIN
        memo = (type(value), value, zones)
        found = self._names.get(memo) if plain else None
        if found is None:
            canonical = self.canonical(value, zones)
            key = self.key(canonical)
            found = Naming(canonical, key, tuple(self.guards(key)))
            if plain:
                if len(self._names) >= NAMES_KEPT:
                    self._names.clear()
                self._names[memo] = found
        return found

    def grouping(self, value: Any) -> Any:
        """A row's value of the grouping column, as :meth:`canonical` renders it."""
        return value if self.kind == "link" else self.target.coerce(self.remote, value)

    def statement(self, values: list[Any]) -> Select[Any]:
        """The rows of every value's targets, with the value last, in primary key order."""
        target = self.target
        pk = target.attributes[target.pk_index]
        if self.kind != "link":
            remote = target.attributes[target.index[self.remote]]
            return select(*target.attributes, remote).where(remote.in_(values)).order_by(pk)
        return (
            select(*target.attributes, self.link)
            .join(self.link.table, self.linked == target.columns[self.remote])  # type: ignore[union-attr]
            .where(self.link.in_(values))  # type: ignore[union-attr]
            .order_by(pk)
        )


_plans: dict[RelationshipProperty[Any], Plan | None] = {}


def plan_for(prop: RelationshipProperty[Any]) -> Plan | None:
    """The relationship's :class:`Plan`, or None if the cache cannot answer its loads exactly."""
    if prop not in _plans:
        _plans[prop] = _plan(prop)
    return _plans[prop]


def _plan(prop: RelationshipProperty[Any]) -> Plan | None:
    target_mapper = prop.mapper
    if (
        prop.info.get("cache", True) is False
        or not cacheable(target_mapper.class_)
        or target_mapper.inherits is not None
        or len(target_mapper.polymorphic_map) > 1
        or not _in_pk_order(prop, info_for(target_mapper.class_))
    ):
        return None
    target = info_for(target_mapper.class_)
    if target.pk is None or not target.pk_is_identity:
        return None
    if prop.secondary is not None:
        return _link_plan(prop, target)
    if len(prop.local_remote_pairs) != 1:
        return None
    ((local_column, remote_column),) = prop.local_remote_pairs
    if not _equals(prop.primaryjoin, local_column, remote_column):
        return None
    remote = target_mapper.get_property_by_column(remote_column).key
    local = prop.parent.get_property_by_column(local_column).key
    if remote not in target.columns:
        return None
    if prop.direction is MANYTOONE and remote == target.pk:
        return Plan(prop, target, local, remote, "object")
    if prop.direction is ONETOMANY and remote != target.pk:
        return Plan(prop, target, local, remote, "listing")
    return None


def _link_plan(prop: RelationshipProperty[Any], target: ModelInfo) -> Plan | None:
    """Many-to-many through a plain ``secondary`` table: one column to each side."""
    pairs = prop.local_remote_pairs
    secondary = prop.secondary
    if len(pairs) != 2 or prop.secondaryjoin is None:
        return None
    (parent_column, link), (target_column, linked) = pairs
    if not (
        link.table is secondary
        and linked.table is secondary
        and _equals(prop.primaryjoin, parent_column, link)
        and _equals(prop.secondaryjoin, target_column, linked)
    ):
        return None
    remote = prop.mapper.get_property_by_column(target_column).key
    if remote != target.pk:
        return None
    local = prop.parent.get_property_by_column(parent_column).key
    return Plan(prop, target, local, remote, "link", link, linked)


def _equals(join: Any, one: Column[Any], other: Column[Any]) -> bool:
    """Whether a join condition is exactly ``one == other``, with no other criterion."""
    return (
        isinstance(join, BinaryExpression)
        and join.operator is operators.eq
        and {join.left, join.right} == {one, other}
    )


def _in_pk_order(prop: RelationshipProperty[Any], target: ModelInfo) -> bool:
    """Listings are kept in primary key order: the relationship must ask for no other."""
    order = prop.order_by
    if not order:
        return True
    return len(order) == 1 and target.pk is not None and order[0].compare(target.columns[target.pk])


# -- groups ------------------------------------------------------------------


def remember(session: Session, objects: Sequence[Any]) -> None:
    """Record objects read together, so a lazy load on one of them loads all of them.

    The session keeps the last few groups, by weak reference: the identity
    map lets go of unreferenced objects, and so does a group.
    """
    if len(objects) > 1:
        groups = session.info.get(GROUPS)
        if groups is None:
            groups = session.info[GROUPS] = deque(maxlen=RECENT_GROUPS)
        groups.append({id(obj): weakref.ref(obj) for obj in objects})


def _group_of(session: Session, obj: Any) -> Iterable[Any]:
    for group in reversed(session.info.get(GROUPS, ())):
        member = group.get(id(obj))
        if member is not None and member() is obj:
            return [o for o in (ref() for ref in group.values()) if o is not None]
    return (obj,)


# -- the hook ----------------------------------------------------------------


def load_from_cache(state: CachingState, orm_context: ORMExecuteState) -> Result[Any] | None:
    """A lazy load's result through the cache (and the same relationship loaded on the
    objects read with its owner), or None when SQL must answer."""
    parent = orm_context.lazy_loaded_from
    if parent is None:
        return None
    path = orm_context.loader_strategy_path
    prop = path[-1] if path else None
    plan = plan_for(prop) if isinstance(prop, RelationshipProperty) else None
    session = orm_context.session
    parameters = orm_context.parameters
    if (
        plan is None
        or orm_context.statement._with_options  # loader options travel with the parent: leave them to SQL
        or type(parameters) is not dict
        or len(parameters) != 1
        or writes_any(session, plan.tables)
        or session.new
        or session.dirty
        or session.deleted
    ):
        return None
    (value,) = parameters.values()
    owner = parent.obj()
    members = _members(session, plan, owner, value)
    loaded = Batch(state, session, plan).load({v for _, v in members})
    if loaded is None:
        return None
    key, uselist = plan.prop.key, plan.prop.uselist
    for member, member_value in members[1:]:
        objects = loaded[member_value]
        set_committed_value(member, key, list(objects) if uselist else (objects[0] if objects else None))
    return _result(plan, loaded[value])


def _members(session: Session, plan: Plan, owner: Any, value: Any) -> list[tuple[Any, Any]]:
    """``(owner, value)``, then each member of the owner's group that has not loaded the
    relationship, with the value naming its targets: ``MAX_BATCH`` in all at most. One loop
    over the group, what does not change from member to member read once."""
    members = [(owner, value)]
    hash_key, prop, local = session.hash_key, plan.prop, plan.local
    key, parent = prop.key, prop.parent
    for member in _group_of(session, owner):
        if len(members) >= MAX_BATCH:
            break
        member_state = instance_state(member)
        if member is owner or member_state.session_id != hash_key or member_state.key is None:
            continue
        values, mapper = instance_dict(member), member_state.mapper
        if key in values or not (mapper is parent or mapper.isa(parent)):
            continue
        member_value = values.get(local)  # None joins no row: left unloaded
        if member_value is not None:
            members.append((member, member_value))
    return members


def _result(plan: Plan, objects: list[Any]) -> Result[Any]:
    """What the lazy loader expects from its SELECT: one entity per row."""
    metadata = SimpleResultMetaData([plan.target.name], _create_unique_filters=lambda result: [id])
    result = IteratorResult(metadata, iter([(obj,) for obj in objects]))
    result._attributes = result._attributes.union({"is_single_entity": True, "filtered": False})
    return result


# -- one batch ---------------------------------------------------------------


class Batch:
    """Load one relationship's targets for many values: one backend read, one SQL
    statement for every miss (after its guards are armed), one backend write."""

    def __init__(self, state: CachingState, session: Session, plan: Plan) -> None:
        self.state = state
        self.session = session
        self.plan = plan
        self.target = plan.target

    def load(self, values: set[Any]) -> dict[Any, list[Any]] | None:
        """Each value's target objects, attached to the session, or None if a value
        cannot name a row the way the cache does (then SQL answers)."""
        target, plan = self.target, self.plan
        zones = self.session.get_bind(mapper=target.mapper).dialect.name in ZONED_DIALECTS
        try:
            names = {value: plan.naming(value, zones) for value in values}
        except (TypeError, ValueError):
            return None
        by_key = {n.key: n for n in names.values()}

        def load(missing: list[str]) -> dict[str, tuple[Any, list[dict[str, Any]]]]:
            selected = self._select([by_key[key].canonical for key in missing])
            loaded = {}
            for key in missing:
                found = selected.get(by_key[key].canonical, [])
                data = (found[0] if found else None) if plan.kind == "object" else found
                loaded[key] = data, [dict(zip(target.names, row)) for row in found]
            return loaded

        store = self.state.region(target.model.cache_label).store
        found_by_key = store.read_many([(key, n.guards) for key, n in by_key.items()], load, self._rows)
        rows = {by_key[key].canonical: found for key, found in found_by_key.items()}
        objects = attach_all(self.session, target, [r for found in rows.values() for r in found])
        remember(self.session, objects)
        attached, start = {}, 0
        for c, found in rows.items():
            attached[c] = objects[start : start + len(found)]
            start += len(found)
        return {value: attached[n.canonical] for value, n in names.items()}

    def _rows(self, data: Any) -> Any:
        """A hit's rows (as :func:`attach_all` takes them), or ``MISS`` if the entry is not of our shape."""
        if self.plan.kind != "object":
            found = entries.rows(self.target, data)
            return MISS if found is None else found
        if data is None:
            return []
        values = entries.object_values(self.target, data)
        return MISS if values is None else [values]

    def _select(self, values: list[Any]) -> dict[Any, list[list[Any]]]:
        """The rows of every missing value, in primary key order, by (canonical) value."""
        found: dict[Any, list[list[Any]]] = defaultdict(list)
        for *row, value in self.session.execute(self.plan.statement(values)):
            found[self.plan.grouping(value)].append(row)
        return found
