"""The `ocpi` probe: the credentials handshake once, then a full read of the platform's
Locations, incremental reads (date_from) between full ones, the EVSE statuses stored and the
areas judged. The run's own result says whether the OCPI endpoint itself works: unreachable,
refusing our token or answering 5xx is a failure the probes' hysteresis turns into an
incident on the probe's component.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.config import Settings
from app.db import unit_of_work
from app.fleet import areas, rollup, store
from app.fleet.config import load_areas
from app.fleet.credentials import CredentialsError, seal, token_hash, unseal
from app.fleet.ocpi import OcpiClient, OcpiError
from app.models import ComponentStatus, FleetPeer
from app.notifications import outbound
from app.probes.config import OcpiProbe
from app.probes.outcome import Check, ProbeRun

log = logging.getLogger("pharos.fleet")

# Locations stored per transaction of a read (50 EVSEs each at the benchmark's fleet, so about
# 500 EVSEs: tens of milliseconds of write lock on a quiet machine, about a second on one
# starved of CPU, not the whole read's seconds).
READ_CHUNK = 10
CHUNK_PAUSE = 0.12  # seconds between a read's transactions on SQLite (see _store)


def our_credentials(probe: OcpiProbe, settings: Settings, token_b: str) -> dict[str, Any]:
    """The OCPI credentials object Pharos hands the platform."""
    return {
        "token": token_b,
        "url": f"{settings.public_url}/ocpi/versions",
        "roles": [
            {
                "role": "OTHER",
                "party_id": probe.party_id,
                "country_code": probe.country_code,
                "business_details": {"name": settings.page_name[:100]},
            }
        ],
    }


class OcpiPoller:
    """Runs ocpi probes; state lives in the fleet_peer row, so a new leader carries on."""

    def __init__(
        self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        # The fleet file is read now, so a bad one stops `pharos serve` at start.
        self.file_areas = load_areas(settings.fleet_file) if settings.fleet_file else None

    def _load_file_areas(self) -> None:
        if self.file_areas is None:
            return
        with unit_of_work(self.engine) as session:
            areas.load_file_areas(session, self.file_areas, now=self.clock())
        self.file_areas = None

    def _secret(self) -> str | None:
        key = self.settings.secret_key
        return key.get_secret_value() if key else None

    # --- database steps (blocking; run in a thread) ---
    def _peer(self, name: str) -> FleetPeer:
        with unit_of_work(self.engine) as session:
            peer = session.get(FleetPeer, name)
            if peer is None:
                peer = FleetPeer(name=name)
                session.add(peer)
                session.flush()
            session.expunge(peer)
            return peer

    def _offer_token_b(self, name: str, token_b: str) -> None:
        # Stored before the POST: the platform may call our versions endpoint with it at once.
        with unit_of_work(self.engine) as session:
            peer = session.get(FleetPeer, name) or FleetPeer(name=name)
            peer.token_b_hash = token_hash(token_b)
            session.add(peer)

    def _registered(self, name: str, theirs: dict[str, Any], endpoints: dict[str, str]) -> None:
        with unit_of_work(self.engine) as session:
            peer = session.get(FleetPeer, name) or FleetPeer(name=name)
            peer.token_c = seal(str(theirs["token"]), self._secret())
            roles = [r for r in theirs.get("roles") or [] if isinstance(r, dict)]
            cpo = next((r for r in roles if r.get("role") == "CPO"), roles[0] if roles else {})
            peer.country_code = str(cpo.get("country_code", ""))[:2] or None
            peer.party_id = str(cpo.get("party_id", ""))[:3] or None
            peer.endpoints, peer.registered_at = endpoints, self.clock()
            session.add(peer)

    def _store(
        self,
        name: str,
        locations: list[dict[str, Any]],
        *,
        endpoints: dict[str, str],
        cursor: datetime,
        full: bool,
    ) -> store.Applied:
        # A read is stored a few locations per transaction, so pushes and staff writes never
        # wait long for the write lock; the cursor moves only once all of it is stored (a
        # failure half-way reads the same again next run, and applying twice changes nothing).
        total = store.Applied()
        for start in range(0, len(locations), READ_CHUNK):
            if start and self.engine.dialect.name == "sqlite":
                # SQLite's busy handler polls for the write lock (every 100 ms once it has
                # waited a while); begun again at once, the next chunk would take it before
                # any waiting writer ever looked, and they would wait for the whole read.
                time.sleep(CHUNK_PAUSE)
            with unit_of_work(self.engine) as session:
                done = store.apply_locations(
                    session, name, locations[start : start + READ_CHUNK], now=self.clock()
                )
            total.locations += done.locations
            total.evses += done.evses
            total.status_changes += done.status_changes
        with unit_of_work(self.engine) as session:
            now = self.clock()
            peer = session.get(FleetPeer, name) or FleetPeer(name=name)
            peer.endpoints, peer.synced_to = endpoints, cursor
            if full:
                peer.full_read_at = now
            session.add(peer)
            rollup.evaluate(session, settings=self.settings, now=now)
        return total

    # --- the run ---
    async def run(self, probe: OcpiProbe, http: httpx.AsyncClient) -> ProbeRun:
        """One run: handshake if needed, read, store, judge; a failure is a failed result."""
        checks: list[Check] = []
        pinned = _LazyClient(self.settings.ocpi_allow_private, probe.timeout)
        try:
            await self._run(probe, http, pinned.get, checks)
        except OcpiError as exc:
            step = "locations" if any(c.name == "endpoints" for c in checks) else "endpoints"
            checks.append(Check(step, probe.versions_url, False, None, exc.error_class, exc.detail))
            return ProbeRun(probe.name, ComponentStatus(probe.on_failure), checks, "down")
        finally:
            await pinned.close()
        if any(c.slow for c in checks):
            return ProbeRun(probe.name, ComponentStatus(probe.on_slow), checks, "slow")
        return ProbeRun(probe.name, ComponentStatus.operational, checks)

    def _timed(
        self,
        checks: list[Check],
        name: str,
        target: str,
        start: float,
        probe: OcpiProbe,
        detail: str = "",
    ) -> None:
        latency = (time.perf_counter() - start) * 1000
        slow = latency > probe.slow * 1000
        checks.append(Check(name, target, True, latency, detail=detail, slow=slow))

    async def _run(
        self,
        probe: OcpiProbe,
        http: httpx.AsyncClient,
        pinned: Callable[[], httpx.AsyncClient],
        checks: list[Check],
    ) -> None:
        def client(token: str) -> OcpiClient:
            return OcpiClient(
                http, token, timeout=probe.timeout, trusted_host=_host(probe), pinned=pinned
            )

        await asyncio.to_thread(self._load_file_areas)
        peer = await asyncio.to_thread(self._peer, probe.name)
        try:
            stored = unseal(peer.token_c, self._secret()) if peer.token_c else None
        except CredentialsError as exc:
            raise OcpiError("config", str(exc)) from exc
        token = stored or (None if probe.handshake else probe.token)
        endpoints = dict(peer.endpoints)
        if token is None:
            start = time.perf_counter()
            registering = client(probe.token)
            endpoints = await registering.endpoints(probe.versions_url)
            self._timed(checks, "endpoints", probe.versions_url, start, probe)
            if "credentials" not in endpoints:
                raise OcpiError("protocol", "the platform offers no credentials module")
            token_b = secrets.token_urlsafe(32)
            await asyncio.to_thread(self._offer_token_b, probe.name, token_b)
            start = time.perf_counter()
            theirs = await registering.register(
                endpoints["credentials"], our_credentials(probe, self.settings, token_b)
            )
            self._timed(checks, "credentials", endpoints["credentials"], start, probe)
            try:
                await asyncio.to_thread(self._registered, probe.name, theirs, endpoints)
            except CredentialsError as exc:
                raise OcpiError("config", str(exc)) from exc
            token = str(theirs["token"])
            log.info("ocpi probe %s registered with %s", probe.name, probe.versions_url)
        reading = client(token)
        now = self.clock()
        full = (
            peer.synced_to is None
            or peer.full_read_at is None
            or now - peer.full_read_at >= timedelta(seconds=probe.full_read_every)
        )
        if full or "locations" not in endpoints:
            start = time.perf_counter()
            endpoints = await reading.endpoints(probe.versions_url)
            self._timed(checks, "endpoints", probe.versions_url, start, probe)
        if "locations" not in endpoints:
            raise OcpiError("protocol", "the platform offers no Locations sender interface")
        date_from = None if full else peer.synced_to
        start = time.perf_counter()
        locations, server_time = await reading.locations(
            endpoints["locations"], date_from=date_from
        )
        how = "full read" if full else f"changes since {date_from:%Y-%m-%dT%H:%M:%SZ}"
        self._timed(
            checks,
            "locations",
            endpoints["locations"],
            start,
            probe,
            f"{len(locations)} locations ({how})",
        )
        cursor = server_time or now
        await asyncio.to_thread(
            self._store, probe.name, locations, endpoints=endpoints, cursor=cursor, full=full
        )


class _LazyClient:
    """The pinned outbound client, made only if a URL off the configured host needs it (it
    loads the CA certificates: not worth doing every run for nothing)."""

    def __init__(self, allow_private: bool, timeout: float) -> None:
        self.allow_private, self.timeout = allow_private, timeout
        self.client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = outbound.async_client(
                allow_private=self.allow_private, timeout=self.timeout
            )
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def _host(probe: OcpiProbe) -> str | None:
    return urlsplit(probe.versions_url).hostname


async def check_ocpi(probe: OcpiProbe, http: httpx.AsyncClient) -> ProbeRun:
    """`pharos probe check`: reach the platform and list its endpoints with the token, no
    handshake (Token A is single use) and nothing stored."""
    checks: list[Check] = []
    start = time.perf_counter()
    pinned = _LazyClient(False, probe.timeout)
    try:
        client = OcpiClient(
            http, probe.token, timeout=probe.timeout, trusted_host=_host(probe), pinned=pinned.get
        )
        endpoints = await client.endpoints(probe.versions_url)
    except OcpiError as exc:
        checks.append(
            Check("endpoints", probe.versions_url, False, None, exc.error_class, exc.detail)
        )
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), checks, "down")
    finally:
        await pinned.close()
    latency = (time.perf_counter() - start) * 1000
    slow = latency > probe.slow * 1000
    detail = "offers " + ", ".join(sorted(endpoints))
    checks.append(Check("endpoints", probe.versions_url, True, latency, detail=detail, slow=slow))
    if slow:
        return ProbeRun(probe.name, ComponentStatus(probe.on_slow), checks, "slow")
    return ProbeRun(probe.name, ComponentStatus.operational, checks)
