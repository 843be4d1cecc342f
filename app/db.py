"""Engine factory, request sessions and the Alembic bootstrap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import data_version  # noqa: F401  (installs the session hooks that bump it)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Marks connections that only read; on SQLite every other transaction takes the write lock
# up front (BEGIN IMMEDIATE) so two writers queue instead of failing half-way.
READ_ONLY = "pharos_read_only"


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
    """A session for one request; services commit, anything uncommitted is rolled back."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for public reads; never takes the SQLite write lock."""
    engine = request.app.state.engine.execution_options(**{READ_ONLY: True})
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
