""" "Run now": staff run one probe once and see what it found (staff API and admin UI)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlmodel import Session

from app.audit import service as audit
from app.config import Settings
from app.db import read_beside
from app.probes import definitions, service
from app.probes.config import ProbeConfig
from app.probes.outcome import ProbeRun
from app.probes.runner import ProbeExecutor, probe_client
from app.probes.schemas import ProbeRunPublic


def run_once(probe: ProbeConfig) -> ProbeRun:
    """Run one probe once, here and now (blocking: called from a request's thread)."""

    async def once() -> ProbeRun:
        async with probe_client() as http:
            return await ProbeExecutor([probe]).run(probe, http)

    run = asyncio.run(once())
    run.manual = True
    return run


def run_and_record(
    session: Session, settings: Settings, name: str, *, actor: str, now: datetime
) -> ProbeRunPublic:
    """Run a probe now; record it (counted by the rules) unless it is paused; audit it."""
    # Read without opening the request's write transaction: the run takes seconds (its
    # budget), and on SQLite every other writer would wait for it.
    with read_beside(session) as reading:
        probe = definitions.definition_of(reading, settings, name)
        about = definitions.describe(reading, settings).get(name)
    paused = bool(about and about[1])
    run = run_once(probe)
    if not paused:
        service.sync_states(session, [probe], now=now)
        service.record_run(session, probe, run, settings=settings, now=now)
    audit.record(session, actor, "probe.run", name, at=now, data={"status": run.status.value})
    return ProbeRunPublic(probe=name, recorded=not paused, result=run.evidence())
