"""A real `pharos serve` with PHAROS_PROBES_FILE: a stalled backend becomes public on /api/v2,
and its recovery too, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from peers.csms import CentralSystem
from peers.net import free_port
from tests.serving import pharos_env, start, stop


def wait(check: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("version", "kind", "pointer"),
    [
        ("1.6", "ocpp16", "/last_status/info"),
        ("2.0.1", "ocpp201", "/last_event/tech_info"),
        ("2.1", "ocpp21", "/last_event/tech_info"),
    ],
)
def test_serve_runs_the_probes_and_publishes_incidents(
    tmp_path: Path, version: str, kind: str, pointer: str
) -> None:
    with CentralSystem(version=version) as csms:
        probes_file = tmp_path / "probes.toml"
        probes_file.write_text(
            f"""
[[probe]]
name = "ocpp-backend"
kind = "{kind}"
component = "Cloud Services (OCPP)"
url = "{csms.ws_url}"
charge_point_ids = ["PHAROS-PROBE-1"]
interval = "200ms"
timeout = "1s"
[probe.propagation]
url = "{csms.http_url}/chargers/{{charge_point_id}}"
json_pointer = "{pointer}"
timeout = "1s"
poll_every = "50ms"
"""
        )
        port = free_port()
        env = pharos_env(
            tmp_path / "serve.db", f"http://127.0.0.1:{port}", probes_file=str(probes_file)
        )
        server = start(env, port, tmp_path)
        try:
            with httpx.Client(base_url=server.url, timeout=5) as public:

                def newest() -> dict[str, str] | None:
                    found = public.get("/api/v2/incidents.json").json()["incidents"]
                    return found[0] if found else None

                def component() -> str:
                    components = public.get("/api/v2/components.json").json()["components"]
                    (ocpp,) = [c for c in components if c["name"] == "Cloud Services (OCPP)"]
                    return str(ocpp["status"])

                wait(lambda: public.get("/healthz").json()["workers"]["probes"]["alive"])
                wait(lambda: "pharos_probe_status" in public.get("/metrics").text)
                assert newest() is None and component() == "operational"
                csms.set_fault("stall_processing")
                wait(lambda: (n := newest()) is not None and n["status"] == "investigating")
                assert component() == "partial_outage"
                incident = newest()
                assert incident is not None
                assert incident["name"] == "Delays processing charger status updates"
                assert "pharos_probe_leader 1.0" in public.get("/metrics").text
                csms.set_fault(None)
                wait(lambda: (n := newest()) is not None and n["status"] == "monitoring")
                assert component() == "operational"
        finally:
            stop(server.process)
