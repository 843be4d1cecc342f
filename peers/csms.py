"""A small but real OCPP central system (1.6J, 2.0.1 or 2.1) for probe tests, with fault
injection.

Built on the `ocpp` package (@on handlers) over websockets, plus an HTTP read API (Starlette on
uvicorn) the way real backends expose charger state. It runs in its own thread and event loop,
so tests and the benchmark drive it from plain code:

    with CentralSystem() as csms:
        csms.set_fault("stall_processing")   # calls answered, status never applied

Faults: "down" (nothing listens), "reject" (HTTP 503 on the upgrade), "slow" (every handler
sleeps `slow_seconds`), "stall" (handlers never answer; the socket stays open),
"stall_processing" (answered at once, but StatusNotifications queue up unprocessed behind a
healthy gateway), "drop" (the connection is closed mid-call), "error" (handlers fail:
CALLERROR InternalError), "slow_commands" (remote starts are sent `slow_seconds` late).
`stalled_ids` limits "stall"/"stall_processing" to some charge points (a partial stall).
"flaky" fails each new connection independently with probability `flaky_rate` (seeded by
`flaky_seed`): half of those get HTTP 503 on the upgrade, half CALLERRORs on every CALL.
"refuse_subprotocol" completes the upgrade without agreeing to the charger's subprotocol;
"v16_payloads" agrees to 2.x but speaks 1.6 on the connection (a 1.6 backend behind a
misconfigured gateway): it rejects 2.x messages as malformed and sends RemoteStartTransaction.

`version` picks the OCPP version ("1.6", "2.0.1", "2.1"). 2.x stations' StatusNotifications
show as `last_status` and their NotifyEvents as `last_event` (with `tech_info`) on the read
API, both held back by "stall_processing".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import ssl
import threading
import weakref
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
import websockets
from ocpp import v21, v201
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.typing import Subprotocol

from peers.net import free_port

QUIET = logging.getLogger("tests.csms")
QUIET.setLevel(logging.CRITICAL)  # injected handler failures are expected
FAULTS = {
    None,
    "down",
    "reject",
    "slow",
    "stall",
    "stall_processing",
    "drop",
    "error",
    "slow_commands",
    "flaky",
    "refuse_subprotocol",
    "v16_payloads",
}
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}


@dataclass
class Counters:
    """What the backend's own /metrics tell: received vs processed."""

    received: int = 0
    processed: int = 0


class _Gate:
    """Fault injection shared by every version's station session."""

    id: str
    system: CentralSystem
    _connection: ServerConnection

    async def _gate(self) -> None:
        """Apply the injected fault before answering."""
        if self._connection in self.system.failing_connections:
            raise RuntimeError("injected handler failure (flaky)")
        fault = self.system.fault_for(self.id)
        if fault == "slow":
            await asyncio.sleep(self.system.slow_seconds)
        elif fault == "stall":
            await self.system.unstalled.wait()  # until the fault is healed
        elif fault == "drop":
            await self._connection.close(1011, "internal error")
        elif fault == "error":
            raise RuntimeError("injected handler failure")

    async def remote_start(self) -> None:
        """Ask the charger to start a session (each version its own way)."""
        raise NotImplementedError

    def _processed(self, field: str, record: dict[str, Any]) -> None:
        """Apply a status-like message, or queue it behind a stalled pipeline."""
        self.system.counters.received += 1
        if self.system.fault_for(self.id) == "stall_processing":
            self.system.backlog.append((self.id, field, record))  # ACKed; workers are stuck
        else:
            self.system.apply(self.id, record, field)


class StationSession(_Gate, ChargePoint):  # type: ignore[misc]
    """The central system's side of one 1.6J charger's connection."""

    def __init__(self, cp_id: str, connection: ServerConnection, system: CentralSystem) -> None:
        super().__init__(cp_id, connection, response_timeout=30, logger=QUIET)
        self.system = system

    async def remote_start(self) -> None:
        """Ask the charger to start a session (the probe answers Rejected)."""
        await self.call(call.RemoteStartTransaction(id_tag="PHAROS-PROBE"))

    @on(Action.boot_notification)  # type: ignore[untyped-decorator]
    async def on_boot(self, **_: Any) -> call_result.BootNotification:
        await self._gate()
        return call_result.BootNotification(
            current_time=datetime.now(UTC).isoformat(),
            interval=30,
            status=RegistrationStatus.accepted,
        )

    @on(Action.heartbeat)  # type: ignore[untyped-decorator]
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self._gate()
        self.system.counters.received += 1
        self.system.counters.processed += 1
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    @on(Action.status_notification)  # type: ignore[untyped-decorator]
    async def on_status(self, **payload: Any) -> call_result.StatusNotification:
        await self._gate()
        record = {k: payload.get(k) for k in ("connector_id", "status", "error_code", "info")}
        self._processed("last_status", record)
        return call_result.StatusNotification()


class _Station2(_Gate):
    """The central system's side of one 2.0.1 or 2.1 station's connection."""

    _call: Any
    _call_result: Any
    remote_starts = 0

    async def remote_start(self) -> None:
        """RequestStartTransaction (the probe answers Rejected)."""
        _Station2.remote_starts += 1
        await self.call(  # type: ignore[attr-defined]
            self._call.RequestStartTransaction(
                id_token={"id_token": "PHAROS-PROBE", "type": "Central"},
                remote_start_id=_Station2.remote_starts,
                evse_id=1,
            )
        )

    @on("BootNotification")  # type: ignore[untyped-decorator]
    async def on_boot(self, **_: Any) -> Any:
        await self._gate()
        return self._call_result.BootNotification(
            current_time=datetime.now(UTC).isoformat(), interval=30, status="Accepted"
        )

    @on("Heartbeat")  # type: ignore[untyped-decorator]
    async def on_heartbeat(self, **_: Any) -> Any:
        await self._gate()
        self.system.counters.received += 1
        self.system.counters.processed += 1
        return self._call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    @on("StatusNotification")  # type: ignore[untyped-decorator]
    async def on_status(self, **payload: Any) -> Any:
        await self._gate()
        keys = ("evse_id", "connector_id", "connector_status", "timestamp")
        self._processed("last_status", {k: payload.get(k) for k in keys})
        return self._call_result.StatusNotification()

    @on("NotifyEvent")  # type: ignore[untyped-decorator]
    async def on_event(self, **payload: Any) -> Any:
        await self._gate()
        for event in payload.get("event_data", []):
            record = {
                "component": event["component"]["name"],
                "variable": event["variable"]["name"],
                "actual_value": event.get("actual_value"),
                "tech_info": event.get("tech_info"),
                "timestamp": event.get("timestamp"),
            }
            self._processed("last_event", record)
        return self._call_result.NotifyEvent()


class Station201(_Station2, v201.ChargePoint):  # type: ignore[misc]
    """2.0.1."""

    def __init__(self, cp_id: str, connection: ServerConnection, system: CentralSystem) -> None:
        super().__init__(cp_id, connection, response_timeout=30, logger=QUIET)
        self.system = system


class Station21(_Station2, v21.ChargePoint):  # type: ignore[misc]
    """2.1."""

    def __init__(self, cp_id: str, connection: ServerConnection, system: CentralSystem) -> None:
        super().__init__(cp_id, connection, response_timeout=30, logger=QUIET)
        self.system = system


STATIONS: dict[str, type[StationSession] | type[Station201] | type[Station21]] = {
    "1.6": StationSession,
    "2.0.1": Station201,
    "2.1": Station21,
}


class CentralSystem:
    """The central system: websockets OCPP endpoint at ws_url, HTTP API at http_url."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        version: str = "1.6",
    ) -> None:
        assert version in SUBPROTOCOL, version
        self.version = version
        self.subprotocol = SUBPROTOCOL[version]
        self.ws_port = free_port()
        self.http_port = free_port()
        self.tls = tls
        self.ws_url = f"{'wss' if tls else 'ws'}://127.0.0.1:{self.ws_port}/ocpp"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.credentials = credentials
        self.fault: str | None = None
        self.stalled_ids: set[str] | None = None
        self.slow_seconds = 0.3
        self.flaky_rate = 0.0
        self.flaky = random.Random(0)
        self.failing_connections: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self.connections = 0  # upgrades attempted
        self.counters = Counters()
        self.chargers: dict[str, dict[str, Any]] = {}
        self.backlog: list[tuple[str, str, dict[str, Any]]] = []
        self.sessions: dict[str, _Gate] = {}
        self.remote_starts: list[str] = []
        self._loop = asyncio.new_event_loop()
        self.unstalled = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ws: Server | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._commands: set[asyncio.Task[None]] = set()

    # --- running -------------------------------------------------------------------

    def _do(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> CentralSystem:
        self._thread.start()
        self._do(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        self._do(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        await self._listen()
        config = uvicorn.Config(
            self._api(), host="127.0.0.1", port=self.http_port, log_level="warning", lifespan="off"
        )
        self._http = uvicorn.Server(config)
        self._http_task = asyncio.create_task(self._http.serve())
        while not self._http.started:  # noqa: ASYNC110 (uvicorn offers only a flag)
            await asyncio.sleep(0.01)

    async def _stop(self) -> None:
        for task in list(self._commands):
            task.cancel()
        self.unstalled.set()
        await self._close_ws()
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task

    async def _listen(self) -> None:
        self._ws = await websockets.serve(
            self._handle,
            "127.0.0.1",
            self.ws_port,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            close_timeout=1,
            ssl=self.tls,
        )

    async def _close_ws(self) -> None:
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
            self._ws = None

    # --- fault injection (called from any thread) ----------------------------------

    def set_fault(
        self,
        fault: str | None,
        *,
        only: set[str] | None = None,
        flaky_rate: float = 0.0,
        flaky_seed: int = 0,
    ) -> None:
        """Inject a fault (None heals); a healed processing stall drains its backlog."""
        assert fault in FAULTS, fault
        self.flaky_rate, self.flaky = flaky_rate, random.Random(flaky_seed)
        self._do(self._set_fault(fault, only))

    async def _set_fault(self, fault: str | None, only: set[str] | None) -> None:
        self.unstalled.set()  # release handlers stalled by the previous fault
        self.unstalled = asyncio.Event()
        if fault == "down" and self._ws is not None:
            await self._close_ws()
        if fault != "down" and self._ws is None:
            await self._listen()
        self.fault, self.stalled_ids = fault, only
        if fault != "stall_processing":
            for cp_id, field, record in self.backlog:
                self.apply(cp_id, record, field)
            self.backlog.clear()

    def fault_for(self, cp_id: str) -> str | None:
        """The fault that applies to this charger now ("flaky" is per connection)."""
        if self.fault == "flaky":
            return None
        if self.stalled_ids is not None and cp_id not in self.stalled_ids:
            return None
        return self.fault

    def apply(self, cp_id: str, record: dict[str, Any], field: str = "last_status") -> None:
        """Process one status update or event: it becomes visible on the read API."""
        self.counters.processed += 1
        self.chargers.setdefault(cp_id, {})[field] = record

    # --- OCPP endpoint ---------------------------------------------------------------

    def _process_request(
        self, connection: ServerConnection, request: WsRequest
    ) -> WsResponse | None:
        self.connections += 1
        if self.fault == "flaky" and self.flaky.random() < self.flaky_rate:
            if self.flaky.random() < 0.5:
                return connection.respond(503, "Service Unavailable: flaky\n")
            self.failing_connections.add(connection)
        if self.fault == "reject":
            return connection.respond(503, "Service Unavailable: maintenance\n")
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if Headers(request.headers).get("Authorization") != expected:
                return connection.respond(401, "Unauthorized\n")
        return None

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        if self.fault == "refuse_subprotocol":
            return None
        wanted = self.subprotocol
        if self.fault == "v16_payloads":
            wanted = next((p for p in offered if p.startswith("ocpp2")), wanted)
        return next((p for p in offered if p == wanted), None)

    async def _handle(self, connection: ServerConnection) -> None:
        cp_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1] if connection.request else ""
        if connection.subprotocol is None:
            await connection.close(1002, "no subprotocol agreed")
            return
        kind = "1.6" if self.fault == "v16_payloads" else self.version
        station = STATIONS[kind](cp_id, connection, self)
        self.sessions[cp_id] = station
        self.chargers.setdefault(cp_id, {})
        with contextlib.suppress(websockets.ConnectionClosed):
            await station.start()
        if self.sessions.get(cp_id) is station:
            del self.sessions[cp_id]

    # --- HTTP read API ---------------------------------------------------------------

    def _api(self) -> Starlette:
        async def charger(request: Request) -> Response:
            cp_id = request.path_params["cp_id"]
            if cp_id not in self.chargers:
                return JSONResponse({"detail": "unknown charger"}, status_code=404)
            data = self.chargers[cp_id]
            body = {"id": cp_id, "connected": cp_id in self.sessions, **data}
            return JSONResponse(body)

        async def remote_start(request: Request) -> Response:
            cp_id = request.path_params["cp_id"]
            station = self.sessions.get(cp_id)
            if station is None:
                return JSONResponse({"detail": "charger not connected"}, status_code=409)
            task = asyncio.create_task(self._remote_start(station))
            self._commands.add(task)
            task.add_done_callback(self._commands.discard)
            return JSONResponse({"status": "queued"}, status_code=202)

        async def metrics(_: Request) -> Response:
            lines = [
                "# TYPE csms_messages_received_total counter",
                f"csms_messages_received_total {self.counters.received}",
                "# TYPE csms_messages_processed_total counter",
                f"csms_messages_processed_total {self.counters.processed}",
                "# TYPE csms_queue_depth gauge",
                f"csms_queue_depth {len(self.backlog)}",
                "# TYPE csms_last_status_info gauge",
            ]
            for cp_id, data in sorted(self.chargers.items()):
                info = (data.get("last_status") or {}).get("info") or ""
                lines.append(f'csms_last_status_info{{cp_id="{cp_id}",info="{info}"}} 1')
            return PlainTextResponse("\n".join(lines) + "\n")

        return Starlette(
            routes=[
                Route("/chargers/{cp_id}", charger),
                Route("/chargers/{cp_id}/remote-start", remote_start, methods=["POST"]),
                Route("/metrics", metrics),
            ]
        )

    async def _remote_start(self, station: _Gate) -> None:
        if self.fault == "slow_commands":
            await asyncio.sleep(self.slow_seconds)
        with contextlib.suppress(Exception):
            await station.remote_start()
            self.remote_starts.append(station.id)
