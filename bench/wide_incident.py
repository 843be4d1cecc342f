"""An incident touching many components: how long opening and resolving it take, and how long
another writer waits meanwhile.

    python bench/wide_incident.py --components 10000 [--database-url postgresql://...]

Builds N components in a fresh database (SQLite file by default), then opens one incident
setting all of them to major_outage and resolves it, through the services as the staff API
does (one unit of work each). While each runs, another thread keeps creating a component every
50 ms and records how long each of those writes took. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.clock import utcnow
from app.components import service as components
from app.components.schemas import ComponentCreate
from app.config import Settings
from app.db import create_db_engine, migrate, unit_of_work
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, UpdateCreate
from app.models import Component, ComponentStatus, IncidentStatus


def build(engine: sa.Engine, n: int) -> list[str]:
    now = utcnow()
    with unit_of_work(engine) as session:
        rows = [
            Component(name=f"Charger {i:05d}", position=i + 1, created_at=now, updated_at=now)
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [c.id for c in rows]


def other_writer(engine: sa.Engine, stop: threading.Event, waits: list[float]) -> None:
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with unit_of_work(engine) as session:
                components.create_component(
                    session, data=ComponentCreate(name=f"Other {n}"), actor="bench", now=utcnow()
                )
        except sa.exc.OperationalError:  # "database is locked" after SQLite's busy timeout
            pass  # counted as the wait it was
        waits.append(time.perf_counter() - started)
        n += 1
        stop.wait(0.05)


def timed(engine: sa.Engine, job: Any) -> tuple[float, float]:
    """Seconds the job took, and the longest another writer waited meanwhile."""
    stop = threading.Event()
    waits: list[float] = []
    writer = threading.Thread(target=other_writer, args=(engine, stop, waits))
    writer.start()
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        job(session)
    took = time.perf_counter() - started
    stop.set()
    writer.join()
    return took, max(waits, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(database_url=url, run_workers=False)
    engine = create_db_engine(url)
    migrate(engine)
    ids = build(engine, args.components)
    changes = dict.fromkeys(ids, ComponentStatus.major_outage)
    opened: dict[str, str] = {}

    def open_it(session: Any) -> None:
        incident = incidents.open_incident(
            session,
            data=IncidentCreate(name="Everything", body="Down", components=changes),
            settings=settings,
            actor="bench",
            now=utcnow(),
        )
        opened["id"] = incident.id

    def resolve_it(session: Any) -> None:
        incidents.post_update(
            session,
            opened["id"],
            data=UpdateCreate(status=IncidentStatus.resolved, body="Back"),
            settings=settings,
            actor="bench",
            now=utcnow(),
        )

    open_s, open_wait = timed(engine, open_it)
    resolve_s, resolve_wait = timed(engine, resolve_it)
    print(
        json.dumps(
            {
                "database": engine.dialect.name,
                "components": args.components,
                "open_seconds": round(open_s, 2),
                "resolve_seconds": round(resolve_s, 2),
                "other_writer_max_wait_open_seconds": round(open_wait, 2),
                "other_writer_max_wait_resolve_seconds": round(resolve_wait, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
