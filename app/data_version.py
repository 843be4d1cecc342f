"""The data version: one number in the database that grows with every change to public data.

A transaction that writes a public table (any table not marked ``PRIVATE_TABLE``) bumps the
number once, in the same transaction, so the bump commits or rolls back with the change itself.
Render caches in every replica poll the number (``read``) and re-render when it moves; in the
writing process, subscribers hear of the commit at once (``subscribe``).

The hooks are installed on a session factory (``install``; app.db does it where it makes the
factory), never on SQLAlchemy's global Session class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, UOWTransaction, sessionmaker
from sqlmodel import Session

from app.models import DataVersion

Listener = Callable[[int], None]

_TABLE = DataVersion.__table__  # type: ignore[attr-defined]
_WRITTEN = "pharos_data_version"  # session.info key: the Bump this transaction made
_PENDING = "pharos_data_version_pending"  # the transaction whose public write awaits a bump
_listeners: dict[str, list[Listener]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class _Bump:
    engine_key: str
    version: int
    transaction: SessionTransaction  # the innermost transaction (maybe a savepoint) it is in


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def read(engine: Engine) -> int:
    """The committed data version (0 on a database without the row); pass a read-only engine."""
    with engine.connect() as conn:
        version = conn.execute(sa.select(_TABLE.c.version).where(_TABLE.c.id == 1)).scalar()
    return int(version or 0)


def subscribe(engine: Engine, listener: Listener) -> Callable[[], None]:
    """Call ``listener(version)`` after each commit in this process that changed public data.

    The listener runs in the committing thread; keep it short and thread-safe. Returns the
    function that unsubscribes.
    """
    key = _key(engine)
    with _lock:
        _listeners.setdefault(key, []).append(listener)

    def unsubscribe() -> None:
        with _lock:
            listeners = _listeners.get(key, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:
                _listeners.pop(key, None)

    return unsubscribe


def _is_public(table: Any) -> bool:
    return bool(getattr(table, "info", {}).get("data_version", True))


def _mark(session: Session) -> None:
    """Note that this transaction writes public data; the bump itself waits for the commit."""
    if _PENDING in session.info:
        return
    session.connection()  # a bulk statement may come before the transaction has begun
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is not None:
        session.info[_PENDING] = transaction


def changes_public_view(session: Session) -> None:
    """Bump the version at this transaction's commit although it writes only private tables:
    a private setting changed what the public pages show (a probe's public latency chart)."""
    _mark(session)


def _before_commit(session: Session) -> None:
    """Bump the version once per transaction, inside it, just before it commits.

    Last, not at the first write: the UPDATE locks the one data_version row until the commit,
    so on PostgreSQL every other writer waits for it. Taken at the end, it is held for the
    commit only, not for the whole of a long use case.
    """
    if session.in_nested_transaction():
        return  # a savepoint is released: the outer transaction commits later
    session.flush()  # what the commit would still flush is a write too
    if session.info.pop(_PENDING, None) is None:
        return
    conn = session.connection()
    version = conn.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == 1)
        .values(version=_TABLE.c.version + 1)
        .returning(_TABLE.c.version)
    ).scalar()
    transaction = session.get_transaction()
    if version is not None and transaction is not None:
        session.info[_WRITTEN] = _Bump(_key(conn.engine), int(version), transaction)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for obj in chain(session.new, session.deleted, session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None or not _is_public(table):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        _mark(session)
        return


def _on_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and _is_public(table):
            _mark(state.session)  # type: ignore[arg-type]


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction may still roll back
    bump: _Bump | None = session.info.pop(_WRITTEN, None)
    if bump is None:
        return
    with _lock:
        listeners = list(_listeners.get(bump.engine_key, ()))
    for listener in listeners:
        listener(bump.version)


def _after_soft_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    """A rollback forgets the writes made in it (or in a savepoint within it)."""
    transaction: SessionTransaction | None = session.info.get(_PENDING)
    while transaction is not None:
        if transaction is rolled_back:
            session.info.pop(_PENDING, None)
            return
        transaction = transaction.parent


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WRITTEN, None)
        session.info.pop(_PENDING, None)


def install(factory: sessionmaker[Session]) -> None:
    """Bump and announce the data version in every session this factory makes."""
    sa.event.listen(factory, "after_flush", _after_flush)
    sa.event.listen(factory, "do_orm_execute", _on_execute)
    sa.event.listen(factory, "before_commit", _before_commit)
    sa.event.listen(factory, "after_commit", _after_commit)
    sa.event.listen(factory, "after_soft_rollback", _after_soft_rollback)
    sa.event.listen(factory, "after_transaction_end", _after_transaction_end)
