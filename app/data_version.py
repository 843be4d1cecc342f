"""The data version: one number in the database that grows with every change to public data.

A transaction that writes a public table (any table not marked ``PRIVATE_TABLE``) bumps the
number once, in the same transaction, so the bump commits or rolls back with the change itself.
Render caches in every replica poll the number (``read``) and re-render when it moves; in the
writing process, subscribers hear of the commit at once (``subscribe``).

The same bump records which topics of public data the transaction changed (``TOPICS``: component
status, incidents, the components themselves, everything else), as the version at which each
last changed. An answer that shows none of a change's topics is still right after it, and the
render cache keeps it (app.web.render_cache, app.web.topics). What a write touches is read off
the tables and, for components, the columns it writes: setting a status (its log, its uptime
rollups, the component's status and updated_at) is "status"; a name, a group, a position, a new
or deleted component is "components" too.

The hooks are installed on a session factory (``install``; app.db does it where it makes the
factory), never on SQLAlchemy's global Session class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, UOWTransaction, sessionmaker
from sqlmodel import Session

from app.models import DataVersion

Listener = Callable[[int], None]
TopicListener = Callable[[int, frozenset[str]], None]

STATUS, INCIDENTS, COMPONENTS, OTHER = "status", "incidents", "components", "other"
TOPICS = (STATUS, INCIDENTS, COMPONENTS, OTHER)
# Tables whose writes are one topic; a public table not named here is OTHER. The fleet's
# locations and chargers feed the components' charger counts, shown beside their statuses.
TABLE_TOPICS: dict[str, frozenset[str]] = {
    "component_status_change": frozenset({STATUS}),
    "component_day": frozenset({STATUS}),
    "fleet_location": frozenset({STATUS}),
    "fleet_evse": frozenset({STATUS}),
    "incident": frozenset({INCIDENTS}),
    "incident_update": frozenset({INCIDENTS}),
    "affected_component": frozenset({INCIDENTS}),
}
# A component row's columns that only a status change writes.
STATUS_COLUMNS = frozenset({"status", "updated_at"})

_TABLE = DataVersion.__table__  # type: ignore[attr-defined]
_COLUMNS = {topic: _TABLE.c[f"{topic}_at"] for topic in TOPICS}
_WRITTEN = "pharos_data_version"  # session.info key: the Bump this transaction made
_PENDING = "pharos_data_version_pending"  # the transaction whose public write awaits a bump
_TOPICS = "pharos_data_version_topics"  # the topics this transaction's writes touched
_listeners: dict[str, list[TopicListener]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Versions:
    """The data version and, per topic, the version at which it last changed."""

    version: int
    changed: dict[str, int]


@dataclass(frozen=True)
class _Bump:
    engine_key: str
    version: int
    topics: frozenset[str]
    transaction: SessionTransaction  # the innermost transaction (maybe a savepoint) it is in


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def read(engine: Engine) -> int:
    """The committed data version (0 on a database without the row); pass a read-only engine."""
    with engine.connect() as conn:
        version = conn.execute(sa.select(_TABLE.c.version).where(_TABLE.c.id == 1)).scalar()
    return int(version or 0)


def read_versions(engine: Engine) -> Versions:
    """The committed data version and each topic's (all 0 without the row)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_TABLE.c.version, *_COLUMNS.values()).where(_TABLE.c.id == 1)
        ).one_or_none()
    if row is None:
        return Versions(0, dict.fromkeys(TOPICS, 0))
    version, *changed = row
    return Versions(int(version), {t: int(v) for t, v in zip(TOPICS, changed, strict=True)})


def subscribe(engine: Engine, listener: Listener) -> Callable[[], None]:
    """Call ``listener(version)`` after each commit in this process that changed public data.

    The listener runs in the committing thread; keep it short and thread-safe. Returns the
    function that unsubscribes.
    """
    return subscribe_topics(engine, lambda version, _topics: listener(version))


def subscribe_topics(engine: Engine, listener: TopicListener) -> Callable[[], None]:
    """As ``subscribe``, and tell the listener which topics the commit changed."""
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


def _mark(session: Session, topics: Iterable[str]) -> None:
    """Note that this transaction writes public data of these topics; the bump itself waits
    for the commit."""
    session.info.setdefault(_TOPICS, set()).update(topics)
    if _PENDING in session.info:
        return
    session.connection()  # a bulk statement may come before the transaction has begun
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is not None:
        session.info[_PENDING] = transaction


def changes_public_view(session: Session) -> None:
    """Bump the version at this transaction's commit although it writes only private tables:
    a private setting changed what the public pages show (a probe's public latency chart)."""
    _mark(session, (OTHER,))


def table_topics(table_name: str, columns: Iterable[str] | None = None) -> frozenset[str]:
    """The topics a write to this table touches; for a component, by the columns it sets
    (None: a row made or deleted, or columns not known)."""
    if table_name == "component":
        if columns is not None and set(columns) <= STATUS_COLUMNS:
            return frozenset({STATUS})
        return frozenset({STATUS, COMPONENTS})
    return TABLE_TOPICS.get(table_name, frozenset({OTHER}))


def _changed_columns(obj: object) -> set[str]:
    state = sa.inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _statement_columns(statement: Any) -> set[str] | None:
    """The columns an UPDATE's VALUES set, if it says (None: it doesn't)."""
    values = getattr(statement, "_values", None)
    if not values:
        return None
    return {str(getattr(k, "key", None) or getattr(k, "name", None) or k) for k in values}


def _before_commit(session: Session) -> None:
    """Bump the version once per transaction, inside it, just before it commits.

    Last, not at the first write: the UPDATE locks the one data_version row until the commit,
    so on PostgreSQL every other writer waits for it. Taken at the end, it is held for the
    commit only, not for the whole of a long use case.
    """
    if session.in_nested_transaction():
        return  # a savepoint is released: the outer transaction commits later
    session.flush()  # what the commit would still flush is a write too
    topics = frozenset(session.info.pop(_TOPICS, ()) or (OTHER,))
    if session.info.pop(_PENDING, None) is None:
        return
    conn = session.connection()
    # One statement: the right-hand sides see the row as it was, so each topic that changed
    # gets the new version.
    version = conn.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == 1)
        .values(
            {
                _TABLE.c.version: _TABLE.c.version + 1,
                **{_COLUMNS[t]: _TABLE.c.version + 1 for t in sorted(topics)},
            }
        )
        .returning(_TABLE.c.version)
    ).scalar()
    transaction = session.get_transaction()
    if version is not None and transaction is not None:
        session.info[_WRITTEN] = _Bump(_key(conn.engine), int(version), topics, transaction)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    topics: set[str] = set()
    for obj in chain(session.new, session.deleted):
        table = getattr(obj, "__table__", None)
        if table is not None and _is_public(table):
            topics |= table_topics(table.name)
    for obj in session.dirty:
        table = getattr(obj, "__table__", None)
        if table is None or not _is_public(table) or not session.is_modified(obj):
            continue
        # After a flush the objects still hold their history (what this flush wrote).
        columns = _changed_columns(obj) if table.name == "component" else None
        topics |= table_topics(table.name, columns)
    if topics:
        _mark(session, topics)


def _on_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and _is_public(table):
            columns = _statement_columns(state.statement) if state.is_update else None
            _mark(state.session, table_topics(table.name, columns))  # type: ignore[arg-type]


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction may still roll back
    bump: _Bump | None = session.info.pop(_WRITTEN, None)
    if bump is None:
        return
    with _lock:
        listeners = list(_listeners.get(bump.engine_key, ()))
    for listener in listeners:
        listener(bump.version, bump.topics)


def _after_soft_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    """A rollback forgets the writes made in it (or in a savepoint within it)."""
    transaction: SessionTransaction | None = session.info.get(_PENDING)
    while transaction is not None:
        if transaction is rolled_back:
            session.info.pop(_PENDING, None)
            session.info.pop(_TOPICS, None)
            return
        transaction = transaction.parent


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WRITTEN, None)
        session.info.pop(_PENDING, None)
        session.info.pop(_TOPICS, None)


def install(factory: sessionmaker[Session]) -> None:
    """Bump and announce the data version in every session this factory makes."""
    sa.event.listen(factory, "after_flush", _after_flush)
    sa.event.listen(factory, "do_orm_execute", _on_execute)
    sa.event.listen(factory, "before_commit", _before_commit)
    sa.event.listen(factory, "after_commit", _after_commit)
    sa.event.listen(factory, "after_soft_rollback", _after_soft_rollback)
    sa.event.listen(factory, "after_transaction_end", _after_transaction_end)
