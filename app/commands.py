"""What every `pharos` command starts from: the settings, a migrated database, a unit of work.

The command line is an edge: each command opens its unit of work here and commits it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine, migrate, unit_of_work


def load_settings() -> Settings:
    """The PHAROS_* settings, or exit 2 naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            typer.echo(f"configuration error: PHAROS_{field.upper()}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc


@contextmanager
def database(settings: Settings | None = None) -> Iterator[Engine]:
    """The migrated database of these settings (or of the environment's), for one command."""
    engine = create_db_engine((settings or load_settings()).database_url)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def transaction(settings: Settings | None = None, *, dry_run: bool = False) -> Iterator[Session]:
    """One command's unit of work on the migrated database: committed once at the end."""
    with database(settings) as engine, unit_of_work(engine, dry_run=dry_run) as session:
        yield session


def migrate_database(settings: Settings | None = None) -> None:
    """Bring the database of these settings (or of the environment's) to the newest schema."""
    with database(settings):
        pass
