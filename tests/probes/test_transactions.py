"""A probe decision is one transaction: the result, the counters, the incident and the probe's
link to it commit together or not at all (on SQLite and PostgreSQL); the probes of one backend
group decide one at a time, each seeing what the last one did."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.config import Settings
from app.db import unit_of_work
from app.models import ComponentStatus, Incident, IncidentStatus, ProbeResult
from app.probes import service
from app.probes.config import ProbeBase
from app.probes.outcome import Check, ProbeRun
from app.probes.runner import ProbeRunner
from tests.conftest import FakeClock
from tests.probes.helpers import probes, state, updates

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


# -- two probes of one backend group deciding at once ------------------------------------------

GROUP = [
    {**PROBE, "name": f"ocpp-{x.lower()}", "component": f"OCPP {x}", "group": "eu"}
    for x in ("A", "B")
]
for probe in GROUP:  # one run decides
    probe["failures_to_open"] = probe["successes_to_recover"] = 1


def run_of(name: str, ok: bool) -> ProbeRun:
    check = Check("request", name, ok, 12.0 if ok else None, None if ok else "timeout", "")
    status = ComponentStatus.operational if ok else ComponentStatus.major_outage
    return ProbeRun(name, status, [check], None if ok else "down")


def at_once(
    runner: ProbeRunner, monkeypatch: pytest.MonkeyPatch, first: ProbeRun, second: ProbeRun
) -> float:
    """`first` is recorded and held uncommitted while `second` is recorded in another
    transaction (thread "second"); then `first` commits. As two probe runs finishing together
    are recorded. Returns the time.monotonic() at which `first` was let go."""
    decided, release = threading.Event(), threading.Event()
    to_confirm = service.still_to_confirm

    def hold(session: Session, probe: ProbeBase) -> int:
        if probe.name == first.probe:  # (runner.record calls this before it commits)
            decided.set()
            release.wait(timeout=30)
        return to_confirm(session, probe)

    monkeypatch.setattr(service, "still_to_confirm", hold)
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1, "second") as other:
        held = one.submit(runner.record, first)
        assert decided.wait(timeout=30)
        waiting = other.submit(runner.record, second)
        time.sleep(0.5)  # (the second gets as far as it can while the first is uncommitted)
        released = time.monotonic()
        release.set()
        held.result(timeout=30)
        waiting.result(timeout=30)
    return released


def test_two_probes_of_a_backend_failing_at_once_open_one_incident(
    engine: Engine, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = ProbeRunner(engine, settings, probes(*GROUP), clock=clock)
    runner.prepare()
    at_once(runner, monkeypatch, run_of("ocpp-b", ok=False), run_of("ocpp-a", ok=False))
    with unit_of_work(engine) as session:
        (incident,) = session.exec(select(Incident)).all()
        a, b = state(session, "ocpp-a"), state(session, "ocpp-b")
        assert a is not None and b is not None
        assert a.incident_id == b.incident_id == incident.id
        bodies = [u.body for u in updates(session, incident.id)]
        assert len(bodies) == 2 and "OCPP A is affected as well" in bodies[1]


def test_two_probes_of_a_backend_recovering_at_once_end_in_monitoring(
    engine: Engine, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[tuple[str, float]] = []  # who read the runner's clock, when

    def reading() -> datetime:
        read.append((threading.current_thread().name, time.monotonic()))
        return clock()

    runner = ProbeRunner(engine, settings, probes(*GROUP), clock=reading)
    runner.prepare()
    runner.record(run_of("ocpp-a", ok=False))
    runner.record(run_of("ocpp-b", ok=False))
    released = at_once(runner, monkeypatch, run_of("ocpp-b", ok=True), run_of("ocpp-a", ok=True))
    # the second read the time once the first was done: its update is timed after the first's
    second = [at for name, at in read if name.startswith("second")]
    assert second and min(second) >= released
    with unit_of_work(engine) as session:
        (incident,) = session.exec(select(Incident)).all()
        assert incident.status == IncidentStatus.monitoring
        timeline = updates(session, incident.id)
        bodies = [u.body for u in timeline]
        assert bodies[-2].startswith("OCPP B is working normally again")
        assert bodies[-1].startswith("Everything is working normally again")
        # in the order they were applied, by the time they show and the time they were made
        assert [u.display_at for u in timeline] == sorted(u.display_at for u in timeline)
        assert timeline[-2].created_at < timeline[-1].created_at
