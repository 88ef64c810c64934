"""Invalidation: every row a transaction writes, turned into keys, deleted after commit.

Writes are caught where they all pass: the engine's INSERT, UPDATE and DELETE
statements (``before_execute``/``after_execute``). The unit of work's
cascades and delete-orphans, association rows of many-to-many collections,
``Model.col + 1`` counters, ``onupdate`` values, the bulk helpers,
ORM-enabled DML and Core statements on any connection of the engine are all
seen the same way. For a cacheable model's table, :mod:`caching.rows` reads
each written row before and after the statement, and :func:`change_for`
turns old and new values into keys; for any table, its name is recorded,
which statement results (``FromCache``) are guarded by.

Keys are kept per connection, on a stack that follows the transaction and
its savepoints (Core's ``savepoint``/``release_savepoint``/
``rollback_savepoint`` events): a released savepoint hands its keys to its
parent, a rolled back one drops them, and only the outermost commit delivers
them, once per region, after the database has committed. For a session's
connections that is its ``after_commit``. A connection used
outside a session has no event after its commit: its keys are deleted at
the commit (before the database commits) and again when the connection is
next used or returned to the pool. Statements run as ``text()`` are not seen.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.dml import Delete, Insert, UpdateBase

from . import flush, rows, scan
from .changes import Change, change_for
from .context import CachingState
from .mapping import ModelInfo, info_for

LOG = "caching.transaction"  # in a connection's info: its TransactionLog
STATEMENT = "caching.statement"  # in a connection's info: the DML statement in flight
SESSION_LOGS = "caching.logs"  # in a session's info: the logs of the connections it began


@dataclass
class Pending:
    """What one transaction (or savepoint) has written so far."""

    changes: dict[tuple[Any, ...], Change] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)
    whole_tables: set[str] = field(default_factory=set)  # rows unknown: every key of the table

    def add(self, change: Change) -> None:
        identity = (change.model, change.pk)
        if identity in self.changes:
            self.changes[identity].merge(change)
        else:
            self.changes[identity] = change

    def absorb(self, other: Pending) -> None:
        for change in other.changes.values():
            self.add(change)
        self.tables |= other.tables
        self.whole_tables |= other.whole_tables


class TransactionLog:
    """What one database connection's transaction and savepoints have written.

    Kept in the connection's ``info``, which lives as long as the pooled
    connection; ``committed`` holds what a commit made final until delivered.
    """

    def __init__(self, invalidator: Invalidator) -> None:
        self.invalidator = invalidator
        self.frames: list[tuple[str | None, Pending]] = []
        self.committed = Pending()
        self.announced = False  # the committed writes were delivered once already
        self.session_owned = False

    @property
    def current(self) -> Pending:
        if not self.frames:
            self.frames.append((None, Pending()))
        return self.frames[-1][1]

    def wrote_any(self, tables: Collection[str]) -> bool:
        """Whether the transaction or a savepoint has written one of ``tables``."""
        return any(not pending.tables.isdisjoint(tables) for _, pending in self.frames)

    def savepoint(self, name: str) -> None:
        self.current  # noqa: B018 - the transaction's own frame comes first
        self.frames.append((name, Pending()))

    def release(self, name: str) -> None:
        """A released savepoint (and any inside it) hands its writes to its parent."""
        while len(self.frames) > 1:
            frame_name, pending = self.frames.pop()
            self.frames[-1][1].absorb(pending)
            if frame_name == name:
                return

    def rollback_to(self, name: str) -> None:
        """A rolled back savepoint (and any inside it) wrote nothing."""
        while len(self.frames) > 1:
            if self.frames.pop()[0] == name:
                return

    def rollback(self) -> None:
        self.frames.clear()

    def commit(self) -> None:
        for _, pending in self.frames:
            self.committed.absorb(pending)
        self.frames.clear()

    def deliver(self, keep: bool = False) -> None:
        """Delete what committed writes made stale; ``keep`` it to deliver again later."""
        done, announced = self.committed, self.announced
        if not (done.changes or done.tables or done.whole_tables):
            return
        if keep:
            self.announced = True
        else:
            self.committed, self.announced = Pending(), False
        state = self.invalidator.state
        flush.flush_committed(state, done.changes.values(), done.tables, done.whole_tables, not announced)


class Invalidator:
    """The write hooks of one app: listens on its engines, knows its cache state."""

    def __init__(self, state: CachingState) -> None:
        self.state = state

    def listen(self, engine: Engine) -> None:
        for name in ("begin", "commit", "rollback", "savepoint", "release_savepoint", "rollback_savepoint"):
            event.listen(engine, name, getattr(self, f"_{name}"))
        event.listen(engine, "before_execute", self._before_execute)
        event.listen(engine, "after_execute", self._after_execute)
        event.listen(engine, "checkin", _checkin)

    def _log(self, conn: Connection) -> TransactionLog:
        log = conn.info.get(LOG)
        if log is None:
            log = conn.info[LOG] = TransactionLog(self)
        return log

    # -- transactions -------------------------------------------------------

    def _begin(self, conn: Connection) -> None:
        self._log(conn).deliver()  # a commit's keys not delivered since (connection kept open)

    def _commit(self, conn: Connection) -> None:
        log = self._log(conn)
        log.commit()
        if not log.session_owned:  # no event follows the database's commit: delete now, and again later
            log.deliver(keep=True)

    def _rollback(self, conn: Connection) -> None:
        self._log(conn).rollback()

    def _savepoint(self, conn: Connection, name: str) -> None:
        self._log(conn).savepoint(name)

    def _release_savepoint(self, conn: Connection, name: str, context: Any) -> None:
        self._log(conn).release(name)

    def _rollback_savepoint(self, conn: Connection, name: str, context: Any) -> None:
        self._log(conn).rollback_to(name)

    # -- statements ---------------------------------------------------------

    def _before_execute(
        self, conn: Connection, statement: Any, multiparams: Any, params: Any, options: Any
    ) -> None:
        if not isinstance(statement, UpdateBase):
            return
        table = getattr(statement, "table", None)
        if not isinstance(table, Table):
            return
        self._log(conn).current.tables.add(table.fullname)
        model = self.state.model_for_table(table.fullname)
        if model is None:
            return
        info = info_for(model)
        old: rows.Rows | None = {}
        if not isinstance(statement, Insert):
            try:
                old = rows.before(conn, info, statement, list(multiparams) or [params])
            except rows.Unknown:
                old = None
        conn.info[STATEMENT] = (statement, info, old)

    def _after_execute(
        self, conn: Connection, statement: Any, multiparams: Any, params: Any, options: Any, result: Any
    ) -> None:
        if not isinstance(statement, UpdateBase):
            return
        in_flight = conn.info.pop(STATEMENT, None)
        if in_flight is None or in_flight[0] is not statement:
            return
        _, info, old = in_flight
        log = self._log(conn)
        try:
            for change in self._changes(conn, info, statement, old, result):
                log.current.add(change)
        except rows.Unknown:
            self._whole_table(info, log.current)
        if _autocommit(conn):  # the statement is committed already
            log.commit()
            log.deliver()

    def _changes(
        self, conn: Connection, info: ModelInfo, statement: Any, old: rows.Rows | None, result: Any
    ) -> Iterable[Change]:
        label = self.state.label_for(info.model)
        if isinstance(statement, Insert):
            pairs = [(None, values) for values in rows.inserted(conn, info, statement, result).values()]
        elif old is None:
            raise rows.Unknown("too many rows")
        elif isinstance(statement, Delete):
            pairs = [(values, None) for values in old.values()]
        else:
            new = rows.after(conn, info, old) if old else {}
            if new.keys() != old.keys():
                raise rows.Unknown("an UPDATE changed primary keys")
            pairs = [(old[identity], new[identity]) for identity in old]
        for before, after in pairs:
            change = change_for(info, label, before, after)
            if change is not None:
                yield change

    def _whole_table(self, info: ModelInfo, pending: Pending) -> None:
        """The statement's rows are unknown: every key of the table goes after commit."""
        if not scan.can_scan(self.state.region(self.state.label_for(info.model)).dogpile):
            raise scan.UnsupportedBackendError(
                f"this write to {info.name} changes rows the cache cannot tell (bulk insert, upsert or "
                f"over {rows.MAX_ROWS} rows), so every key of {info.table} must go, and this backend "
                "cannot list its keys (use memory or redis, or write through the session's objects)"
            )
        pending.whole_tables.add(info.table)


def _autocommit(conn: Connection) -> bool:
    return conn._is_autocommit_isolation()  # private, stable across SQLAlchemy 2.x (pinned)


def _checkin(dbapi_connection: Any, record: Any) -> None:
    """A connection back in the pool: deliver what its last commit left."""
    log = record.info.get(LOG) if record is not None else None
    if log is not None:
        log.deliver()


# -- the session: which connections it owns, and its commit -----------------------


def listen_on_sessions() -> None:
    """Listen on every ORM session (once): those on a cached app's engine deliver right after commit."""
    if not event.contains(Session, "after_commit", _session_committed):
        event.listen(Session, "after_begin", _session_began)
        event.listen(Session, "after_commit", _session_committed)
        event.listen(Session, "after_transaction_end", _session_transaction_ended)


def writes_any(session: Session, tables: Collection[str]) -> bool:
    """Whether the session's open transaction (or a savepoint) has written one of ``tables``,
    committed or not. Asked by every cached read: no set of the written tables is built."""
    return any(log.wrote_any(tables) for log in session.info.get(SESSION_LOGS, ()))


def _session_began(session: Session, transaction: SessionTransaction, conn: Connection) -> None:
    log = conn.info.get(LOG)  # set by the engine's begin event, if the engine is a cached app's
    if log is not None:
        log.session_owned = True
        session.info.setdefault(SESSION_LOGS, []).append(log)


def _session_committed(session: Session) -> None:
    for log in session.info.get(SESSION_LOGS, ()):
        log.deliver()


def _session_transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for log in session.info.pop(SESSION_LOGS, ()):
            log.session_owned = False
