"""Scheduled maintenance: staff API, on-time transitions with a fake clock, pages, v2, feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.config import Settings
from app.db import unit_of_work
from app.maintenance.scheduler import MaintenanceScheduler
from app.models import OutboxEvent
from app.publishing.export import export_site
from tests.conftest import FakeClock, make_component, open_incident

START = datetime(2025, 9, 10, 0, 0, tzinfo=UTC)  # 02:00 CEST
END = START + timedelta(hours=2)


def _schedule(staff: TestClient, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "OCPP broker upgrade")
    fields.setdefault("body", "We are upgrading the OCPP message brokers.")
    fields.setdefault("scheduled_for", START.isoformat())
    fields.setdefault("scheduled_until", END.isoformat())
    response = staff.post("/api/v1/maintenances", json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _status(staff: TestClient, component_id: str) -> str:
    status: str = staff.get(f"/api/v1/components/{component_id}").json()["status"]
    return status


@pytest.fixture
def scheduler(engine: Engine, settings: Settings, clock: FakeClock) -> MaintenanceScheduler:
    return MaintenanceScheduler(engine, settings, clock=clock)


def test_a_maintenance_starts_and_completes_on_time(
    staff: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler, engine: Engine
) -> None:
    ocpp = make_component(staff, name="OCPP")
    portal = make_component(staff, name="Portal")
    m = _schedule(staff, component_ids=[ocpp["id"]])
    assert m["status"] == "scheduled" and m["impact"] == "maintenance"
    assert m["scheduled_for"] == "2025-09-10T00:00:00.000Z"
    assert _status(staff, ocpp["id"]) == "operational"
    clock.set(START - timedelta(seconds=1))
    assert scheduler.run_once() == 0
    clock.set(START + timedelta(seconds=5))
    assert scheduler.run_once() == 1
    now = staff.get(f"/api/v1/maintenances/{m['id']}").json()
    assert now["status"] == "in_progress"
    assert _status(staff, ocpp["id"]) == "under_maintenance"
    assert _status(staff, portal["id"]) == "operational"
    assert now["incident_updates"][0]["display_at"] == "2025-09-10T00:00:00.000Z"
    clock.set(END + timedelta(seconds=5))
    scheduler.run_once()
    done = staff.get(f"/api/v1/maintenances/{m['id']}").json()
    assert done["status"] == "completed"
    assert _status(staff, ocpp["id"]) == "operational"
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed",
        "in_progress",
        "scheduled",
    ]
    with unit_of_work(engine) as session:
        kinds = list(session.exec(select(OutboxEvent.type).order_by(col(OutboxEvent.id))))
    assert [k for k in kinds if k.startswith("maintenance.")] == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.completed",
    ]


def test_catching_up_after_downtime_fires_once(
    staff: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler
) -> None:
    ocpp = make_component(staff, name="OCPP")
    m = _schedule(staff, component_ids=[ocpp["id"]])
    clock.set(END + timedelta(hours=3))  # the service was down through the whole window
    scheduler.run_once()
    scheduler.run_once()  # a restart, or a second replica
    done = staff.get(f"/api/v1/maintenances/{m['id']}").json()
    assert [(u["status"], u["display_at"]) for u in done["incident_updates"]] == [
        ("completed", "2025-09-10T02:00:00.000Z"),
        ("in_progress", "2025-09-10T00:00:00.000Z"),
        ("scheduled", done["incident_updates"][-1]["display_at"]),
    ]
    assert _status(staff, ocpp["id"]) == "operational"


def test_a_reminder_goes_out_once_before_the_start(
    staff: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler, engine: Engine
) -> None:
    _schedule(staff, scheduled_remind_prior=60)
    clock.set(START - timedelta(minutes=61))
    scheduler.run_once()
    clock.set(START - timedelta(minutes=59))
    scheduler.run_once()
    scheduler.run_once()
    with unit_of_work(engine) as session:
        kinds = list(session.exec(select(OutboxEvent.type)))
    assert kinds.count("maintenance.reminder") == 1


def test_manual_updates_and_their_rules(staff: TestClient, clock: FakeClock) -> None:
    ocpp = make_component(staff, name="OCPP")
    m = _schedule(staff, component_ids=[ocpp["id"]], scheduled_auto_in_progress=False)
    base = f"/api/v1/maintenances/{m['id']}"
    clock.set(START + timedelta(minutes=1))
    started = staff.post(f"{base}/updates", json={"status": "in_progress", "body": "Started."})
    assert started.status_code == 201
    assert _status(staff, ocpp["id"]) == "under_maintenance"
    assert staff.patch(base, json={"name": "Renamed"}).status_code == 409
    assert staff.delete(base).status_code == 409
    verifying = staff.post(f"{base}/updates", json={"status": "verifying", "body": "Checking."})
    assert verifying.status_code == 201
    back = staff.post(f"{base}/updates", json={"status": "scheduled", "body": "Oops."})
    assert back.status_code == 409
    wrong = staff.post(f"{base}/updates", json={"status": "investigating", "body": "No."})
    assert wrong.status_code == 422 and "maintenance" in wrong.json()["message"]
    staff.post(f"{base}/updates", json={"status": "completed", "body": "Done."})
    assert _status(staff, ocpp["id"]) == "operational"
    after = staff.post(f"{base}/updates", json={"status": "in_progress", "body": "Again?"})
    assert after.status_code == 409


def test_plans_change_and_cancel_before_the_start(staff: TestClient) -> None:
    m = _schedule(staff)
    base = f"/api/v1/maintenances/{m['id']}"
    later = (START + timedelta(days=1)).isoformat()
    moved = staff.patch(
        base,
        json={"scheduled_for": later, "scheduled_until": (END + timedelta(days=1)).isoformat()},
    )
    assert moved.status_code == 200
    assert moved.json()["scheduled_for"] == "2025-09-11T00:00:00.000Z"
    assert staff.patch(base, json={"scheduled_until": START.isoformat()}).status_code == 422
    assert staff.delete(base).status_code == 204
    assert staff.get(base).status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"scheduled_until": START.isoformat()},
        {"scheduled_for": "2025-09-10T02:00:00"},
        {"component_ids": ["nope"]},
        {"name": ""},
        {"scheduled_remind_prior": 0},
    ],
)
def test_bad_maintenances_are_refused(staff: TestClient, fields: dict[str, Any]) -> None:
    payload = {
        "name": "x",
        "body": "y",
        "scheduled_for": START.isoformat(),
        "scheduled_until": END.isoformat(),
        **fields,
    }
    response = staff.post("/api/v1/maintenances", json=payload)
    assert response.status_code == 422, response.text
    assert staff.get("/api/v1/maintenances").json() == []


def test_maintenances_are_not_incidents(staff: TestClient, client: TestClient) -> None:
    _schedule(staff)
    incident = open_incident(staff, name="Real incident")
    assert [i["id"] for i in staff.get("/api/v1/incidents").json()] == [incident["id"]]
    v2 = client.get("/api/v2/incidents.json").json()["incidents"]
    assert [i["id"] for i in v2] == [incident["id"]]


def test_v2_lists_upcoming_active_and_all(
    staff: TestClient, client: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler
) -> None:
    ocpp = make_component(staff, name="OCPP")
    soon = _schedule(staff, component_ids=[ocpp["id"]])
    later = _schedule(
        staff,
        name="Later",
        scheduled_for=(START + timedelta(days=7)).isoformat(),
        scheduled_until=(END + timedelta(days=7)).isoformat(),
    )
    upcoming = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()
    assert [m["id"] for m in upcoming["scheduled_maintenances"]] == [soon["id"], later["id"]]
    item = upcoming["scheduled_maintenances"][0]
    assert item["scheduled_for"] == "2025-09-10T02:00:00.000+02:00"
    assert item["scheduled_until"] == "2025-09-10T04:00:00.000+02:00"
    assert item["impact"] == "maintenance" and item["status"] == "scheduled"
    clock.set(START + timedelta(minutes=1))
    scheduler.run_once()
    active = client.get("/api/v2/scheduled-maintenances/active.json").json()
    assert [m["id"] for m in active["scheduled_maintenances"]] == [soon["id"]]
    summary = client.get("/api/v2/summary.json").json()
    assert {m["id"] for m in summary["scheduled_maintenances"]} == {soon["id"], later["id"]}
    assert summary["status"] == {
        "indicator": "maintenance",
        "description": "Service Under Maintenance",
    }
    everything = client.get("/api/v2/scheduled-maintenances.json").json()
    assert len(everything["scheduled_maintenances"]) == 2


def test_pages_show_upcoming_and_active_maintenance(
    staff: TestClient, client: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler
) -> None:
    ocpp = make_component(staff, name="OCPP")
    m = _schedule(staff, component_ids=[ocpp["id"]])
    front = BeautifulSoup(client.get("/").text, "html.parser")
    upcoming = front.select_one(".maintenance-upcoming")
    assert upcoming is not None
    assert "OCPP broker upgrade" in upcoming.get_text()
    assert "Sep 10, 2025 02:00 - 04:00 CEST" in " ".join(upcoming.get_text().split())
    clock.set(START + timedelta(minutes=1))
    scheduler.run_once()
    front = BeautifulSoup(client.get("/").text, "html.parser")
    assert front.select_one(".maintenance-active") is not None
    assert "Service Under Maintenance" in front.select_one(".banner").get_text()  # type: ignore[union-attr]
    page = BeautifulSoup(client.get(f"/maintenance/{m['id']}").text, "html.parser")
    assert "This scheduled maintenance affects: OCPP." in " ".join(page.get_text().split())
    assert client.get(f"/incidents/{m['id']}").status_code == 404  # it lives at /maintenance/
    assert client.get("/maintenance/nope").status_code == 404


def test_a_window_across_the_dst_change_reads_right(staff: TestClient, client: TestClient) -> None:
    # Europe/Oslo leaves summer time at 03:00 CEST on 2025-10-26 (back to 02:00 CET).
    m = _schedule(
        staff,
        scheduled_for="2025-10-26T02:30:00+02:00",
        scheduled_until="2025-10-26T02:30:00+01:00",
    )
    page = BeautifulSoup(client.get(f"/maintenance/{m['id']}").text, "html.parser")
    text = " ".join(page.get_text().split())
    assert "Oct 26, 2025 02:30 CEST - 02:30 CET" in text
    v2 = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()
    item = v2["scheduled_maintenances"][0]
    assert (item["scheduled_for"], item["scheduled_until"]) == (
        "2025-10-26T02:30:00.000+02:00",
        "2025-10-26T02:30:00.000+01:00",
    )


def test_feeds_carry_maintenance(
    staff: TestClient, client: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler
) -> None:
    _schedule(staff)
    clock.set(START + timedelta(minutes=1))
    scheduler.run_once()
    parsed = feedparser.parse(client.get("/history.atom").content)
    (entry,) = parsed.entries
    assert entry.link.endswith("/maintenance/" + entry.id.rsplit("/", 1)[-1])
    assert "<strong>In progress</strong>" in entry.content[0].value


def test_a_maintenance_that_starts_at_once_keeps_its_timeline_in_order(
    staff: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler
) -> None:
    clock.set(START + timedelta(minutes=5))  # scheduled after its own start time
    m = _schedule(staff)
    scheduler.run_once()
    timeline = staff.get(f"/api/v1/maintenances/{m['id']}").json()["incident_updates"]
    assert [u["status"] for u in timeline] == ["in_progress", "scheduled"]


def test_v2_maintenance_history_pages(staff: TestClient, client: TestClient) -> None:
    for n in range(3):
        _schedule(
            staff,
            name=f"Window {n}",
            scheduled_for=(START + timedelta(days=n)).isoformat(),
            scheduled_until=(END + timedelta(days=n)).isoformat(),
        )
    first = client.get("/api/v2/scheduled-maintenances.json", params={"per_page": 2})
    assert [m["name"] for m in first.json()["scheduled_maintenances"]] == ["Window 2", "Window 1"]
    assert first.headers["x-total-count"] == "3"
    assert 'rel="next"' in first.headers["link"]
    window = client.get(
        "/api/v2/scheduled-maintenances.json",
        params={"since": (START + timedelta(hours=12)).isoformat()},
    )
    assert [m["name"] for m in window.json()["scheduled_maintenances"]] == ["Window 2", "Window 1"]
    bad = client.get("/api/v2/scheduled-maintenances.json", params={"per_page": 500})
    assert bad.status_code == 422


def test_a_quiet_maintenance_stays_quiet(
    staff: TestClient, clock: FakeClock, scheduler: MaintenanceScheduler, engine: Engine
) -> None:
    _schedule(staff, deliver_notifications=False, scheduled_remind_prior=30)
    clock.set(END + timedelta(minutes=1))
    scheduler.run_once()
    with unit_of_work(engine) as session:
        kinds = list(session.exec(select(OutboxEvent.type)))
    assert [k for k in kinds if k.startswith("maintenance.")] == []


def test_a_cancelled_maintenance_is_not_hidden_by_if_modified_since(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    m = _schedule(staff)
    first = client.get("/api/v2/scheduled-maintenances/upcoming.json")
    assert len(first.json()["scheduled_maintenances"]) == 1
    clock.advance(seconds=2)
    assert staff.delete(f"/api/v1/maintenances/{m['id']}").status_code == 204
    again = client.get(
        "/api/v2/scheduled-maintenances/upcoming.json",
        headers={"If-Modified-Since": first.headers["last-modified"]},
    )
    assert again.status_code == 200
    assert again.json()["scheduled_maintenances"] == []


def test_a_maintenance_day_bar_links_the_maintenance_page(
    staff: TestClient, client: TestClient, clock: FakeClock, app: FastAPI, tmp_path: Path
) -> None:
    ocpp = make_component(staff, name="OCPP")
    m = _schedule(staff, component_ids=[ocpp["id"]])
    base = f"/api/v1/maintenances/{m['id']}"
    link = f'.uptime-bars a[href$="/{m["id"]}/"]'
    before = BeautifulSoup(client.get("/").text, "html.parser")
    assert before.select(link) == []  # announced, not begun: no day of it yet
    clock.set(START + timedelta(minutes=1))
    staff.post(f"{base}/updates", json={"status": "in_progress", "body": "Started."})
    staff.post(f"{base}/updates", json={"status": "completed", "body": "Done."})
    clock.set(START + timedelta(days=2))
    page = BeautifulSoup(client.get("/").text, "html.parser")
    (bar,) = page.select(link)  # its one day, among the component's bars
    assert bar["href"] == f"maintenance/{m['id']}/"
    assert "OCPP broker upgrade" in bar.get_text()
    assert client.get(f"/{bar['href']}").status_code == 200
    assert export_site(app, tmp_path / "site").skipped == []  # no link leads nowhere


def test_started_at_is_when_it_was_announced_not_the_window_start(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    """Statuspage's maintenance `started_at` is its creation; the window is scheduled_for."""
    announced = START - timedelta(days=3)
    clock.set(announced)
    m = _schedule(staff)
    assert m["started_at"] == m["created_at"]
    assert datetime.fromisoformat(m["started_at"]) - announced < timedelta(seconds=1)
    assert m["scheduled_for"] == "2025-09-10T00:00:00.000Z"
    (public,) = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()[
        "scheduled_maintenances"
    ]
    assert public["started_at"] == public["created_at"]
    assert datetime.fromisoformat(public["started_at"]) < datetime.fromisoformat(
        public["scheduled_for"]
    )
