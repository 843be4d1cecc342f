"""The connection watch: a long-lived charger connection notices a dropped backend within
seconds, though the probe's interval is an hour, and the probe's rules then decide."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from app.config import Settings
from app.models import ComponentStatus, IncidentStatus
from app.probes.config import ProbeConfigError
from app.probes.runner import ProbeRunner
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
)

WATCH = {"charge_point_id": "PHAROS-WATCH", "ping_every": "300ms", "heartbeat_every": "300ms"}


@pytest.fixture(params=["1.6", "2.0.1"])
def csms(request: pytest.FixtureRequest) -> Iterator[CentralSystem]:
    with CentralSystem(version=request.param) as system:
        yield system


def test_a_dropped_backend_is_noticed_between_runs(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    kind = {"1.6": "ocpp16", "2.0.1": "ocpp201"}[csms.version]
    table = ocpp_probe_table(
        csms, kind=kind, interval="1h", confirm_spacing="50ms", watch=WATCH, propagation=None
    )
    runner = ProbeRunner(engine, settings, probes(table), clock=clock)

    async def scenario() -> float:
        async with running(runner):
            await eventually(engine, lambda s: (st := state(s, "ocpp-backend")) and st.successes)
            # The watch is connected as its own charger, next to the runs' ids.
            await eventually(engine, lambda _: "PHAROS-WATCH" in csms.sessions)
            assert runner.watch_alerts == 0
            loop = asyncio.get_running_loop()
            dropped = loop.time()
            csms.set_fault("down")  # the backend goes away; the next run is an hour off
            await eventually(
                engine,
                lambda s: [i for i in incidents(s) if i.status == IncidentStatus.investigating],
                within=20,
            )
            return loop.time() - dropped

    took = asyncio.run(scenario())
    assert took < 15, took
    assert runner.watch_alerts >= 1
    from app.db import unit_of_work

    with unit_of_work(engine) as session:
        assert component_named(session, "Cloud Services (OCPP)").status == (
            ComponentStatus.major_outage
        )


def test_the_watch_needs_its_own_charge_point_id(csms: CentralSystem) -> None:
    clash = {**WATCH, "charge_point_id": "PHAROS-PROBE-1"}
    with pytest.raises(ProbeConfigError, match="must differ"):
        probes(ocpp_probe_table(csms, watch=clash))
