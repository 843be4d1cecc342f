"""Shared pieces of the probe tests: probe definitions with short intervals, a runner in the
background, and waiting for the database to reach a state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import unit_of_work
from app.models import Component, Incident, IncidentUpdate, ProbeState
from app.probes.config import ProbeConfig, parse_probes
from app.probes.runner import ProbeRunner
from peers.csms import CentralSystem

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
