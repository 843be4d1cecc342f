"""The probe runner: a supervised loop that, while it leads, runs each probe on its interval
and feeds the results to the incident rules.

With several replicas only the holder of the lease row probes; the others keep trying, and
one takes over within about one interval after the leader stops renewing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.config import Settings
from app.db import read_session, unit_of_work
from app.fleet.probe import OcpiPoller, check_ocpi
from app.models import ComponentStatus
from app.probes import lease, service
from app.probes.config import (
    HttpProbe,
    MetricsProbe,
    OcpiProbe,
    Ocpp16Probe,
    ProbeConfig,
    load_probes,
)
from app.probes.http import run_http
from app.probes.metrics import MetricsChecker
from app.probes.ocpp import run_ocpp16
from app.probes.outcome import Check, ProbeRun
from app.workers import Heartbeat

log = logging.getLogger("pharos.probes")
PRUNE_EVERY = 3600.0  # seconds between deletions of old results


class ProbeExecutor:
    """Runs probes once each, with a hard time budget; keeps per-probe state (metric rates)."""

    def __init__(self, probes: list[ProbeConfig], *, ocpi: OcpiPoller | None = None) -> None:
        self.probes = probes
        self._ocpi = ocpi  # without one (probe check) an ocpi probe only checks its endpoints
        self._metrics = {p.name: MetricsChecker(p) for p in probes if isinstance(p, MetricsProbe)}

    @staticmethod
    def budget(probe: ProbeConfig) -> float:
        """The longest a run may take before it counts as a timeout."""
        extra = 0.0
        if isinstance(probe, Ocpp16Probe):
            extra = 3 * probe.timeout
            extra += probe.propagation.timeout if probe.propagation else 0.0
            extra += probe.command.timeout if probe.command else 0.0
        elif isinstance(probe, OcpiProbe):
            extra = 20 * probe.timeout  # handshake, discovery and every page of a full read
        return probe.timeout + extra + 2.0

    async def run(self, probe: ProbeConfig, http: httpx.AsyncClient) -> ProbeRun:
        """Run one probe; a crash or an overrun is a failed result, never an exception."""
        try:
            return await asyncio.wait_for(self._dispatch(probe, http), self.budget(probe))
        except TimeoutError:
            check = Check("run", probe.name, False, None, "probe_timeout", "run overran its budget")
        except Exception as exc:  # a probe bug must not stop the others
            log.exception("probe %s crashed", probe.name)
            check = Check("run", probe.name, False, None, "probe_error", repr(exc))
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")

    async def _dispatch(self, probe: ProbeConfig, http: httpx.AsyncClient) -> ProbeRun:
        if isinstance(probe, Ocpp16Probe):
            return await run_ocpp16(probe, http)
        if isinstance(probe, HttpProbe):
            return await run_http(probe, http)
        if isinstance(probe, OcpiProbe):
            if self._ocpi is None:
                return await check_ocpi(probe, http)
            return await self._ocpi.run(probe, http)
        return await self._metrics[probe.name].run(http)


def probe_client() -> httpx.AsyncClient:
    """The HTTP client probes use: no proxies from the environment, no redirects."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False)


class ProbeRunner:
    """The `probes` loop for the supervisor."""

    name = "probes"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        probes: list[ProbeConfig],
        *,
        clock: Callable[[], datetime] = utcnow,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.probes = {p.name: p for p in probes}
        self.executor = ProbeExecutor(probes, ocpi=OcpiPoller(engine, settings, clock=clock))
        self.clock = clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        shortest = min((p.interval for p in probes), default=15.0)
        self.tick = min(1.0, shortest / 4)
        # A leader renews every tick; a dead one's lease lapses within one interval.
        self.lease_ttl = max(shortest - self.tick, 2 * self.tick)
        self.leading = False
        self.runs = 0
        self._prepared = False
        self._pruned_at = 0.0

    def _lead(self) -> bool:
        with unit_of_work(self.engine) as session:
            return lease.try_lead(session, holder=self.holder, now=self.clock(), ttl=self.lease_ttl)

    def _release(self) -> None:
        with unit_of_work(self.engine) as session:
            lease.release_lead(session, holder=self.holder, now=self.clock())

    def prepare(self) -> None:
        """Resolve components (creating missing ones) and create state rows (blocking)."""
        with unit_of_work(self.engine) as session:
            service.sync_states(session, list(self.probes.values()), now=self.clock())

    def record(self, run: ProbeRun) -> None:
        """Store a result and act on it: one transaction (blocking; called in a thread)."""
        with unit_of_work(self.engine) as session:
            service.record_run(
                session, self.probes[run.probe], run, settings=self.settings, now=self.clock()
            )
        self.runs += 1

    def settle(self) -> list[str]:
        """Resolve incidents whose quiet period has passed, one transaction each (blocking)."""
        quiet = {name: p.quiet_period for name, p in self.probes.items()}
        with read_session(self.engine) as session:
            linked = service.linked_incidents(session)
        resolved = []
        for incident_id in linked:
            with unit_of_work(self.engine) as session:
                if service.settle_incident(
                    session, incident_id, quiet, settings=self.settings, now=self.clock()
                ):
                    resolved.append(incident_id)
        if time.monotonic() - self._pruned_at > PRUNE_EVERY:
            with unit_of_work(self.engine) as session:
                service.prune_results(session, now=self.clock())
            self._pruned_at = time.monotonic()
        return resolved

    async def run_probe(self, probe: ProbeConfig, http: httpx.AsyncClient) -> ProbeRun:
        """Run one probe and record its result."""
        result = await self.executor.run(probe, http)
        await asyncio.to_thread(self.record, result)
        return result

    async def run(self, beat: Heartbeat) -> None:
        """Lead or wait, probe on schedule, settle quiet periods; forever."""
        in_flight: dict[str, asyncio.Task[ProbeRun]] = {}
        due: dict[str, float] = {}
        try:
            async with probe_client() as http:
                while True:
                    beat()
                    try:
                        await self._round(http, in_flight, due)
                    except Exception:  # a database hiccup must not end the loop
                        log.exception("probe round failed; retrying")
                    await asyncio.sleep(self.tick)
        finally:
            for task in in_flight.values():
                task.cancel()
            if self.leading:
                await asyncio.to_thread(self._release)

    async def _round(
        self,
        http: httpx.AsyncClient,
        in_flight: dict[str, asyncio.Task[ProbeRun]],
        due: dict[str, float],
    ) -> None:
        leading = await asyncio.to_thread(self._lead)
        if leading != self.leading:
            log.info("probe runner %s %s", self.holder, "leads" if leading else "follows")
            self.leading = leading
        if not leading:
            for task in in_flight.values():
                task.cancel()
            in_flight.clear()
            due.clear()
            return
        if not self._prepared:
            await asyncio.to_thread(self.prepare)
            self._prepared = True
        now = time.monotonic()
        for name, probe in self.probes.items():
            previous = in_flight.get(name)
            if previous is not None and not previous.done():
                continue
            if previous is not None and not previous.cancelled() and previous.exception():
                log.error("probe %s failed to record", name, exc_info=previous.exception())
            if due.get(name, now) <= now:
                in_flight[name] = asyncio.create_task(self.run_probe(probe, http))
                due[name] = max(due.get(name, now) + probe.interval, now)
        await asyncio.to_thread(self.settle)


def probe_loops(engine: Engine, settings: Settings) -> list[ProbeRunner]:
    """The probe runner when PHAROS_PROBES_FILE names a file (validated now, at start)."""
    if not settings.probes_file:
        return []
    return [ProbeRunner(engine, settings, load_probes(settings.probes_file))]
