"""Times exactly as Statuspage writes them, everywhere JSON leaves Pharos.

Statuspage always writes three fractional digits and the zone's offset
("2021-12-07T09:06:43.178-07:00" in v2, "2017-12-26T07:37:21.000Z" in webhooks; see
../shared/reference/statuspage-v2-api.md). Published clients parse with
`%Y-%m-%dT%H:%M:%S.%f%z`, so one time without its fraction breaks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.maintenance.scheduler import MaintenanceScheduler
from app.models import OutboxEvent
from app.timefmt import iso
from tests.conftest import FakeClock, make_component, open_incident, subscribe_webhook

LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
STATUSPAGE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
V2 = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]
# On the hour, so nothing has a fraction: the case that came out as "...T02:30:00+01:00".
NOW = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)


def times(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, string) in a JSON document that is a date-time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from times(item, f"{path}[{n}]")
    elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        yield path, value


def assert_statuspage_times(document: Any, *, offset: str) -> int:
    """Each time has milliseconds and the expected offset, and parses as clients parse it."""
    found = list(times(document))
    wrong = [(p, v) for p, v in found if not STATUSPAGE_TIME.match(v) or not v.endswith(offset)]
    assert wrong == []
    for _, value in found:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")  # the published client's format
    return len(found)


def test_iso_writes_milliseconds_and_the_zone_as_statuspage_does() -> None:
    on_the_hour = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
    assert iso(on_the_hour) == "2026-12-05T01:30:00.000Z"
    assert iso(on_the_hour, ZoneInfo("Europe/Oslo")) == "2026-12-05T02:30:00.000+01:00"
    assert iso(on_the_hour, ZoneInfo("America/Tijuana")) == "2026-12-04T17:30:00.000-08:00"
    # Milliseconds are cut, not rounded (a time never moves into the next second).
    assert iso(datetime(2025, 9, 7, 9, 12, 59, 999_999, tzinfo=UTC)) == "2025-09-07T09:12:59.999Z"
    # A zone at offset zero that is not UTC keeps its offset; UTC pages write "Z".
    assert iso(on_the_hour, ZoneInfo("Europe/London")) == "2026-12-05T01:30:00.000+00:00"
    assert iso(on_the_hour, ZoneInfo("Etc/UTC")) == "2026-12-05T01:30:00.000Z"
    assert iso(datetime(2026, 12, 5, 1, 30)) == "2026-12-05T01:30:00.000Z"  # naive is UTC


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def page(staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock) -> None:
    """A page with every kind of time: back-dated and resolved incidents, an upcoming and an
    active maintenance, a postmortem, a subscriber; all on whole seconds."""
    clock.set(NOW)
    subscribe_webhook(staff, "https://hooks.example.com/status")
    ocpp = make_component(staff, name="OCPP")
    incident = open_incident(
        staff,
        components={ocpp["id"]: "major_outage"},
        started_at="2026-12-04T22:00:00Z",
        display_at="2026-12-04T22:30:00Z",
    )
    base = f"/api/v1/incidents/{incident['id']}"
    for status, at in (
        ("monitoring", "2026-12-04T23:00:00Z"),
        ("resolved", "2026-12-04T23:30:00Z"),
    ):
        body = {"status": status, "body": status, "display_at": at}
        assert staff.post(f"{base}/updates", json=body).status_code == 201
    staff.put(f"{base}/postmortem", json={"body": "What happened."})
    published = {"published_at": "2026-12-05T00:00:00Z"}
    assert staff.post(f"{base}/postmortem/publish", json=published).status_code == 200
    open_incident(staff, name="Still open", components={ocpp["id"]: "degraded_performance"})
    for name, start in (("Soon", NOW + timedelta(days=1)), ("Now", NOW + timedelta(minutes=30))):
        window = {
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=2)).isoformat(),
        }
        maintenance = {"name": name, "body": "Upgrade.", "component_ids": [ocpp["id"]], **window}
        assert staff.post("/api/v1/maintenances", json=maintenance).status_code == 201
    clock.set(NOW + timedelta(minutes=30))
    MaintenanceScheduler(engine, settings, clock=clock).run_once()


@pytest.mark.usefixtures("page")
@pytest.mark.parametrize("path", V2)
def test_every_v2_time_is_written_as_statuspage_writes_it(path: str, client: TestClient) -> None:
    body = client.get(f"/api/v2/{path}").json()
    assert assert_statuspage_times(body, offset="+01:00") >= 1  # the page is in Europe/Oslo


@pytest.mark.usefixtures("page")
def test_upcoming_and_active_maintenance_have_all_their_times(client: TestClient) -> None:
    (upcoming,) = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()[
        "scheduled_maintenances"
    ]
    assert upcoming["scheduled_for"] == "2026-12-06T01:00:00.000+01:00"
    assert upcoming["scheduled_until"] == "2026-12-06T03:00:00.000+01:00"
    (active,) = client.get("/api/v2/scheduled-maintenances/active.json").json()[
        "scheduled_maintenances"
    ]
    assert active["scheduled_for"] == "2026-12-05T01:30:00.000+01:00"


@pytest.mark.usefixtures("page")
def test_every_staff_api_time_is_written_as_statuspage_writes_it(staff: TestClient) -> None:
    (subscriber,) = staff.get("/api/v1/subscribers").json()
    window = {"starts_at": "2026-12-04T22:00:00Z", "ends_at": "2026-12-05T00:30:00+01:00"}
    exclusion = {**window, "reason": "vandalism"}
    created = staff.post("/api/v1/fleet/reliability/exclusions", json=exclusion)
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] == "2026-12-04T22:00:00.000Z"
    assert created.json()["ends_at"] == "2026-12-04T23:30:00.000Z"
    paths = [
        "/api/v1/incidents",
        "/api/v1/maintenances",
        "/api/v1/components",
        "/api/v1/subscribers",
        f"/api/v1/subscribers/{subscriber['id']}/deliveries",
        "/api/v1/fleet/reliability/exclusions",
    ]
    for path in paths:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert assert_statuspage_times(response.json(), offset="Z") >= 1, path
    (resolved,) = staff.get("/api/v1/incidents", params={"status": "postmortem"}).json()
    assert resolved["started_at"] == "2026-12-04T22:00:00.000Z"
    assert resolved["resolved_at"] == "2026-12-04T23:30:00.000Z"
    assert resolved["postmortem_published_at"] == "2026-12-05T00:00:00.000Z"


@pytest.mark.usefixtures("page")
def test_every_webhook_time_is_written_as_statuspage_writes_it(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        payloads = [e.payload for e in session.exec(select(OutboxEvent))]
    kinds = {next(k for k in ("incident", "component") if k in p) for p in payloads}
    assert kinds == {"incident", "component"}
    for payload in payloads:
        assert assert_statuspage_times(payload, offset="Z") >= 1
