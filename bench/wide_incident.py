"""An incident touching many components: how long opening and resolving it take, and how long
another writer waits meanwhile.

    python bench/wide_incident.py --components 10000 [--database-url postgresql://...]
        [--compare 27b00b1]

Builds N components in a fresh database (SQLite file by default; on PostgreSQL a schema of its
own, dropped at the end) with subscribers (webhooks for everything and for a few components,
email for everything), then opens one incident setting all of them to major_outage and resolves
it, through the services as the staff API does (one unit of work each). While each runs,
another thread keeps creating a component every 50 ms and records how long each of those
writes took. Also reported: how long the use case's transaction was open (on SQLite it holds
the database's write lock all that time) and the deliveries queued. Prints one JSON object last.

With --compare REV the same run is made first with the code of that git revision (exported to
a temporary folder, in a process of its own), then with this code, on the same machine at the
same time; the JSON then holds both ("old", "new") and the ratios new/old.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.clock import utcnow
from app.components import service as components
from app.components.schemas import ComponentCreate
from app.config import Settings
from app.db import create_db_engine, migrate, normalize_url, unit_of_work
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, UpdateCreate
from app.models import (
    Component,
    ComponentStatus,
    Delivery,
    IncidentStatus,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
)


def build(engine: sa.Engine, n: int, subscribers: int) -> list[str]:
    """n components; `subscribers` webhooks for everything, as many for ten components each
    and as many email addresses for everything."""
    now = utcnow()
    with unit_of_work(engine) as session:
        rows = [
            Component(name=f"Charger {i:05d}", position=i + 1, created_at=now, updated_at=now)
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        ids = [c.id for c in rows]

        def subscriber(channel: SubscriberChannel, wanted: list[str] | None) -> Subscriber:
            return Subscriber(
                channel=channel,
                url=f"https://hooks.example.com/{secrets.token_hex(8)}",
                email="ops@example.com" if channel == SubscriberChannel.email else None,
                secret=f"whsec_{secrets.token_hex(16)}",
                component_ids=wanted,
                status=SubscriberStatus.active,
                unsubscribe_token=secrets.token_urlsafe(16),
                created_at=now,
                updated_at=now,
            )

        for k in range(subscribers):
            session.add(subscriber(SubscriberChannel.webhook, None))
            session.add(subscriber(SubscriberChannel.webhook, ids[k * 10 : k * 10 + 10]))
            session.add(subscriber(SubscriberChannel.email, None))
        return ids


@contextmanager
def database(url: str) -> Iterator[str]:
    """The database to use: a fresh SQLite file, or a fresh schema on PostgreSQL."""
    if not url:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(normalize_url(url))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(normalize_url(url))
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def other_writer(url: str, group_id: str, ready: Any, stop: Any, waits: Any) -> None:
    """Another writer, in a process of its own (as another server process or `pharos worker`
    would be): what it waits for is the database, not this process's interpreter lock. It
    adds components to a small group of its own, so its own work stays the same."""
    engine = create_db_engine(url)
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with unit_of_work(engine) as session:
                components.create_component(
                    session,
                    data=ComponentCreate(name=f"Other {n}", group_id=group_id),
                    actor="bench",
                    now=utcnow(),
                )
        except sa.exc.OperationalError:  # "database is locked" after SQLite's busy timeout
            pass  # counted as the wait it was
        waits.put(time.perf_counter() - started)
        n += 1
        if n == 5:
            ready.set()
        stop.wait(0.05)
    engine.dispose()


def timed(engine: sa.Engine, job: Any, group_id: str) -> tuple[float, float, float, float, float]:
    """Seconds the job took, the CPU seconds it used (its thread's: less moved by the other
    sessions on a shared machine), how long its transaction was open (from its first
    statement to its commit), the longest another writer's write took meanwhile, and the
    median time of its writes before the job (what they take without waiting)."""
    context = multiprocessing.get_context("spawn")
    ready, stop, queue = context.Event(), context.Event(), context.Queue()
    url = engine.url.render_as_string(False)
    writer = context.Process(target=other_writer, args=(url, group_id, ready, stop, queue))
    writer.start()
    ready.wait(120)  # it has written a few times
    alone = statistics.median(queue.get() for _ in range(5))
    began: list[float] = []
    started, cpu = time.perf_counter(), time.thread_time()
    with unit_of_work(engine) as session:
        sa.event.listen(session, "after_begin", lambda *_: began.append(time.perf_counter()))
        job(session)
    took, cpu = time.perf_counter() - started, time.thread_time() - cpu
    held = time.perf_counter() - began[0]
    stop.set()
    waits: list[float] = []
    while writer.is_alive() or not queue.empty():
        with suppress(Empty):
            waits.append(queue.get(timeout=0.2))
    writer.join()
    return took, cpu, held, max(waits, default=0.0), alone


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=3, help="of each kind")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--compare", default="", help="a git revision to measure first")
    args = parser.parse_args()
    if args.compare:
        old = baseline(args.compare, args.components, args.subscribers, args.database_url)
    with database(args.database_url) as url:
        figures = run(url, args.components, args.subscribers)
    if args.compare:
        keys = [k for k, v in figures.items() if isinstance(v, float) and k in old]
        figures = {
            "revision": args.compare,
            "old": old,
            "new": figures,
            "ratio_new_over_old": {
                k: round(figures[k] / old[k], 3) for k in keys if old[k] and k != "load_average_1m"
            },
        }
    print(json.dumps(figures))


def baseline(revision: str, n: int, subscribers: int, database_url: str) -> dict[str, Any]:
    """The figures of this benchmark run with the code of another git revision."""
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "-C", str(root), "archive", "--format=tar", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        command = [sys.executable, "bench/wide_incident.py", "--components", str(n)]
        command += ["--subscribers", str(subscribers)]
        if database_url:
            command += ["--database-url", database_url]
        env = {**os.environ, "PYTHONPATH": folder}
        out = subprocess.run(
            command, cwd=folder, env=env, check=True, capture_output=True, text=True
        ).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return figures


def run(url: str, n: int, subscribers: int) -> dict[str, Any]:
    settings = Settings(database_url=url, run_workers=False)
    engine = create_db_engine(url)
    migrate(engine)
    ids = build(engine, n, subscribers)
    with unit_of_work(engine) as session:
        group_id = components.create_component(
            session,
            data=ComponentCreate(name="Other writes", group=True),
            actor="bench",
            now=utcnow(),
        ).id
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

    open_s, open_cpu, open_held, open_wait, alone = timed(engine, open_it, group_id)
    resolve_s, resolve_cpu, resolve_held, resolve_wait, _ = timed(engine, resolve_it, group_id)
    with Session(engine) as session:
        deliveries = len(session.exec(select(Delivery.id)).all())
    engine.dispose()
    return {
        "database": engine.dialect.name,
        "components": n,
        "subscribers": 3 * subscribers,
        "deliveries_queued": deliveries,
        "open_seconds": round(open_s, 2),
        "resolve_seconds": round(resolve_s, 2),
        "open_cpu_seconds": round(open_cpu, 2),
        "resolve_cpu_seconds": round(resolve_cpu, 2),
        "transaction_open_seconds_open": round(open_held, 2),
        "transaction_open_seconds_resolve": round(resolve_held, 2),
        "other_writer_alone_seconds": round(alone, 3),
        "other_writer_max_wait_open_seconds": round(open_wait, 2),
        "other_writer_max_wait_resolve_seconds": round(resolve_wait, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
