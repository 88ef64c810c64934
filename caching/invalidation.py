"""Session events: collect the keys each flush makes stale, flush them after commit.

Keys are computed in ``after_flush``, when both the old and the new column
values are known (and primary keys are assigned), and kept per transaction:
a savepoint that is released hands its changes to its parent, a rollback of
either drops them, and only the outermost commit deletes keys, once per
region, after the database has committed. Column values the ORM has not
loaded are selected before the UPDATE or DELETE runs (old values) or after
the flush (server-generated new values), so no listing is missed.

Bulk ``update()``/``delete()``/``insert()`` statements run through the
session flush every key of the table they write; this needs a backend that
can list its keys (memory or Redis) and is refused before the statement
runs otherwise. Statements run on a bare connection, outside the session,
are not seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, SessionTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.state import InstanceState

from . import scan
from .changes import Change, change_for
from .mapping import ModelInfo, info_for, is_unknown, model_for_table

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .extension import CachingState

PENDING = "caching.pending"
OLD_VALUES = "caching.old"
_installed: set[int] = set()


@dataclass
class Pending:
    """What one transaction (or savepoint) has written so far."""

    state: CachingState
    changes: dict[tuple[Any, ...], Change] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)
    bulk_tables: set[str] = field(default_factory=set)

    def add(self, identity: tuple[Any, ...], change: Change) -> None:
        if identity in self.changes:
            self.changes[identity].merge(change)
        else:
            self.changes[identity] = change

    def absorb(self, other: Pending) -> None:
        for identity, change in other.changes.items():
            self.add(identity, change)
        self.tables |= other.tables
        self.bulk_tables |= other.bulk_tables


def install(db: SQLAlchemy) -> None:
    """Listen on this db's sessions (once, whatever the number of apps)."""
    if id(db) in _installed:
        return
    _installed.add(id(db))
    event.listen(db.session, "after_flush", _after_flush)
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_transaction_end", _after_transaction_end)
    event.listen(db.session, "do_orm_execute", _bulk_statement)


def written_tables(session: Session) -> set[str]:
    """Tables this session has written in its open transaction (and savepoints)."""
    pending = session.info.get(PENDING)
    if not pending:
        return set()
    return set().union(*(p.tables for p in pending.values()))


def _innermost(session: Session) -> SessionTransaction:
    """The transaction (or savepoint) in progress, begun if the statement would begin it."""
    return session.get_nested_transaction() or session.get_transaction() or session.begin()


def _pending(session: Session, state: CachingState) -> Pending:
    pending = session.info.setdefault(PENDING, {})
    transaction = _innermost(session)
    if transaction not in pending:
        pending[transaction] = Pending(state)
    return pending[transaction]


def _after_flush(session: Session, flush_context: Any) -> None:
    from .extension import state_or_none

    state = state_or_none()
    if state is None:
        return
    pending = _pending(session, state)
    fetched_old = session.info.pop(OLD_VALUES, {})
    inserted = {instance_state(o) for o in session.new}
    deleted = {instance_state(o) for o in session.deleted}
    by_model: dict[type, list[InstanceState[Any]]] = {}
    for st in inserted | deleted | {instance_state(o) for o in session.dirty}:
        pending.tables.update(t.name for t in st.mapper.tables)
        model = model_for_table(st.mapper.local_table.name)
        if model is not None and issubclass(st.class_, model):
            by_model.setdefault(model, []).append(st)
    for model, states in by_model.items():
        info = info_for(model)
        label = state.label_for(model)
        news = {st: {k: st.dict.get(k, NO_VALUE) for k in info.keys} for st in states if st not in deleted}
        _fill_unknown(session.connection(bind_arguments={"mapper": info.mapper}), info, news)
        for st in states:
            old = None if st in inserted else _old_values(info, st, fetched_old.get(st, {}))
            change = change_for(info, label, old, news.get(st))
            if change is not None:
                pending.add((model, change.pk), change)


def _old_values(info: ModelInfo, st: InstanceState[Any], fetched: dict[str, Any]) -> dict[str, Any]:
    return {k: fetched[k] if k in fetched else _committed(st, k) for k in info.keys}


def _committed(st: InstanceState[Any], key: str) -> Any:
    """The value ``key`` had when loaded, or NO_VALUE if the ORM never loaded it."""
    if key in st.committed_state:
        return st.committed_state[key]
    return st.dict.get(key, NO_VALUE)


def _remember_old_values(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """Before an UPDATE/DELETE: select the old values the ORM never loaded."""
    st = instance_state(target)
    info = info_for(st.class_)
    if st.session is None or not any(is_unknown(_committed(st, k)) for k in info.keys):
        return
    values = _load_columns(connection, info, [st.key]).get(st.key, {})
    st.session.info.setdefault(OLD_VALUES, {})[st] = values


def _fill_unknown(
    connection: Connection, info: ModelInfo, values: dict[InstanceState[Any], dict[str, Any]]
) -> None:
    """Load, in one SELECT, new values the flush left unloaded (server defaults)."""
    unknown = [st for st, v in values.items() if any(is_unknown(x) for x in v.values())]
    if not unknown:
        return
    identities = {st: info.identity_key([values[st][k] for k in info.keys]) for st in unknown}
    loaded = _load_columns(connection, info, identities.values())
    for st, identity in identities.items():
        values[st].update(loaded.get(identity, {}))


def _load_columns(
    connection: Connection, info: ModelInfo, identities: Iterable[Any]
) -> dict[Any, dict[str, Any]]:
    """Current database values of the cached columns, by identity key, in one SELECT."""
    idents = [ident[1] for ident in identities if ident is not None]
    if not idents:
        return {}
    pk_columns = list(info.mapper.primary_key)
    if len(pk_columns) == 1:
        where = pk_columns[0].in_([ident[0] for ident in idents])
    else:
        where = tuple_(*pk_columns).in_([tuple(ident) for ident in idents])
    rows = connection.execute(select(*(info.columns[k] for k in info.keys)).where(where))
    return {info.identity_key(row): dict(zip(info.keys, row)) for row in rows}


def _after_commit(session: Session) -> None:
    pending = session.info.get(PENDING)
    if not pending:
        return
    nested = session.get_nested_transaction()
    if nested is not None:  # a savepoint was released: its parent inherits its changes
        done = pending.pop(nested, None)
        if done is not None and nested.parent is not None:
            parent = pending.setdefault(nested.parent, Pending(done.state))
            parent.absorb(done)
        return
    done = pending.pop(session.get_transaction(), None)
    if done is not None:
        done.state.apply(done.changes.values(), done.tables, done.bulk_tables)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(PENDING)
    if pending:
        pending.pop(transaction, None)  # rolled back, or already applied


def _bulk_statement(orm_context: ORMExecuteState) -> None:
    """Record the tables bulk DML statements write; refuse what can't be flushed."""
    from .extension import state_or_none

    if not (orm_context.is_update or orm_context.is_delete or orm_context.is_insert):
        return
    state = state_or_none()
    table = getattr(orm_context.statement, "table", None)
    if state is None or table is None or not hasattr(table, "name"):
        return
    model = model_for_table(table.name)
    if model is not None and not scan.can_scan(state.store(state.label_for(model)).region):
        raise scan.UnsupportedBackendError(
            f"bulk statements on {model.__name__} need a cache backend that can list "
            "its keys (memory or redis); change objects through the session instead"
        )
    pending = _pending(orm_context.session, state)
    pending.tables.add(table.name)
    if model is not None:
        pending.bulk_tables.add(table.name)


def listen_mapper_events(mixin: type) -> None:
    """Old values for UPDATE/DELETE of every class using ``mixin``."""
    event.listen(mixin, "before_update", _remember_old_values, propagate=True)
    event.listen(mixin, "before_delete", _remember_old_values, propagate=True)
