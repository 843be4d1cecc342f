"""The `ocpp16` probe: a synthetic OCPP 1.6J charge point, as a real charger sees the backend.

The session machinery here (connect, timed CALLs, propagation, command delivery, TLS facts) is
shared with the 2.x probes in app/probes/ocpp2.py through a Dialect: the subprotocol, the
charge point class and the messages are what differ between OCPP versions.

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
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

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

from app.probes.config import Command, Ocpp16Probe, OcppProbe, Propagation
from app.probes.outcome import Check, ProbeRun, verdict

# The library logs every frame at INFO; probe evidence is recorded by Pharos instead.
WIRE = logging.getLogger("pharos.probes.ocpp_wire")
WIRE.setLevel(logging.ERROR)
SUBPROTOCOL = "ocpp1.6"
# CALLERRORs a backend gives a message it can't parse. Our messages are schema-valid for the
# version both sides negotiated, so on the first CALL these mean it speaks another version.
SCHEMA_ERRORS = {
    "FormationViolation",
    "FormatViolation",
    "OccurenceConstraintViolation",
    "OccurrenceConstraintViolation",
    "PropertyConstraintViolation",
    "TypeConstraintViolation",
    "ProtocolError",
}


class Charger(Protocol):
    """What the session needs of a synthetic charge point, whatever its OCPP version."""

    id: str
    remote_start: asyncio.Event
    remote_start_at: float
    wrong_version: str | None

    async def start(self) -> None: ...

    async def call(self, payload: Any, suppress: bool = ...) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """One OCPP version as the probe speaks it."""

    subprotocol: str
    charger: Callable[[str, ClientConnection, float], Charger]
    # (name, payload) CALLs of one run, given the probe and a fresh nonce.
    messages: Callable[[Any, str], list[tuple[str, Any]]]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class SyntheticChargePoint(ChargePoint):  # type: ignore[misc]
    """A charge point that answers a remote start with Rejected and notes when it came."""

    def __init__(self, cp_id: str, connection: ClientConnection, timeout: float) -> None:
        # Our own race in timed_call decides timeouts; the library's waits a little longer.
        super().__init__(cp_id, connection, response_timeout=timeout + 1, logger=WIRE)
        self.remote_start = asyncio.Event()
        self.remote_start_at = 0.0
        self.wrong_version: str | None = None

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
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, InvalidHandshake) and isinstance(cause, ssl.SSLError):
        # TLS 1.3 sends a refused client certificate after the handshake: the upgrade fails.
        return classify_connect_error(cause)
    if isinstance(exc, InvalidHandshake) and isinstance(cause, EOFError):
        # Closed before any HTTP answer: over TLS 1.3 also how a backend refuses a charger
        # without the client certificate it requires (security profile 3).
        return "handshake_closed"
    if isinstance(exc, InvalidStatus):
        return f"handshake_http_{exc.response.status_code}"
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_hostname" if "hostname" in str(exc).lower() else "tls_untrusted"
    if isinstance(exc, ssl.SSLError):
        if "CERTIFICATE_REQUIRED" in str(exc).upper():
            return "tls_client_cert_required"
        return "tls"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    if isinstance(exc, InvalidHandshake):
        return "handshake_invalid"
    return "connect_error"


async def timed_call(
    cp: Charger, reader: asyncio.Task[None], payload: Any, *, name: str, limit: float
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
        if isinstance(exc, ValueError | TypeError):
            # The answer doesn't fit the negotiated version's schema.
            detail = f"answer is not a valid {name} response: {exc}"
            return Check(name, cp.id, False, latency, "ocpp_version_mismatch", detail[:300])
        return Check(name, cp.id, False, latency, "call_failed", repr(exc))
    sent.cancel()
    if reader in done:
        return Check(name, cp.id, False, latency, "connection_closed", repr(reader.exception()))
    return Check(name, cp.id, False, latency, "call_timeout", f"no answer in {limit:g}s")


def _connect_kwargs(probe: OcppProbe, subprotocol: str) -> dict[str, Any]:
    headers = {}
    if probe.username is not None and probe.password is not None:
        pair = f"{probe.username}:{probe.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    kwargs: dict[str, Any] = {
        "subprotocols": [subprotocol],
        "additional_headers": headers,
        "open_timeout": probe.timeout,
        "close_timeout": 1,
        "proxy": None,
    }
    if probe.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=probe.ca_file)
        if probe.client_cert is not None:
            context.load_cert_chain(probe.client_cert, probe.client_key)
        kwargs["ssl"] = context
    return kwargs


def peer_certificate(connection: ClientConnection) -> dict[str, Any] | None:
    """The backend's TLS certificate as the handshake verified it: expiry and subject."""
    ssl_object = connection.transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert or "notAfter" not in cert:
        return None
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    subject = ", ".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)
    return {"not_after": not_after.isoformat(), "subject": subject[:255]}


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


def _nonce_seen(text: str, propagation: Propagation, proof: set[str]) -> bool:
    """Whether the backend's answer shows one of the proof values."""
    if propagation.json_pointer is not None:
        try:
            value = resolve_pointer(json.loads(text), propagation.json_pointer)
        except (KeyError, ValueError):
            return False
        return isinstance(value, str) and any(p in value for p in proof)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == propagation.metric and proof & set(sample.labels.values()):
                return True
    return False


async def check_propagation(
    http: httpx.AsyncClient,
    propagation: Propagation,
    cp_id: str,
    nonce: str,
    proof: Callable[[], set[str]] | None = None,
) -> Check:
    """Poll the backend until the nonce (or a later one of this charger's) appears: the time
    it took is the processing lag."""
    url = propagation.url.format(charge_point_id=cp_id)
    start = time.perf_counter()
    deadline = start + propagation.timeout
    last_error = ""
    while True:
        try:
            response = await http.get(url, timeout=max(deadline - time.perf_counter(), 0.1))
            if response.status_code == 200 and _nonce_seen(
                response.text, propagation, {nonce} if proof is None else proof()
            ):
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


async def check_command(http: httpx.AsyncClient, command: Command, cp: Charger) -> Check:
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
    if cp.wrong_version is not None:
        detail = f"the backend sent {cp.wrong_version}, a message of another OCPP version"
        return Check("command", cp.id, False, delivery, "ocpp_version_mismatch", detail)
    return Check("command", cp.id, True, delivery, slow=delivery > command.slow * 1000)


class NonceLog:
    """The nonces sent per charge point, in order, and who may use the connection.

    Backends keep a charger's *latest* status, so when runs overlap (quick re-probes), a
    later run's nonce may overwrite an earlier one before it is polled. Messages of one
    charger are processed in order, so a later nonce seen means the earlier one was processed
    too. And since many backends drop a charger's older connection when the same id connects
    again, only one run at a time holds a WebSocket per charge point id; the propagation wait,
    which needs no connection, overlaps freely.
    """

    KEEP = 64

    def __init__(self) -> None:
        self._sent: dict[str, list[str]] = {}
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def lock(self, key: str) -> asyncio.Lock:
        """The lock of one charge point's connection (per event loop)."""
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(key, asyncio.Lock())

    def sent(self, key: str, nonce: str) -> None:
        """Remember a nonce as sent (after the backend acknowledged it)."""
        sent = self._sent.setdefault(key, [])
        sent.append(nonce)
        del sent[: -self.KEEP]

    def proof(self, key: str, nonce: str) -> set[str]:
        """Values whose presence shows `nonce` was processed: itself and every later one."""
        sent = self._sent.get(key, [])
        return set(sent[sent.index(nonce) :]) if nonce in sent else {nonce}


NONCES = NonceLog()


async def _session(
    probe: OcppProbe, dialect: Dialect, cp_id: str, http: httpx.AsyncClient
) -> tuple[str, list[Check], dict[str, Any] | None]:
    """One charge point's run: its finding ("ok", "slow", "stalled", "down"), its checks and
    the backend's TLS certificate (wss:// only)."""
    key = f"{probe.url}/{cp_id}"
    checks: list[Check] = []
    async with NONCES.lock(key):
        finding, nonce, cert = await _connected(probe, dialect, cp_id, http, checks)
    if nonce is None:
        return finding, checks, cert
    if probe.propagation is not None:
        proof = partial(NONCES.proof, key, nonce)
        checks.append(await check_propagation(http, probe.propagation, cp_id, nonce, proof))
    if not all(c.ok for c in checks):
        return "stalled", checks, cert
    return ("slow" if any(c.slow for c in checks) else "ok"), checks, cert


async def _connected(
    probe: OcppProbe, dialect: Dialect, cp_id: str, http: httpx.AsyncClient, checks: list[Check]
) -> tuple[str, str | None, dict[str, Any] | None]:
    """The part of a run that needs the connection: connect, CALLs, command delivery.
    Returns a finding, the nonce the backend accepted (None when the run ended early) and
    the backend's certificate."""
    url = f"{probe.url}/{cp_id}"
    start = time.perf_counter()
    try:
        connection = await websockets.connect(url, **_connect_kwargs(probe, dialect.subprotocol))
    except Exception as exc:  # every way a connect fails is a finding, not a crash
        checks.append(
            Check("connect", cp_id, False, _ms(start), classify_connect_error(exc), repr(exc))
        )
        return "down", None, None
    checks.append(Check("connect", cp_id, True, _ms(start)))
    try:
        cert = peer_certificate(connection)
        if connection.subprotocol != dialect.subprotocol:
            detail = f"asked for {dialect.subprotocol!r}, server chose {connection.subprotocol!r}"
            checks[0] = Check(
                "connect", cp_id, False, checks[0].latency_ms, "subprotocol_rejected", detail
            )
            return "down", None, cert
        cp = dialect.charger(cp_id, connection, probe.timeout)
        reader = asyncio.create_task(cp.start())
        try:
            nonce = await _calls(probe, dialect, cp, reader, checks)
            if nonce is None:
                return "down", None, cert
            NONCES.sent(f"{probe.url}/{cp_id}", nonce)
            if probe.command is not None:
                checks.append(await check_command(http, probe.command, cp))
            return "ok", nonce, cert
        finally:
            reader.cancel()
    finally:
        await connection.close()


async def _calls(
    probe: OcppProbe,
    dialect: Dialect,
    cp: Charger,
    reader: asyncio.Task[None],
    checks: list[Check],
) -> str | None:
    """The CALLs of one run; the nonce they carried, or None when one failed."""
    nonce = f"pharos-{secrets.token_hex(8)}"
    for index, (name, payload) in enumerate(dialect.messages(probe, nonce)):
        check = await timed_call(cp, reader, payload, name=name, limit=probe.timeout)
        check.slow = check.ok and (check.latency_ms or 0) > probe.slow * 1000
        if index == 0 and (check.error_class or "").removeprefix("callerror_") in SCHEMA_ERRORS:
            check.detail = (
                f"the backend rejected a valid {dialect.subprotocol} {name} as malformed "
                f"({check.error_class}): it speaks another OCPP version on this connection"
            )
            check.error_class = "ocpp_version_mismatch"
        checks.append(check)
        if not check.ok:
            # A closed or blocked connection answers nothing more; stop here.
            return None
    return nonce


async def run_ocpp(probe: OcppProbe, dialect: Dialect, http: httpx.AsyncClient) -> ProbeRun:
    """Run the probe once for every charge point id, concurrently."""
    sessions = await asyncio.gather(
        *(_session(probe, dialect, cp_id, http) for cp_id in probe.charge_point_ids)
    )
    found = {
        cp_id: finding
        for cp_id, (finding, _, _) in zip(probe.charge_point_ids, sessions, strict=True)
    }
    status, problem = verdict(
        found,
        on_failure=probe.on_failure,
        on_partial_failure=probe.on_partial_failure,
        on_slow=probe.on_slow,
    )
    checks = [check for _, group, _ in sessions for check in group]
    certs = [cert for _, _, cert in sessions if cert is not None]
    cert = min(certs, key=lambda c: str(c["not_after"]), default=None)
    return ProbeRun(probe.name, status, checks, problem, cert=cert)


def v16_messages(probe: OcppProbe, nonce: str) -> list[tuple[str, Any]]:
    """BootNotification, Heartbeat, and a StatusNotification whose `info` is the nonce."""
    return [
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


V16 = Dialect(SUBPROTOCOL, SyntheticChargePoint, v16_messages)


async def run_ocpp16(probe: Ocpp16Probe, http: httpx.AsyncClient) -> ProbeRun:
    """The 1.6J probe's run."""
    return await run_ocpp(probe, V16, http)
