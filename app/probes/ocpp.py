"""The `ocpp16` probe: a synthetic OCPP 1.6J charge point, as a real charger sees the backend.

Per charge point id it connects (subprotocol ocpp1.6, optional Basic auth and TLS CA), sends
BootNotification, Heartbeat and a StatusNotification whose `info` carries a nonce, and times
each CALL. Each CALL races the connection's reader task: the `ocpp` library alone would wait
its full timeout after the socket closed (mobilityhouse/ocpp#330). Optionally it then polls
the backend until the nonce appears (processing lag) and times a RemoteStartTransaction sent
by the backend on request (answered Rejected, so no session starts).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import socket
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    RemoteStartStopStatus,
)
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus

from app.probes.config import Command, Ocpp16Probe, Propagation
from app.probes.outcome import Check, ProbeRun, verdict

# The library logs every frame at INFO; probe evidence is recorded by Pharos instead.
_WIRE = logging.getLogger("pharos.probes.ocpp_wire")
_WIRE.setLevel(logging.ERROR)
SUBPROTOCOL = "ocpp1.6"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class SyntheticChargePoint(ChargePoint):  # type: ignore[misc]
    """A charge point that answers a remote start with Rejected and notes when it came."""

    def __init__(self, cp_id: str, connection: ClientConnection, timeout: float) -> None:
        # Our own race in timed_call decides timeouts; the library's waits a little longer.
        super().__init__(cp_id, connection, response_timeout=timeout + 1, logger=_WIRE)
        self.remote_start = asyncio.Event()
        self.remote_start_at = 0.0

    @on(Action.remote_start_transaction)  # type: ignore[untyped-decorator]
    def on_remote_start(self, **_: Any) -> call_result.RemoteStartTransaction:
        """Note the arrival time and refuse: the probe never starts a real session."""
        self.remote_start_at = time.perf_counter()
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)

    @after(Action.remote_start_transaction)  # type: ignore[untyped-decorator]
    def answered_remote_start(self, **_: Any) -> None:
        """The Rejected answer is sent: the probe may hang up now."""
        self.remote_start.set()


def classify_connect_error(exc: BaseException) -> str:
    """An error class for a failed connection attempt."""
    if isinstance(exc, InvalidStatus):
        return f"handshake_http_{exc.response.status_code}"
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    if isinstance(exc, InvalidHandshake):
        return "handshake_invalid"
    return "connect_error"


async def timed_call(
    cp: SyntheticChargePoint, reader: asyncio.Task[None], payload: Any, *, name: str, limit: float
) -> Check:
    """Send one CALL and classify the answer: ok, CALLERROR, connection closed or timeout."""
    start = time.perf_counter()
    sent = asyncio.create_task(cp.call(payload, suppress=False))
    done, _ = await asyncio.wait({sent, reader}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    latency = _ms(start)
    if sent in done:
        exc = sent.exception()
        if exc is None:
            return Check(name, cp.id, ok=True, latency_ms=latency)
        if isinstance(exc, OCPPError):
            code = getattr(exc, "code", "Unknown")
            return Check(name, cp.id, False, latency, f"callerror_{code}", str(exc.description))
        return Check(name, cp.id, False, latency, "call_failed", repr(exc))
    sent.cancel()
    if reader in done:
        return Check(name, cp.id, False, latency, "connection_closed", repr(reader.exception()))
    return Check(name, cp.id, False, latency, "call_timeout", f"no answer in {limit:g}s")


def _connect_kwargs(probe: Ocpp16Probe) -> dict[str, Any]:
    headers = {}
    if probe.username is not None and probe.password is not None:
        pair = f"{probe.username}:{probe.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    kwargs: dict[str, Any] = {
        "subprotocols": [SUBPROTOCOL],
        "additional_headers": headers,
        "open_timeout": probe.timeout,
        "close_timeout": 1,
        "proxy": None,
    }
    if probe.url.startswith("wss://"):
        kwargs["ssl"] = ssl.create_default_context(cafile=probe.ca_file)
    return kwargs


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer lookup; KeyError when the path is not there."""
    current = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, list):
            if not part.isdigit() or int(part) >= len(current):
                raise KeyError(pointer)
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise KeyError(pointer)
    return current


def _nonce_seen(text: str, propagation: Propagation, nonce: str) -> bool:
    if propagation.json_pointer is not None:
        try:
            value = resolve_pointer(json.loads(text), propagation.json_pointer)
        except (KeyError, ValueError):
            return False
        return value == nonce or (isinstance(value, str) and nonce in value)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == propagation.metric and nonce in sample.labels.values():
                return True
    return False


async def check_propagation(
    http: httpx.AsyncClient, propagation: Propagation, cp_id: str, nonce: str
) -> Check:
    """Poll the backend until the nonce appears: the time it took is the processing lag."""
    url = propagation.url.format(charge_point_id=cp_id)
    start = time.perf_counter()
    deadline = start + propagation.timeout
    last_error = ""
    while True:
        try:
            response = await http.get(url, timeout=max(deadline - time.perf_counter(), 0.1))
            if response.status_code == 200 and _nonce_seen(response.text, propagation, nonce):
                lag = _ms(start)
                return Check(
                    "propagation", cp_id, True, lag, slow=lag > propagation.lag_degraded * 1000
                )
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.perf_counter() + propagation.poll_every > deadline:
            last = last_error or "no nonce yet"
            detail = f"nonce not seen in {propagation.timeout:g}s (last poll: {last})"
            return Check("propagation", cp_id, False, _ms(start), "not_propagated", detail)
        await asyncio.sleep(propagation.poll_every)


async def check_command(
    http: httpx.AsyncClient, command: Command, cp: SyntheticChargePoint
) -> Check:
    """Ask the backend to remote-start on this charger; time until the charger hears it."""
    cp.remote_start.clear()
    url = command.url.format(charge_point_id=cp.id)
    start = time.perf_counter()
    try:
        response = await http.request(
            command.method, url, json=command.json_body, timeout=command.timeout
        )
    except httpx.HTTPError as exc:
        return Check("command", cp.id, False, _ms(start), "command_api_error", repr(exc))
    if response.status_code >= 400:
        return Check(
            "command", cp.id, False, _ms(start), "command_api_error", f"HTTP {response.status_code}"
        )
    remaining = max(command.timeout - (time.perf_counter() - start), 0.01)
    try:
        await asyncio.wait_for(cp.remote_start.wait(), remaining)
    except TimeoutError:
        detail = f"RemoteStartTransaction not received in {command.timeout:g}s"
        return Check("command", cp.id, False, _ms(start), "command_not_delivered", detail)
    delivery = (cp.remote_start_at - start) * 1000
    return Check("command", cp.id, True, delivery, slow=delivery > command.slow * 1000)


async def _session(
    probe: Ocpp16Probe, cp_id: str, http: httpx.AsyncClient
) -> tuple[str, list[Check]]:
    """One charge point's run; returns its finding ("ok", "slow", "stalled", "down")."""
    url = f"{probe.url}/{cp_id}"
    start = time.perf_counter()
    try:
        connection = await websockets.connect(url, **_connect_kwargs(probe))
    except Exception as exc:  # every way a connect fails is a finding, not a crash
        return "down", [
            Check("connect", cp_id, False, _ms(start), classify_connect_error(exc), repr(exc))
        ]
    checks = [Check("connect", cp_id, True, _ms(start))]
    try:
        if connection.subprotocol != SUBPROTOCOL:
            detail = f"server chose subprotocol {connection.subprotocol!r}"
            checks[0] = Check(
                "connect", cp_id, False, checks[0].latency_ms, "subprotocol_rejected", detail
            )
            return "down", checks
        cp = SyntheticChargePoint(cp_id, connection, probe.timeout)
        reader = asyncio.create_task(cp.start())
        try:
            return await _calls(probe, cp, reader, http, checks), checks
        finally:
            reader.cancel()
    finally:
        await connection.close()


async def _calls(
    probe: Ocpp16Probe,
    cp: SyntheticChargePoint,
    reader: asyncio.Task[None],
    http: httpx.AsyncClient,
    checks: list[Check],
) -> str:
    nonce = f"pharos-{secrets.token_hex(8)}"
    payloads = [
        (
            "boot_notification",
            call.BootNotification(charge_point_model="Pharos probe", charge_point_vendor="Pharos"),
        ),
        ("heartbeat", call.Heartbeat()),
        (
            "status_notification",
            call.StatusNotification(
                connector_id=probe.connector_id,
                error_code=ChargePointErrorCode.no_error,
                status=ChargePointStatus.available,
                timestamp=datetime.now(UTC).isoformat(),
                info=nonce,
            ),
        ),
    ]
    for name, payload in payloads:
        check = await timed_call(cp, reader, payload, name=name, limit=probe.timeout)
        check.slow = check.ok and (check.latency_ms or 0) > probe.slow * 1000
        checks.append(check)
        if not check.ok:
            # A closed or blocked connection answers nothing more; stop here.
            return "down"
    if probe.propagation is not None:
        checks.append(await check_propagation(http, probe.propagation, cp.id, nonce))
    if probe.command is not None:
        checks.append(await check_command(http, probe.command, cp))
    if not all(c.ok for c in checks):
        return "stalled"
    return "slow" if any(c.slow for c in checks) else "ok"


async def run_ocpp16(probe: Ocpp16Probe, http: httpx.AsyncClient) -> ProbeRun:
    """Run the probe once for every charge point id, concurrently."""
    sessions = await asyncio.gather(
        *(_session(probe, cp_id, http) for cp_id in probe.charge_point_ids)
    )
    found = {
        cp_id: finding for cp_id, (finding, _) in zip(probe.charge_point_ids, sessions, strict=True)
    }
    status, problem = verdict(
        found,
        on_failure=probe.on_failure,
        on_partial_failure=probe.on_partial_failure,
        on_slow=probe.on_slow,
    )
    checks = [check for _, group in sessions for check in group]
    return ProbeRun(probe.name, status, checks, problem)
