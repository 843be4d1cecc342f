"""Shared pieces of the fleet tests: an ocpi probe for a peer, running it once, and Pharos
itself on loopback (the platform pushes to its receiver)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from app.config import Settings
from app.fleet.probe import OcpiPoller
from app.main import create_app
from app.probes.config import OcpiProbe, parse_probes
from app.probes.outcome import ProbeRun
from app.probes.runner import probe_client
from peers.net import free_port
from peers.ocpi import Cpo, make_location


def ocpi_probe(cpo: Cpo, **overrides: Any) -> OcpiProbe:
    """An ocpi probe of the peer, with Token A from the peer."""
    table: dict[str, Any] = {
        "name": "roaming",
        "kind": "ocpi",
        "component": "Roaming (OCPI)",
        "versions_url": f"{cpo.base_url}/ocpi/versions",
        "token": cpo.token_a,
        "timeout": "2s",
    }
    table.update(overrides)
    probe = parse_probes({"probe": [table]})[0]
    assert isinstance(probe, OcpiProbe)
    return probe


def run_once(poller: OcpiPoller, probe: OcpiProbe) -> ProbeRun:
    """One run of the probe against the network."""

    async def go() -> ProbeRun:
        async with probe_client() as http:
            return await poller.run(probe, http)

    return asyncio.run(go())


def seed(cpo: Cpo, at: datetime, *, cities: dict[str, int], evses: int = 2) -> None:
    """Locations in cities: {"Oslo": 3} makes OSL-1..OSL-3 with `evses` EVSEs each."""
    for city, count in cities.items():
        for n in range(1, count + 1):
            cpo.add(make_location(f"{city[:3].upper()}-{n}", city=city, evses=evses, at=at))


@contextmanager
def serve_pharos(settings: Settings) -> Iterator[str]:
    """Pharos on 127.0.0.1 (a migrated database) with its public URL set to where it listens."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    here = settings.model_copy(update={"public_url": url, "render_cache": False})
    app = create_app(here)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("pharos did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Transactions:
    """The SQL statements of every committed transaction, on any engine, while recording:
    [(statement, rows it was executed for)] per transaction."""

    def __init__(self) -> None:
        self.committed: list[list[tuple[str, int]]] = []
        self._open: dict[int, list[tuple[str, int]]] = {}
        self._lock = threading.Lock()

    def _execute(
        self, conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool
    ) -> None:
        rows = len(params) if many else 1
        with self._lock:
            self._open.setdefault(id(conn), []).append((statement, rows))

    def _commit(self, conn: Any) -> None:
        with self._lock:
            self.committed.append(self._open.pop(id(conn), []))

    def _rollback(self, conn: Any) -> None:
        with self._lock:
            self._open.pop(id(conn), None)

    def writing(self, table: str) -> list[list[tuple[str, int]]]:
        """The committed transactions that wrote to this table, with those statements only."""
        found = []
        for statements in self.committed:
            mine = [
                (sql, rows)
                for sql, rows in statements
                if sql.startswith((f"UPDATE {table} ", f"INSERT INTO {table} "))
            ]
            if mine:
                found.append(mine)
        return found


@contextmanager
def transactions() -> Iterator[Transactions]:
    """Record the transactions committed meanwhile (SQLAlchemy engine events)."""
    seen = Transactions()
    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", seen._execute),
        ("commit", seen._commit),
        ("rollback", seen._rollback),
    ]
    for name, hook in hooks:
        sa.event.listen(Engine, name, hook)
    try:
        yield seen
    finally:
        for name, hook in hooks:
            sa.event.remove(Engine, name, hook)
