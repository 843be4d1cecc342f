"""A probe decision is one transaction: the result, the counters, the incident and the probe's
link to it commit together or not at all (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from app.config import Settings
from app.db import unit_of_work
from app.models import ComponentStatus, Incident, ProbeResult
from app.probes import service
from app.probes.outcome import Check, ProbeRun
from app.probes.runner import ProbeRunner
from tests.conftest import FakeClock
from tests.probes.helpers import probes, state

PROBE = {
    "name": "api",
    "kind": "http",
    "component": "Charging API",
    "url": "http://127.0.0.1:9/",
    "failures_to_open": 3,
}


def failed() -> ProbeRun:
    check = Check("request", "api", False, None, "connect_refused", "refused")
    return ProbeRun("api", ComponentStatus.major_outage, [check], "down")


def test_a_crash_between_opening_and_linking_leaves_neither(
    engine: Engine, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = ProbeRunner(engine, settings, probes(PROBE), clock=clock)
    runner.prepare()
    runner.record(failed())
    runner.record(failed())  # two in a row: not confirmed yet (3 open an incident)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(service, "link_incident", crash)
        with pytest.raises(RuntimeError):
            runner.record(failed())  # the third opens the incident, then crashes
    with unit_of_work(engine) as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 0
        assert session.exec(select(func.count()).select_from(ProbeResult)).one() == 2
        probe = state(session, "api")
        assert probe is not None and probe.failures == 2 and probe.incident_id is None

    runner.record(failed())  # the next run decides again, and this time all of it lands
    with unit_of_work(engine) as session:
        (incident,) = session.exec(select(Incident)).all()
        probe = state(session, "api")
        assert probe is not None and probe.incident_id == incident.id
        assert incident.automated
