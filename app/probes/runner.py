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
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.config import Settings
from app.db import read_session, unit_of_work
from app.errors import InvalidInput
from app.fleet.probe import OcpiPoller
from app.models import ComponentStatus
from app.probes import definitions, lease, service
from app.probes.config import OcppProbe, ProbeConfig, load_probes
from app.probes.kinds import KindContext, RunOnce, run_once_for
from app.probes.outcome import Check, ProbeRun
from app.probes.watch import watch
from app.workers import Heartbeat

log = logging.getLogger("pharos.probes")
PRUNE_EVERY = 3600.0  # seconds between deletions of old results
REFRESH_EVERY = 2.0  # seconds between looks at the probes staff manage


class ProbeExecutor:
    """Runs probes once each, with a hard time budget; keeps per-probe state (metric rates)."""

    def __init__(self, probes: list[ProbeConfig], *, ocpi: OcpiPoller | None = None) -> None:
        # Without an OCPI poller (probe check) an ocpi probe only checks its endpoints.
        self.context = KindContext(ocpi=ocpi)
        self._runs: dict[str, tuple[ProbeConfig, RunOnce]] = {}
        for probe in probes:
            self.run_once(probe)

    def run_once(self, probe: ProbeConfig) -> RunOnce:
        """This definition's run function (made anew when the definition changes)."""
        known = self._runs.get(probe.name)
        if known is None or known[0] != probe:
            known = (probe, run_once_for(probe, self.context))
            self._runs[probe.name] = known
        return known[1]

    def forget(self, name: str) -> None:
        """Drop a removed probe's state."""
        self._runs.pop(name, None)

    async def run(self, probe: ProbeConfig, http: httpx.AsyncClient) -> ProbeRun:
        """Run one probe; a crash or an overrun is a failed result, never an exception."""
        try:
            return await asyncio.wait_for(self.run_once(probe)(http), probe.budget())
        except TimeoutError:
            check = Check("run", probe.name, False, None, "probe_timeout", "run overran its budget")
        except Exception as exc:  # a probe bug must not stop the others
            log.exception("probe %s crashed", probe.name)
            check = Check("run", probe.name, False, None, "probe_error", repr(exc))
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")


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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.file_probes = {p.name: p for p in probes}
        self.probes = dict(self.file_probes)
        self.executor = ProbeExecutor(probes, ocpi=OcpiPoller(engine, settings, clock=clock))
        self.clock = clock
        self.sleep = sleep  # between quick re-probes (the benchmark's simulated time)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._pace()
        self.leading = False
        self.runs = 0
        self._prepared = False
        self._pruned_at = 0.0
        self._refreshed_at = 0.0
        self._due: dict[str, float] = {}  # monotonic time each probe runs next
        self._watches: dict[str, tuple[ProbeConfig, asyncio.Task[None]]] = {}
        self.watch_alerts = 0

    def _pace(self) -> None:
        shortest = min((p.interval for p in self.probes.values()), default=15.0)
        self.tick = min(1.0, shortest / 4)
        # A leader renews every tick; a dead one's lease lapses within one interval.
        self.lease_ttl = max(shortest - self.tick, 2 * self.tick)

    def _lead(self) -> bool:
        with unit_of_work(self.engine) as session:
            return lease.try_lead(session, holder=self.holder, now=self.clock(), ttl=self.lease_ttl)

    def _lead_and_refresh(self) -> tuple[bool, list[str]]:
        """Lead (when there is anything to probe), then, every REFRESH_EVERY, take in the
        managed probes; one thread hop per round (blocking). Followers with probes don't
        refresh: the one that takes over does at once."""
        leading = bool(self.probes) and self._lead()
        stale = time.monotonic() - self._refreshed_at > REFRESH_EVERY
        removed = self.refresh() if stale and (leading or not self.probes) else []
        return leading, removed

    def _release(self) -> None:
        with unit_of_work(self.engine) as session:
            lease.release_lead(session, holder=self.holder, now=self.clock())

    def prepare(self) -> None:
        """Resolve components (creating missing ones) and create state rows (blocking)."""
        with unit_of_work(self.engine) as session:
            service.sync_states(session, list(self.probes.values()), now=self.clock())

    def refresh(self) -> list[str]:
        """Take in the probes staff manage (blocking): new, changed, paused, deleted ones.
        The file's probes win over managed ones of the same name. Returns removed names."""
        with read_session(self.engine) as session:
            stored = definitions.list_definitions(session)
        managed: dict[str, ProbeConfig] = {}
        for definition in stored:
            if definition.paused or definition.name in self.file_probes:
                continue
            try:
                managed[definition.name] = definitions.validate(definition.config)
            except InvalidInput:
                log.warning("probe %s: stored definition no longer valid", definition.name)
        changed = [p for n, p in managed.items() if self.probes.get(n) != p]
        if changed:
            with unit_of_work(self.engine) as session:
                service.sync_states(session, changed, now=self.clock())
        fresh = {**self.file_probes, **managed}
        removed = [name for name in self.probes if name not in fresh]
        for name in removed:
            self.executor.forget(name)
        self.probes = fresh
        self._pace()
        self._refreshed_at = time.monotonic()
        return removed

    def record(self, run: ProbeRun) -> int:
        """Store a result and act on it: one transaction (blocking; called in a thread).

        Returns how many quick re-probes the decision under way still needs.
        """
        probe = self.probes[run.probe]
        with unit_of_work(self.engine) as session:
            # (the clock is read once the probe's group is locked: see record_run)
            service.record_run(session, probe, run, settings=self.settings, now=self.clock)
            more = service.still_to_confirm(session, probe)
        self.runs += 1
        return more

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
        """Run one probe and record its result (one result, no re-probes)."""
        result = await self.executor.run(probe, http)
        await asyncio.to_thread(self.record, result)
        return result

    async def decide(self, probe: ProbeConfig, http: httpx.AsyncClient) -> list[ProbeRun]:
        """One scheduled run, then the quick re-probes its decision needs.

        A result that starts a decision (a first failure; a first success during a problem; a
        new severity) is confirmed at once: the remaining results the thresholds ask for are
        run now, started `confirm_spacing` apart and overlapping, instead of one per interval.
        Each run covers every charge point id again, and each result is recorded in order, in
        its own transaction, so the usual rules open, change or recover only on confirmation.
        """
        first = await self.executor.run(probe, http)
        more = await asyncio.to_thread(self.record, first)
        results = [first]
        if not more or not probe.confirm_quickly:
            return results
        started: list[asyncio.Task[ProbeRun]] = []
        try:
            for i in range(more):
                if i:
                    await self.sleep(probe.confirm_spacing)
                started.append(asyncio.create_task(self.executor.run(probe, http)))
            for task in started:
                result = await task
                result.confirmation = True
                await asyncio.to_thread(self.record, result)
                results.append(result)
        finally:
            for task in started:
                task.cancel()
        return results

    def noticed(self, name: str, trouble: str) -> None:
        """The connection watch saw trouble: run the probe now (its rules decide)."""
        self.watch_alerts += 1
        self._due[name] = 0.0

    def _watch(self) -> None:
        """Keep one watch task per OCPP probe with [watch], as it is defined now."""
        wanted = {
            name: probe
            for name, probe in self.probes.items()
            if isinstance(probe, OcppProbe) and probe.watch is not None
        }
        for name, (probe, task) in list(self._watches.items()):
            if wanted.get(name) != probe or task.done():
                task.cancel()
                del self._watches[name]
        for name, probe in wanted.items():
            if name not in self._watches:
                task = asyncio.create_task(watch(probe, self.noticed))
                self._watches[name] = (probe, task)

    def _unwatch(self) -> None:
        for _, task in self._watches.values():
            task.cancel()
        self._watches.clear()

    async def run(self, beat: Heartbeat) -> None:
        """Lead or wait, probe on schedule, settle quiet periods; forever."""
        in_flight: dict[str, asyncio.Task[list[ProbeRun]]] = {}
        due = self._due
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
            self._unwatch()
            if self.leading:
                await asyncio.to_thread(self._release)

    async def _round(
        self,
        http: httpx.AsyncClient,
        in_flight: dict[str, asyncio.Task[list[ProbeRun]]],
        due: dict[str, float],
    ) -> None:
        leading, removed = await asyncio.to_thread(self._lead_and_refresh)
        for name in removed:
            task = in_flight.pop(name, None)
            if task is not None:
                task.cancel()
            due.pop(name, None)
        if leading != self.leading:
            log.info("probe runner %s %s", self.holder, "leads" if leading else "follows")
            self.leading = leading
        if not leading:
            self._unwatch()
            for task in in_flight.values():
                task.cancel()
            in_flight.clear()
            due.clear()
            return
        if not self._prepared:
            await asyncio.to_thread(self.prepare)
            self._prepared = True
        self._watch()
        now = time.monotonic()
        for name, probe in self.probes.items():
            previous = in_flight.get(name)
            if previous is not None and not previous.done():
                continue
            if previous is not None and not previous.cancelled() and previous.exception():
                log.error("probe %s failed to record", name, exc_info=previous.exception())
            if due.get(name, now) <= now:
                in_flight[name] = asyncio.create_task(self.decide(probe, http))
                due[name] = max(due.get(name, now) + probe.interval, now)
        await asyncio.to_thread(self.settle)


def probe_loops(engine: Engine, settings: Settings) -> list[ProbeRunner]:
    """The probe runner: the PHAROS_PROBES_FILE probes (validated now, at start) and those
    staff manage in the API and admin UI."""
    file = load_probes(settings.probes_file) if settings.probes_file else []
    return [ProbeRunner(engine, settings, file)]
