"""Two writers at once must queue, not corrupt: the status log stays one unbroken chain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.clock import get_clock, utcnow
from app.components import service as components
from app.components.schemas import ComponentCreate
from app.config import Settings
from app.db import unit_of_work
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, UpdateCreate
from app.models import (
    AffectedComponent,
    ComponentStatus,
    ComponentStatusChange,
    IncidentStatus,
    IncidentUpdate,
)

NOW = datetime(2025, 9, 7, 12, 0, tzinfo=UTC)
ROUNDS = 15
CYCLE = [
    ComponentStatus.partial_outage,
    ComponentStatus.major_outage,
    ComponentStatus.degraded_performance,
]


def _run_together(*jobs: Callable[[], None]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def _setup(engine: Engine, settings: Settings) -> tuple[str, str, str]:
    with unit_of_work(engine) as session:
        comp = components.create_component(
            session, data=ComponentCreate(name="OCPP"), actor="t", now=NOW
        )
        first = incidents.open_incident(
            session,
            data=IncidentCreate(name="One", body="x", components={comp.id: "major_outage"}),
            settings=settings,
            actor="t",
            now=NOW,
        )
        second = incidents.open_incident(
            session,
            data=IncidentCreate(name="Two", body="x"),
            settings=settings,
            actor="t",
            now=NOW,
        )
    return comp.id, first.id, second.id


def test_concurrent_updates_keep_state_consistent(engine: Engine, settings: Settings) -> None:
    component_id, first_id, second_id = _setup(engine, settings)

    def poster(incident_id: str, offset: int) -> Callable[[], None]:
        def job() -> None:
            with unit_of_work(engine) as session:
                status = CYCLE[offset % len(CYCLE)]
                incidents.post_update(
                    session,
                    incident_id,
                    data=UpdateCreate(
                        status=IncidentStatus.identified,
                        body=f"#{offset}",
                        components={component_id: status},
                    ),
                    settings=settings,
                    actor="t",
                    now=NOW + timedelta(seconds=offset),
                )

        return job

    for n in range(ROUNDS):
        errors = _run_together(
            poster(first_id, 2 * n), poster(first_id, 2 * n + 1), poster(second_id, 2 * n + 2)
        )
        assert errors == []

    with unit_of_work(engine) as session:
        log = list(
            session.exec(
                select(ComponentStatusChange)
                .where(ComponentStatusChange.component_id == component_id)
                .order_by(col(ComponentStatusChange.id))
            )
        )
        rows = list(
            session.exec(
                select(AffectedComponent)
                .where(AffectedComponent.component_id == component_id)
                .order_by(col(AffectedComponent.id))
            )
        )
        updates = list(session.exec(select(IncidentUpdate)))
        current = components.get_component(session, component_id).status
    assert len(updates) == 2 + 3 * ROUNDS
    # Each change starts where the previous one ended: no lost or interleaved write.
    for change_before, change_after in pairwise(log):
        assert change_after.old_status == change_before.new_status
    assert log[-1].new_status == current
    # Every update saw the status the previous writer left behind.
    for row_before, row_after in pairwise(rows):
        assert row_after.old_status == row_before.new_status


def test_parallel_api_updates_leave_the_status_of_the_newest_update(
    app: FastAPI, staff: TestClient
) -> None:
    """display_at is taken under the incident's row lock: the update applied last is the newest
    (PostgreSQL once took it before the lock, and 3 in 10 trials ended on an older status)."""
    app.dependency_overrides[get_clock] = lambda: utcnow  # a real clock, safe across threads
    statuses = ["identified", "monitoring", "investigating"]
    for _ in range(3):
        incident = staff.post(
            "/api/v1/incidents", json={"name": "Delays", "body": "Looking"}
        ).json()
        path = f"/api/v1/incidents/{incident['id']}/updates"

        def post(n: int, path: str = path) -> None:
            answer = staff.post(path, json={"status": statuses[n % 3], "body": f"update {n}"})
            assert answer.status_code == 201, answer.text

        errors = _run_together(*(partial(post, n) for n in range(20)))
        assert errors == []
        found = staff.get(f"/api/v1/incidents/{incident['id']}").json()
        newest = max(found["incident_updates"], key=lambda u: u["display_at"])
        assert found["status"] == newest["status"], newest["body"]
        assert len({u["display_at"] for u in found["incident_updates"]}) == 21


def test_an_incident_on_many_components_reads_the_page_status_once_per_update(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each component's webhook carries the page status; reading it per component re-read every
    component each time (quadratic: minutes for 10,000 components, see bench/wide_incident.py)."""
    from app.components import read as component_read

    real = component_read.page_status
    calls: list[int] = []

    def counted(session: Any) -> tuple[str, str]:
        calls.append(1)
        return real(session)

    monkeypatch.setattr(component_read, "page_status", counted)
    with unit_of_work(engine) as session:
        ids = [
            components.create_component(
                session, data=ComponentCreate(name=f"C{n}"), actor="t", now=NOW
            ).id
            for n in range(30)
        ]
    calls.clear()
    with unit_of_work(engine) as session:
        incident = incidents.open_incident(
            session,
            data=IncidentCreate(
                name="Wide", body="Down", components=dict.fromkeys(ids, "major_outage")
            ),
            settings=settings,
            actor="t",
            now=NOW,
        )
    assert len(calls) <= 2  # the incident event's page block, and the components' one
    calls.clear()
    with unit_of_work(engine) as session:
        incidents.post_update(
            session,
            incident.id,
            data=UpdateCreate(status=IncidentStatus.resolved, body="Back"),
            settings=settings,
            actor="t",
            now=NOW + timedelta(minutes=5),
        )
    assert len(calls) <= 2
