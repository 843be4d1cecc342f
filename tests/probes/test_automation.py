"""End to end on loopback: the runner probes a real OCPP central system, faults are injected,
and the component status and incident appear, then recovery resolves them.

Intervals are 100 ms; the quiet period (15 minutes) passes on the fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import unit_of_work
from app.incidents import service as incident_service
from app.incidents.schemas import UpdateCreate
from app.models import AuditEvent, ComponentStatus, Incident, IncidentStatus, ProbeResult
from app.probes.runner import ProbeRunner, probe_client
from peers.csms import CentralSystem
from tests.conftest import FakeClock
from tests.probes.helpers import (
    component_named,
    eventually,
    incidents,
    ocpp_probe_table,
    probes,
    running,
    state,
    updates,
)

COMPONENT = "Cloud Services (OCPP)"


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    """A healthy central system on loopback."""
    with CentralSystem() as system:
        yield system


def in_status(session: Session, incident_id: str, status: IncidentStatus) -> bool:
    incident = session.get(Incident, incident_id)
    return incident is not None and incident.status == status


def _open_incident(session: Session) -> Incident | None:
    found = [i for i in incidents(session) if i.status == IncidentStatus.investigating]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("fault", "only", "expected", "name", "error_class"),
    [
        ("down", None, "major_outage", f"{COMPONENT} unavailable", "connect_refused"),
        ("reject", None, "major_outage", f"{COMPONENT} unavailable", "handshake_http_503"),
        ("slow", None, "degraded_performance", f"Slow responses from {COMPONENT}", None),
        ("stall", None, "major_outage", f"{COMPONENT} unavailable", "call_timeout"),
        (
            "stall",
            {"PHAROS-PROBE-2"},
            "partial_outage",
            f"{COMPONENT} unavailable",
            "call_timeout",
        ),
        (
            "stall_processing",
            None,
            "partial_outage",
            "Delays processing charger status updates",
            "not_propagated",
        ),
    ],
)
def test_fault_opens_an_incident_and_recovery_resolves_it(
    csms: CentralSystem,
    settings: Settings,
    engine: Engine,
    clock: FakeClock,
    fault: str,
    only: set[str] | None,
    expected: str,
    name: str,
    error_class: str | None,
) -> None:
    csms.slow_seconds = 0.6  # above the probe's 400 ms "slow", below its 1 s timeout
    table = ocpp_probe_table(csms, **({"slow": "400ms"} if fault == "slow" else {}))
    runner = ProbeRunner(engine, settings, probes(table), clock=clock)

    async def scenario() -> str:
        async with running(runner):
            await eventually(
                engine, lambda s: (st := state(s, "ocpp-backend")) and st.successes >= 2
            )
            with unit_of_work(engine) as session:
                assert incidents(session) == []
            csms.set_fault(fault, only=only)
            incident = await eventually(engine, _open_incident)
            with unit_of_work(engine) as session:
                assert component_named(session, COMPONENT).status == expected
            csms.set_fault(None)
            await eventually(
                engine,
                lambda s: in_status(s, incident.id, IncidentStatus.monitoring),
            )
            with unit_of_work(engine) as session:
                assert component_named(session, COMPONENT).status == ComponentStatus.operational
            clock.advance(minutes=16)
            await eventually(
                engine,
                lambda s: in_status(s, incident.id, IncidentStatus.resolved),
            )
            return incident.id

    incident_id = asyncio.run(scenario())
    with unit_of_work(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.name == name
        timeline = updates(session, incident_id)
        # Open, Monitoring, Resolved: nothing in between (no update spam).
        assert [u.status for u in timeline] == ["investigating", "monitoring", "resolved"]
        assert all(u.deliver_notifications for u in timeline)
        assert len(incidents(session)) == 1
        opened = session.exec(
            select(AuditEvent).where(AuditEvent.action == "probe.incident_opened")
        ).one()
        assert opened.actor == "probe:ocpp-backend"
        assert opened.data["incident_id"] == incident_id
        evidence = opened.data["evidence"]
        assert evidence["status"] == expected
        if error_class is not None:
            assert error_class in evidence["error_classes"]
        else:
            assert any(c["slow"] for c in evidence["checks"])
        results = session.exec(select(ProbeResult).order_by(col(ProbeResult.at))).all()
        assert len(results) >= 7
        assert any(r.latency_ms for r in results)


def test_a_second_component_of_the_backend_joins_the_open_incident(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    tables = [
        ocpp_probe_table(
            csms, name=f"ocpp-{x}", component=f"OCPP {x}", charge_point_ids=[f"CP-{x}"], group="eu"
        )
        for x in ("A", "B")
    ]
    runner = ProbeRunner(engine, settings, probes(*tables), clock=clock)

    async def scenario() -> None:
        async with running(runner):
            await eventually(engine, lambda s: (st := state(s, "ocpp-B")) and st.successes >= 2)
            csms.set_fault("stall_processing", only={"CP-A"})
            first = await eventually(engine, _open_incident)
            csms.set_fault("stall_processing", only={"CP-A", "CP-B"})
            await eventually(
                engine, lambda s: component_named(s, "OCPP B").status == "partial_outage"
            )
            with unit_of_work(engine) as session:
                assert [i.id for i in incidents(session)] == [first.id]
            csms.set_fault(None)
            await eventually(
                engine,
                lambda s: in_status(s, first.id, IncidentStatus.monitoring),
            )

    asyncio.run(scenario())
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        bodies = [u.body for u in updates(session, incident.id)]
        assert "OCPP B is affected as well" in bodies[1]
        assert bodies[-1].startswith("Everything is working normally again")
        assert component_named(session, "OCPP A").status == "operational"
        assert component_named(session, "OCPP B").status == "operational"


def test_once_staff_speak_automation_only_keeps_component_status(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = ProbeRunner(engine, settings, probes(ocpp_probe_table(csms)), clock=clock)

    async def scenario() -> str:
        async with running(runner):
            await eventually(
                engine, lambda s: (st := state(s, "ocpp-backend")) and st.successes >= 1
            )
            csms.set_fault("stall_processing")
            incident = await eventually(engine, _open_incident)
            with unit_of_work(engine) as session:
                incident_service.post_update(
                    session,
                    incident.id,
                    data=UpdateCreate(
                        status=IncidentStatus.identified, body="A message queue consumer hung."
                    ),
                    settings=settings,
                    actor="token:alice",
                    now=clock(),
                )
            csms.set_fault(None)
            await eventually(
                engine, lambda s: component_named(s, COMPONENT).status == "operational"
            )
            clock.advance(minutes=30)
            await asyncio.sleep(0.5)
            return incident.id

    incident_id = asyncio.run(scenario())
    with unit_of_work(engine) as session:
        assert [u.status for u in updates(session, incident_id)] == ["investigating", "identified"]
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.status == IncidentStatus.identified


def test_isolated_failures_never_open_an_incident(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = ProbeRunner(engine, settings, probes(ocpp_probe_table(csms)), clock=clock)
    probe = runner.probes["ocpp-backend"]

    async def scenario() -> list[bool]:
        async with probe_client() as http:
            await asyncio.to_thread(runner.prepare)
            oks = []
            for i in range(15):
                # Every third run fails: never three in a row.
                csms.set_fault("reject" if i % 3 == 2 else None)
                oks.append((await runner.run_probe(probe, http)).ok)
            return oks

    oks = asyncio.run(scenario())
    assert [ok for i, ok in enumerate(oks) if i % 3 == 2] == [False] * 5
    with unit_of_work(engine) as session:
        assert incidents(session) == []
        assert component_named(session, COMPONENT).status == "operational"
        assert len(session.exec(select(ProbeResult)).all()) == 15


def test_staff_resolving_a_live_problem_leaves_the_component_truthful(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = ProbeRunner(engine, settings, probes(ocpp_probe_table(csms)), clock=clock)

    async def scenario() -> str:
        async with running(runner):
            await eventually(engine, lambda s: (st := state(s, "ocpp-backend")) and st.successes)
            csms.set_fault("stall_processing")
            incident = await eventually(engine, _open_incident)
            with unit_of_work(engine) as session:
                incident_service.post_update(
                    session,
                    incident.id,
                    data=UpdateCreate(status=IncidentStatus.resolved, body="Fixed, we think."),
                    settings=settings,
                    actor="token:alice",
                    now=clock(),
                )
            # Resolving handed the component back; the probe still sees the stall.
            await eventually(
                engine, lambda s: (st := state(s, "ocpp-backend")) and not st.incident_id
            )
            await eventually(
                engine, lambda s: component_named(s, COMPONENT).status == "partial_outage"
            )
            csms.set_fault(None)
            await eventually(
                engine, lambda s: component_named(s, COMPONENT).status == "operational"
            )
            return incident.id

    incident_id = asyncio.run(scenario())
    with unit_of_work(engine) as session:
        assert [i.id for i in incidents(session)] == [incident_id]
        assert [u.status for u in updates(session, incident_id)] == ["investigating", "resolved"]
