"""Engines, sessions and units of work, and the Alembic bootstrap.

Where a transaction begins and ends: at the edge. A request (``SessionDep``), a worker job and a
CLI command each open one unit of work (``unit_of_work``) and commit it once when the use case
is done, or roll all of it back when it fails. Services only ``flush()``.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import data_version
from app.errors import EarlyAnswer, NotFound

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Marks connections that only read; on SQLite every other transaction takes the write lock
# up front (BEGIN IMMEDIATE) so two writers queue instead of failing half-way.
READ_ONLY = "pharos_read_only"

_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Build the engine; SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE writes."""
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, **kwargs)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, see _on_begin
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine for reads only: on SQLite its transactions never take the write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The engine's session factory, made once, with the data-version hooks installed on it."""
    factory = _factories.get(engine)
    if factory is None:
        factory = sessionmaker(engine, class_=Session, expire_on_commit=False)
        data_version.install(factory)
        _factories[engine] = factory
    return factory


@contextmanager
def unit_of_work(engine: Engine, *, dry_run: bool = False) -> Iterator[Session]:
    """One use case's transaction: committed when the block ends, rolled back if it raises.

    With `dry_run` the whole of it is rolled back at the end instead: what would change, did
    change, and then didn't.
    """
    with session_factory(engine)() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only (never takes SQLite's write lock); nothing is committed."""
    with Session(read_only(engine)) as session:
        yield session


def read_beside(session: Session) -> AbstractContextManager[Session]:
    """A read-only session beside `session` while that has no transaction yet, else `session`.

    For reads a request makes before it waits on the network (a chat app's test message, a
    probe run now): on SQLite they would otherwise open the request's write transaction, and
    every other writer would wait with it.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine) and not session.in_transaction():
        return read_session(bind)
    return nullcontext(session)


def advisory_lock(session: Session, key: str) -> None:
    """Serialize writers of `key` until the transaction ends: a PostgreSQL advisory lock.

    Nothing on SQLite, where every write transaction already holds the one write lock
    (BEGIN IMMEDIATE). For a read-count-then-write that must not let two replicas both pass.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": digest})


T = TypeVar("T")

# Ids per IN list: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
IN_CHUNK = 5000


def insert_with_ids(
    session: Session, model: type[Any], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows of a table keyed by an autoincrement integer `id`, in a constant number of
    statements however many rows, and return their ids in the rows' order.

    PostgreSQL: one multi-row INSERT ... RETURNING per thousand rows, matched to the rows by
    SQLAlchemy's sentinel. SQLite answers RETURNING row by row when the order must be kept, so
    there the keys are given: max(id) + 1, + 2, ... are exactly the ones SQLite would choose
    (the keys are rowids, not AUTOINCREMENT), and no one else can take them meanwhile, as a
    writing transaction holds the database's write lock from its BEGIN IMMEDIATE on.
    """
    if not rows:
        return []
    key = model.__table__.c.id
    if session.get_bind().dialect.name != "sqlite":
        stmt = sa.insert(model).returning(key, sort_by_parameter_order=True)
        return [int(i) for i in session.scalars(stmt, rows)]
    last = int(session.execute(sa.select(sa.func.coalesce(sa.func.max(key), 0))).scalar_one())
    ids = list(range(last + 1, last + 1 + len(rows)))
    session.execute(sa.insert(model), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


class RawInsert:
    """A multi-row INSERT into some columns of a table, from rows of values already in the
    driver's form: for thousands of rows written while a write lock is held, where
    SQLAlchemy's per-row parameter processing would cost more than the database itself.

    convert() turns a row of Python values into the driver's form (the columns' own bind
    processors, exactly what SQLAlchemy would send): call it before the lock is taken. A JSON
    column takes its text as it is (the caller serializes it).
    """

    def __init__(
        self,
        dialect: sa.Dialect,
        table: sa.Table,
        columns: Sequence[str],
        *,
        add_on_conflict: Sequence[str] = (),
    ) -> None:
        """`add_on_conflict`: the key columns of an upsert that adds the other columns' values
        to a row already there."""
        self.table, self.columns, self.dialect = table, list(columns), dialect
        self._processors = [
            None
            if isinstance(table.c[name].type, sa.JSON)
            else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.columns
        ]
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        places = [
            f"CAST({mark} AS JSON)"
            if isinstance(table.c[name].type, sa.JSON) and dialect.name == "postgresql"
            else mark
            for name in self.columns
        ]
        quote = dialect.identifier_preparer.quote
        # Only the table's own (quoted) names and placeholders: no value is written in.
        names = ", ".join(quote(c) for c in self.columns)
        self.sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join(places)})"  # noqa: S608
        if add_on_conflict:
            added = ", ".join(
                f"{quote(c)} = {quote(table.name)}.{quote(c)} + excluded.{quote(c)}"
                for c in self.columns
                if c not in add_on_conflict
            )
            keys = ", ".join(quote(c) for c in add_on_conflict)
            self.sql += f" ON CONFLICT ({keys}) DO UPDATE SET {added}"

    def convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """One row's values (in the columns' order) in the driver's form."""
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._processors, row, strict=True)
        )

    def execute(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert converted rows, in their order: one executemany, or on PostgreSQL one COPY
        (its executemany still answers row by row) unless it is an upsert."""
        if not rows:
            return
        conn = session.connection()
        if self.dialect.name != "postgresql" or " ON CONFLICT " in self.sql:
            conn.exec_driver_sql(self.sql, list(rows))
            return
        quote = self.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in self.columns)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {quote(self.table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()


def next_ids(session: Session, model: type[Any], count: int) -> list[int]:
    """`count` fresh keys for a table keyed by an autoincrement integer `id`, to insert rows
    with (see insert_with_ids): from its sequence on PostgreSQL; on SQLite max(id) + 1, ...,
    which no one else can take before this transaction ends, as it holds the write lock."""
    if count == 0:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"table": table.name, "count": count},
        )
        return sorted(int(i) for (i,) in found)
    last = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    last = int(last)
    return list(range(last + 1, last + 1 + count))


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`: for IN lists of thousands of ids."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_one(session: Session, model: type[T], key: str, what: str) -> T:
    """The row of `model` with this primary key, or NotFound naming it as `what`."""
    found = session.get(model, key)
    if found is None:
        raise NotFound(f"{what} {key!r} does not exist")
    return found


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to this engine (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, rolled back if it raises.

    Function-scoped (see SessionDep), so the commit happens before the response is sent: a
    client never sees a success that was not stored, and the render cache re-renders first.
    """
    with session_factory(request.app.state.engine)() as session:
        try:
            yield session
        except EarlyAnswer as answer:
            if answer.keep_writes:
                session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        session.commit()


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for public reads; never takes the SQLite write lock."""
    with read_session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
