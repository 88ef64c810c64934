"""The rows a DML statement writes, read from the database around it.

Every write reaches the database as a Core INSERT, UPDATE or DELETE, however
the app made it: the unit of work (cascades, delete-orphan, association
rows), the bulk helpers, ORM-enabled DML, or Core on a connection of the
engine. So the old and new values that invalidation needs are read at that
level, from the database rather than from a session's possibly outdated copy:

- before an UPDATE or DELETE, the rows it is about to touch, selected with the
  statement's own WHERE clause and locked (``FOR UPDATE``; SQLite locks the
  whole database for a writer instead), so no other transaction can change
  them between this read and the write;
- after an UPDATE or INSERT, the same rows by primary key, with whatever the
  database computed (``col + 1``, ``onupdate``, server defaults).

When the rows cannot be told, :class:`Unknown` is returned and the whole
table's keys must go: an INSERT whose keys are generated without RETURNING
(executemany through the bulk helpers), an upsert, ``INSERT ... SELECT``, an
UPDATE that changes a primary key, or more than :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, select, tuple_
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.sql import operators
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from .mapping import ModelInfo

MAX_ROWS = 1000
"""Beyond this many rows per statement, the table is flushed instead of each row's keys."""
IN_CHUNK = 500

Identity = tuple[Any, ...]
Rows = dict[Identity, dict[str, Any]]


class Unknown(Exception):  # noqa: N818 - reads as the outcome: the rows are unknown
    """The rows a statement writes cannot be told; flush the whole table."""


def before(conn: Connection, info: ModelInfo, statement: UpdateBase, param_sets: Sequence[Mapping]) -> Rows:
    """The rows an UPDATE or DELETE will touch, as they are now, locked until the transaction ends."""
    columns = _columns(info)
    where = statement.whereclause
    pairs = _equality_binds(where) if where is not None else None
    if pairs and all(name in params for params in param_sets for _, name in pairs):
        # the unit of work's form, ``pk = :pk`` once per row (executemany): one SELECT ... IN
        criteria = [tuple(params[name] for _, name in pairs) for params in param_sets]
        return _select_in(conn, info, [column for column, _ in pairs], criteria)
    rows: Rows = {}
    stmt = select(*columns).with_for_update().limit(MAX_ROWS + 1)
    if where is not None:
        stmt = stmt.where(where)
    for params in param_sets:
        rows.update(_collect(info, conn.execute(stmt, dict(params))))
    return rows


def after(conn: Connection, info: ModelInfo, identities: Iterable[Identity]) -> Rows:
    """The rows with these primary keys, as the statement left them."""
    return _select_in(conn, info, _pk_columns(info), list(identities))


def inserted(conn: Connection, info: ModelInfo, statement: Insert, result: CursorResult[Any]) -> Rows:
    """The rows an INSERT wrote, with their database-computed values."""
    if statement.select is not None or statement._post_values_clause is not None:
        raise Unknown("INSERT ... SELECT or an upsert")
    try:
        identities = [tuple(row) for row in result.inserted_primary_key_rows]
    except InvalidRequestError:
        raise Unknown("primary keys not returned") from None
    if any(value is None for identity in identities for value in identity):
        raise Unknown("primary keys generated without RETURNING")
    rows = after(conn, info, identities)
    if len(rows) != len(set(identities)):
        raise Unknown("inserted rows not found")
    return rows


def _select_in(conn: Connection, info: ModelInfo, columns: Sequence[Column[Any]], criteria: list) -> Rows:
    criteria = list(dict.fromkeys(criteria))
    if len(criteria) > MAX_ROWS:
        raise Unknown(f"more than {MAX_ROWS} rows")
    rows: Rows = {}
    target = columns[0] if len(columns) == 1 else tuple_(*columns)
    for i in range(0, len(criteria), IN_CHUNK):
        chunk = criteria[i : i + IN_CHUNK]
        values = [c[0] for c in chunk] if len(columns) == 1 else chunk
        stmt = select(*_columns(info)).where(target.in_(values)).with_for_update()
        rows.update(_collect(info, conn.execute(stmt)))
    return rows


def _collect(info: ModelInfo, result: Any) -> Rows:
    rows = {info.identity(row): dict(zip(info.names, row)) for row in result}
    if len(rows) > MAX_ROWS:
        raise Unknown(f"more than {MAX_ROWS} rows")
    return rows


def _columns(info: ModelInfo) -> list[Column[Any]]:
    return [info.columns[k] for k in info.names]


def _pk_columns(info: ModelInfo) -> list[Column[Any]]:
    return [info.columns[info.names[i]] for i in info.identity_indexes]


def _equality_binds(where: Any) -> list[tuple[Column[Any], str]] | None:
    """``[(column, bind name)]`` if ``where`` is ``col = :name AND ...`` with values given at execution."""
    conjunction = isinstance(where, BooleanClauseList) and where.operator is operators.and_
    terms = where.clauses if conjunction else [where]
    pairs = []
    for term in terms:
        if not (isinstance(term, BinaryExpression) and term.operator is operators.eq):
            return None
        column, bind = term.left, term.right
        if not (isinstance(column, Column) and isinstance(bind, BindParameter)):
            return None
        if bind.value is not None or bind.callable is not None:
            return None
        pairs.append((column, bind.key))
    return pairs
