"""The ocpp201 and ocpp21 probes against real 2.0.1 and 2.1 central systems (the `ocpp`
package's own v201/v21 ChargePoint on the other side), with injected faults and the three
security profiles. Certificates are made at test time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.probes.cli import run_all
from app.probes.outcome import ProbeRun
from peers.csms import CentralSystem
from tests.probes.certs import Pki, make_pki
from tests.probes.helpers import probes

VERSIONS = [("2.0.1", "ocpp201"), ("2.1", "ocpp21")]


@pytest.fixture(params=VERSIONS, ids=[kind for _, kind in VERSIONS])
def version(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def csms(version: tuple[str, str]) -> Iterator[CentralSystem]:
    with CentralSystem(version=version[0]) as system:
        yield system


def table(csms: CentralSystem, kind: str, **overrides: Any) -> dict[str, Any]:
    """A 2.x probe with the propagation and command checks, fast enough for tests."""
    found: dict[str, Any] = {
        "name": "ocpp2-backend",
        "kind": kind,
        "component": "Cloud Services (OCPP 2.0.1)",
        "url": csms.ws_url,
        "charge_point_ids": ["PHAROS-PROBE-1", "PHAROS-PROBE-2"],
        "timeout": "3s",  # a loaded test machine is slow; faults are injected, not waited for
        "slow": "3s",
        "propagation": {
            "url": csms.http_url + "/chargers/{charge_point_id}",
            "json_pointer": "/last_event/tech_info",
            "timeout": "1s",
            "poll_every": "50ms",
        },
        "command": {
            "url": csms.http_url + "/chargers/{charge_point_id}/remote-start",
            "timeout": "1s",
        },
    }
    found.update(overrides)
    return found


def run_once(found: dict[str, Any]) -> ProbeRun:
    (run,) = asyncio.run(run_all(probes(found)))
    return run


def names(run: ProbeRun) -> list[str]:
    return [c.name for c in run.checks if c.target == "PHAROS-PROBE-1"]


def test_healthy_backend_every_step_in_its_own_version(
    csms: CentralSystem, version: tuple[str, str]
) -> None:
    run = run_once(table(csms, version[1]))
    assert run.ok, run.evidence()
    assert names(run) == [
        "connect",
        "boot_notification",
        "heartbeat",
        "status_notification",
        "notify_event",
        "command",
        "propagation",
    ]
    # The backend stored what the station said, in 2.x terms, and sent a 2.x command.
    charger = csms.chargers["PHAROS-PROBE-1"]
    assert charger["last_status"]["connector_status"] == "Available"
    assert charger["last_event"]["variable"] == "AvailabilityState"
    assert str(charger["last_event"]["tech_info"]).startswith("pharos-")
    assert sorted(csms.remote_starts) == ["PHAROS-PROBE-1", "PHAROS-PROBE-2"]


@pytest.mark.parametrize(
    ("fault", "status", "error_class"),
    [
        ("refuse_subprotocol", "major_outage", "subprotocol_rejected"),
        ("v16_payloads", "major_outage", "ocpp_version_mismatch"),
        ("error", "major_outage", "callerror_InternalError"),
        ("drop", "major_outage", "connection_closed"),
        ("stall", "major_outage", "call_timeout"),
        ("reject", "major_outage", "handshake_http_503"),
        ("stall_processing", "partial_outage", "not_propagated"),
        ("slow_commands", "degraded_performance", None),
    ],
)
def test_faults_get_their_error_class(
    csms: CentralSystem, version: tuple[str, str], fault: str, status: str, error_class: str | None
) -> None:
    csms.slow_seconds = 0.5
    command = {
        "url": csms.http_url + "/chargers/{charge_point_id}/remote-start",
        "timeout": "1s",
        "slow": "200ms",
    }
    csms.set_fault(fault)
    run = run_once(table(csms, version[1], command=command))
    assert run.status == status, run.evidence()
    if error_class is None:
        assert run.error_classes == [] and run.problem == "slow"
    else:
        assert run.error_classes == [error_class]


def test_a_1_6_command_on_a_2x_connection_is_a_version_mismatch(
    csms: CentralSystem, version: tuple[str, str]
) -> None:
    # Only the command goes wrong: the backend sends 1.6's RemoteStartTransaction.
    run = run_once(table(csms, version[1], charge_point_ids=["PHAROS-PROBE-1"]))
    assert run.ok
    csms.sessions.clear()

    async def v16_command(self: Any) -> None:
        from ocpp.v16 import call

        await self.call(
            call.RemoteStartTransaction(id_tag="PHAROS-PROBE"), skip_schema_validation=True
        )

    from peers import csms as peer

    original = peer._Station2.remote_start
    peer._Station2.remote_start = v16_command  # type: ignore[method-assign]
    try:
        run = run_once(table(csms, version[1], charge_point_ids=["PHAROS-PROBE-1"]))
    finally:
        peer._Station2.remote_start = original  # type: ignore[method-assign]
    assert run.error_classes == ["ocpp_version_mismatch"]
    (command,) = [c for c in run.checks if c.name == "command"]
    assert "RemoteStartTransaction" in command.detail


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


def test_security_profile_1_basic_auth(version: tuple[str, str]) -> None:
    with CentralSystem(version=version[0], credentials=("PHAROS-PROBE-1", "s3cret")) as csms:
        base = table(csms, version[1], charge_point_ids=["PHAROS-PROBE-1"], security_profile=1)
        good = run_once({**base, "username": "PHAROS-PROBE-1", "password": "s3cret"})
        wrong = run_once({**base, "username": "PHAROS-PROBE-1", "password": "nope"})
    assert good.ok, good.evidence()
    assert good.cert is None
    assert wrong.error_classes == ["handshake_http_401"]


def test_security_profile_2_tls_and_basic_auth_reports_the_certificate(
    version: tuple[str, str], pki: Pki
) -> None:
    with CentralSystem(
        version=version[0], credentials=("PHAROS-PROBE-1", "s3cret"), tls=pki.server_context()
    ) as csms:
        base = table(
            csms,
            version[1],
            charge_point_ids=["PHAROS-PROBE-1"],
            security_profile=2,
            username="PHAROS-PROBE-1",
            password="s3cret",
        )
        trusted = run_once({**base, "ca_file": str(pki.ca)})
        untrusted = run_once(base)
    assert csms.ws_url.startswith("wss://")
    assert trusted.ok, trusted.evidence()
    assert trusted.cert is not None
    assert datetime.fromisoformat(trusted.cert["not_after"]) == pki.server_not_after
    assert "csms.test" in trusted.cert["subject"]
    assert untrusted.error_classes == ["tls_untrusted"]


def test_security_profile_3_client_certificate(version: tuple[str, str], pki: Pki) -> None:
    server = pki.server_context(require_client_cert=True)
    with CentralSystem(version=version[0], tls=server) as csms:
        base = table(csms, version[1], charge_point_ids=["PHAROS-PROBE-1"], ca_file=str(pki.ca))
        with_cert = run_once(
            {
                **base,
                "security_profile": 3,
                "client_cert": str(pki.client_cert),
                "client_key": str(pki.client_key),
            }
        )
        # The wrong profile: no client certificate where the backend demands one.
        without = run_once(base)
    assert with_cert.ok, with_cert.evidence()
    assert without.status == "major_outage"
    assert without.error_classes == ["handshake_closed"], without.evidence()


def test_profiles_are_checked_against_the_other_fields(csms: CentralSystem) -> None:
    from app.probes.config import ProbeConfigError

    with pytest.raises(ProbeConfigError, match="security profile 2 needs wss://"):
        probes(table(csms, "ocpp201", security_profile=2, username="a", password="b"))
    with pytest.raises(ProbeConfigError, match="security profile 3 needs"):
        probes(table(csms, "ocpp21", security_profile=3))
