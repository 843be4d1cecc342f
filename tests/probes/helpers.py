"""Shared pieces of the probe tests: probe definitions with short intervals, a runner in the
background, waiting for the database to reach a state, and a slow endpoint to probe."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import unit_of_work
from app.models import Component, Incident, IncidentUpdate, ProbeState
from app.probes.config import ProbeConfig, parse_probes
from app.probes.runner import ProbeRunner
from peers.csms import CentralSystem
from tests.conftest import FakeClock

T = TypeVar("T")


def ocpp_probe_table(csms: CentralSystem, **overrides: Any) -> dict[str, Any]:
    """An ocpp16 probe with the propagation check, fast enough for tests."""
    table: dict[str, Any] = {
        "name": "ocpp-backend",
        "kind": "ocpp16",
        "component": "Cloud Services (OCPP)",
        "url": csms.ws_url,
        "charge_point_ids": ["PHAROS-PROBE-1", "PHAROS-PROBE-2"],
        "interval": "100ms",
        "timeout": "1s",
        "slow": "2s",  # only the slow scenario tightens it: a loaded test machine is slow
        "propagation": {
            "url": csms.http_url + "/chargers/{charge_point_id}",
            "json_pointer": "/last_status/info",
            "timeout": "1s",
            "poll_every": "50ms",
        },
    }
    table.update(overrides)
    return table


def probes(*tables: dict[str, Any]) -> list[ProbeConfig]:
    """Validated probes from TOML-shaped tables."""
    return parse_probes({"probe": list(tables)})


@asynccontextmanager
async def running(runner: ProbeRunner) -> AsyncIterator[ProbeRunner]:
    """The runner's loop as a background task for the duration of the block."""
    task = asyncio.create_task(runner.run(lambda: None))
    try:
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception():
            raise AssertionError("runner crashed") from task.exception()


async def eventually(
    engine: Engine, probe: Callable[[Session], T | None], *, within: float = 30.0
) -> T:
    """Poll the database until probe() returns something truthy."""
    deadline = time.monotonic() + within
    while True:

        def look() -> T | None:
            with unit_of_work(engine) as session:
                return probe(session)

        found = await asyncio.to_thread(look)
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within}s")
        await asyncio.sleep(0.05)


def incidents(session: Session) -> list[Incident]:
    """Every incident, oldest first."""
    return list(session.exec(select(Incident).order_by(col(Incident.created_at))))


def updates(session: Session, incident_id: str) -> list[IncidentUpdate]:
    """An incident's updates, oldest first."""
    stmt = select(IncidentUpdate).where(IncidentUpdate.incident_id == incident_id)
    return list(session.exec(stmt.order_by(col(IncidentUpdate.created_at))))


def component_named(session: Session, name: str) -> Component:
    """The component with this name."""
    return session.exec(select(Component).where(Component.name == name)).one()


def state(session: Session, name: str) -> ProbeState | None:
    """A probe's state row."""
    return session.get(ProbeState, name)


SLOW = 2.0  # seconds slow_endpoint takes by default: the http probe's default "slow"


@contextmanager
def slow_endpoint(seconds: float = SLOW) -> Iterator[str]:
    """An HTTP URL on loopback that answers 200 after `seconds`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(seconds)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def run_beside_a_write(
    run: Callable[[], httpx.Response], write: Callable[[], httpx.Response], clock: FakeClock
) -> tuple[httpx.Response, float]:
    """Start `run` (a probe run now), then time `write` while the probe waits; the run's
    answer and the seconds the write took."""
    clock.advance(minutes=2)  # the run notes its caller's visit (before: a row it kept locked)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run)
        time.sleep(0.5)  # the probe's request is on its way and waits
        clock.advance(minutes=2)  # the write notes its caller's visit again
        started = time.monotonic()
        made = write()
        took = time.monotonic() - started
        assert made.status_code in (201, 303), made.text
        ran = running.result()
    return ran, took
