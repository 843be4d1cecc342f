"""Each probe kind against the real central system: what it classifies and measures."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.probes.cli import run_all
from app.probes.config import MetricsProbe
from app.probes.metrics import MetricsChecker
from app.probes.outcome import ProbeRun
from app.probes.runner import probe_client
from peers.csms import CentralSystem
from peers.net import free_port
from tests.probes.helpers import ocpp_probe_table, probes


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    """A healthy central system on loopback."""
    with CentralSystem() as system:
        yield system


def run_once(*tables: dict[str, Any]) -> list[ProbeRun]:
    return asyncio.run(run_all(probes(*tables)))


def checks_named(run: ProbeRun, name: str) -> list[Any]:
    return [c for c in run.checks if c.name == name]


def test_healthy_backend_every_step_timed(csms: CentralSystem) -> None:
    command = {"url": csms.http_url + "/chargers/{charge_point_id}/remote-start", "timeout": "1s"}
    (run,) = run_once(ocpp_probe_table(csms, command=command))
    assert run.ok and run.error_classes == []
    steps = {c.name for c in run.checks}
    assert steps == {
        "connect",
        "boot_notification",
        "heartbeat",
        "status_notification",
        "propagation",
        "command",
    }
    assert all(c.latency_ms is not None and c.latency_ms < 500 for c in run.checks)
    assert {c.target for c in run.checks} == {"PHAROS-PROBE-1", "PHAROS-PROBE-2"}
    assert sorted(csms.remote_starts) == ["PHAROS-PROBE-1", "PHAROS-PROBE-2"]


def test_connection_closed_mid_call_is_seen_at_once(csms: CentralSystem) -> None:
    csms.set_fault("drop")
    (run,) = run_once(ocpp_probe_table(csms, timeout="5s"))
    assert run.status == "major_outage" and run.error_classes == ["connection_closed"]
    (closed, _) = checks_named(run, "boot_notification")
    # The library alone would wait its full 5 s response timeout.
    assert closed.latency_ms < 1000


def test_callerror_is_classified_with_its_code(csms: CentralSystem) -> None:
    csms.set_fault("error")
    (run,) = run_once(ocpp_probe_table(csms))
    assert run.error_classes == ["callerror_InternalError"]


def test_nothing_listening_is_connection_refused() -> None:
    table = {
        "name": "gone",
        "kind": "ocpp16",
        "component": "OCPP",
        "url": f"ws://127.0.0.1:{free_port()}/ocpp",
        "charge_point_ids": ["CP"],
    }
    (run,) = run_once(table)
    assert run.status == "major_outage" and run.error_classes == ["connect_refused"]


def test_basic_auth_security_profile_1() -> None:
    with CentralSystem(credentials=("PHAROS-PROBE-1", "0123456789abcdef")) as csms:
        base = ocpp_probe_table(csms, charge_point_ids=["PHAROS-PROBE-1"])
        del base["propagation"]
        (denied,) = run_once(base)
        (wrong,) = run_once({**base, "username": "PHAROS-PROBE-1", "password": "nope"})
        (allowed,) = run_once(
            {**base, "username": "PHAROS-PROBE-1", "password": "0123456789abcdef"}
        )
    assert denied.error_classes == wrong.error_classes == ["handshake_http_401"]
    assert allowed.ok


def test_slow_command_delivery_degrades(csms: CentralSystem) -> None:
    command = {
        "url": csms.http_url + "/chargers/{charge_point_id}/remote-start",
        "timeout": "2s",
        "slow": "200ms",
    }
    csms.slow_seconds = 0.4
    csms.set_fault("slow_commands")
    (run,) = run_once(ocpp_probe_table(csms, command=command))
    assert run.status == "degraded_performance" and run.problem == "slow"
    delivered = checks_named(run, "command")
    assert all(c.ok and c.slow and 400 <= c.latency_ms < 1500 for c in delivered)


def test_propagation_through_a_prometheus_metric(csms: CentralSystem) -> None:
    propagation = {
        "url": csms.http_url + "/metrics",
        "metric": "csms_last_status_info",
        "timeout": "500ms",
        "poll_every": "50ms",
    }
    (healthy,) = run_once(ocpp_probe_table(csms, propagation=propagation))
    csms.set_fault("stall_processing")
    (stalled,) = run_once(ocpp_probe_table(csms, propagation=propagation))
    assert healthy.ok
    assert stalled.status == "partial_outage" and stalled.error_classes == ["not_propagated"]


def test_metrics_rules_see_processing_fall_behind(csms: CentralSystem) -> None:
    (metrics_probe,) = probes(
        {
            "name": "csms-metrics",
            "kind": "metrics",
            "component": "OCPP",
            "url": csms.http_url + "/metrics",
            "rules": [
                {
                    "metric": "csms_messages_processed_total",
                    "below_rate_of": "csms_messages_received_total",
                    "ratio": 0.9,
                    "status": "partial_outage",
                },
                {"metric": "csms_queue_depth", "max": 5, "status": "major_outage"},
            ],
        }
    )
    ocpp = ocpp_probe_table(csms, timeout="1s")
    del ocpp["propagation"]
    assert isinstance(metrics_probe, MetricsProbe)
    checker = MetricsChecker(metrics_probe)

    async def scenario() -> list[ProbeRun]:
        found = []
        async with probe_client() as http:
            for fault, traffic in ((None, 1), (None, 1), ("stall_processing", 1), (None, 4)):
                csms.set_fault(fault)
                await run_all(probes(ocpp) * traffic)
                found.append(await checker.run(http))
        return found

    first, healthy, behind, backlog = asyncio.run(scenario())
    assert first.ok and "rate needs two" in first.checks[1].detail
    assert healthy.ok
    assert behind.status == "partial_outage" and behind.error_classes == ["rate_below"]
    assert csms.backlog == []
    assert backlog.ok


def test_http_probe_status_body_and_unreachable(csms: CentralSystem) -> None:
    base = {"kind": "http", "component": "API", "url": csms.http_url + "/metrics"}
    ok, missing, wrong_body, down = run_once(
        {**base, "name": "ok", "body_contains": "csms_queue_depth"},
        {**base, "name": "missing", "url": csms.http_url + "/nothing"},
        {**base, "name": "wrong-body", "body_contains": "kafka_lag"},
        {**base, "name": "down", "url": f"http://127.0.0.1:{free_port()}/"},
    )
    assert ok.ok and ok.latency_ms is not None
    assert missing.status == "major_outage" and missing.error_classes == ["http_404"]
    assert wrong_body.status == "partial_outage" and wrong_body.error_classes == ["body_mismatch"]
    assert down.error_classes == ["connect_error"]


def test_tls_needs_the_configured_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "csms.pem", tmp_path / "csms.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with CentralSystem(tls=context) as csms:
        base = ocpp_probe_table(csms, charge_point_ids=["PHAROS-PROBE-1"], propagation=None)
        (untrusted,) = run_once(base)
        (trusted,) = run_once({**base, "ca_file": str(cert)})
    assert untrusted.error_classes == ["tls_untrusted"]
    assert trusted.ok and csms.ws_url.startswith("wss://")
