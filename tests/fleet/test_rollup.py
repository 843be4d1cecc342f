"""The roll-up: EVSE statuses driven through an area's thresholds move its component, and
one incident opens, follows the severity with its charger counts, and resolves; planned
chargers, maintenance and a single flapping charger never count as a problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.components import service as components
from app.components.schemas import ComponentUpdate
from app.config import Settings
from app.db import unit_of_work
from app.fleet import areas, rollup, store
from app.fleet.config import AreaRule, FleetConfigError, parse_areas
from app.models import (
    Component,
    ComponentStatus,
    FleetEvse,
    Incident,
    IncidentUpdate,
    OutboxEvent,
)
from peers.ocpi import make_location
from tests.conftest import FakeClock

T0 = datetime(2025, 9, 7, 8, 0, tzinfo=UTC)


def area(**fields: Any) -> AreaRule:
    table: dict[str, Any] = {"name": "Oslo", "component": "Oslo chargers", "cities": ["Oslo"]}
    table.update(fields)
    return parse_areas({"area": [table]})[0]


@pytest.fixture
def fleet(engine: Engine, clock: FakeClock) -> Engine:
    """Oslo: 10 sites of 2 chargers; Bergen: 5 sites of 2; an area for each city."""
    with unit_of_work(engine) as session:
        locations = [make_location(f"OSL-{n}", city="Oslo", at=T0) for n in range(1, 11)]
        locations += [make_location(f"BER-{n}", city="Bergen", at=T0) for n in range(1, 6)]
        store.apply_locations(session, "roaming", locations, now=clock())
        areas.put_area(session, area(), actor="test", now=clock())
        bergen = area(name="Bergen", component="Bergen chargers", cities=["Bergen"])
        areas.put_area(session, bergen, actor="test", now=clock())
    return engine


def set_status(engine: Engine, clock: FakeClock, status: str, *uids: str) -> None:
    with unit_of_work(engine) as session:
        for uid in uids:
            evse = session.exec(select(FleetEvse).where(FleetEvse.uid == uid)).one()
            store.set_evse_status(session, evse, status, clock(), now=clock())


def evaluate(engine: Engine, settings: Settings, clock: FakeClock, times: int = 1) -> None:
    for _ in range(times):
        clock.advance(seconds=60)
        with unit_of_work(engine) as session:
            rollup.evaluate(session, settings=settings, now=clock())


def component(session: Session, name: str) -> Component:
    return session.exec(select(Component).where(Component.name == name)).one()


def incidents(session: Session) -> list[Incident]:
    return list(session.exec(select(Incident).order_by(col(Incident.created_at))))


def timeline(session: Session, incident_id: str) -> list[tuple[str, str]]:
    rows = session.exec(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(col(IncidentUpdate.display_at))
    )
    return [(u.status.value, u.body) for u in rows]


OSLO = [f"OSL-{n}-{k}" for n in range(1, 11) for k in (1, 2)]


def test_thresholds_drive_the_component_and_one_incident(
    fleet: Engine, settings: Settings, clock: FakeClock, client: TestClient
) -> None:
    engine = fleet
    evaluate(engine, settings, clock, 3)
    with unit_of_work(engine) as session:
        assert component(session, "Oslo chargers").status == "operational"
        assert incidents(session) == []
    # One charger flapping for ever: under min_failing, never an incident.
    for n in range(6):
        set_status(engine, clock, "OUTOFORDER" if n % 2 == 0 else "AVAILABLE", OSLO[0])
        evaluate(engine, settings, clock)
    # Planned and removed chargers leave the count; they are not failures.
    set_status(engine, clock, "PLANNED", *OSLO[18:20])
    set_status(engine, clock, "REMOVED", OSLO[17])
    evaluate(engine, settings, clock, 3)
    with unit_of_work(engine) as session:
        assert incidents(session) == []
        counts = {c.name: c for c in rollup.count_areas(session, rollup.list_areas(session))}
        assert (counts["Oslo"].failing, counts["Oslo"].total) == (0, 17)
    # 5 of 17 out of order or inoperative (29%): a partial outage once confirmed 3 times.
    set_status(engine, clock, "AVAILABLE", OSLO[0])
    set_status(engine, clock, "OUTOFORDER", *OSLO[0:3])
    set_status(engine, clock, "INOPERATIVE", *OSLO[3:5])
    evaluate(engine, settings, clock, 2)
    with unit_of_work(engine) as session:
        assert incidents(session) == []
    evaluate(engine, settings, clock)
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        assert component(session, "Oslo chargers").status == "partial_outage"
        assert component(session, "Bergen chargers").status == "operational"
        assert (incident.chargers_affected, incident.chargers_total) == (5, 17)
        assert incident.name == "Charging unavailable at some sites in Oslo chargers"
        assert "5 of 17 chargers" in timeline(session, incident.id)[0][1]
        # The first webhook payload already carries the structured impact.
        first = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all()
        created = [e.payload for e in first if e.type == "incident.created"]
        assert created[0]["incident"]["chargers"]["text"] == "5 of 17 chargers affected"
    # The status page says how many chargers work, under the component's name.
    page = client.get("/").text
    assert '<span class="chargers-count">12 of 17 chargers working</span>' in page
    assert '<span class="chargers-count">10 of 10 chargers working</span>' in page  # Bergen
    # Worse: 9 of 17 (53%) is a major outage, after the same confirmation.
    set_status(engine, clock, "OUTOFORDER", *OSLO[5:9])
    evaluate(engine, settings, clock, 2)
    with unit_of_work(engine) as session:
        assert component(session, "Oslo chargers").status == "partial_outage"
        (incident,) = incidents(session)
        assert (incident.chargers_affected, incident.chargers_total) == (9, 17)
    evaluate(engine, settings, clock)
    with unit_of_work(engine) as session:
        assert component(session, "Oslo chargers").status == "major_outage"
        (incident,) = incidents(session)
        assert len(timeline(session, incident.id)) == 2
    # Repaired: operational after two good evaluations, resolved after the quiet period.
    set_status(engine, clock, "AVAILABLE", *OSLO[0:9])
    evaluate(engine, settings, clock, 2)
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        assert component(session, "Oslo chargers").status == "operational"
        assert incident.status == "monitoring"
        assert (incident.chargers_affected, incident.chargers_total) == (9, 17)  # the peak stays
    clock.advance(minutes=16)
    evaluate(engine, settings, clock)
    with unit_of_work(engine) as session:
        (incident,) = incidents(session)
        assert incident.status == "resolved"
        assert [s for s, _ in timeline(session, incident.id)] == [
            "investigating",
            "investigating",
            "monitoring",
            "resolved",
        ]


def test_an_area_under_maintenance_is_not_judged(
    fleet: Engine, settings: Settings, clock: FakeClock
) -> None:
    engine = fleet
    evaluate(engine, settings, clock)
    with unit_of_work(engine) as session:
        bergen = component(session, "Bergen chargers")
        components.update_component(
            session,
            bergen.id,
            data=ComponentUpdate(status=ComponentStatus.under_maintenance),
            settings=settings,
            actor="test",
            now=clock(),
        )
    set_status(engine, clock, "INOPERATIVE", *[f"BER-{n}-1" for n in range(1, 6)])
    evaluate(engine, settings, clock, 5)
    with unit_of_work(engine) as session:
        assert incidents(session) == []
        assert component(session, "Bergen chargers").status == "under_maintenance"


def test_area_rules_are_checked() -> None:
    with pytest.raises(FleetConfigError, match="thresholds must rise"):
        area(degraded=0.5, partial=0.2)
    with pytest.raises(FleetConfigError, match="at least one of"):
        parse_areas({"area": [{"name": "x", "component": "y"}]})
    with pytest.raises(FleetConfigError, match="unknown table"):
        parse_areas({"areas": []})
    with pytest.raises(FleetConfigError, match="unique"):
        parse_areas({"area": [area().model_dump(exclude={"kind"})] * 2})


def test_staff_api_sets_lists_and_removes_areas(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    with unit_of_work(engine) as session:
        locations = [make_location(f"TRD-{n}", city="Trondheim", at=T0) for n in (1, 2)]
        store.apply_locations(session, "roaming", locations, now=clock())
        evse = session.exec(select(FleetEvse).where(FleetEvse.uid == "TRD-1-1")).one()
        store.set_evse_status(session, evse, "OUTOFORDER", T0 + timedelta(minutes=1), now=clock())
    body = {"component": "Trondheim chargers", "cities": ["Trondheim"], "partial": 0.3}
    answer = staff.put("/api/v1/fleet/areas/Trondheim", json=body)
    assert answer.status_code == 200, answer.text
    listed = staff.get("/api/v1/fleet/areas").json()
    assert [(a["name"], a["chargers_failing"], a["chargers_total"]) for a in listed] == [
        ("Trondheim", 1, 4)
    ]
    assert listed[0]["rule"]["partial"] == 0.3 and listed[0]["source"] == "staff"
    bad = staff.put("/api/v1/fleet/areas/Trondheim", json={**body, "major": 0.1})
    assert bad.status_code == 422 and "thresholds must rise" in bad.json()["detail"]
    assert staff.put("/api/v1/fleet/areas/X", json={**body, "name": "Y"}).status_code == 422
    assert staff.delete("/api/v1/fleet/areas/Trondheim").status_code == 204
    assert staff.delete("/api/v1/fleet/areas/Trondheim").status_code == 404
    assert staff.get("/api/v1/fleet/areas").json() == []
