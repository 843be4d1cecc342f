"""The data version: one number in the database that grows with every change to public data.

A transaction that writes a public table (any table not marked ``PRIVATE_TABLE``) bumps the
number once, in the same transaction, so the bump commits or rolls back with the change itself.
Render caches in every replica poll the number (``read``) and re-render when it moves; in the
writing process, subscribers hear of the commit at once (``subscribe``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, UOWTransaction
from sqlmodel import Session

from app.models import DataVersion

Listener = Callable[[int], None]

_TABLE = DataVersion.__table__  # type: ignore[attr-defined]
_WRITTEN = "pharos_data_version"  # session.info key: (engine key, version) this transaction wrote
_listeners: dict[str, list[Listener]] = {}
_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def read(engine: Engine) -> int:
    """The committed data version (0 on a database without the row)."""
    from app.db import READ_ONLY

    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
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


def _bump(session: Session) -> None:
    """Bump the version once per transaction, inside it."""
    if _WRITTEN in session.info:
        return
    conn = session.connection()
    version = conn.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == 1)
        .values(version=_TABLE.c.version + 1)
        .returning(_TABLE.c.version)
    ).scalar()
    if version is not None:
        session.info[_WRITTEN] = (_key(conn.engine), int(version))


@sa.event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for obj in chain(session.new, session.deleted, session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None or not _is_public(table):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        _bump(session)
        return


@sa.event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and _is_public(table):
            _bump(state.session)  # type: ignore[arg-type]


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if written is None:
        return
    key, version = written
    with _lock:
        listeners = list(_listeners.get(key, ()))
    for listener in listeners:
        listener(version)


@sa.event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WRITTEN, None)
