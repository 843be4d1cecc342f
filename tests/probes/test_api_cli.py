"""Staff see probe state over the API and /metrics; operators check a file from the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.probes.runner import ProbeRunner, probe_client
from peers.csms import CentralSystem
from peers.net import free_port
from tests.conftest import FakeClock
from tests.probes.helpers import ocpp_probe_table, probes


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    """A healthy central system on loopback."""
    with CentralSystem() as system:
        yield system


def test_probe_state_api_and_metrics(
    csms: CentralSystem,
    settings: Settings,
    engine: Engine,
    clock: FakeClock,
    staff: TestClient,
    client: TestClient,
) -> None:
    runner = ProbeRunner(engine, settings, probes(ocpp_probe_table(csms)), clock=clock)
    probe = runner.probes["ocpp-backend"]

    async def scenario() -> None:
        await asyncio.to_thread(runner.prepare)
        async with probe_client() as http:
            await runner.run_probe(probe, http)
            csms.set_fault("reject")
            await runner.run_probe(probe, http)

    asyncio.run(scenario())
    assert client.get("/api/v1/probes").status_code == 401
    (listed,) = staff.get("/api/v1/probes").json()
    assert listed["name"] == "ocpp-backend" and listed["consecutive_failures"] == 1
    assert listed["active_status"] == "operational"  # one failure is not an incident
    assert listed["last_error_classes"] == ["handshake_http_503"]
    newest, oldest = listed["recent_results"]
    assert (newest["status"], oldest["status"]) == ("major_outage", "operational")
    assert oldest["latency_ms"] > 0
    assert newest["evidence"]["checks"][0]["error_class"] == "handshake_http_503"
    one = staff.get("/api/v1/probes/ocpp-backend", params={"results": 1}).json()
    assert len(one["recent_results"]) == 1
    assert staff.get("/api/v1/probes/nope").status_code == 404
    assert staff.get("/api/v1/probes", params={"results": 1000}).status_code == 422
    metrics = client.get("/metrics").text
    assert 'pharos_probe_status{probe="ocpp-backend"} 4.0' in metrics
    assert 'pharos_probe_consecutive_failures{probe="ocpp-backend"} 1.0' in metrics


def _file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "probes.toml"
    path.write_text(
        f"""
[[probe]]
name = "ocpp-backend"
kind = "ocpp16"
component = "Cloud Services (OCPP)"
url = "{url}"
charge_point_ids = ["PHAROS-PROBE-1"]
timeout = "2s"
"""
    )
    return path


def test_probe_check_prints_a_table_and_exits_by_health(
    csms: CentralSystem, tmp_path: Path
) -> None:
    runner = CliRunner()
    healthy = runner.invoke(cli, ["probe", "check", str(_file(tmp_path, csms.ws_url))])
    assert healthy.exit_code == 0, healthy.output
    assert "ocpp-backend" in healthy.output and "status_notification" in healthy.output
    dead = _file(tmp_path, f"ws://127.0.0.1:{free_port()}/ocpp")
    failed = runner.invoke(cli, ["probe", "check", str(dead)])
    assert failed.exit_code == 1
    assert "connect_refused" in failed.output and "major_outage" in failed.output


def test_probe_check_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "probes.toml"
    path.write_text('[[probe]]\nname = "x"\nkind = "ocpp16"\ncomponent = "c"\nurl = "ws://h/o"\n')
    result = CliRunner().invoke(cli, ["probe", "check", str(path)])
    assert result.exit_code == 2
    assert 'probe "x": charge_point_ids: Field required' in result.output
