"""The connection watch: an optional long-lived charger connection per OCPP probe that notices
a dropped or silent backend within seconds, between scheduled runs.

It connects as its own charge point id (`[probe.watch] charge_point_id`, so it never takes a
probe run's connection), sends a BootNotification, then keeps the WebSocket alive with pings
(`ping_every`; no pong within the same time closes it) and a Heartbeat CALL every
`heartbeat_every`. When the connection drops, a ping or Heartbeat goes unanswered, or a
reconnect fails, it tells the runner, which runs the probe at once: the usual rules and quick
re-probes then decide, so the watch itself never opens anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import websockets

from app.probes.config import Ocpp2Probe, OcppProbe
from app.probes.ocpp import V16, Dialect, _connect_kwargs, classify_connect_error, timed_call
from app.probes.ocpp2 import DIALECTS

log = logging.getLogger("pharos.probes.watch")
Noticed = Callable[[str, str], None]  # (probe name, error class)


def dialect_of(probe: OcppProbe) -> Dialect:
    """The OCPP version the probe speaks."""
    return DIALECTS[probe.kind] if isinstance(probe, Ocpp2Probe) else V16


async def _connection(probe: OcppProbe, dialect: Dialect, healthy: Callable[[], None]) -> str:
    """One watched connection, until it fails; returns the error class that ended it."""
    assert probe.watch is not None
    watch = probe.watch
    kwargs = _connect_kwargs(probe, dialect.subprotocol)
    kwargs.update(ping_interval=watch.ping_every, ping_timeout=watch.ping_every)
    try:
        connection = await websockets.connect(f"{probe.url}/{watch.charge_point_id}", **kwargs)
    except Exception as exc:  # every way a connect fails is a finding
        return classify_connect_error(exc)
    try:
        if connection.subprotocol != dialect.subprotocol:
            return "subprotocol_rejected"
        cp = dialect.charger(watch.charge_point_id, connection, probe.timeout)
        reader = asyncio.create_task(cp.start())
        try:
            (boot_name, boot), (beat_name, beat) = dialect.messages(probe, "")[:2]
            check = await timed_call(cp, reader, boot, name=boot_name, limit=probe.timeout)
            while check.ok:
                healthy()
                done, _ = await asyncio.wait({reader}, timeout=watch.heartbeat_every)
                if done:
                    return "connection_closed"  # dropped, or a ping went unanswered
                check = await timed_call(cp, reader, beat, name=beat_name, limit=probe.timeout)
            return check.error_class or "call_failed"
        finally:
            reader.cancel()
    finally:
        await connection.close()


async def watch(
    probe: OcppProbe,
    noticed: Noticed,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Watch one probe's backend until cancelled, reconnecting with a growing pause."""
    dialect = dialect_of(probe)
    pause = 1.0

    def healthy() -> None:
        nonlocal pause
        pause = 1.0

    while True:
        started = time.monotonic()
        trouble = await _connection(probe, dialect, healthy)
        log.info("probe %s: watched connection ended (%s)", probe.name, trouble)
        noticed(probe.name, trouble)
        if time.monotonic() - started > pause:
            pause = 1.0
        await sleep(pause)
        pause = min(pause * 2, max(probe.interval, 1.0), 30.0)
