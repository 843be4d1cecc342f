"""Every staff API operation that creates something answers 201 with a `Location` a GET reads
back (REST clients and schemathesis's stateful phase follow it); the document says so."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from tests.conftest import make_component, open_incident

MAINTENANCE = {
    "name": "Upgrade",
    "body": "Planned.",
    "scheduled_for": "2031-01-01T00:00:00Z",
    "scheduled_until": "2031-01-01T02:00:00Z",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


def located(staff: TestClient, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """POST, expect 201 with a Location on this server; the Location and what it reads."""
    answer = staff.post(path, json=body)
    assert answer.status_code == 201, answer.text
    location = answer.headers["location"]
    assert location.startswith("/api/v1/"), location  # a path: never built from Host
    shown = staff.get(location)
    assert shown.status_code == 200, (location, shown.text)
    found: dict[str, Any] = shown.json()
    return location, found


def test_each_created_object_is_at_its_location(staff: TestClient) -> None:
    component = make_component(staff, name="OCPP")
    where, shown = located(staff, "/api/v1/components", {"name": "API"})
    assert where == f"/api/v1/components/{shown['id']}" and shown["name"] == "API"

    where, incident = located(staff, "/api/v1/incidents", {"name": "Delays", "body": "Looking."})
    assert where == f"/api/v1/incidents/{incident['id']}"
    update = {
        "status": "identified",
        "body": "Found it.",
        "components": {component["id"]: "major_outage"},
    }
    where, shown = located(staff, f"{where}/updates", update)
    assert where.startswith(f"/api/v1/incidents/{incident['id']}/updates/")
    assert (shown["status"], shown["body"]) == ("identified", "Found it.")
    assert staff.patch(where, json={"body": "Found it: a bad deploy."}).status_code == 200
    assert staff.get(where).json()["body"] == "Found it: a bad deploy."

    where, maintenance = located(staff, "/api/v1/maintenances", MAINTENANCE)
    assert where == f"/api/v1/maintenances/{maintenance['id']}"
    posted = {"status": "in_progress", "body": "Started."}
    again, shown = located(staff, f"{where}/updates", posted)
    assert again == where and shown["status"] == "in_progress"  # updates have no own address

    subscriber = {"url": "http://127.0.0.1:9/hook"}
    where, shown = located(staff, "/api/v1/subscribers", subscriber)
    assert where == f"/api/v1/subscribers/{shown['id']}"
    where, shown = located(staff, "/api/v1/subscribers/email", {"email": "ops@example.com"})
    assert where == f"/api/v1/subscribers/{shown['id']}" and shown["email"] == "ops@example.com"

    probe = {"name": "api", "kind": "http", "component": "API", "url": "http://127.0.0.1:9/"}
    where, shown = located(staff, "/api/v1/probes", probe)
    assert where == "/api/v1/probes/api" and shown["name"] == "api"

    exclusion = {
        "peer": "cpo",
        "starts_at": "2025-09-01T00:00:00Z",
        "ends_at": "2025-09-02T00:00:00Z",
        "reason": "vandalism",
    }
    where, shown = located(staff, "/api/v1/fleet/reliability/exclusions", exclusion)
    assert where == f"/api/v1/fleet/reliability/exclusions/{shown['id']}"
    assert staff.delete(where).status_code == 204
    assert staff.get(where).status_code == 404


def test_an_update_that_does_not_exist_is_a_404(staff: TestClient) -> None:
    incident = open_incident(staff)
    missing = staff.get(f"/api/v1/incidents/{incident['id']}/updates/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    elsewhere = staff.get(f"/api/v1/incidents/nope/updates/{incident['incident_updates'][0]['id']}")
    assert elsewhere.status_code == 404


def test_the_document_promises_location_on_every_201(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    creators = [
        (method, path, operation["responses"]["201"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "201" in operation["responses"]
    ]
    assert len(creators) >= 10
    for method, path, answer in creators:
        assert answer["headers"]["Location"]["required"] is True, (method, path)
