"""Quick confirmation re-probes and maintenance silence, against a real central system.

The probe's interval is an hour: every extra result in these tests comes from a re-probe the
runner started at once to confirm a decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.maintenance import service as maintenance
from app.maintenance.schemas import MaintenanceCreate
from app.models import AuditEvent, ComponentStatus, IncidentStatus
from app.probes.outcome import ProbeRun
from app.probes.rules import Counters, Thresholds, still_to_confirm
from app.probes.runner import ProbeRunner, probe_client
from peers.csms import CentralSystem
from tests.conftest import FakeClock
from tests.probes.helpers import component_named, incidents, ocpp_probe_table, probes, state

COMPONENT = "Cloud Services (OCPP)"
NAME = "ocpp-backend"


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    """A healthy central system on loopback."""
    with CentralSystem() as system:
        yield system


def make_runner(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock, **kw: object
) -> ProbeRunner:
    table = ocpp_probe_table(csms, interval="1h", confirm_spacing="10ms", **kw)
    return ProbeRunner(engine, settings, probes(table), clock=clock)


def decide(runner: ProbeRunner) -> list[ProbeRun]:
    async def go() -> list[ProbeRun]:
        await asyncio.to_thread(runner.prepare)
        async with probe_client() as http:
            return await runner.decide(runner.probes[NAME], http)

    return asyncio.run(go())


def test_still_to_confirm_counts_what_the_decision_under_way_needs() -> None:
    rule = Thresholds(failures_to_open=5, successes_to_recover=2)
    assert still_to_confirm(Counters(), rule) == 0
    assert still_to_confirm(Counters(failures=1), rule) == 4
    assert still_to_confirm(Counters(failures=7), rule) == 0  # silenced: nothing more to ask
    down = ComponentStatus.major_outage
    assert still_to_confirm(Counters(active=down, failures=3), rule) == 0
    assert still_to_confirm(Counters(active=down, successes=1), rule) == 1
    slow = ComponentStatus.degraded_performance
    assert still_to_confirm(Counters(active=down, pending=slow, pending_count=2), rule) == 3


def test_a_failure_is_confirmed_at_once_and_the_incident_opens_in_one_decision(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = make_runner(csms, settings, engine, clock)
    csms.set_fault("reject")
    results = decide(runner)
    assert [r.ok for r in results] == [False] * 5
    assert [r.confirmation for r in results] == [False, True, True, True, True]
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        assert incident.status == IncidentStatus.investigating
        assert component_named(session, COMPONENT).status == ComponentStatus.major_outage
    csms.set_fault(None)
    results = decide(runner)
    assert [r.ok for r in results] == [True, True]  # recovery is confirmed at once too
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        assert incident.status == IncidentStatus.monitoring
        assert component_named(session, COMPONENT).status == ComponentStatus.operational


def test_a_failure_the_re_probes_contradict_opens_nothing(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = make_runner(csms, settings, engine, clock)
    healed: list[float] = []

    async def heal_after_the_first_re_probe(seconds: float) -> None:
        if not healed:
            await asyncio.sleep(0.3)  # the first re-probe meets the fault
            csms.set_fault(None)
        healed.append(seconds)

    runner.sleep = heal_after_the_first_re_probe
    csms.set_fault("reject")
    results = decide(runner)
    assert [r.ok for r in results] == [False, False, True, True, True], [
        (r.ok, r.error_classes) for r in results
    ]
    assert healed == [0.01, 0.01, 0.01]
    with unit_of_work(engine) as session:
        assert incidents(session) == []
        found = state(session, NAME)
        assert found is not None and found.failures == 0 and found.successes == 3


def test_maintenance_silences_the_probe_and_a_problem_left_after_it_opens_then(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = make_runner(csms, settings, engine, clock)
    asyncio.run(asyncio.to_thread(runner.prepare))
    with unit_of_work(engine) as session:
        component = component_named(session, COMPONENT)
        now = clock()
        window = MaintenanceCreate(
            name="Database upgrade",
            body="We are upgrading the database.",
            scheduled_for=now - timedelta(minutes=1),
            scheduled_until=now + timedelta(hours=1),
            component_ids=[component.id],
            scheduled_auto_in_progress=False,
        )
        work = maintenance.schedule_maintenance(
            session, data=window, settings=settings, actor="token:alice", now=now
        )
        work_id = work.id
    csms.set_fault("reject")
    for _ in range(3):
        assert not any(r.ok for r in decide(runner))
    with unit_of_work(engine) as session:
        assert [i.id for i in incidents(session)] == [work_id]  # only the maintenance
        found = state(session, NAME)
        assert found is not None and found.silenced_by == work_id
        assert found.active == ComponentStatus.operational and found.failures >= 5
        silenced = session.exec(select(AuditEvent).where(AuditEvent.action == "probe.silenced"))
        assert len(silenced.all()) == 1  # said once, not per result
    clock.advance(hours=2)  # the window is over, the problem is not
    results = decide(runner)
    assert len(results) == 1  # already confirmed: no re-probes needed
    with unit_of_work(engine) as session:
        opened = [i for i in incidents(session) if i.id != work_id]
        assert len(opened) == 1 and opened[0].status == IncidentStatus.investigating
        found = state(session, NAME)
        assert found is not None and found.silenced_by is None
