"""The relationships a ``FromCache`` statement loads with its rows, kept in its entry.

Loader options decide what a statement's instances hold besides their
columns: ``selectinload(User.addresses)``, a ``.and_()`` criterion or
``with_loader_criteria`` that filters the collection, ``contains_eager`` over a
filtered join, an eager load of a relationship declared ``lazy="raise"``. A hit
that left those to lazy-load would give other collections than the query (all
the addresses, not the filtered ones) or raise. So the entry keeps, with each
instance, the related instances the query loaded, as it loaded them; its guards
name every table those loads read (:func:`eager_tables`), so a commit to any of
them voids it. A relationship the query did not load stays unloaded on a hit
and loads lazily, as after the query.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper, RelationshipProperty
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.collections import collection_adapter
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from .mapping import info_for
from .serialize import EntityRef

# a relationship's own lazy= that loads it with its parent (False: the old spelling of "joined")
EAGER = frozenset({"joined", "selectin", "subquery", "immediate", False})


def eager_tables(statement: Any) -> set[str]:
    """Every table read by a relationship the statement may load with its rows: those its
    loader options name at any depth (with their criteria's tables), and those its entities'
    mappers declare eager, followed through their targets."""
    tables: set[str] = set()
    relationships = set()
    for option in getattr(statement, "_with_options", ()):
        if isinstance(option, LoaderCriteriaOption):
            tables.update(_clause_tables(option.where_criteria))
            entity = inspect(option.entity, raiseerr=False) if option.entity is not None else None
            tables.update(t.fullname for t in getattr(entity, "tables", ()))
        for element in getattr(option, "context", ()):
            relationships.update(t for t in element.path.path if isinstance(t, RelationshipProperty))
            for criterion in getattr(element, "_extra_criteria", ()):
                tables.update(_clause_tables(criterion))
    for description in getattr(statement, "column_descriptions", ()):
        mapper = inspect(description.get("entity"), raiseerr=False)
        if isinstance(mapper, Mapper):
            relationships.update(_declared_eager(mapper, set()))
    for relationship in relationships:
        tables.update(relationship_tables(relationship))
    return tables


@functools.cache
def relationship_tables(relationship: RelationshipProperty[Any]) -> frozenset[str]:
    """The tables loading ``relationship`` reads: its target's, its secondary table's, and any
    its join conditions name (a custom ``primaryjoin`` may read a third table)."""
    tables = {t.fullname for t in relationship.mapper.tables}
    if relationship.secondary is not None:
        tables.update(t.fullname for t in find_tables(relationship.secondary, include_aliases=True))
    for join in (relationship.primaryjoin, relationship.secondaryjoin):
        tables.update(_clause_tables(join))
    return frozenset(tables)


def _declared_eager(
    mapper: Mapper[Any], seen: set[RelationshipProperty[Any]]
) -> Iterator[RelationshipProperty[Any]]:
    for relationship in mapper.relationships:
        if relationship.lazy in EAGER and relationship not in seen:
            seen.add(relationship)
            yield relationship
            yield from _declared_eager(relationship.mapper, seen)


def _clause_tables(clause: Any) -> Iterable[str]:
    if not isinstance(clause, ClauseElement):
        return ()
    return (
        t.fullname
        for t in find_tables(clause, check_columns=True, include_aliases=True)
        if hasattr(t, "fullname")
    )


def entity_ref(obj: Any, tables: frozenset[str], stored: set[tuple[int, str]]) -> EntityRef:
    """``obj`` as an entry stores it: its loaded columns (all of them in column order, else
    by name) and, by key, the relationships the query loaded on it whose tables are in
    ``tables`` (the entry's guards), each relationship of each object once (``stored``)."""
    state = instance_state(obj)
    info = info_for(state.class_)
    loaded = state.dict
    if all(name in loaded for name in info.names):  # a whole row: a list, read back without a dict
        values: list[Any] | dict[str, Any] = [loaded[name] for name in info.names]
    else:
        values = {name: loaded[name] for name in info.names if name in loaded}
    related: dict[str, Any] = {}
    for relationship in state.mapper.relationships:
        key = relationship.key
        if key not in loaded or (id(obj), key) in stored or not relationship_tables(relationship) <= tables:
            continue
        stored.add((id(obj), key))
        value = loaded[key]
        if relationship.uselist:
            related[key] = [entity_ref(target, tables, stored) for target in collection_adapter(value)]
        else:
            related[key] = None if value is None else entity_ref(value, tables, stored)
    return EntityRef(info.class_path, info.fingerprint, values, related or None)
