"""The `ocpp201` and `ocpp21` probes: a synthetic OCPP 2.0.1 / 2.1 charging station.

Per charge point id it connects with subprotocol `ocpp2.0.1` or `ocpp2.1` (security profile 1
Basic auth, 2 TLS + Basic auth, 3 TLS client certificate), sends BootNotification, Heartbeat,
StatusNotification (connector Available) and a NotifyEvent reporting the same connector's
AvailabilityState whose `techInfo` carries a fresh nonce, timing each CALL. 2.x's
StatusNotification has no free-text field, so the nonce rides on the device-model event that
reports the same state: backends store and show it (their event log), and it goes through the
same processing as status updates, so a stalled pipeline holds it back just the same.

Command delivery: the backend is asked (over its HTTP API) to send RequestStartTransaction,
which the station answers Rejected, so no session starts. A backend that negotiated 2.x but
sends 1.6's RemoteStartTransaction, or rejects valid 2.x messages as malformed, is reported
as `ocpp_version_mismatch`.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from ocpp import v21, v201
from ocpp.routing import after, on
from websockets.asyncio.client import ClientConnection

from app.probes.config import Ocpp2Probe, OcppProbe
from app.probes.ocpp import WIRE, Dialect, run_ocpp
from app.probes.outcome import ProbeRun

SUBPROTOCOLS = {"ocpp201": "ocpp2.0.1", "ocpp21": "ocpp2.1"}


class _Station:
    """Handlers shared by the 2.0.1 and 2.1 stations (the library's classes differ)."""

    id: str
    _call_result: Any

    def _setup(self) -> None:
        self.remote_start = asyncio.Event()
        self.remote_start_at = 0.0
        self.wrong_version: str | None = None

    @on("RequestStartTransaction")  # type: ignore[untyped-decorator]
    def on_request_start(self, **_: Any) -> Any:
        """Note the arrival and refuse: the probe never starts a real session."""
        self.remote_start_at = time.perf_counter()
        return self._call_result.RequestStartTransaction(status="Rejected")

    @after("RequestStartTransaction")  # type: ignore[untyped-decorator]
    def answered_request_start(self, **_: Any) -> None:
        """The Rejected answer is on its way: the probe may hang up."""
        self.remote_start.set()

    @on("RemoteStartTransaction", skip_schema_validation=True)  # type: ignore[untyped-decorator]
    def on_v16_remote_start(self, **_: Any) -> Any:
        """A 1.6 command on a 2.x connection: the backend mixes up versions."""
        self.remote_start_at = time.perf_counter()
        self.wrong_version = "RemoteStartTransaction (OCPP 1.6)"
        self.remote_start.set()
        return self._call_result.RequestStartTransaction(status="Rejected")


class Station201(_Station, v201.ChargePoint):  # type: ignore[misc]
    """A 2.0.1 station."""

    def __init__(self, cp_id: str, connection: ClientConnection, timeout: float) -> None:
        super().__init__(cp_id, connection, response_timeout=timeout + 1, logger=WIRE)
        self._setup()


class Station21(_Station, v21.ChargePoint):  # type: ignore[misc]
    """A 2.1 station."""

    def __init__(self, cp_id: str, connection: ClientConnection, timeout: float) -> None:
        super().__init__(cp_id, connection, response_timeout=timeout + 1, logger=WIRE)
        self._setup()


def _messages(calls: Any) -> Any:
    def build(probe: OcppProbe, nonce: str) -> list[tuple[str, Any]]:
        evse = getattr(probe, "evse_id", 1)
        now = datetime.now(UTC).isoformat()
        return [
            (
                "boot_notification",
                calls.BootNotification(
                    charging_station={"vendor_name": "Pharos", "model": "Pharos probe"},
                    reason="PowerUp",
                ),
            ),
            ("heartbeat", calls.Heartbeat()),
            (
                "status_notification",
                calls.StatusNotification(
                    timestamp=now,
                    connector_status="Available",
                    evse_id=evse,
                    connector_id=probe.connector_id,
                ),
            ),
            (
                "notify_event",
                calls.NotifyEvent(
                    generated_at=now,
                    seq_no=0,
                    event_data=[
                        {
                            "event_id": random.randint(1, 2**31 - 1),  # noqa: S311 (an id)
                            "timestamp": now,
                            "trigger": "Delta",
                            "actual_value": "Available",
                            "event_notification_type": "HardWiredNotification",
                            "component": {
                                "name": "Connector",
                                "evse": {"id": evse, "connector_id": probe.connector_id},
                            },
                            "variable": {"name": "AvailabilityState"},
                            "tech_info": nonce,
                        }
                    ],
                ),
            ),
        ]

    return build


V201 = Dialect(SUBPROTOCOLS["ocpp201"], Station201, _messages(v201.call))
V21 = Dialect(SUBPROTOCOLS["ocpp21"], Station21, _messages(v21.call))
DIALECTS = {"ocpp201": V201, "ocpp21": V21}


async def run_ocpp2(probe: Ocpp2Probe, http: httpx.AsyncClient) -> ProbeRun:
    """The 2.0.1 or 2.1 probe's run."""
    return await run_ocpp(probe, DIALECTS[probe.kind], http)
